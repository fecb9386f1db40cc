# -*- coding: utf-8 -*-
# Copyright: (c) 2026, xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows plan: encoding, allow-list, secrets, the runner's syntax, its JSON form for the persistent
connection, and hostile values through the lab's WinRS (in-process) with the session's winrm wire."""

from __future__ import annotations

import base64
import json
import os
import re
import sys

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import windows_plan as wp

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(_ROOT, "tests", "lab"))

HOSTILE = "a'b\"c\u2018d\u2019e\u201cf\u201dg $(Remove-Item C:\\ -Recurse) `$x `n ; exit 1\r\nnext'; \"@\n#>"
SECRET = "S3cr3t-'$(pw)-Pa55"


def _syntax_problems(source):
    tsp = pytest.importorskip("tree_sitter_powershell")
    tree_sitter = pytest.importorskip("tree_sitter")
    parser = tree_sitter.Parser(tree_sitter.Language(tsp.language()))
    tree = parser.parse(source.encode("utf-8"))
    out, stack = [], [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            out.append((node.start_point, node.type))
        if node.has_error:
            stack.extend(node.children)
    return out


def _hostile_plan():
    plan = wp.Plan()
    plan.add("Set-Content", Path="C:\\Temp\\x.txt", Value=[HOSTILE, "second"], Encoding="UTF8")
    plan.add("Set-ItemProperty", [("Path", "HKLM:\\SOFTWARE\\Clients\\Mail"), ("Name", HOSTILE), ("Value", HOSTILE)])
    plan.add("Invoke-CimMethod", Query="SELECT * FROM Win32_Service WHERE Name='WinRM'", MethodName="Change",
             Arguments={"StartName": "ALLEO\\jdoe", "StartPassword": wp.Secret(SECRET)})
    return plan


def test_encoded_plan_has_only_base64_characters_and_round_trips():
    plan = _hostile_plan()
    encoded = wp.encode_plan(plan)
    assert re.match(r"^[A-Za-z0-9+/=]+$", encoded)
    document = wp.decode_plan(encoded)
    assert [s["c"] for s in document["s"]] == ["Set-Content", "Set-ItemProperty", "Invoke-CimMethod"]
    values = [{"t": "s", "v": HOSTILE}, {"t": "s", "v": "second"}]
    assert document["s"][0]["p"][1] == {"k": "Value", "v": {"t": "a", "v": values}}
    assert document["x"] is True


def test_hostile_values_never_become_script_text():
    script = wp.runner_script(_hostile_plan())
    assert script.startswith(wp.RUNNER_PREFIX) and script.endswith(wp.RUNNER_SUFFIX)
    assert HOSTILE not in script and "Remove-Item C:" not in script
    literal = script[len(wp.RUNNER_PREFIX):-len(wp.RUNNER_SUFFIX)]
    assert re.match(r"^[A-Za-z0-9+/=]+$", literal)


def test_runner_script_parses_cleanly():
    assert _syntax_problems(wp.RUNNER_SCRIPT) == []
    assert _syntax_problems(wp.runner_script(_hostile_plan())) == []


def test_a_broken_runner_would_be_caught_by_the_syntax_check():
    assert _syntax_problems(wp.RUNNER_SCRIPT.replace("'__XPC_PLAN__'", "'__XPC_PLAN__")) != []


@pytest.mark.parametrize("name", ["Invoke-Expression", "Get-Item;Remove-Item", "Start-Process", "New-Mailbox", ""])
def test_cmdlets_outside_the_allow_list_are_refused(name):
    with pytest.raises(wp.PlanError, match="not allowed"):
        wp.Plan().add(name, Path="C:\\")


def test_allow_list_names_are_canonicalised():
    plan = wp.Plan().add("get-itemproperty", Path="HKLM:\\SOFTWARE")
    assert plan.steps[0].cmdlet == "Get-ItemProperty"


@pytest.mark.parametrize("bad", ["Path;x", "-Path", "Pa th", "1Path", "Path\n"])
def test_parameter_names_must_be_plain_identifiers(bad):
    with pytest.raises(wp.PlanError, match="Invalid parameter name"):
        wp.Plan().add("Get-Item", [(bad, "C:\\")])


def test_runner_pattern_accepts_exactly_the_allow_list():
    lab_reference = os.path.join(_ROOT, "tests", "lab", "reference")
    names = set()
    for file_name in ("windows-cmdlets.json", "exchange-cmdlets.json"):
        with open(os.path.join(lab_reference, file_name), encoding="utf-8") as f:
            names.update(json.load(f)["cmdlets"])
    names.update(["Invoke-Expression", "Get-Item\n", "Get-Item;Remove-Item", "Get-ItemX", "XGet-Item", "Get-Process"])
    pattern = re.compile(wp.ALLOWED_PATTERN.replace("\\z", "\\Z"), re.I)
    assert {n for n in names if pattern.match(n)} == set(wp.ALLOWED_CMDLETS)


def test_secrets_never_appear_in_the_debug_form_or_repr():
    plan = _hostile_plan()
    shown = json.dumps(plan.debug_form())
    assert SECRET not in shown and "********" in shown
    assert base64.b64encode(SECRET.encode()).decode() not in shown
    assert SECRET not in repr(wp.Secret(SECRET)) and SECRET not in str(wp.Secret(SECRET))
    assert plan.has_secrets() and not wp.Plan().add("Get-Service", Name="WinRM").has_secrets()


def test_secret_is_a_securestring_at_top_level_and_plain_inside_a_hashtable():
    plan = wp.Plan()
    plan.add("New-Item", Path="HKLM:\\SOFTWARE\\X", Value=wp.Secret("top"))
    plan.add("Invoke-CimMethod", Query="q", MethodName="Change", Arguments={"StartPassword": wp.Secret("inner")})
    document = wp.decode_plan(wp.encode_plan(plan))
    assert document["s"][0]["p"][1]["v"] == {"t": "k", "v": "top"}
    assert document["s"][1]["p"][2]["v"]["v"][0]["v"] == {"t": "s", "v": "inner"}


def test_integers_keep_their_width():
    plan = wp.Plan().add("Set-ItemProperty", Path="HKLM:\\X", Name="q", Value=wp.Int64(5))
    plan.add("Set-ItemProperty", Path="HKLM:\\X", Name="d", Value=128)
    plan.add("Set-ItemProperty", Path="HKLM:\\X", Name="b", Value=2 ** 40)
    tags = [s["p"][2]["v"]["t"] for s in wp.decode_plan(wp.encode_plan(plan))["s"]]
    assert tags == ["l", "i", "l"]
    with pytest.raises(wp.PlanError):
        wp.Plan().add("Set-ItemProperty", Path="HKLM:\\X", Name="n", Value=2 ** 70)


def test_large_plans_are_split_to_fit_the_command_line():
    plan = wp.Plan()
    for i in range(40):
        plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Key%03d\\%s" % (i, os.urandom(12).hex()))
    batches = wp.split_for_winrs(plan)
    assert len(batches) > 1
    assert sum(len(b) for b in batches) == 40
    for batch in batches:
        assert wp.command_line_length(wp.runner_script(plan, batch)) <= wp.MAX_COMMAND_LINE


def test_a_step_too_large_for_winrs_is_refused_with_advice():
    plan = wp.Plan().add("Set-Content", Path="C:\\x.txt", Value=base64.b64encode(os.urandom(6000)).decode())
    with pytest.raises(wp.PlanTooLargeError, match="psrp"):
        wp.split_for_winrs(plan)


def test_runner_output_without_marker_is_an_error_with_stderr():
    with pytest.raises(wp.PlanError, match="The command line is too long"):
        wp.parse_runner_output(b"", b"The command line is too long.\r\n", 1)


def test_runner_output_is_parsed_into_results():
    payload = {"v": 1, "s": [{"c": "Get-Service", "s": 0, "o": {"Name": "WinRM"}, "e": None, "w": "careful"}]}
    stdout = b"noise\r\nXPCR1:" + base64.b64encode(json.dumps(payload).encode()) + b"\r\n"
    assert wp.parse_runner_output(stdout) == [{"cmdlet": "Get-Service", "skipped": False,
                                               "output": [{"Name": "WinRM"}], "errors": [], "warnings": ["careful"]}]


# -- the plan on the persistent connection's socket -----------------------------------------------------------

def test_plan_crosses_json_and_comes_back_the_same():
    plan = wp.Plan(stop_on_error=False)
    plan.add("New-Item", Path="HKLM:\\SOFTWARE\\X", Value=wp.Secret(SECRET), Force=True)
    plan.add("Invoke-CimMethod", Query="q", MethodName="Change",
             Arguments={"StartName": "ALLEO\\svc", "StartPassword": wp.Secret(SECRET), "Nested": [1, wp.Secret("n")]})
    plan.add("Set-ItemProperty", Path="HKLM:\\X", Name="q", Value=wp.Int64(5))
    plan.add("Set-ItemProperty", Path="HKLM:\\X", Name="b", Value=b"\x00\xff", Type="Binary")
    plan.add("Set-ItemProperty", Path="HKLM:\\X", Name=HOSTILE[:1], Value=[HOSTILE, None, 1.5, 2 ** 40])
    data = json.loads(json.dumps(wp.plan_to_data(plan)))
    back = wp.plan_from_data(data)
    assert back.stop_on_error is False
    # The runner's encoding is what reaches the host: identical, secrets and widths included.
    assert wp.decode_plan(wp.encode_plan(back)) == wp.decode_plan(wp.encode_plan(plan))
    assert isinstance(back.steps[1].parameters[2][1]["StartPassword"], wp.Secret)
    assert wp.plan_secrets(back) == [SECRET, SECRET, "n"]
    assert back.debug_form() == plan.debug_form() and SECRET not in json.dumps(back.debug_form())


def test_a_plan_from_the_socket_is_checked_against_the_allow_list():
    with pytest.raises(wp.PlanError, match="not allowed"):
        wp.plan_from_data({"steps": [{"cmdlet": "Invoke-Expression", "parameters": [["Command", {"t": "s", "v": "x"}]]}]})


def test_plan_errors_belong_to_the_family():
    from ansible_collections.xphone.connect.plugins.module_utils.errors import XPhoneError  # pylint: disable=import-outside-toplevel
    assert issubclass(wp.PlanError, XPhoneError) and issubclass(wp.PlanTooLargeError, XPhoneError)


def test_runner_command_is_what_the_length_check_measures():
    plan = _hostile_plan()
    command = wp.runner_command(plan)
    assert command.startswith("powershell -encodedcommand ")
    assert len(command) == wp.command_line_length(wp.runner_script(plan))


# -- through the lab, in-process (the lab's WinRS runs the runner), with the session's winrm wire ----------------

class _LabHttp(object):
    read_timeout_sec = 30

    def close_session(self):
        pass


class _LabProtocol(object):
    """pywinrm's Protocol as the session drives it, answered by the lab's WinRS in this process."""

    def __init__(self, lab, host):
        from lab.model import SessionInfo  # pylint: disable=import-outside-toplevel
        self.lab = lab
        self.session = SessionInfo(host=host, endpoint="windows", user="ALLEO\\Administrator")
        self.transport = _LabHttp()
        self.commands = []
        self.shells = 0

    def open_shell(self):
        self.shells += 1
        return "SHELL-%d" % self.shells

    def run_command(self, shell_id, command):
        self.commands.append(command)
        return "CMD-%d" % len(self.commands)

    def get_command_output(self, shell_id, command_id):
        from lab import winrs_exec  # pylint: disable=import-outside-toplevel
        return winrs_exec.execute(self.lab, self.session, self.commands[-1], [])

    def cleanup_command(self, shell_id, command_id):
        pass

    def close_shell(self, shell_id, close_session=True):
        pass


class _LabWire(object):
    def __init__(self, lab, host):
        self.protocol = _LabProtocol(lab, host)

    def connect(self, settings):
        return self.protocol


def _lab_session(lab, host="XPHONE01"):
    from ansible_collections.xphone.connect.plugins.module_utils import connection  # pylint: disable=import-outside-toplevel
    from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession  # pylint: disable=import-outside-toplevel
    params = dict((k, None) for k in connection.WINDOWS_CONNECTION_OPTIONS)
    params.update(connection_server=host.lower(), username="ALLEO\\Administrator", password="pw", protocol="http",
                  transport="winrm")
    wire = _LabWire(lab, host)
    session = WindowsSession(connection.resolve_windows_settings(params)[0], winrm_transport=wire)
    session.protocol = wire.protocol
    return session


@pytest.fixture
def lab():
    engine = pytest.importorskip("lab.engine")
    return engine.Lab.load()


def test_hostile_values_arrive_literally_in_the_lab(lab):
    plan = wp.Plan()
    plan.add("Set-Content", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\hostile.txt", Value=HOSTILE,
             Encoding="UTF8", NoNewline=True)
    plan.add("Get-Content", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\hostile.txt", Raw=True)
    plan.add("Set-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name=HOSTILE, Value=[HOSTILE, "x;y"],
             Type="MultiString")
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name=HOSTILE)
    results = _lab_session(lab).run_plan(plan)
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert results[1]["output"] == [HOSTILE]
    assert results[3]["output"][0][HOSTILE] == [HOSTILE, "x;y"]


def test_errors_stop_the_plan_and_later_steps_are_skipped(lab):
    plan = wp.Plan()
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\DoesNotExist")
    plan.add("Set-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name="(default)", Value="Microsoft Outlook")
    session = _lab_session(lab)
    results = session.run_plan(plan)
    assert results[0]["errors"][0]["fqeid"] == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
    assert results[0]["errors"][0]["category"] == "ObjectNotFound"
    assert results[1]["skipped"] is True
    check = session.run_plan(wp.Plan().add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail"))
    assert check[0]["output"][0]["(default)"] == "Windows Mail"


def test_secret_sent_over_winrs_is_not_kept_in_the_lab(lab):
    plan = wp.Plan().add("Invoke-CimMethod", Query="SELECT * FROM Win32_Service WHERE Name='XPhoneConnectServer'",
                         MethodName="Change", Arguments={"StartName": "ALLEO\\jdoe", "StartPassword": wp.Secret(SECRET)})
    results = _lab_session(lab).run_plan(plan)
    assert results[0]["output"][0]["ReturnValue"] == 0
    assert SECRET not in json.dumps(lab.store.snapshot())
    assert SECRET not in json.dumps(lab.audit())


def test_batches_run_in_order_across_several_runner_calls(lab):
    plan = wp.Plan(stop_on_error=False)
    for i in range(30):
        plan.add("Test-Path", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\%s-%d" % (os.urandom(20).hex(), i))
    plan.add("Test-Path", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\atlas.xml")
    session = _lab_session(lab)
    results = session.run_plan(plan)
    assert len(session.protocol.commands) > 1
    assert [r["output"] for r in results] == [[False]] * 30 + [[True]]


def test_wql_string_keeps_quotes_and_backslashes_inside_the_literal(lab):
    tricky = "X' OR Name<>'"
    assert wp.service_query(tricky) == "SELECT * FROM Win32_Service WHERE Name='X\\' OR Name<>\\''"
    session = _lab_session(lab, "EX01")
    hit = session.run_plan(wp.Plan().add("Get-CimInstance", Query=wp.service_query("WinRM")))
    assert [o["Name"] for o in hit[0]["output"]] == ["WinRM"]
    miss = session.run_plan(wp.Plan().add("Get-CimInstance", Query=wp.service_query(tricky)))
    assert miss[0]["output"] == [] and miss[0]["errors"] == []

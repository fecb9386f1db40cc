# -*- coding: utf-8 -*-
# Copyright: (c) 2026, xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows plan: encoding, allow-list, secrets, the runner's syntax, and hostile values through the lab."""

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


# -- through the lab ------------------------------------------------------------------------------------

class _LabWinrmSession(object):
    """A pywinrm Session stand-in: run_ps encodes exactly as pywinrm does and runs in the lab's WinRS."""

    def __init__(self, lab, host):
        from lab.model import SessionInfo  # pylint: disable=import-outside-toplevel
        self.lab = lab
        self.session = SessionInfo(host=host, endpoint="windows", user="ALLEO\\Administrator")
        self.scripts = []

    def run_ps(self, script):
        from lab import winrs_exec  # pylint: disable=import-outside-toplevel
        self.scripts.append(script)
        encoded = base64.b64encode(script.encode("utf_16_le")).decode("ascii")
        out, err, rc = winrs_exec.execute(self.lab, self.session, "powershell -encodedcommand %s" % encoded, [])
        return type("Response", (), {"std_out": out, "std_err": err, "status_code": rc})()


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
    results = wp.run_plan_winrm(_LabWinrmSession(lab, "XPHONE01"), plan)
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert results[1]["output"] == [HOSTILE]
    assert results[3]["output"][0][HOSTILE] == [HOSTILE, "x;y"]


def test_errors_stop_the_plan_and_later_steps_are_skipped(lab):
    plan = wp.Plan()
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\DoesNotExist")
    plan.add("Set-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name="(default)", Value="Microsoft Outlook")
    session = _LabWinrmSession(lab, "XPHONE01")
    results = wp.run_plan_winrm(session, plan)
    assert results[0]["errors"][0]["fqeid"] == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
    assert results[0]["errors"][0]["category"] == "ObjectNotFound"
    assert results[1]["skipped"] is True
    check = wp.run_plan_winrm(session, wp.Plan().add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail"))
    assert check[0]["output"][0]["(default)"] == "Windows Mail"


def test_secret_sent_over_winrs_is_not_kept_in_the_lab(lab):
    plan = wp.Plan().add("Invoke-CimMethod", Query="SELECT * FROM Win32_Service WHERE Name='XPhoneConnectServer'",
                         MethodName="Change", Arguments={"StartName": "ALLEO\\jdoe", "StartPassword": wp.Secret(SECRET)})
    results = wp.run_plan_winrm(_LabWinrmSession(lab, "XPHONE01"), plan)
    assert results[0]["output"][0]["ReturnValue"] == 0
    assert SECRET not in json.dumps(lab.store.snapshot())
    assert SECRET not in json.dumps(lab.audit())


def test_batches_run_in_order_across_several_runner_calls(lab):
    plan = wp.Plan(stop_on_error=False)
    for i in range(30):
        plan.add("Test-Path", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\%s-%d" % (os.urandom(20).hex(), i))
    plan.add("Test-Path", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\atlas.xml")
    session = _LabWinrmSession(lab, "XPHONE01")
    results = wp.run_plan_winrm(session, plan)
    assert len(session.scripts) > 1
    assert [r["output"] for r in results] == [[False]] * 30 + [[True]]


# -- PSRP executor against a fake pypsrp ----------------------------------------------------------------

class _FakeRecord(object):
    def __init__(self, message, category, fq_error):
        self.exception = None
        self.details_message = message
        self.category = category
        self.fq_error = fq_error
        self.reason = "ItemNotFoundException"


class _FakePool(object):
    def __init__(self):
        self.keys_exchanged = False
        self.calls = []
        self.closed = 0

    def exchange_keys(self):
        self.keys_exchanged = True


def _fake_powershell(pool):
    class FakePowerShell(object):
        def __init__(self, runspace_pool):
            assert runspace_pool is pool
            self.call = []
            pool.calls.append(self.call)
            self.state = 2
            self.streams = type("Streams", (), {"error": [], "warning": []})()

        def close(self):
            pool.closed += 1

        def add_cmdlet(self, name):
            self.call.append(name)

        def add_parameter(self, name, value):
            self.call.append((name, value))

        def invoke(self):
            if self.call[0] == "Get-ItemProperty":
                self.streams.error.append(_FakeRecord("Cannot find path 'HKLM:\\X' because it does not exist.", 13,
                                                      "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"))
                return []
            return [{"Name": "WinRM"}]

    return FakePowerShell


def test_psrp_executor_binds_parameters_and_maps_errors(monkeypatch):
    if not wp.HAS_PYPSRP:
        pytest.skip("pypsrp is not installed")
    pool = _FakePool()
    monkeypatch.setattr(wp, "PowerShell", _fake_powershell(pool))
    plan = wp.Plan()
    plan.add("Get-Service", Name=HOSTILE)
    plan.add("Invoke-CimMethod", Query="q", MethodName="Change", Arguments={"StartPassword": wp.Secret(SECRET)})
    plan.add("New-ItemProperty", Path="HKLM:\\X", Name="q", Value=wp.Int64(1), Force=True)
    plan.add("Get-ItemProperty", Path="HKLM:\\X")
    plan.add("Get-Service", Name="never")
    results = wp.run_plan_psrp(pool, plan)
    assert pool.keys_exchanged is False  # only nested secrets: they travel as the string the method takes
    assert pool.calls[0] == ["Get-Service", ("Name", HOSTILE)]
    assert pool.calls[1][3] == ("Arguments", {"StartPassword": SECRET})
    assert pool.calls[2][3][1].tag == "I64" and pool.calls[2][4] == ("Force", True)
    assert results[0]["output"] == [{"Name": "WinRM"}]
    assert results[3]["errors"][0]["category"] == "ObjectNotFound"
    assert results[4]["skipped"] is True and len(pool.calls) == 4 and pool.closed == 4


def test_psrp_executor_sends_top_level_secrets_as_securestring(monkeypatch):
    if not wp.HAS_PYPSRP:
        pytest.skip("pypsrp is not installed")
    pool = _FakePool()
    monkeypatch.setattr(wp, "PowerShell", _fake_powershell(pool))
    wp.run_plan_psrp(pool, wp.Plan().add("New-Item", Path="HKLM:\\SOFTWARE\\X", Value=wp.Secret(SECRET)))
    assert pool.keys_exchanged is True
    tagged = pool.calls[0][2][1]
    assert tagged.tag == "SS" and tagged.value == SECRET


def test_wql_string_keeps_quotes_and_backslashes_inside_the_literal(lab):
    tricky = "X' OR Name<>'"
    assert wp.service_query(tricky) == "SELECT * FROM Win32_Service WHERE Name='X\\' OR Name<>\\''"
    session = _LabWinrmSession(lab, "EX01")
    hit = wp.run_plan_winrm(session, wp.Plan().add("Get-CimInstance", Query=wp.service_query("WinRM")))
    assert [o["Name"] for o in hit[0]["output"]] == ["WinRM"]
    miss = wp.run_plan_winrm(session, wp.Plan().add("Get-CimInstance", Query=wp.service_query(tricky)))
    assert miss[0]["output"] == [] and miss[0]["errors"] == []

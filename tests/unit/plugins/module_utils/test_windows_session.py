# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WindowsSession against a fake host: both wires, classification, retries, writes never re-sent, secrets."""

from __future__ import annotations

import json
import os

import pytest
import requests
from pypsrp.exceptions import AuthenticationError, WSManFaultError as PsrpFault
from winrm import exceptions as winrm_exceptions

from ansible_collections.xphone.connect.plugins.module_utils import errors
from ansible_collections.xphone.connect.plugins.module_utils import windows_plan as wp
from ansible_collections.xphone.connect.plugins.module_utils.connection import WINDOWS_CONNECTION_OPTIONS, resolve_windows_settings
from ansible_collections.xphone.connect.plugins.module_utils.session import is_write
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession, step_error

from fake_windows import FakeWindows

PASSWORD = "Conn-Pa55-word!"
SECRET = "Plan-S3cret-'$(x)"
MAIL = "HKLM:\\SOFTWARE\\Clients\\Mail"
WIRES = ["psrp", "winrm"]


def settings_for(wire, **changes):
    params = dict((k, None) for k in WINDOWS_CONNECTION_OPTIONS)
    params.update(connection_server="xphone01.alleo.intern", username="ALLEO\\admin", password=PASSWORD, auth="ntlm",
                  protocol="http", transport=wire)
    params.update(changes)
    return resolve_windows_settings(params)[0]


def make(host, wire, **kwargs):
    slept = []
    kwargs.setdefault("sleep", slept.append)
    session = WindowsSession(settings_for(wire), transport=host, winrm_transport=host, **kwargs)
    session.slept = slept
    return session


def quota_fault():
    return winrm_exceptions.WSManFaultError(
        500, "Bad HTTP response returned from server. Code 500", "<fault/>",
        "The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent "
        "shells, which has been exceeded.", wsman_fault_code=2150859173)


def server_error():
    return winrm_exceptions.WSManFaultError(500, "Bad HTTP response returned from server. Code 500", "<fault/>",
                                            "internal trouble", wsman_fault_code=2150858752)


def psrp_fault(code, reason):
    return PsrpFault(code, "xphone01", reason, None, None, None)


def read_plan():
    plan = wp.Plan()
    plan.add("Get-ItemProperty", Path=MAIL)
    plan.add("Get-Service", Name="WinRM")
    return plan


def write_plan(value="Microsoft Outlook"):
    return wp.Plan().add("Set-ItemProperty", Path=MAIL, Name="(default)", Value=value)


# -- both wires: the same results ---------------------------------------------------------------------------

def _comparable(results):
    out = []
    for result in results:
        output = [dict((k, v) for k, v in o.items() if k != "PSPath") if isinstance(o, dict) else o for o in result["output"]]
        errors_ = [dict((k, e[k]) for k in ("message", "category", "fqeid", "exception", "terminating")) for e in result["errors"]]
        out.append((result["cmdlet"], result["skipped"], output, errors_, result["warnings"]))
    return out


def _mixed_plan():
    plan = wp.Plan(stop_on_error=False)
    plan.add("Set-ItemProperty", Path=MAIL, Name="Bin", Value=b"\x00\xffA")
    plan.add("Set-ItemProperty", Path=MAIL, Name="Warn", Value="x")
    plan.add("Get-ItemProperty", Path=MAIL)
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Missing")
    plan.add("Get-Service", Name="XPhoneConnectServer")
    plan.add("Get-Item", Path="C:\\Broken")
    plan.add("Test-Path", Path=MAIL)
    return plan


def test_the_same_plan_gives_the_same_results_over_both_wires():
    over = {}
    for wire in WIRES:
        with make(FakeWindows(), wire) as session:
            over[wire] = session.run_plan(_mixed_plan())
    assert _comparable(over["psrp"]) == _comparable(over["winrm"])
    results = over["psrp"]
    assert results[1]["warnings"] == ["careful with x"]
    assert results[2]["output"][0]["Bin"] == [0, 255, 65]       # bytes are numbers on both wires, never text
    assert results[3]["errors"][0]["category"] == "ObjectNotFound" and results[3]["errors"][0]["terminating"] is False
    assert results[4]["output"][0]["Status"] == "Running"       # an enum is its display string
    assert results[5]["errors"][0]["terminating"] is True
    assert results[6]["output"] == [True]


@pytest.mark.parametrize("wire", WIRES)
def test_stop_on_error_skips_the_rest(wire):
    host = FakeWindows()
    plan = wp.Plan().add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Missing")
    plan.add("Set-ItemProperty", Path=MAIL, Name="(default)", Value="Microsoft Outlook")
    with make(host, wire) as session:
        results = session.run_plan(plan)
    assert results[0]["errors"] and results[1] == wp.skipped_result("Set-ItemProperty")
    assert host.writes() == [] and host.registry[MAIL]["(default)"] == "Windows Mail"


@pytest.mark.parametrize("wire", WIRES)
def test_step_warnings_are_also_the_sessions_warnings(wire):
    with make(FakeWindows(), wire) as session:
        session.run_plan(wp.Plan().add("Set-ItemProperty", Path=MAIL, Name="Warn", Value="y"))
        assert session.warnings == ["careful with y"]


def test_error_records_are_classified_for_windows():
    def result(message, category="NotSpecified", fqeid="", exception="System.Exception"):
        error = {"message": message, "category": category, "fqeid": fqeid, "exception": exception, "reason": "",
                 "terminating": False}
        return {"cmdlet": "Get-ItemProperty", "errors": [error]}
    assert step_error({"cmdlet": "Get-Service", "errors": []}) is None
    assert isinstance(step_error(result("Cannot find path 'HKLM:\\X' because it does not exist.", "ObjectNotFound",
                                        "PathNotFound,x", "System.Management.Automation.ItemNotFoundException")),
                      errors.NotFound)
    denied = step_error(result("Requested registry access is not allowed.", "PermissionDenied"))
    assert isinstance(denied, errors.AuthorizationFailed) and "Windows denied Get-ItemProperty" in denied.message
    assert "RBAC" not in denied.message
    missing = step_error(result("The term 'Get-ADGroupMember' is not recognized as the name of a cmdlet", "ObjectNotFound",
                                "CommandNotFoundException", "System.Management.Automation.CommandNotFoundException"))
    assert isinstance(missing, errors.CmdletFailed) and "module installed" in missing.message
    assert step_error(result("Something broke.")).__class__ is errors.CmdletFailed


@pytest.mark.parametrize("wire", WIRES)
def test_invoke_is_a_one_step_plan(wire):
    host = FakeWindows()
    with make(host, wire) as session:
        assert session.invoke("Get-ItemProperty", {"Path": MAIL, "Name": "(default)"})[0]["(default)"] == "Windows Mail"
        with pytest.raises(errors.NotFound):
            session.invoke("Get-Service", [("Name", "Nope")])
        assert session.invoke("Get-Service", [("Name", "Nope")], not_found_ok=True) == []
        with pytest.raises(errors.AuthorizationFailed):
            session.invoke("Set-ItemProperty", dict(Path="HKLM:\\SOFTWARE\\Protected", Name="a", Value="b"))
        with pytest.raises(errors.XPhoneError, match="not allowed"):
            session.invoke("Invoke-Expression", {"Command": "whoami"})


def test_every_allowed_write_is_a_write_for_the_session():
    reads = [c for c in wp.ALLOWED_CMDLETS if not is_write(c)]
    assert all(c.startswith(("Get-", "Test-")) for c in reads)
    assert "Invoke-CimMethod" not in reads and "Copy-Item" not in reads


# -- lifecycle ----------------------------------------------------------------------------------------------

def test_psrp_keeps_one_pool_for_many_plans_and_closes_each_pipeline():
    host = FakeWindows()
    session = make(host, "psrp")
    for _plan in range(3):
        session.run_plan(read_plan())
    assert len(host.pools) == 1 and session.stats["opened"] == 1 and session.stats["commands"] == 6
    assert all(ps.closed for ps in host.psrp_calls)
    assert session.is_open
    session.close()
    assert host.pools[0].closed and not session.is_open and session.stats["closed"] == 1


def test_winrm_opens_and_deletes_one_shell_per_run_on_one_http_session():
    host = FakeWindows()
    session = make(host, "winrm")
    for _plan in range(3):
        session.run_plan(read_plan())
    assert len(host.protocols) == 1 and host.shells_opened == 3 and host.shells == set()
    assert session.stats["opened"] == session.stats["closed"] == 3 and session.stats["commands"] == 3
    assert session.is_open
    session.close()
    assert host.protocols[0].transport.sessions_dropped == 1 and not session.is_open


def test_winrm_splits_a_large_plan_and_stops_across_chunks():
    host = FakeWindows()
    plan = wp.Plan()
    for i in range(40):
        plan.add("Test-Path", Path="HKLM:\\SOFTWARE\\%s-%d" % (os.urandom(40).hex(), i))
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Missing")
    plan.add("Set-ItemProperty", Path=MAIL, Name="(default)", Value="never")
    with make(host, "winrm") as session:
        results = session.run_plan(plan)
    assert len(host.commands) > 1 and host.shells_opened == host.shells_deleted == len(host.commands)
    assert [r["output"] for r in results[:40]] == [[False]] * 40
    assert results[-1]["skipped"] is True and host.writes() == []


def test_a_failed_delete_does_not_fail_the_plan_and_is_not_counted_as_closed():
    host = FakeWindows()
    host.faults["winrm_delete"].append(requests.exceptions.ConnectionError("reset"))
    with make(host, "winrm") as session:
        assert session.run_plan(read_plan())[0]["output"]
        assert session.stats["opened"] == 1 and session.stats["closed"] == 0
        assert session.run_plan(read_plan())[0]["output"]


# -- classification -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault, expected", [
    (winrm_exceptions.InvalidCredentialsError("the specified credentials were rejected by the server"), errors.AuthenticationFailed),
    (winrm_exceptions.WinRMTransportError("http", 503, ""), errors.Transient),
    (server_error(), errors.Transient),
    (quota_fault(), errors.Throttled),
    (winrm_exceptions.WSManFaultError(500, "m", "<f/>", "The request for the Windows Remote Shell with ShellId X failed "
                                      "because the shell was not found on the server.", wsman_fault_code=2150858843),
     errors.ShellLost),
    (winrm_exceptions.WinRMOperationTimeoutError(), errors.Transient),
    (requests.exceptions.ConnectionError(ConnectionResetError(104, "Connection reset by peer")), errors.Transient),
    (requests.exceptions.ReadTimeout("read timed out"), errors.Transient),
    (requests.exceptions.ConnectTimeout("connect timed out"), errors.Unreachable),
    (requests.exceptions.SSLError("certificate verify failed"), errors.Unreachable),
    (winrm_exceptions.WinRMError("requested auth method is kerberos, but pykerberos is not installed"), errors.ConfigurationError),
    (winrm_exceptions.WinRMTransportError("http", 404, ""), errors.ConfigurationError),
])
def test_pywinrm_faults_are_classified(fault, expected):
    host = FakeWindows()
    host.faults["winrm_command"].append(fault)
    with pytest.raises(errors.XPhoneError) as err:
        with make(host, "winrm", retries=0) as session:
            session.run_plan(read_plan())
    assert isinstance(err.value, expected), err.value.message
    if expected is errors.Transient:
        assert not isinstance(err.value, (errors.Throttled, errors.ShellLost)), err.value.message
    if expected is errors.ConfigurationError and "404" in err.value.message:
        assert "5985" in err.value.message and "Exchange" not in err.value.message


def test_a_read_is_retried_with_backoff_and_the_broken_shell_deleted():
    host = FakeWindows()
    host.faults["winrm_receive"].append(server_error())
    session = make(host, "winrm")
    results = session.run_plan(read_plan())
    assert results[0]["output"][0]["(default)"] == "Windows Mail"
    assert len(session.slept) == 1 and session.stats["retries"] == 1
    assert host.shells_opened == 2 and host.shells == set() and session.stats["closed"] == 2
    # The HTTP session of the failed attempt was dropped: its encryption context may belong to a dead connection.
    assert host.protocols[0].transport.sessions_dropped >= 1


def test_throttling_gives_up_naming_the_quota():
    host = FakeWindows()
    host.faults["winrm_open"].extend(quota_fault() for _fault in range(10))
    with pytest.raises(errors.Throttled) as err:
        make(host, "winrm").run_plan(read_plan())
    assert "quota" in err.value.message and host.shells_opened == 0


@pytest.mark.parametrize("wire, phase", [("winrm", "winrm_receive"), ("winrm", "winrm_command"), ("psrp", "psrp_reply"),
                                         ("psrp", "psrp_begin")])
def test_a_write_whose_reply_is_lost_is_never_sent_again(wire, phase):
    host = FakeWindows()
    host.faults[phase].append(requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")))
    session = make(host, wire)
    with pytest.raises(errors.ReplyLost) as err:
        session.run_plan(write_plan())
    assert "Set-ItemProperty" in err.value.message and session.slept == []
    assert len(host.writes()) == (1 if phase.endswith(("receive", "reply")) else 0)
    # The session is still usable: the engine reads again and writes only what still differs.
    assert session.run_plan(read_plan())[0]["output"]


@pytest.mark.parametrize("wire, phase", [("winrm", "winrm_open"), ("winrm", "winrm_command"), ("psrp", "psrp_begin"),
                                         ("psrp", "open")])
def test_a_write_refused_before_it_ran_is_sent_once_after_the_backoff(wire, phase):
    host = FakeWindows()
    busy = "This user has exceeded the maximum number of concurrent operations"
    fault = quota_fault() if wire == "winrm" else psrp_fault(2150859173, busy)
    host.faults[phase].append(fault)
    session = make(host, wire)
    assert session.run_plan(write_plan())[0]["errors"] == []
    assert host.writes() == ["Set-ItemProperty"] and len(session.slept) == 1
    assert host.registry[MAIL]["(default)"] == "Microsoft Outlook"


def test_a_write_chunk_refused_at_open_is_retried_but_a_server_error_at_command_is_not():
    host = FakeWindows()
    host.faults["winrm_open"].append(server_error())
    session = make(host, "winrm")
    session.run_plan(write_plan())                      # open is not a write: retried
    assert host.writes() == ["Set-ItemProperty"]
    host.faults["winrm_command"].append(server_error())
    with pytest.raises(errors.ReplyLost):               # the command may have started: not sent again
        session.run_plan(write_plan("again"))
    assert host.writes() == ["Set-ItemProperty"]


@pytest.mark.parametrize("wire", WIRES)
def test_a_rejected_logon_is_tried_once(wire):
    host = FakeWindows()
    fault = (winrm_exceptions.InvalidCredentialsError("the specified credentials were rejected by the server")
             if wire == "winrm" else AuthenticationError("Failed to authenticate the user ALLEO\\admin with ntlm"))
    host.faults["winrm_open" if wire == "winrm" else "open"].append(fault)
    session = make(host, wire)
    with pytest.raises(errors.AuthenticationFailed) as first:
        session.run_plan(read_plan())
    with pytest.raises(errors.AuthenticationFailed) as second:
        session.invoke("Get-Service", {"Name": "WinRM"})
    assert first.value is second.value and first.value.unreachable
    assert "XPHONE_WINDOWS_USERNAME" not in first.value.message      # the user name came from the module options
    assert "module option username" in first.value.message and PASSWORD not in first.value.message
    assert host.shells_opened == 0 and host.pools == [] and session.slept == []


def test_a_host_that_never_answers_is_unreachable_at_once():
    host = FakeWindows()
    host.faults["winrm_open"].append(requests.exceptions.ReadTimeout("read timed out"))
    session = make(host, "winrm")
    with pytest.raises(errors.Unreachable):
        session.run_plan(read_plan())
    assert session.slept == [] and session.terminal_error is not None


def test_a_server_error_at_the_first_open_is_an_answer_not_unreachable():
    host = FakeWindows()
    host.faults["winrm_open"].append(server_error())
    session = make(host, "winrm")
    assert session.run_plan(read_plan())[0]["output"] and len(session.slept) == 1


def test_runner_without_result_is_an_error_of_the_family_without_secrets():
    host = FakeWindows()
    host.run_runner = lambda command: b""
    with pytest.raises(errors.XPhoneError, match="printed no result"):
        make(host, "winrm").run_plan(read_plan())
    assert host.shells == set()


# -- secrets ------------------------------------------------------------------------------------------------

def test_psrp_binds_a_top_level_secret_as_securestring_after_a_key_exchange():
    host = FakeWindows()
    session = make(host, "psrp")
    session.run_plan(read_plan())                               # a pool without a key
    plan = wp.Plan().add("New-Item", Path="HKLM:\\SOFTWARE\\X", Value=wp.Secret(SECRET))
    plan.add("Invoke-CimMethod", Query=wp.service_query("XPhoneConnectServer"), MethodName="Change",
             Arguments={"StartName": "ALLEO\\svc", "StartPassword": wp.Secret(SECRET)})
    session.run_plan(plan)
    assert host.pools[0].keys == 1 and host.secure_strings == [SECRET] and host.passwords == [SECRET]
    new_item = host.psrp_calls[-2]
    assert new_item.params[1][1].tag == "SS"
    # A pool opened later (the first one was lost) gets its key as it opens.
    host.faults["psrp_begin"].append(psrp_fault(2150858843, "The request for the Windows Remote Shell with ShellId X "
                                                "failed because the shell was not found on the server."))
    session.run_plan(plan)
    assert len(host.pools) == 2 and host.pools[1].keys == 1 and host.pools[0].closed


def test_a_failed_key_exchange_is_classified_and_the_pool_discarded():
    host = FakeWindows()
    session = make(host, "psrp", retries=0)
    session.run_plan(read_plan())
    host.faults["keys"].append(requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")))
    with pytest.raises(errors.Transient):
        session.run_plan(wp.Plan().add("New-Item", Path="HKLM:\\SOFTWARE\\X", Value=wp.Secret(SECRET)))
    assert host.pools[0].closed and host.pools[0].broken and host.secure_strings == []


@pytest.mark.parametrize("wire", WIRES)
def test_secrets_are_scrubbed_from_results_warnings_and_errors(wire):
    host = FakeWindows()
    host.registry[MAIL]["Leaky"] = "prefix %s suffix" % SECRET
    plan = wp.Plan()
    plan.add("Set-ItemProperty", Path=MAIL, Name="Warn", Value=wp.Secret(SECRET))
    plan.add("Get-ItemProperty", Path=MAIL)
    session = make(host, wire)
    results = session.run_plan(plan)
    shown = json.dumps(results) + json.dumps(session.warnings)
    assert SECRET not in shown and results[1]["output"][0]["Leaky"] == "prefix ******** suffix"
    host.faults["winrm_command" if wire == "winrm" else "psrp_begin"].append(
        requests.exceptions.ConnectionError("connection to xphone01 dropped while sending %s" % SECRET))
    with pytest.raises(errors.XPhoneError) as err:
        session.run_plan(plan)
    assert SECRET not in err.value.message and PASSWORD not in err.value.message
    assert session.secrets.count(SECRET) == 1


def test_winrm_sends_the_secret_only_inside_the_encoded_plan():
    host = FakeWindows()
    plan = wp.Plan().add("Invoke-CimMethod", Query=wp.service_query("XPhoneConnectServer"), MethodName="Change",
                         Arguments={"StartName": "ALLEO\\svc", "StartPassword": wp.Secret(SECRET)})
    make(host, "winrm").run_plan(plan)
    assert host.passwords == [SECRET] and SECRET not in host.commands[0]

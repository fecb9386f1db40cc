"""The lab's wire protocol against the real pypsrp and pywinrm clients: PSRP pools/pipelines and WinRS."""

from __future__ import annotations

import base64
import concurrent.futures
import time
import typing as t

import pytest
import winrm
from pypsrp.client import Client
from pypsrp.exceptions import WinRMTransportError, WSManFaultError
from pypsrp.powershell import PowerShell, PSInvocationState, RunspacePool
from pypsrp.serializer import TaggedValue

from lab import registry, winrs
from lab.model import CmdletError, LabEnum, LabObject, SecureString

from helpers import invoke

SEEN: dict[str, t.Any] = {}


def _objects(inv: registry.Invocation) -> None:
    for i in range(int(inv.params.get("Count", 1))):
        inv.write(LabObject(["Lab.Test.Widget", "Lab.Test.Base", "System.Object"],
                            {"Name": f"widget{i}", "Index": i, "Enabled": i % 2 == 0, "Ratio": 0.5, "Missing": None,
                             "Kind": LabEnum("Lab.Test.WidgetKind", "Large", 2), "Tags": ["a", "b"],
                             "Big": 2 ** 40, "Map": {"k": "v"}},
                            to_string=f"Widget {i}"))


def _problems(inv: registry.Invocation) -> None:
    inv.warn("The widget is old.")
    inv.error(CmdletError("The widget 'w9' couldn't be found.", category="ObjectNotFound",
                          error_id="[Server=EX01] 8D2F1D1A,Lab.Test.GetWidget",
                          exception_type="Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                          target="w9"))
    inv.write("after the error")
    if inv.params.get("Terminate"):
        raise CmdletError("The widget store is locked.", category="ResourceBusy", error_id="WidgetLocked",
                          exception_type="System.InvalidOperationException", terminating=True)


def _echo(inv: registry.Invocation) -> None:
    SEEN.setdefault("calls", []).append((dict(inv.params), inv.input_object, inv.session))
    if inv.input_object is not None:
        inv.write({"input": inv.input_object})
    else:
        inv.write({k: v.reveal() if isinstance(v, SecureString) else v for k, v in inv.params.items()})


def _sleep(inv: registry.Invocation) -> None:
    time.sleep(float(inv.params.get("Seconds", 0)))
    inv.write("awake")


TEST_CMDLETS = {
    "Start-LabTestSleep": (_sleep, {"Seconds": "Double"}),
    "Get-LabTestWidget": (_objects, {"Count": "Int32"}),
    "Test-LabTestProblem": (_problems, {"Terminate": "SwitchParameter"}),
    "Test-LabTestEcho": (_echo, {"Text": "String", "Number": "Int32", "List": "Object[]", "Secret": "SecureString",
                                 "Flag": "SwitchParameter",
                                 "InputObject": {"type": "Object", "pipeline": "True (ByValue)"}}),
}


@pytest.fixture(scope="module", autouse=True)
def test_cmdlets() -> t.Iterator[None]:
    """Test-only cmdlets on the /wsman (Microsoft.PowerShell) endpoint; removed again after the module."""
    for name, (handler, params) in TEST_CMDLETS.items():
        registry.cmdlet(name, endpoint="windows", extra_parameters=params)(handler)
    yield
    for name in TEST_CMDLETS:
        registry.CMDLETS.pop(name.lower(), None)


# -- PSRP ---------------------------------------------------------------------------------------------

def test_exchange_cmdlet_returns_exchange_objects(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        ps = invoke(pool, "Get-RemoteDomain", Identity="Default")
    assert ps.state == PSInvocationState.COMPLETED and not ps.streams.error
    [domain] = ps.output
    # Type names go on the wire as the server has them; pypsrp (unlike PowerShell) adds no "Deserialized." prefix.
    assert domain.types[0] == "Microsoft.Exchange.Data.Directory.SystemConfiguration.DomainContentConfig"
    assert domain.adapted_properties["DomainName"] == "*"
    # An enum arrives as the enum's name, as pypsrp shows any deserialized .NET enum.
    assert str(domain.adapted_properties["ContentType"]) in ("MimeHtmlText", "MimeText", "MimeHtml")


def test_objects_enums_and_values_round_trip(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        ps = invoke(pool, "Get-LabTestWidget", Count=2)
    first = ps.output[0]
    assert len(ps.output) == 2
    assert first.types == ["Lab.Test.Widget", "Lab.Test.Base", "System.Object"]
    assert str(first) == "Widget 0"
    props = first.adapted_properties
    assert props["Name"] == "widget0" and props["Index"] == 0 and props["Enabled"] is True
    assert props["Ratio"] == 0.5 and props["Missing"] is None and props["Big"] == 2 ** 40
    assert props["Tags"] == ["a", "b"] and props["Map"] == {"k": "v"}
    kind = props["Kind"]
    assert str(kind) == "Large"
    assert kind.types[0] == "Lab.Test.WidgetKind" and "System.Enum" in kind.types


def test_error_and_warning_streams(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        ps = invoke(pool, "Test-LabTestProblem")
        assert ps.state == PSInvocationState.COMPLETED
        assert ps.output == ["after the error"]
        [err] = ps.streams.error
        assert str(err) == "The widget 'w9' couldn't be found."
        assert err.fq_error == "[Server=EX01] 8D2F1D1A,Lab.Test.GetWidget"
        assert err.category == 13  # ObjectNotFound
        assert err.target_name == "w9" and err.target_object == "w9"
        assert err.reason == "ManagementObjectNotFoundException"
        assert err.activity == "Test-LabTestProblem"
        assert err.exception.types[0] == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
        assert [w.message for w in ps.streams.warning] == ["The widget is old."]

        failed = invoke(pool, "Test-LabTestProblem", Terminate=True)
        assert failed.state == PSInvocationState.FAILED and failed.had_errors
        assert "The widget store is locked." in [str(e) for e in failed.streams.error]


def test_parameters_arrive_as_plain_python_and_secure_strings_decrypt(lab_env) -> None:
    SEEN.clear()
    with RunspacePool(lab_env.wsman("XPHONE01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        pool.exchange_keys()
        ps = PowerShell(pool)
        ps.add_cmdlet("Test-LabTestEcho").add_parameters({"Text": "grüß dich", "Number": 42, "List": ["x", 1, True]})
        ps.add_parameter("Secret", _secure("S3cr3t-Pa$$"))
        ps.add_parameter("Flag")
        out = ps.invoke()
    params, _input, session = SEEN["calls"][-1]
    assert params["Text"] == "grüß dich" and params["Number"] == 42 and params["List"] == ["x", 1, True]
    assert isinstance(params["Secret"], SecureString) and params["Secret"].reveal() == "S3cr3t-Pa$$"
    assert session.host == "XPHONE01" and session.endpoint == "windows" and session.user == "ALLEO\\Administrator"
    assert out[0]["Secret"] == "S3cr3t-Pa$$"


def _secure(text: str) -> t.Any:
    # pypsrp sends a SecureString (encrypted with the pool's session key) for a value tagged "SS".
    return TaggedValue("SS", text)


def test_pipeline_input_objects(lab_env) -> None:
    SEEN.clear()
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Test-LabTestEcho")
        out = ps.invoke(input=["one", 2, {"three": 3}])
    assert [o["input"] for o in out] == ["one", 2, {"three": 3}]
    assert [c[1] for c in SEEN["calls"]] == ["one", 2, {"three": 3}]


def test_large_parameter_arrives_through_send(lab_env) -> None:
    text = "x" * 1_000_000
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        before = lab_env.stats()["requests_by_action"].get("Send", 0)
        ps = invoke(pool, "Test-LabTestEcho", Text=text)
        sends = lab_env.stats()["requests_by_action"]["Send"] - before
    assert ps.output[0]["Text"] == text
    assert sends >= 2


def test_more_than_a_thousand_objects(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows", auth="basic", https=True),
                      configuration_name="Microsoft.PowerShell") as pool:
        before = lab_env.stats()["requests_by_action"].get("Receive", 0)
        ps = invoke(pool, "Get-LabTestWidget", Count=1500)
        receives = lab_env.stats()["requests_by_action"]["Receive"] - before
    assert len(ps.output) == 1500
    assert [o.adapted_properties["Index"] for o in ps.output] == list(range(1500))
    # The output is too large for one envelope: it arrives in several Receives.
    assert receives > 2


def test_several_pools_in_parallel(lab_env) -> None:
    def work(host: str) -> list[str]:
        names = []
        with RunspacePool(lab_env.wsman(host, endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
            for i in range(5):
                ps = invoke(pool, "Get-LabTestWidget", Count=i + 1)
                names.append(ps.output[-1].adapted_properties["Name"])
        return names

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        results = list(ex.map(work, ["EX01", "EX02", "EX03", "XPHONE01"]))
    assert results == [[f"widget{i}" for i in range(5)]] * 4
    assert lab_env.stats()["sessions"] == {"opened": 4, "closed": 4, "open": 0}


def test_slow_cmdlet_receive_times_out_and_client_retries(lab_env) -> None:
    wsman = lab_env.wsman("EX01", endpoint="windows", operation_timeout=1)
    with RunspacePool(wsman, configuration_name="Microsoft.PowerShell") as pool:
        ps = invoke(pool, "Start-LabTestSleep", Seconds=2.3)
    assert ps.output == ["awake"]
    # Each Receive that found nothing within OperationTimeout ended with the w:TimedOut fault (HTTP 500).
    assert lab_env.stats()["requests_by_status"]["500"] >= 2


def test_stop_a_running_pipeline(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Start-LabTestSleep").add_parameter("Seconds", 1.5)
        ps.begin_invoke()
        ps.stop()
        assert ps.state == PSInvocationState.STOPPED
        # The pool is still usable afterwards.
        assert invoke(pool, "Get-LabTestWidget").output


def test_script_text_is_refused_on_the_exchange_endpoint(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        ps = PowerShell(pool)
        ps.add_script("Get-RemoteDomain | Select-Object Name")
        ps.invoke()
    assert ps.had_errors or ps.streams.error


def test_wrong_configuration_name_gives_the_catalog_fault(lab_env) -> None:
    with pytest.raises(WSManFaultError) as exc:
        with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.Exchange"):
            pass
    assert exc.value.code == 2150858811
    assert ("The WS-Management service cannot process the request. The resource URI "
            "(http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found in the WS-Management catalog.") in exc.value.reason
    with pytest.raises(WSManFaultError) as exc:
        with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.PowerShell"):
            pass
    assert exc.value.code == 2150858811


def test_wrong_path_is_404(lab_env) -> None:
    ep = lab_env.host("XPHONE01")
    wsman = lab_env.wsman("XPHONE01", endpoint="windows")
    wsman.transport.endpoint = f"http://{ep.address}:{ep.ports['wsman_http']}/PowerShell"
    with pytest.raises(WinRMTransportError) as exc:
        with RunspacePool(wsman, configuration_name="Microsoft.PowerShell"):
            pass
    assert exc.value.code == 404


# -- WinRS ---------------------------------------------------------------------------------------------

@pytest.fixture
def fake_winrs(monkeypatch) -> list[tuple[str, list[str], t.Any]]:
    calls: list[tuple[str, list[str], t.Any]] = []

    def execute(_lab: t.Any, session: t.Any, command: str, arguments: list[str]) -> tuple[bytes, bytes, int]:
        calls.append((command, arguments, session))
        if command.startswith("powershell -encodedcommand"):
            script = base64.b64decode(command.split()[-1]).decode("utf-16-le")
            return f"script:{script}\r\n".encode(), b"", 0
        return b"out\r\n", b"err\r\n", 3

    monkeypatch.setattr(winrs, "_execute", execute)
    return calls


def test_pywinrm_run_cmd_and_run_ps(lab_env, fake_winrs) -> None:
    session = winrm.Session(lab_env.wsman_uri("XPHONE01"), auth=("ALLEO\\Administrator", lab_env.admin_password),
                            transport="ntlm")
    result = session.run_cmd("ipconfig", ["/all"])
    assert (result.std_out, result.std_err, result.status_code) == (b"out\r\n", b"err\r\n", 3)
    assert fake_winrs[0][:2] == ("ipconfig", ["/all"])
    assert fake_winrs[0][2].user == "ALLEO\\Administrator" and fake_winrs[0][2].host == "XPHONE01"
    result = session.run_ps("Write-Output 'Grüße'")
    assert result.status_code == 0 and "script:Write-Output 'Grüße'" in result.std_out.decode()


def test_pypsrp_execute_cmd(lab_env, fake_winrs) -> None:
    client = Client(lab_env.host("EX02").address, port=lab_env.host("EX02").ports["wsman_http"], ssl=False,
                    auth="negotiate", username=lab_env.admin_user, password=lab_env.admin_password)
    stdout, stderr, rc = client.execute_cmd("hostname")
    assert (stdout, stderr, rc) == ("out\r\n", "err\r\n", 3)
    assert fake_winrs[0][2].host == "EX02"


def test_winrs_on_the_exchange_vdir_is_not_in_the_catalog(lab_env) -> None:
    ep = lab_env.host("EX01")
    client = Client(ep.address, port=ep.ports["http"], path="PowerShell", ssl=False, auth="ntlm",
                    username=lab_env.admin_user, password=lab_env.admin_password)
    with pytest.raises(WSManFaultError) as exc:
        client.execute_cmd("whoami")
    assert exc.value.code == 2150858811
    assert "(http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd) was not found" in exc.value.reason


def test_winrs_with_the_windows_emulation(lab_env) -> None:
    session = winrm.Session(lab_env.wsman_uri("XPHONE01"), auth=("helpdesk@ALLEO", lab_env.credentials("helpdesk")[1]),
                            transport="ntlm")
    whoami = session.run_cmd("whoami")
    assert (whoami.std_out, whoami.status_code) == (b"alleo\\helpdesk\r\n", 0)
    assert session.run_cmd("hostname").std_out == b"XPHONE01\r\n"
    unknown = session.run_cmd("frobnicate")
    assert unknown.status_code == 1 and b"'frobnicate' is not recognized" in unknown.std_err

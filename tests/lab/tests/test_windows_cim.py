"""Win32_Service over CIM through Lab.run_pipeline: StartMode/StartName/State, Change return values, secrets."""

from __future__ import annotations

import json
import typing as t

from lab.engine import Lab
from lab.model import SecureString

from helpers import windows_runner

QUERY = "SELECT * FROM Win32_Service WHERE Name='{0}'"
PASSWORD = "Lab-User-2019!"


run = windows_runner("XPHONE01")


def instance(lab: Lab, name: str, host: str = "XPHONE01") -> t.Any:
    return run(lab, "Get-CimInstance", host=host, ClassName="Win32_Service", Filter=f"Name='{name}'").output[0]


def change(lab: Lab, service: str, **arguments: t.Any) -> int:
    result = run(lab, "Invoke-CimMethod", Query=QUERY.format(service), MethodName="Change", Arguments=arguments)
    assert not result.errors
    return result.output[0]["ReturnValue"]


def test_win32_service_reports_auto_not_automatic(lab: Lab) -> None:
    svc = instance(lab, "MSExchangeIMAP4", "EX01")
    assert (svc["StartMode"], svc["State"], svc["StartName"], svc["Started"]) == ("Manual", "Stopped", "LocalSystem", False)
    assert instance(lab, "MSExchangeIS", "EX01")["StartMode"] == "Auto"
    assert instance(lab, "MSExchangeTransport", "EX01")["StartName"] == "NT AUTHORITY\\NetworkService"


def test_queries_select_by_wql(lab: Lab) -> None:
    names = [o["Name"] for o in run(lab, "Get-CimInstance", host="EX01",
                                    Query="SELECT * FROM Win32_Service WHERE Name LIKE 'MSExchangeIMAP%'").output]
    assert names == ["MSExchangeIMAP4", "MSExchangeIMAP4BE"]
    assert run(lab, "Get-CimInstance", Query="SELECT * FROM Win32_Service WHERE Name='None'").output == []
    err = run(lab, "Get-CimInstance", Query="SELEKT nothing").errors[0]
    assert err.message == "Invalid query " and err.error_id.startswith("HRESULT 0x80041017,")
    assert run(lab, "Get-CimInstance", ClassName="Win32_Nope").errors[0].message == "Invalid class "


def test_change_logon_account_and_the_service_starts_with_the_right_password(lab: Lab) -> None:
    run(lab, "Stop-Service", Name="XPhoneConnectServer")
    assert change(lab, "XPhoneConnectServer", StartName="ALLEO\\jdoe", StartPassword=PASSWORD) == 0
    assert instance(lab, "XPhoneConnectServer")["StartName"] == "ALLEO\\jdoe"
    assert not run(lab, "Start-Service", Name="XPhoneConnectServer").errors
    assert instance(lab, "XPhoneConnectServer")["State"] == "Running"


def test_a_wrong_password_is_accepted_by_change_and_fails_at_start(lab: Lab) -> None:
    run(lab, "Stop-Service", Name="XPhoneConnectServer")
    assert change(lab, "XPhoneConnectServer", StartName="jdoe@alleo.intern", StartPassword="wrong") == 0
    assert run(lab, "Start-Service", Name="XPhoneConnectServer").errors[0].error_id.startswith("CouldNotStartService,")
    result = run(lab, "Invoke-CimMethod", Query=QUERY.format("XPhoneConnectServer"), MethodName="StartService")
    assert result.output[0]["ReturnValue"] == 15


def test_unknown_account_and_bad_start_mode_return_codes(lab: Lab) -> None:
    assert change(lab, "XPhoneConnectServer", StartName="ALLEO\\nobody", StartPassword="x") == 22
    assert change(lab, "XPhoneConnectServer", StartMode="Auto") == 21
    assert change(lab, "XPhoneConnectServer", StartMode="Disabled") == 0
    assert instance(lab, "XPhoneConnectServer")["StartMode"] == "Disabled"


def test_stop_service_method_with_running_dependants(lab: Lab) -> None:
    result = run(lab, "Invoke-CimMethod", host="EX01", Query=QUERY.format("MSExchangeADTopology"),
                 MethodName="StopService")
    assert result.output[0]["ReturnValue"] == 3


def test_start_password_never_reaches_state_or_audit(lab: Lab) -> None:
    secret = "Very-Secret-Pa55!"
    assert change(lab, "XPhoneConnectServer", StartName="ALLEO\\helpdesk", StartPassword=secret) == 0
    assert change(lab, "XPhoneConnectServer", StartName="ALLEO\\helpdesk",
                  StartPassword=SecureString(secret + "2")) == 0
    dumped = json.dumps(lab.store.snapshot()) + json.dumps(lab.audit())
    assert secret not in dumped
    stored = lab.store.snapshot()["hosts"]["XPHONE01"]["services"]["xphoneconnectserver"]["password"]
    assert set(stored) == {"scheme", "iterations", "salt", "hash"}


def test_set_cim_instance_cannot_write_service_properties(lab: Lab) -> None:
    result = run(lab, "Set-CimInstance", Query=QUERY.format("XPhoneConnectServer"), Property={"StartMode": "Manual"})
    assert result.errors[0].category == "NotImplemented"
    assert instance(lab, "XPhoneConnectServer")["StartMode"] == "Auto"

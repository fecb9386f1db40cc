"""Services through Lab.run_pipeline: the IMAP4 services of the vendor document, dependants, PowerShell's errors."""

from __future__ import annotations

from lab.engine import Lab

from helpers import windows_runner


run = windows_runner("EX01")


def status(lab: Lab, name: str, host: str = "EX01") -> tuple[str, str]:
    svc = run(lab, "Get-Service", host=host, Name=name).output[0]
    return svc["Status"].value, svc["StartType"].value


def test_imap4_services_start_stopped_and_manual_after_setup(lab: Lab) -> None:
    for host in ("EX01", "EX02", "EX03"):
        assert status(lab, "MSExchangeIMAP4", host) == ("Stopped", "Manual")
        assert status(lab, "MSExchangeIMAP4BE", host) == ("Stopped", "Manual")
        assert status(lab, "MSExchangeIS", host) == ("Running", "Automatic")
    assert status(lab, "XPhoneConnectServer", "XPHONE01") == ("Running", "Automatic")
    assert run(lab, "Get-Service", host="XPHONE01", Name="MSExchangeIMAP4").errors


def test_enable_imap4_as_the_document_asks(lab: Lab) -> None:
    for name in ("MSExchangeIMAP4", "MSExchangeIMAP4BE"):
        assert not run(lab, "Set-Service", Name=name, StartupType="Automatic").errors
        assert not run(lab, "Start-Service", Name=name).errors
        assert status(lab, name) == ("Running", "Automatic")
    assert status(lab, "MSExchangeIMAP4", "EX02") == ("Stopped", "Manual")


def test_missing_service_error(lab: Lab) -> None:
    err = run(lab, "Get-Service", Name="NoSuchService").errors[0]
    assert err.message == "Cannot find any service with service name 'NoSuchService'."
    assert err.error_id == "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand"
    assert err.category == "ObjectNotFound"
    assert run(lab, "Get-Service", Name="NoSuch*").errors == []


def test_stop_with_running_dependants_needs_force(lab: Lab) -> None:
    err = run(lab, "Stop-Service", Name="MSExchangeADTopology").errors[0]
    assert err.message == ("Cannot stop service 'Microsoft Exchange Active Directory Topology (MSExchangeADTopology)' "
                           "because it has dependent services. It can only be stopped if the Force flag is set.")
    assert err.error_id == "ServiceHasDependentServices,Microsoft.PowerShell.Commands.StopServiceCommand"
    assert status(lab, "MSExchangeIS")[0] == "Running"
    assert not run(lab, "Stop-Service", Name="MSExchangeADTopology", Force=True).errors
    assert status(lab, "MSExchangeIS")[0] == "Stopped" and status(lab, "MSExchangeADTopology")[0] == "Stopped"


def test_start_also_starts_what_the_service_depends_on(lab: Lab) -> None:
    run(lab, "Stop-Service", Name="MSExchangeADTopology", Force=True)
    assert not run(lab, "Start-Service", Name="MSExchangeIMAP4").errors
    assert status(lab, "MSExchangeADTopology")[0] == "Running"


def test_disabled_service_cannot_start(lab: Lab) -> None:
    run(lab, "Set-Service", Name="MSExchangeIMAP4", StartupType="Disabled")
    err = run(lab, "Start-Service", Name="MSExchangeIMAP4").errors[0]
    assert err.message == ("Service 'Microsoft Exchange IMAP4 (MSExchangeIMAP4)' cannot be started due to the "
                           "following error: Cannot start service MSExchangeIMAP4 on computer '.'.")
    assert err.error_id == "CouldNotStartService,Microsoft.PowerShell.Commands.StartServiceCommand"


def test_restart_information_store_keeps_it_running(lab: Lab) -> None:
    assert not run(lab, "Restart-Service", Name="MSExchangeIS").errors
    assert status(lab, "MSExchangeIS") == ("Running", "Automatic")
    assert run(lab, "Restart-Service", Name="MSExchangeADTopology").errors[0].error_id.startswith(
        "ServiceHasDependentServices,")


def test_dependent_and_required_services(lab: Lab) -> None:
    deps = [s["Name"] for s in run(lab, "Get-Service", Name="MSExchangeADTopology", DependentServices=True).output]
    assert {"MSExchangeIS", "MSExchangeIMAP4", "MSExchangeTransport"} <= set(deps)
    svc = run(lab, "Get-Service", Name="MSExchangeIS").output[0]
    assert [s["Name"] for s in svc["ServicesDependedOn"]] == ["MSExchangeADTopology"]


def test_set_service_status_and_what_if(lab: Lab) -> None:
    run(lab, "Set-Service", Name="MSExchangeIMAP4", Status="Running", WhatIf=True)
    assert status(lab, "MSExchangeIMAP4")[0] == "Stopped"
    assert not run(lab, "Set-Service", Name="MSExchangeIMAP4", Status="Running").errors
    assert status(lab, "MSExchangeIMAP4")[0] == "Running"
    assert run(lab, "Set-Service", Name="NoSuch", StartupType="Manual").errors[0].category == "ObjectNotFound"


def test_invalid_startup_type_is_refused_by_the_binder(lab: Lab) -> None:
    result = run(lab, "Set-Service", Name="MSExchangeIMAP4", StartupType="Auto")
    assert result.terminating_error is not None
    assert status(lab, "MSExchangeIMAP4")[1] == "Manual"

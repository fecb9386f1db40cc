"""Send and receive connectors: defaults per server, the smart-host rule, binding conflicts, shapes."""

from __future__ import annotations

from lab.engine import Lab
from lab.model import CommandCall, SessionInfo

from helpers import call, run

ADMIN_EX02 = SessionInfo("EX02", "exchange", "ALLEO\\Administrator")


def relay(**extra) -> CommandCall:
    params = {"Name": "Relay XPhone", "Server": "EX01", "TransportRole": "FrontendTransport", "Custom": True,
              "Bindings": "0.0.0.0:25", "RemoteIPRanges": "10.0.0.5"}
    params.update(extra)
    return CommandCall("New-ReceiveConnector", list(params.items()))


def test_default_receive_connectors_of_each_server(lab: Lab) -> None:
    out = run(lab, call("Get-ReceiveConnector", Server="EX02")).output
    by_name = {o["Name"]: o for o in out}
    assert set(by_name) == {"Default EX02", "Client Proxy EX02", "Default Frontend EX02",
                            "Outbound Proxy Frontend EX02", "Client Frontend EX02"}
    frontend = by_name["Default Frontend EX02"]
    assert frontend.type_names[0] == "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector"
    assert frontend["Identity"] == "EX02\\Default Frontend EX02"
    assert frontend["Bindings"] == ["[::]:25", "0.0.0.0:25"]
    assert frontend["TransportRole"].value == "FrontendTransport"
    assert "AnonymousUsers" in frontend["PermissionGroups"].value
    assert by_name["Default EX02"]["Bindings"] == ["[::]:2525", "0.0.0.0:2525"]
    assert by_name["Client Frontend EX02"]["Bindings"][1] == "0.0.0.0:587"
    assert len(run(lab, call("Get-ReceiveConnector")).output) == 15


def test_relay_connector_created_next_to_the_default_frontend(lab: Lab) -> None:
    result = run(lab, relay())
    assert result.terminating_error is None and not result.errors
    rc = result.output[0]
    assert rc["Identity"] == "EX01\\Relay XPhone" and rc["RemoteIPRanges"] == ["10.0.0.5"]
    assert rc["PermissionGroups"].value == "None" and rc["AuthMechanism"].value == "Tls"
    assert run(lab, call("Get-ReceiveConnector", "EX01\\Relay XPhone")).output[0]["Guid"] == rc["Guid"]
    assert run(lab, call("Get-ReceiveConnector", "Relay XPhone")).output


def test_binding_conflict_names_the_other_connector(lab: Lab) -> None:
    run(lab, relay())
    clash = run(lab, relay(Name="Relay Two", Bindings="0.0.0.0:25", RemoteIPRanges=["10.0.0.7", "10.0.0.5"]))
    (err,) = clash.errors
    assert "conflict with the settings on Receive connector \"EX01\\Relay XPhone\"" in err.message
    assert len(run(lab, call("Get-ReceiveConnector", Server="EX01")).output) == 6
    # other server, other port or other remote range: no conflict
    assert not run(lab, relay(Server="EX02")).errors
    assert not run(lab, relay(Name="Relay 2526", Bindings="0.0.0.0:2526")).errors
    assert not run(lab, relay(Name="Relay Other Host", RemoteIPRanges="10.0.0.6")).errors


def test_conflict_with_a_default_connector_on_set(lab: Lab) -> None:
    run(lab, relay())
    result = run(lab, call("Set-ReceiveConnector", "EX01\\Relay XPhone", RemoteIPRanges="0.0.0.0-255.255.255.255"))
    assert "\"EX01\\Default Frontend EX01\"" in result.errors[0].message
    assert run(lab, call("Get-ReceiveConnector", "EX01\\Relay XPhone")).output[0]["RemoteIPRanges"] == ["10.0.0.5"]


def test_set_receive_connector_edits_and_no_op(lab: Lab) -> None:
    run(lab, relay())
    edit = run(lab, call("Set-ReceiveConnector", "EX01\\Relay XPhone", RemoteIPRanges={"Add": "10.0.0.6"},
                         PermissionGroups="AnonymousUsers"))
    assert not edit.errors and not edit.warnings
    rc = run(lab, call("Get-ReceiveConnector", "EX01\\Relay XPhone")).output[0]
    assert rc["RemoteIPRanges"] == ["10.0.0.5", "10.0.0.6"] and rc["PermissionGroups"].value == "AnonymousUsers"
    again = run(lab, call("Set-ReceiveConnector", "EX01\\Relay XPhone", PermissionGroups="AnonymousUsers"))
    assert again.warnings == ["The command completed successfully but no settings of 'EX01\\Relay XPhone' have been modified."]


def test_new_receive_connector_defaults_to_the_local_server(lab: Lab) -> None:
    params = [(k, v) for k, v in relay().parameters if k != "Server"]
    created = run(lab, CommandCall("New-ReceiveConnector", params), session=ADMIN_EX02).output[0]
    assert created["Identity"] == "EX02\\Relay XPhone"


def test_receive_connector_duplicate_and_remove(lab: Lab) -> None:
    run(lab, relay())
    dup = run(lab, relay(Bindings="0.0.0.0:2600"))
    assert "already exists" in dup.errors[0].message
    assert run(lab, call("Remove-ReceiveConnector", "EX01\\Relay XPhone")).terminating_error is not None
    assert not run(lab, call("Remove-ReceiveConnector", "EX01\\Relay XPhone", Confirm=False)).errors
    assert run(lab, call("Get-ReceiveConnector", "EX01\\Relay XPhone")).errors


def test_send_connector_per_um_service(lab: Lab) -> None:
    result = run(lab, call("New-SendConnector", Name="fax", Custom=True, AddressSpaces="fax.alleo.intern",
                           SmartHosts="10.0.0.5", DNSRoutingEnabled=False, Port=2533,
                           SmartHostAuthMechanism="None", SourceTransportServers=["EX01", "EX02"]))
    assert not result.errors
    sc = run(lab, call("Get-SendConnector", "fax")).output[0]
    assert sc.type_names[0] == "Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig"
    # Exchange's own forms (audit Q1): the type prefix as typed (lower-case smtp by default), an IP smart host in brackets.
    assert sc["AddressSpaces"] == ["smtp:fax.alleo.intern;1"] and sc["SmartHosts"] == ["[10.0.0.5]"]
    assert sc["SmartHostsString"] == "[10.0.0.5]"
    assert sc["Port"] == 2533 and sc["DNSRoutingEnabled"] is False and sc["SmartHostAuthMechanism"].value == "None"
    assert sc["SourceTransportServers"] == ["EX01", "EX02"] and sc["Enabled"] is True
    assert sc["MaxMessageSize"] == "25 MB (26,214,400 bytes)"


SMART_HOST_NOT_SET = "You must specify a smart host if you are not using DNS to route mails."
DNS_WITH_SMART_HOSTS = "You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used."


def test_send_connector_smart_host_rule(lab: Lab) -> None:
    refused = run(lab, call("New-SendConnector", Name="fax", AddressSpaces="fax.alleo.intern", DNSRoutingEnabled=False))
    assert [e.message for e in refused.errors] == [SMART_HOST_NOT_SET]
    assert refused.errors[0].exception_type == "Microsoft.Exchange.Data.DataValidationException"
    both = run(lab, call("New-SendConnector", Name="fax", AddressSpaces="fax.alleo.intern", SmartHosts="10.0.0.5",
                         DNSRoutingEnabled=True))
    assert [e.message for e in both.errors] == [DNS_WITH_SMART_HOSTS] and both.errors[0].category == "InvalidOperation"
    assert not run(lab, call("Get-SendConnector")).output
    run(lab, call("New-SendConnector", Name="fax", AddressSpaces="fax.alleo.intern", SmartHosts="[10.0.0.5]"))
    cleared = run(lab, call("Set-SendConnector", "fax", SmartHosts=[]))
    assert [e.message for e in cleared.errors] == [SMART_HOST_NOT_SET]
    assert run(lab, call("Get-SendConnector", "fax")).output[0]["SmartHosts"] == ["[10.0.0.5]"]
    # -DNSRoutingEnabled $true clears the smart hosts (ClearSmartHostsListIfNecessary).
    assert not run(lab, call("Set-SendConnector", "fax", DNSRoutingEnabled=True)).errors
    dns = run(lab, call("Get-SendConnector", "fax")).output[0]
    assert dns["SmartHosts"] == [] and dns["DNSRoutingEnabled"] is True and dns["SmartHostsString"] == ""


def test_smart_hosts_alone_on_a_dns_routed_connector_are_refused(lab: Lab) -> None:
    """StampChangesOn: DNSRoutingEnabled keeps its value unless given (audit Q1, SetSendConnector.cs)."""
    run(lab, call("New-SendConnector", Name="fax", AddressSpaces="fax.alleo.intern", DNSRoutingEnabled=True))
    alone = run(lab, call("Set-SendConnector", "fax", SmartHosts="10.0.0.5"))
    assert [e.message for e in alone.errors] == [DNS_WITH_SMART_HOSTS]
    assert run(lab, call("Get-SendConnector", "fax")).output[0]["DNSRoutingEnabled"] is True
    assert not run(lab, call("Set-SendConnector", "fax", SmartHosts="mail.alleo.intern", DNSRoutingEnabled=False)).errors
    routed = run(lab, call("Get-SendConnector", "fax")).output[0]
    assert routed["SmartHosts"] == ["mail.alleo.intern"] and routed["DNSRoutingEnabled"] is False
    # On a smart-host connector, new smart hosts alone are fine.
    assert not run(lab, call("Set-SendConnector", "fax", SmartHosts=["10.0.0.6", "[10.0.0.7]"])).errors
    assert run(lab, call("Get-SendConnector", "fax")).output[0]["SmartHosts"] == ["[10.0.0.6]", "[10.0.0.7]"]


def test_send_connector_no_op_duplicate_remove(lab: Lab) -> None:
    run(lab, call("New-SendConnector", Name="fax", AddressSpaces="fax.alleo.intern", SmartHosts="10.0.0.5"))
    assert run(lab, call("Set-SendConnector", "fax", Port=25)).warnings
    dup = run(lab, call("New-SendConnector", Name="Fax", AddressSpaces="x.y", SmartHosts="10.0.0.5"))
    assert "already exists" in dup.errors[0].message
    assert run(lab, call("Get-SendConnector", "sms")).errors
    assert not run(lab, call("Remove-SendConnector", "fax", Confirm=False)).errors
    assert not run(lab, call("Get-SendConnector")).output


def test_hub_transport_connector_on_the_frontend_port_is_a_role_conflict(lab: Lab) -> None:
    result = run(lab, relay(TransportRole="HubTransport"))
    (err,) = result.errors
    assert err.message.startswith("The values that you specified for the Bindings and RemoteIPRanges parameters conflict "
                                  "with the settings on Receive connector \"EX01\\Default Frontend EX01\".")
    assert "different Transport roles" in err.message
    assert err.exception_type.endswith("ReceiveConnectorRoleConflictException")
    assert not run(lab, relay(TransportRole="HubTransport", Bindings="0.0.0.0:2526")).errors

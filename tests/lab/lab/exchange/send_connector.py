"""Send connectors (org-wide): Get/New/Set/Remove-SendConnector, with Exchange's smart-host rule."""

from __future__ import annotations

import typing as t

from . import common

TYPE_NAMES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
              "Microsoft.Exchange.Data.Directory.SystemConfiguration.MailGateway",
              "Microsoft.Exchange.Data.Directory.SystemConfiguration.SendConnector",
              "Microsoft.Exchange.Data.Directory.ADLegacyVersionableObject",
              "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
ENUMS = {"SmartHostAuthMechanism": f"{SYSCONF}.SmtpSendConnectorConfig+AuthMechanisms",
         "ProtocolLoggingLevel": "Microsoft.Exchange.Data.ProtocolLoggingLevel",
         "TlsAuthLevel": "Microsoft.Exchange.Data.TlsAuthLevel", "ErrorPolicies": f"{SYSCONF}.ErrorPolicies",
         "ConnectorType": f"{SYSCONF}.TenantConnectorType"}
SMART_HOST_RULE = ("The value of the SmartHosts parameter can't be empty when the DNSRoutingEnabled parameter is "
                   "set to $false. Specify at least one smart host, or set DNSRoutingEnabled to $true.")
USAGE_SWITCHES = ("Custom", "Internet", "Internal", "Partner")
SETTABLE_SKIP = ("Identity", "Name", "Usage", "Force") + USAGE_SWITCHES


def connectors(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("send_connectors", {})


def _dn(data: dict[str, t.Any], name: str) -> str:
    return (f"CN={name},CN=Connections,CN={common.ROUTING_GROUP},CN=Routing Groups,"
            f"{common.admin_group_dn(data)}")


def _render(rec: dict[str, t.Any]):
    out = dict(rec)
    out["SmartHostsString"] = ",".join(rec.get("SmartHosts") or [])
    return common.render(out, TYPE_NAMES, ENUMS)


def _check_smart_hosts(inv, rec: dict[str, t.Any]) -> bool:
    if rec.get("DNSRoutingEnabled") is False and not rec.get("SmartHosts"):
        common.fail(inv, SMART_HOST_RULE, "Microsoft.Exchange.Data.DataValidationException",
                    category="InvalidData", target=rec["Name"])
        return False
    return True


@common.cmdlet("Get-SendConnector")
def get_send_connector(inv) -> None:
    with inv.store.read() as data:
        records = list(connectors(data).values())
    common.write_matching(inv, records, _render)


@common.cmdlet("New-SendConnector")
def new_send_connector(inv) -> None:
    name = inv.params["Name"]
    with inv.store.write() as data:
        if name.lower() in connectors(data):
            common.already_exists(inv, _dn(data, name))
            return
        rec = common.base_record(name, _dn(data, name))
        rec.update(common.reference_defaults("New-SendConnector", skip=("Usage", "AuthenticationCredential")))
        usage = next((s for s in USAGE_SWITCHES if inv.params.get(s)), None) or common.stored(inv.params.get("Usage")) or "Custom"
        rec["Usage"] = usage
        if inv.has("SmartHosts") and not inv.has("DNSRoutingEnabled"):
            # Giving smart hosts means routing through them (the EAC's "Route mail through smart hosts").
            rec["DNSRoutingEnabled"] = False
        for key, value in inv.params.items():
            if key not in SETTABLE_SKIP and key != "DomainController":
                rec[key] = common.stored(value)
        rec["AuthenticationCredential"] = None if not inv.has("AuthenticationCredential") else "System.Management.Automation.PSCredential"
        if not rec.get("SourceTransportServers"):
            rec["SourceTransportServers"] = [common.local_server(inv)]
        rec["HomeMTA"] = "Microsoft MTA"
        rec["HomeMtaServerId"] = rec["SourceTransportServers"][0]
        if not _check_smart_hosts(inv, rec):
            return
        connectors(data)[name.lower()] = rec
    inv.write(_render(rec))


@common.cmdlet("Set-SendConnector")
def set_send_connector(inv) -> None:
    with inv.store.write() as data:
        rec = common.find_one(inv, connectors(data).values(), inv.params["Identity"])
        if rec is None:
            return
        old_key = rec["Name"].lower()
        new_name = inv.params.get("Name")
        if common.name_taken(inv, connectors(data), rec, new_name, lambda name: _dn(data, name)):
            return
        if "AuthenticationCredential" in inv.params:
            inv.params["AuthenticationCredential"] = "System.Management.Automation.PSCredential"
        if not common.set_record(inv, rec, ("Identity", "Force"), lambda updated: _check_smart_hosts(inv, updated)):
            return
        if new_name:
            common.rekey(connectors(data), rec, old_key, new_name, _dn(data, new_name))


@common.cmdlet("Remove-SendConnector")
def remove_send_connector(inv) -> None:
    with inv.store.write() as data:
        rec = common.find_one(inv, connectors(data).values(), inv.params["Identity"])
        if rec is None:
            return
        common.confirm(inv, f"Removing Send connector \"{rec['Identity']}\".")
        del connectors(data)[rec["Name"].lower()]

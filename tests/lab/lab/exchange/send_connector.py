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
         "TlsAuthLevel": "Microsoft.Exchange.Data.TlsAuthLevel", "ErrorPolicies": "Microsoft.Exchange.Data.ErrorPolicies",
         "ConnectorType": f"{SYSCONF}.TenantConnectorType"}
# DirectoryStrings.SmartHostNotSet (SmtpSendConnectorConfig.ValidateWrite) and
# Strings.DNSRoutingEnabledMustNotBeSpecified (lab-fidelity-audit Q1).
SMART_HOST_RULE = "You must specify a smart host if you are not using DNS to route mails."
DNS_WITH_SMART_HOSTS = "You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used."
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
    # Not stored but computed: a connector without smart hosts routes by DNS (SmtpSendConnectorConfig getter).
    out["DNSRoutingEnabled"] = not rec.get("SmartHosts")
    return common.render(out, TYPE_NAMES, ENUMS)


def _dns_routing(inv, otherwise: bool) -> bool:
    """-DNSRoutingEnabled as given, else ``otherwise``."""
    return bool(common.stored(inv.params["DNSRoutingEnabled"])) if inv.has("DNSRoutingEnabled") else otherwise


def _check_routing(inv, name: str, dns_routing: bool, smart_hosts: list[t.Any]) -> bool:
    """Exchange's two rules between DNSRoutingEnabled and SmartHosts."""
    if dns_routing and smart_hosts:
        common.fail(inv, DNS_WITH_SMART_HOSTS, "System.InvalidOperationException", category="InvalidOperation",
                    target=name)
        return False
    if not dns_routing and not smart_hosts:
        common.fail(inv, SMART_HOST_RULE, "Microsoft.Exchange.Data.DataValidationException",
                    category="InvalidData", target=name)
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
        # Giving smart hosts on New means routing through them (the EAC's "Route mail through smart hosts").
        dns_routing = _dns_routing(inv, not inv.params.get("SmartHosts"))
        for key, value in inv.params.items():
            if key not in SETTABLE_SKIP and key not in ("DomainController", "DNSRoutingEnabled"):
                rec[key] = common.stored(value)
        rec.pop("DNSRoutingEnabled", None)
        rec["AuthenticationCredential"] = None if not inv.has("AuthenticationCredential") else "System.Management.Automation.PSCredential"
        if not rec.get("SourceTransportServers"):
            rec["SourceTransportServers"] = [common.local_server(inv)]
        rec["HomeMTA"] = "Microsoft MTA"
        rec["HomeMtaServerId"] = rec["SourceTransportServers"][0]
        if not _check_routing(inv, name, dns_routing, rec.get("SmartHosts") or []):
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
        # StampChangesOn: DNSRoutingEnabled is what the connector does now unless given; giving $true clears the smart
        # hosts (ClearSmartHostsListIfNecessary). So -SmartHosts alone on a DNS-routed connector is refused.
        dns_routing = _dns_routing(inv, not rec.get("SmartHosts"))
        if inv.has("SmartHosts"):
            smart_hosts = common.stored(inv.params["SmartHosts"]) or []
        else:
            smart_hosts = [] if dns_routing else rec.get("SmartHosts") or []
        if not _check_routing(inv, rec["Name"], dns_routing, smart_hosts):
            return
        if dns_routing and not inv.has("SmartHosts"):
            inv.params["SmartHosts"] = []
        inv.params.pop("DNSRoutingEnabled", None)
        if not common.set_record(inv, rec, ("Identity", "Force")):
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

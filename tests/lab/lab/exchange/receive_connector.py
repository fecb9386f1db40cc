"""Receive connectors (per server): Get/New/Set/Remove-ReceiveConnector, the five default connectors of
each Exchange server, and Exchange's rule that Bindings + RemoteIPRanges must not collide on one server."""

from __future__ import annotations

import typing as t

from .. import binding, errors, topology
from . import common

TYPE_NAMES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
              "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
ENUMS = {"AuthMechanism": f"{SYSCONF}.AuthMechanisms", "PermissionGroups": "Microsoft.Exchange.Data.PermissionGroups",
         "TransportRole": f"{SYSCONF}.ServerRole", "ProtocolLoggingLevel": "Microsoft.Exchange.Data.ProtocolLoggingLevel",
         "MessageRateSource": f"{SYSCONF}.MessageRateSourceFlags",
         "ExtendedProtectionPolicy": f"{SYSCONF}.ExtendedProtectionPolicySetting",
         "SizeEnabled": "Microsoft.Exchange.Data.SizeMode"}
ALL_V4 = "0.0.0.0-255.255.255.255"
ALL_V6 = "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
FULL_AUTH = "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"
# The connectors setup creates on every Mailbox server: name pattern, role, port, permission groups, auth.
DEFAULTS = [
    ("Default {0}", "HubTransport", 2525, "ExchangeUsers, ExchangeServers, ExchangeLegacyServers", FULL_AUTH),
    ("Client Proxy {0}", "HubTransport", 465, "ExchangeUsers, ExchangeServers", FULL_AUTH),
    ("Default Frontend {0}", "FrontendTransport", 25, "AnonymousUsers, ExchangeServers, ExchangeLegacyServers", FULL_AUTH),
    ("Outbound Proxy Frontend {0}", "FrontendTransport", 717, "ExchangeServers", FULL_AUTH),
    ("Client Frontend {0}", "FrontendTransport", 587, "ExchangeUsers", "Tls, Integrated, BasicAuth, BasicAuthRequireTLS"),
]
# Defaults New-ReceiveConnector applies per usage type (PermissionGroups, AuthMechanism); NewReceiveConnector's
# SetPermissionGroups/SetAuthMechanism (audit Q2). Without any usage (the default parameter set) the connector gets
# the "no usage" defaults, not Custom's.
USAGE_DEFAULTS = {
    "Custom": ("None", "Tls"), "Internet": ("AnonymousUsers", "Tls"),
    "Internal": ("ExchangeServers, ExchangeLegacyServers", "Tls, ExchangeServer"),
    "Client": ("ExchangeUsers", "Tls, Integrated, BasicAuth, BasicAuthRequireTLS"), "Partner": ("Partners", "Tls"),
}
NO_USAGE_DEFAULTS = ("ExchangeUsers, ExchangeServers, ExchangeLegacyServers", FULL_AUTH)
CUSTOM_NEEDS_TEXT = "Provide values for the Bindings and RemoteIPRanges parameters."
CONFLICT_TEXT = ("The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the "
                 "settings on Receive connector \"{0}\". A Receive connector must have a unique combination of a local "
                 "IP address & port bindings and remote IP address ranges. Change at least one of these values.")


ROLE_CONFLICT_TEXT = ("The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the "
                      "settings on Receive connector \"{0}\". Receive connectors assigned to different Transport roles "
                      "on a single server must listen on unique local IP address & port bindings.")


def server_connectors(data: dict[str, t.Any], server: str) -> dict[str, dict[str, t.Any]]:
    return data["hosts"][server].setdefault("receive_connectors", {})


def exchange_hosts(data: dict[str, t.Any]) -> list[str]:
    return [name for name, host in data["hosts"].items() if host.get("role") == "exchange"]


def all_connectors(data: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return [rec for server in exchange_hosts(data) for rec in server_connectors(data, server).values()]


def _dn(data: dict[str, t.Any], server: str, name: str) -> str:
    return f"CN={name},CN=SMTP Receive Connectors,CN=Protocols,{common.server_dn(data, server)}"


def make(data: dict[str, t.Any], server: str, name: str, role: str, guid: str | None = None) -> dict[str, t.Any]:
    rec = common.base_record(name, _dn(data, server, name), guid)
    rec["Identity"] = f"{server}\\{name}"
    rec["Server"] = server
    rec.update(common.reference_defaults(
        "New-ReceiveConnector", ("Receive connectors on Mailbox servers", "Receive connectors in the Transport service"),
        skip=("Usage", "Client", "Custom", "Internal", "Internet", "Partner")))
    rec["TransportRole"] = role
    rec["Fqdn"] = f"{server}.{common.domain(data)['fqdn']}"
    rec["Enabled"] = True
    return rec


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    for server in exchange_hosts(state):
        for pattern, role, port, groups, auth in DEFAULTS:
            name = pattern.format(server)
            rec = make(state, server, name, role, topology.stable_guid("receive-connector", server, name))
            rec.update({"Bindings": [f"[::]:{port}", f"0.0.0.0:{port}"], "RemoteIPRanges": [ALL_V6, ALL_V4],
                        "PermissionGroups": groups, "AuthMechanism": auth})
            server_connectors(state, server)[name.lower()] = rec


topology.SEEDERS.append(seed)


def _binding_overlap(a: list[str], b: list[str]) -> str | None:
    """``identical`` when both bind one address and port, ``wildcard`` when one side is Any on the same family and
    port, else None (ReceiveConnectorNoMappingConflictCondition, audit Q2)."""
    found = None
    for x in a:
        for y in b:
            px, py = binding.parse_binding(x), binding.parse_binding(y)
            if not px or not py or px[1] != py[1]:
                continue
            ax, ay = px[0], py[0]
            if ax == ay:
                return "identical"
            if (":" in ax) == (":" in ay) and (ax in ("0.0.0.0", "::") or ay in ("0.0.0.0", "::")):
                found = "wildcard"
    return found


def _partially_overlaps(x: tuple[int, int, int], y: tuple[int, int, int]) -> bool:
    """IPRange.PartiallyOverlaps: the ranges share addresses and neither contains the other."""
    if x[0] != y[0] or x[2] < y[1] or y[2] < x[1]:
        return False
    return not (y[1] <= x[1] and x[2] <= y[2]) and not (x[1] <= y[1] and y[2] <= x[2])


def _ranges_conflict(a: list[str], b: list[str], identical_binding: bool) -> bool:
    """On an identical binding an equal or partially overlapping range conflicts; on a wildcard overlap only a partial
    overlap does. A range inside the other never conflicts: Exchange picks the more specific connector."""
    mine = [r for r in (binding.parse_ip_range(t) for t in a) if r]
    theirs = [r for r in (binding.parse_ip_range(t) for t in b) if r]
    return any(_partially_overlaps(x, y) or identical_binding and x == y for x in mine for y in theirs)


def conflict(data: dict[str, t.Any], rec: dict[str, t.Any]) -> tuple[dict[str, t.Any], str] | None:
    """The connector ``rec`` collides with on its server, and which rule it breaks (``role`` or ``range``)."""
    for other in server_connectors(data, rec["Server"]).values():
        if other["Guid"] == rec["Guid"]:
            continue
        overlap = _binding_overlap(rec.get("Bindings") or [], other.get("Bindings") or [])
        if overlap is None:
            continue
        if other.get("TransportRole") != rec.get("TransportRole"):
            return other, "role"
        if _ranges_conflict(rec.get("RemoteIPRanges") or [], other.get("RemoteIPRanges") or [], overlap == "identical"):
            return other, "range"
    return None


def _fits(inv, data: dict[str, t.Any], rec: dict[str, t.Any]) -> bool:
    """Whether ``rec`` can stand beside its server's other connectors; Exchange's conflict error when it cannot."""
    found = conflict(data, rec)
    if found is None:
        return True
    other, rule = found
    text = ROLE_CONFLICT_TEXT if rule == "role" else CONFLICT_TEXT
    exc = ("Microsoft.Exchange.Management.SystemConfigurationTasks.ReceiveConnectorRoleConflictException"
           if rule == "role" else "Microsoft.Exchange.Management.SystemConfigurationTasks.ConnectorMappingConflictException")
    common.fail(inv, text.format(other["Identity"]), exc, category="InvalidOperation", target=other["Identity"])
    return False


def find(data: dict[str, t.Any], identity: t.Any) -> list[dict[str, t.Any]]:
    text = str(identity.get("Identity") if isinstance(identity, dict) else identity)
    return [rec for rec in all_connectors(data) if common.matches(rec, text, ("Name", "Identity"))]


def _find_one(inv, data: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The one connector -Identity names, or None after Exchange's not-found / ambiguous error."""
    found = find(data, inv.params["Identity"])
    if len(found) != 1:
        common.find_one(inv, found, inv.params["Identity"], ("Name", "Identity"))
        return None
    return found[0]


def _render(rec: dict[str, t.Any]):
    return common.render(rec, TYPE_NAMES, ENUMS)


def _server_name(inv, data: dict[str, t.Any], given: t.Any) -> str | None:
    wanted = str(given or common.local_server(inv)).split(".", maxsplit=1)[0].lower()
    for name in exchange_hosts(data):
        if name.lower() == wanted:
            return name
    return None


@common.cmdlet("Get-ReceiveConnector")
def get_receive_connector(inv) -> None:
    with inv.store.read() as data:
        records = all_connectors(data)
        if inv.has("Server"):
            server = _server_name(inv, data, inv.params["Server"])
            if server is None:
                common.report_not_found(inv, inv.params["Server"])
                return
            records = [r for r in records if r["Server"] == server]
        if inv.has("Identity"):
            found = find(data, inv.params["Identity"])
            if not found:
                common.report_not_found(inv, inv.params["Identity"])
            records = found
    for rec in records:
        inv.write(_render(rec))


@common.cmdlet("New-ReceiveConnector")
def new_receive_connector(inv) -> None:
    name = inv.params["Name"]
    with inv.store.write() as data:
        server = _server_name(inv, data, inv.params.get("Server"))
        if server is None:
            common.report_not_found(inv, inv.params.get("Server"))
            return
        if name.lower() in server_connectors(data, server):
            common.already_exists(inv, _dn(data, server, name))
            return
        usage = next((s for s in USAGE_DEFAULTS if inv.params.get(s) is True), None) or common.stored(
            inv.params.get("Usage"))
        role = common.stored(inv.params.get("TransportRole")) or "HubTransport"
        rec = make(data, server, name, role)
        groups, auth = USAGE_DEFAULTS.get(str(usage), NO_USAGE_DEFAULTS) if usage else NO_USAGE_DEFAULTS
        rec.update({"PermissionGroups": groups, "AuthMechanism": auth, "Bindings": [], "RemoteIPRanges": [ALL_V6, ALL_V4]})
        if usage in (None, "Custom") and not (inv.params.get("Bindings") and inv.params.get("RemoteIPRanges")):
            # Custom usage, which is also the default parameter set, must say where it listens and for whom.
            common.fail(inv, CUSTOM_NEEDS_TEXT, errors.ARGUMENT_EXC, category="InvalidArgument")
            return
        if usage == "Partner":
            rec["DomainSecureEnabled"] = True
        if usage == "Client" and not inv.has("Bindings"):
            rec["Bindings"] = ["0.0.0.0:587"]
        for key, value in inv.params.items():
            if key in ("Name", "Server", "Usage", "DomainController", "TransportRole") or key in USAGE_DEFAULTS:
                continue
            rec[key] = common.stored(value)
        if not rec["Bindings"]:
            common.fail(inv, "The Bindings parameter can't be empty.", errors.ARGUMENT_EXC, category="InvalidArgument")
            return
        if not _fits(inv, data, rec):
            return
        server_connectors(data, server)[name.lower()] = rec
    inv.write(_render(rec))


@common.cmdlet("Set-ReceiveConnector")
def set_receive_connector(inv) -> None:
    with inv.store.write() as data:
        rec = _find_one(inv, data)
        if rec is None:
            return
        records = server_connectors(data, rec["Server"])
        old_key = rec["Name"].lower()
        new_name = inv.params.get("Name")
        if common.name_taken(inv, records, rec, new_name, lambda name: _dn(data, rec["Server"], name)):
            return
        if not common.set_record(inv, rec, valid=lambda updated: _fits(inv, data, updated)):
            return
        if new_name:
            common.rekey(records, rec, old_key, new_name, _dn(data, rec["Server"], new_name), f"{rec['Server']}\\{new_name}")


@common.cmdlet("Remove-ReceiveConnector")
def remove_receive_connector(inv) -> None:
    with inv.store.write() as data:
        rec = _find_one(inv, data)
        if rec is None:
            return
        common.confirm(inv, f"Removing Receive connector \"{rec['Identity']}\".")
        del server_connectors(data, rec["Server"])[rec["Name"].lower()]
        common.org(data).get("ad_permissions", {}).pop(rec["DistinguishedName"].lower(), None)

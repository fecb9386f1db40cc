"""Get-Command, Get-NetIPAddress and Test-NetConnection over the lab's topology."""

from __future__ import annotations

import fnmatch
import typing as t

from .. import errors, reference, registry
from ..model import LabEnum, LabObject
from . import common

# Exchange setup and the roles the collection touches listen here (lab assumption; receive connectors'
# own ports are added from the state).
EXCHANGE_PORTS = {25, 80, 135, 143, 443, 465, 587, 993, 2525, 5985, 5986}
WINDOWS_PORTS = {135, 445, 3389, 5985, 5986}
COMMON_PORTS = {"HTTP": 80, "RDP": 3389, "SMB": 445, "WINRM": 5985}


def _available(inv: t.Any, host: dict[str, t.Any]) -> list[str]:
    names = [spec.name for spec in registry.CMDLETS.values() if spec.endpoint == "windows" and not spec.name.startswith("<")]
    if host.get("role") != "exchange":
        names = [n for n in names if not (reference.cmdlet("windows", n) or {}).get("requires_module")]
    return sorted(set(names))


@registry.cmdlet("Get-Command", endpoint="windows", reference="windows")
def get_command(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
    available = _available(inv, host)
    for pattern in [common.plain(p) for p in common.as_list(inv.params.get("Name"))] or ["*"]:
        matches = [n for n in available if fnmatch.fnmatch(n.lower(), pattern.lower())]
        if not matches and not common.is_wildcard(pattern):
            inv.error(common.error(inv, errors.COMMAND_NOT_FOUND_TEXT.format(pattern), "ObjectNotFound",
                                   "CommandNotFoundException", "System.Management.Automation.CommandNotFoundException",
                                   target=pattern))
        for name in matches:
            facts = reference.cmdlet("windows", name) or {}
            module = facts.get("module") or facts.get("requires_module") or ""
            inv.write(LabObject(["System.Management.Automation.CmdletInfo", "System.Management.Automation.CommandInfo",
                                 "System.Object"],
                                {"CommandType": LabEnum("System.Management.Automation.CommandTypes", "Cmdlet", 8),
                                 "Name": name, "Version": "3.1.0.0", "Source": module, "ModuleName": module,
                                 "Verb": name.split("-")[0], "Noun": name.split("-", 1)[-1]}, to_string=name))


def _host_entry(inv: t.Any, name: str) -> dict[str, t.Any] | None:
    lowered = name.lower()
    domain = ((getattr(inv.lab, "topology", None) or {}).get("domain") or {}).get("fqdn", "")
    for host in (getattr(inv.lab, "topology", None) or {}).get("hosts") or []:
        if lowered in (host["name"].lower(), f"{host['name']}.{domain}".lower(), str(host.get("address"))):
            return host
    return None


@registry.cmdlet("Get-NetIPAddress", endpoint="windows", reference="windows")
def get_net_ip_address(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
    entry = _host_entry(inv, host["name"]) or {}
    rows = [("Ethernet", 4, entry.get("address", "127.0.0.1"), 24, "Manual"),
            ("Loopback Pseudo-Interface 1", 1, "127.0.0.1", 8, "WellKnown")]
    wanted = [common.plain(a) for a in common.as_list(inv.params.get("IPAddress"))]
    for alias, index, address, prefix, origin in rows:
        if wanted and address not in wanted:
            continue
        inv.write(LabObject(["Microsoft.Management.Infrastructure.CimInstance#ROOT/StandardCimv2/MSFT_NetIPAddress",
                             "Microsoft.Management.Infrastructure.CimInstance", "System.Object"],
                            {"IPAddress": address, "InterfaceIndex": index, "InterfaceAlias": alias,
                             "AddressFamily": LabEnum("AddressFamily", "IPv4", 2),
                             "Type": LabEnum("Type", "Unicast", 1), "PrefixLength": prefix,
                             "PrefixOrigin": LabEnum("PrefixOrigin", origin, 1),
                             "SuffixOrigin": LabEnum("SuffixOrigin", origin, 1),
                             "AddressState": LabEnum("AddressState", "Preferred", 4),
                             "SkipAsSource": False, "PolicyStore": "ActiveStore"}, to_string=address))


@registry.cmdlet("Test-NetConnection", endpoint="windows", reference="windows")
def test_net_connection(inv: t.Any) -> None:
    target = common.plain(inv.params.get("ComputerName")) or "internetbeacon.msedge.net"
    port = inv.params.get("Port")
    if inv.has("CommonTCPPort"):
        port = COMMON_PORTS.get(common.plain(inv.params["CommonTCPPort"]).upper())
    with inv.store.read() as data:
        source = common.host_state(inv, data)
        entry = _host_entry(inv, target)
        state_host = data["hosts"].get(entry["name"]) if entry else None
    source_entry = _host_entry(inv, source["name"]) or {}
    if entry is None:
        inv.warn(f"Name resolution of {target} failed")
        inv.write(LabObject(["TestNetConnectionResult", "System.Object"],
                            {"ComputerName": target, "RemoteAddress": None, "PingSucceeded": False,
                             "TcpTestSucceeded": False if port else None}))
        return
    listening = set(EXCHANGE_PORTS if entry.get("role") == "exchange" else WINDOWS_PORTS)
    for connector in ((state_host or {}).get("receive_connectors") or {}).values():
        for binding_text in connector.get("Bindings") or connector.get("bindings") or []:
            listening.add(int(str(binding_text).rsplit(":", 1)[-1]))
    props = {"ComputerName": target, "RemoteAddress": entry.get("address"), "InterfaceAlias": "Ethernet",
             "SourceAddress": source_entry.get("address"), "PingSucceeded": True}
    if port:
        if int(port) not in listening:
            inv.warn(f"TCP connect to ({entry.get('address')} : {port}) failed")
        props.update({"RemotePort": int(port), "TcpTestSucceeded": int(port) in listening})
    inv.write(LabObject(["TestNetConnectionResult", "System.Object"], props, to_string=target))

"""The lab's topology (tests/lab/topology/*.yml) and the initial state built from it.

``build_state`` creates the directory (domain, users, groups) and the hosts, then calls every function in
``SEEDERS`` in order; object families (Exchange defaults, Windows registry/files/services) append their
seeders at import time.
"""

from __future__ import annotations

import hashlib
import os
import typing as t

import yaml

DEFAULT_TOPOLOGY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "topology", "default.yml")

Seeder = t.Callable[[dict, dict], None]
SEEDERS: list[Seeder] = []


def load(path: str = DEFAULT_TOPOLOGY) -> dict[str, t.Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def stable_guid(*parts: str) -> str:
    """A GUID derived from names, so that a rebuilt lab gives the same objects the same ids."""
    h = hashlib.sha256("\x00".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def domain_sid(fqdn: str) -> str:
    h = hashlib.sha256(fqdn.lower().encode()).digest()
    parts = [int.from_bytes(h[i:i + 4], "little") % 4000000000 for i in (0, 4, 8)]
    return "S-1-5-21-" + "-".join(str(p) for p in parts)


def domain_dn(fqdn: str) -> str:
    return ",".join(f"DC={label}" for label in fqdn.split("."))


def build_state(topology: dict[str, t.Any]) -> dict[str, t.Any]:
    domain = topology["domain"]
    fqdn = domain["fqdn"]
    sid = domain_sid(fqdn)
    state: dict[str, t.Any] = {
        "version": 1,
        "organization": {"name": domain.get("organization", domain["netbios"]),
                         "guid": stable_guid("org", fqdn)},
        "directory": {
            "domain": {"fqdn": fqdn, "netbios": domain["netbios"], "dn": domain_dn(fqdn), "sid": sid,
                       "dc": domain.get("dc", f"DC01.{fqdn}"), "next_rid": 1100},
            "users": {}, "groups": {}},
        "hosts": {},
    }
    directory = state["directory"]
    for group in topology.get("groups") or []:
        name = group["name"]
        if group.get("well_known_sid"):
            gsid = group["well_known_sid"]
        elif group.get("sid_rid"):
            gsid = f"{sid}-{group['sid_rid']}"
        else:
            gsid = f"{sid}-{directory['domain']['next_rid']}"
            directory["domain"]["next_rid"] += 1
        ou = group.get("ou") or ("Microsoft Exchange Security Groups" if group.get("role_group") or name.startswith("Exchange ")
                                 else "Users")
        directory["groups"][name.lower()] = {
            "name": name, "sid": gsid, "guid": stable_guid("group", name), "members": [],
            "role_group": bool(group.get("role_group")), "ou": ou, "builtin": True,
            "description": group.get("description", "")}
    for account in topology.get("accounts") or []:
        name = account["name"]
        rid = 500 if name.lower() == "administrator" else directory["domain"]["next_rid"]
        if rid != 500:
            directory["domain"]["next_rid"] += 1
        directory["users"][name.lower()] = {
            "name": name, "sam": name, "sid": f"{sid}-{rid}", "guid": stable_guid("user", name),
            "display_name": account.get("display_name", name), "upn": f"{name}@{fqdn}", "ou": "Users",
            "enabled": account.get("enabled", True), "mailbox": None,
            "seed_mailbox": bool(account.get("mailbox")), "seed_database": account.get("database"),
            "throttling_policy": None, "from_topology": True}
        for group_name in account.get("member_of") or []:
            group = directory["groups"].get(group_name.lower())
            if group is None:
                group = directory["groups"][group_name.lower()] = {
                    "name": group_name, "sid": f"{sid}-{directory['domain']['next_rid']}",
                    "guid": stable_guid("group", group_name), "members": [], "role_group": False, "ou": "Users",
                    "builtin": True, "description": ""}
                directory["domain"]["next_rid"] += 1
            group["members"].append(name.lower())
    for host in topology.get("hosts") or []:
        state["hosts"][host["name"]] = {"name": host["name"], "role": host.get("role"),
                                        "fqdn": f"{host['name']}.{fqdn}", "version": host.get("version"),
                                        "build": host.get("build")}
    for seeder in SEEDERS:
        seeder(state, topology)
    return state

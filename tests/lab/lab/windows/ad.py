"""ActiveDirectory module cmdlets over the lab's directory (state["directory"]).

Only hosts with the ActiveDirectory PowerShell module offer them: the Exchange servers (Exchange setup
installs RSAT-ADDS there), not the XPhone server (lab assumption).
"""

from __future__ import annotations

import typing as t

from .. import errors, registry
from ..model import CmdletError, LabEnum, LabObject
from . import common

AD_NOT_FOUND_EXC = "Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException"


def _require_module(inv: t.Any, data: dict[str, t.Any]) -> None:
    if common.host_state(inv, data).get("role") != "exchange":
        raise errors.command_not_found(inv.spec.name)


def _dn(entry: dict[str, t.Any], domain: dict[str, t.Any]) -> str:
    ou = entry.get("ou") or "Users"
    container = "CN=Users" if ou == "Users" else f"OU={ou}"
    return f"CN={entry['name']},{container},{domain['dn']}"


def _find(directory: dict[str, t.Any], identity: t.Any, kinds: tuple[str, ...]) -> tuple[str, dict[str, t.Any]] | None:
    text = common.plain(identity.properties.get("SamAccountName", identity.to_string)
                        if isinstance(identity, LabObject) else identity).strip()
    lowered = text.lower()
    for kind in kinds:
        for entry in directory[kind].values():
            candidates = {entry["name"].lower(), str(entry.get("sam", entry["name"])).lower(),
                          str(entry.get("sid", "")).lower(), str(entry.get("guid", "")).lower(),
                          _dn(entry, directory["domain"]).lower()}
            if lowered in candidates:
                return kind, entry
    return None


def _not_found(inv: t.Any, identity: t.Any, domain: dict[str, t.Any]) -> CmdletError:
    cls = f"Microsoft.ActiveDirectory.Management.Commands.{inv.spec.name.replace('-', '')}"
    return CmdletError(f"Cannot find an object with identity: '{common.plain(identity)}' under: '{domain['dn']}'.",
                       category="ObjectNotFound", error_id=f"ActiveDirectoryCmdlet:{AD_NOT_FOUND_EXC},{cls}",
                       exception_type=AD_NOT_FOUND_EXC, target=common.plain(identity), terminating=True)


def _principal(kind: str, entry: dict[str, t.Any], domain: dict[str, t.Any]) -> LabObject:
    object_class = "user" if kind == "users" else "group"
    return LabObject(["Microsoft.ActiveDirectory.Management.ADPrincipal",
                      "Microsoft.ActiveDirectory.Management.ADObject",
                      "Microsoft.ActiveDirectory.Management.ADEntity", "System.Object"],
                     {"distinguishedName": _dn(entry, domain), "name": entry["name"], "objectClass": object_class,
                      "objectGUID": entry.get("guid"), "SamAccountName": entry.get("sam", entry["name"]),
                      "SID": entry.get("sid")}, to_string=_dn(entry, domain))


def _group(entry: dict[str, t.Any], domain: dict[str, t.Any]) -> LabObject:
    scope = "Universal" if entry.get("role_group") or entry["name"].startswith("Exchange ") else (
        "DomainLocal" if str(entry.get("sid", "")).startswith("S-1-5-32-") else "Global")
    return LabObject(["Microsoft.ActiveDirectory.Management.ADGroup", "Microsoft.ActiveDirectory.Management.ADPrincipal",
                      "Microsoft.ActiveDirectory.Management.ADObject",
                      "Microsoft.ActiveDirectory.Management.ADEntity", "System.Object"],
                     {"distinguishedName": _dn(entry, domain),
                      "GroupCategory": LabEnum("Microsoft.ActiveDirectory.Management.ADGroupCategory", "Security", 1),
                      "GroupScope": LabEnum("Microsoft.ActiveDirectory.Management.ADGroupScope", scope,
                                            {"DomainLocal": 0, "Global": 1, "Universal": 2}[scope]),
                      "name": entry["name"], "objectClass": "group", "objectGUID": entry.get("guid"),
                      "SamAccountName": entry["name"], "SID": entry.get("sid")}, to_string=_dn(entry, domain))


@registry.cmdlet("Get-ADGroupMember", endpoint="windows", reference="windows")
def get_ad_group_member(inv: t.Any) -> None:
    with inv.store.read() as data:
        _require_module(inv, data)
        directory = data["directory"]
        found = _find(directory, inv.params.get("Identity"), ("groups",))
        if found is None:
            raise _not_found(inv, inv.params.get("Identity"), directory["domain"])
        seen: set[str] = set()
        pending = [found[1]]
        while pending:
            group = pending.pop(0)
            for member in group.get("members") or []:
                kind = "users" if member in directory["users"] else "groups"
                entry = directory[kind].get(member)
                if entry is None or (kind, member) in seen:
                    continue
                seen.add((kind, member))
                if kind == "groups" and inv.params.get("Recursive"):
                    pending.append(entry)
                else:
                    inv.write(_principal(kind, entry, directory["domain"]))


@registry.cmdlet("Get-ADPrincipalGroupMembership", endpoint="windows", reference="windows")
def get_ad_principal_group_membership(inv: t.Any) -> None:
    with inv.store.read() as data:
        _require_module(inv, data)
        directory = data["directory"]
        found = _find(directory, inv.params.get("Identity"), ("users", "groups"))
        if found is None:
            raise _not_found(inv, inv.params.get("Identity"), directory["domain"])
        kind, entry = found
        key = str(entry.get("sam", entry["name"])).lower() if kind == "users" else entry["name"].lower()
        groups = [g for g in directory["groups"].values() if key in (g.get("members") or [])]
        primary = directory["groups"].get("domain users")
        # A user's primary group is not in its memberOf, but the cmdlet lists it.
        if kind == "users" and primary is not None and primary not in groups:
            groups.insert(0, primary)
        for group in groups:
            inv.write(_group(group, directory["domain"]))

"""Who may run what on the Exchange endpoint: roles granted to a user directly or through their groups."""

from __future__ import annotations

import typing as t

from . import common


def granted_roles(data: dict[str, t.Any], user: str) -> set[str]:
    key = common.session_user_key(data, user)
    if key is None:
        return set()
    holders = {key} | common.memberships(data, key)
    names = {}
    for k, u in data["directory"]["users"].items():
        names[k] = u["sam"].lower()
    for k, g in data["directory"]["groups"].items():
        names[k] = g["name"].lower()
    holder_names = {names.get(h, h) for h in holders}
    granted = {a["Role"].lower() for a in common.org(data).get("role_assignments", {}).values()
               if a["Enabled"] and a["RoleAssignmentDelegationType"] == "Regular"
               and a["RoleAssignee"].lower() in holder_names}
    if data["directory"]["users"].get(key, {}).get("mailbox"):
        granted.add("mybaseoptions")
    return granted


def allowed(data: dict[str, t.Any], user: str, cmdlet_name: str) -> bool:
    wanted = cmdlet_name.lower()
    for role in granted_roles(data, user):
        rec = common.org(data).get("management_roles", {}).get(role)
        if rec and wanted in (c.lower() for c in rec["_cmdlets"]):
            return True
    return False


def self_service_only(data: dict[str, t.Any], user: str) -> bool:
    granted = granted_roles(data, user)
    return not granted - {"mybaseoptions"}

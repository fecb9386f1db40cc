"""Exchange RBAC: management roles, role groups and their members, role assignments and scopes.

``allowed()`` is what the engine asks before running a cmdlet on the Exchange endpoint: a user may run
the cmdlets of the roles assigned to them or to a group they are in; every mailbox user gets the
end-user role MyBaseOptions (their own Get-Mailbox/Get-User) through the default role assignment policy.
"""

from __future__ import annotations

import typing as t

from .. import errors, reference, topology
from . import access, common, recipients

ROLE_TYPES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ExchangeRole",
              "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
ASSIGNMENT_TYPES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ExchangeRoleAssignmentPresentation",
                    "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
                    "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SCOPE_TYPES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.ManagementScope",
               "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
               "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
ROLE_GROUP_TYPES = ["Microsoft.Exchange.Data.Directory.Management.RoleGroup",
                    "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
                    "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"

# Built-in roles and the lab cmdlets each one grants (a subset of the real role entries).
_ALL = reference.cmdlet_names("exchange")
ROLES: dict[str, tuple[str, list[str]]] = {
    "Remote and Accepted Domains": ("RemoteAndAcceptedDomains", [c for c in _ALL if c.endswith("-RemoteDomain")] + ["Get-AcceptedDomain"]),
    "Send Connectors": ("SendConnectors", [c for c in _ALL if c.endswith("-SendConnector")]),
    "Receive Connectors": ("ReceiveConnectors", [c for c in _ALL if c.endswith("-ReceiveConnector")]),
    "Exchange Servers": ("ExchangeServers", ["Get-ExchangeServer", "Get-TransportService"]),
    "Exchange Server Certificates": ("ExchangeServerCertificates", ["Get-ExchangeCertificate"]),
    "POP3 And IMAP4 Protocols": ("POP3AndIMAP4Protocols", ["Get-ImapSettings", "Set-ImapSettings"]),
    "Databases": ("Databases", ["Get-MailboxDatabase", "Get-MailboxDatabaseCopyStatus"]),
    "Database Availability Groups": ("DatabaseAvailabilityGroups", ["Get-DatabaseAvailabilityGroup"]),
    "Organization Configuration": ("OrganizationConfiguration", ["Get-OrganizationConfig", "Get-AuthConfig"]),
    "Organization Client Access": ("OrganizationClientAccess", [c for c in _ALL if "ThrottlingPolicy" in c]),
    "Mail Recipients": ("MailRecipients", ["Get-Mailbox", "Set-Mailbox", "Enable-Mailbox", "Get-User",
                                           "Get-MailboxPermission", "Add-MailboxPermission", "Remove-MailboxPermission",
                                           "Get-ThrottlingPolicyAssociation", "Set-ThrottlingPolicyAssociation"]),
    "Mail Recipient Creation": ("MailRecipientCreation", ["New-Mailbox", "Enable-Mailbox", "Get-User", "Get-Mailbox"]),
    "Security Group Creation and Membership": ("SecurityGroupCreationAndMembership", ["Get-Group"]),
    "Active Directory Permissions": ("ActiveDirectoryPermissions", [c for c in _ALL if c.endswith("-ADPermission")]),
    "Role Management": ("RoleManagement", [c for c in _ALL if "RoleGroup" in c or "ManagementRole" in c or "ManagementScope" in c]),
    "View-Only Configuration": ("ViewOnlyConfiguration", [c for c in _ALL if c.startswith("Get-") and c not in (
        "Get-Mailbox", "Get-User", "Get-MailboxPermission")]),
    "View-Only Recipients": ("ViewOnlyRecipients", ["Get-Mailbox", "Get-User", "Get-Group", "Get-MailboxPermission",
                                                    "Get-ThrottlingPolicyAssociation"]),
    "ApplicationImpersonation": ("ApplicationImpersonation", []),
    "MyBaseOptions": ("MyBaseOptions", ["Get-Mailbox", "Get-User"]),
}
END_USER_ROLES = {"MyBaseOptions"}
ROLE_GROUP_ROLES = {
    "Organization Management": [r for r in ROLES if r not in END_USER_ROLES and r != "ApplicationImpersonation"],
    "Recipient Management": ["Mail Recipients", "Mail Recipient Creation", "Security Group Creation and Membership",
                             "View-Only Recipients", "View-Only Configuration"],
    "View-Only Organization Management": ["View-Only Configuration", "View-Only Recipients"],
    "Server Management": ["Exchange Servers", "Exchange Server Certificates", "Receive Connectors", "Databases",
                          "Database Availability Groups", "POP3 And IMAP4 Protocols", "View-Only Configuration"],
}
ALREADY_MEMBER = "The recipient \"{0}\" is already a member of the group \"{1}\"."
NOT_MEMBER = "The recipient \"{0}\" isn't a member of the group \"{1}\"."


allowed = access.allowed
self_service_only = access.self_service_only


def roles(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("management_roles", {})


def assignments(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("role_assignments", {})


def scopes(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("management_scopes", {})


def _rbac_dn(data: dict[str, t.Any], container: str, name: str) -> str:
    return f"CN={name},CN={container},CN=RBAC,{common.config_dn(data)}"


def _assignment(data: dict[str, t.Any], role: str, assignee: str, assignee_type: str, *, delegating: bool = False,
                name: str | None = None, scope: str | None = None) -> dict[str, t.Any]:
    name = name or (f"{role}-{assignee}" if not delegating else f"{role}-{assignee}-Delegating")
    rec = common.base_record(name, _rbac_dn(data, "Role Assignments", name), topology.stable_guid("assignment", name))
    rec.update({"Role": role, "RoleAssignee": assignee, "RoleAssigneeName": assignee, "RoleAssigneeType": assignee_type,
                "AssignmentMethod": "Direct", "Enabled": True, "CustomRecipientWriteScope": scope,
                "RecipientWriteScope": "CustomRecipientScope" if scope else "Organization",
                "ConfigWriteScope": "OrganizationConfig",
                "RoleAssignmentDelegationType": "DelegatingOrgWide" if delegating else "Regular"})
    return rec


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    for name, (role_type, cmdlets) in ROLES.items():
        rec = common.base_record(name, _rbac_dn(state, "Roles", name), topology.stable_guid("role", name))
        rec.update({"RoleType": role_type, "IsRootRole": True, "IsEndUserRole": name in END_USER_ROLES,
                    "ImplicitRecipientReadScope": "Organization", "_cmdlets": sorted(cmdlets)})
        roles(state)[name.lower()] = rec
    groups = state["directory"]["groups"]
    for group_name, role_names in ROLE_GROUP_ROLES.items():
        if group_name.lower() not in groups:
            continue
        for role in role_names:
            rec = _assignment(state, role, group_name, "RoleGroup")
            assignments(state)[rec["Name"].lower()] = rec
    if "organization management" in groups:
        # Organization Management can hand out ApplicationImpersonation but does not hold it.
        rec = _assignment(state, "ApplicationImpersonation", "Organization Management", "RoleGroup", delegating=True)
        assignments(state)[rec["Name"].lower()] = rec


topology.SEEDERS.append(seed)


# -- role groups ------------------------------------------------------------------------------------------
def _role_groups(data: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return [g for g in data["directory"]["groups"].values() if g.get("role_group")]


def _find_group(inv, data: dict[str, t.Any], identity: t.Any) -> dict[str, t.Any] | None:
    found = [g for g in _role_groups(data) if common.matches({"Name": g["name"], "Guid": g["guid"],
                                                              "DistinguishedName": recipients.group_dn(data, g)}, identity)]
    if not found:
        common.report_not_found(inv, identity)
        return None
    return found[0]


def _member_key(data: dict[str, t.Any], identity: t.Any) -> str | None:
    principal = common.resolve_principal(data, identity)
    if principal and principal["kind"] in ("user", "group"):
        return principal["key"]
    users = recipients.find_users(data, identity)
    return users[0]["sam"].lower() if len(users) == 1 else None


def _role_group_object(data: dict[str, t.Any], group: dict[str, t.Any]):
    base = recipients.group_object(data, group).properties
    mine = [a for a in assignments(data).values() if a["RoleAssignee"].lower() == group["name"].lower()]
    props = {"Name": group["name"], "Identity": group["name"], "Guid": group["guid"],
             "DistinguishedName": base["DistinguishedName"], "Members": base["Members"],
             "Roles": sorted({a["Role"] for a in mine}), "RoleAssignments": sorted(a["Name"] for a in mine),
             "ManagedBy": list(group.get("managed_by") or []), "Description": group.get("description") or "",
             "RoleGroupType": "Standard", "DisplayName": group["name"], "SamAccountName": group["name"],
             "IsValid": True}
    return common.render(props, ROLE_GROUP_TYPES, {"RoleGroupType": "Microsoft.Exchange.Data.Directory.Management.RoleGroupType"})


@common.cmdlet("Get-RoleGroup")
def get_role_group(inv) -> None:
    with inv.store.read() as data:
        records = _role_groups(data)
        if inv.has("Identity"):
            group = _find_group(inv, data, inv.params["Identity"])
            records = [group] if group else []
        objects = [_role_group_object(data, g) for g in sorted(records, key=lambda g: g["name"].lower())]
    for obj in objects:
        inv.write(obj)


@common.cmdlet("New-RoleGroup")
def new_role_group(inv) -> None:
    name = inv.params["Name"]
    with inv.store.write() as data:
        groups = data["directory"]["groups"]
        if name.lower() in groups:
            common.already_exists(inv, f"CN={name},OU=Microsoft Exchange Security Groups,{common.domain(data)['dn']}")
            return
        members = []
        for member in inv.params.get("Members") or []:
            key = _member_key(data, member)
            if key is None:
                common.report_not_found(inv, member)
                return
            members.append(key)
        role_names = []
        for role in inv.params.get("Roles") or []:
            rec = common.find(roles(data).values(), role)
            if not rec:
                common.report_not_found(inv, role)
                return
            role_names.append(rec[0]["Name"])
        domain = common.domain(data)
        group = {"name": name, "sid": f"{domain['sid']}-{domain['next_rid']}", "guid": common.new_guid(),
                 "members": members, "role_group": True, "ou": "Microsoft Exchange Security Groups",
                 "builtin": False, "description": inv.params.get("Description") or "",
                 "managed_by": [str(m) for m in inv.params.get("ManagedBy") or []]}
        domain["next_rid"] += 1
        groups[name.lower()] = group
        for role in role_names:
            scope = inv.params.get("CustomRecipientWriteScope")
            rec = _assignment(data, role, name, "RoleGroup", scope=str(scope) if scope else None)
            assignments(data)[rec["Name"].lower()] = rec
        obj = _role_group_object(data, group)
    inv.write(obj)


@common.cmdlet("Set-RoleGroup")
def set_role_group(inv) -> None:
    with inv.store.write() as data:
        group = _find_group(inv, data, inv.params["Identity"])
        if group is None:
            return
        changed = False
        for param, field in (("Description", "description"), ("ManagedBy", "managed_by"), ("DisplayName", "display_name")):
            if inv.has(param):
                value = common.stored(inv.params[param])
                value = [str(v) for v in value] if isinstance(value, list) else value
                if group.get(field) != value:
                    group[field] = value
                    changed = True
        if inv.has("Name") and inv.params["Name"] != group["name"]:
            new = inv.params["Name"]
            groups = data["directory"]["groups"]
            if new.lower() in groups:
                common.already_exists(inv, f"CN={new},OU=Microsoft Exchange Security Groups,{common.domain(data)['dn']}")
                return
            for a in assignments(data).values():
                if a["RoleAssignee"].lower() == group["name"].lower():
                    a["RoleAssignee"] = a["RoleAssigneeName"] = new
            del groups[group["name"].lower()]
            group["name"] = new
            groups[new.lower()] = group
            changed = True
        if not changed:
            common.no_op(inv, group["name"])


@common.cmdlet("Remove-RoleGroup")
def remove_role_group(inv) -> None:
    with inv.store.write() as data:
        group = _find_group(inv, data, inv.params["Identity"])
        if group is None:
            return
        if group.get("builtin"):
            common.fail(inv, f"The built-in role group \"{group['name']}\" can't be removed.", target=group["name"])
            return
        # Strings.ConfirmationMessageRemoveRoleGroup (RemoveRoleGroup.cs): names joined by ", ".
        roles = sorted({a["Role"] for a in assignments(data).values() if a["RoleAssignee"].lower() == group["name"].lower()})
        names = sorted(a["Name"] for a in assignments(data).values() if a["RoleAssignee"].lower() == group["name"].lower())
        common.confirm(inv, f"Removing the \"{group['name']}\" role group object. The following properties were configured: "
                            f"management roles \"{', '.join(roles)}\", managed by \"{', '.join(group.get('managed_by') or [])}\". "
                            f"This operation will also remove the following management role assignments: {', '.join(names)}")
        for key in [k for k, a in assignments(data).items() if a["RoleAssignee"].lower() == group["name"].lower()]:
            del assignments(data)[key]
        del data["directory"]["groups"][group["name"].lower()]


@common.cmdlet("Get-RoleGroupMember")
def get_role_group_member(inv) -> None:
    with inv.store.read() as data:
        group = _find_group(inv, data, inv.params["Identity"])
        if group is None:
            return
        objects = []
        for key in group.get("members") or []:
            user = recipients.users(data).get(key)
            if user:
                objects.append(recipients.user_object(data, user))
            elif key in data["directory"]["groups"]:
                objects.append(recipients.group_object(data, data["directory"]["groups"][key]))
    for obj in objects:
        inv.write(obj)


def _group_and_member(inv, data: dict[str, t.Any]) -> tuple[dict[str, t.Any] | None, str | None]:
    """The role group -Identity names and the key of the -Member principal (None after a not-found error)."""
    group = _find_group(inv, data, inv.params["Identity"])
    if group is None:
        return None, None
    key = _member_key(data, inv.params["Member"])
    if key is None:
        common.report_not_found(inv, inv.params["Member"])
    return group, key


def _member_error(inv, group: dict[str, t.Any], template: str, exception: str) -> None:
    common.fail(inv, template.format(inv.params["Member"], group["name"]), f"Microsoft.Exchange.Management.Tasks.{exception}",
                category="InvalidArgument", target=str(inv.params["Member"]))


@common.cmdlet("Add-RoleGroupMember")
def add_role_group_member(inv) -> None:
    with inv.store.write() as data:
        group, key = _group_and_member(inv, data)
        if key is None:
            return
        if key in group["members"]:
            _member_error(inv, group, ALREADY_MEMBER, "MemberAlreadyExistsException")
            return
        group["members"].append(key)


@common.cmdlet("Remove-RoleGroupMember")
def remove_role_group_member(inv) -> None:
    with inv.store.write() as data:
        group, key = _group_and_member(inv, data)
        if key is None:
            return
        if key not in group["members"]:
            _member_error(inv, group, NOT_MEMBER, "MemberNotFoundException")
            return
        common.confirm(inv, f"Removing the member \"{inv.params['Member']}\" from the role group \"{group['name']}\".")
        group["members"].remove(key)


# -- roles, assignments, scopes ------------------------------------------------------------------------------
@common.cmdlet("Get-ManagementRole")
def get_management_role(inv) -> None:
    with inv.store.read() as data:
        records = list(roles(data).values())
    records = common.identified(inv, records)
    if inv.has("RoleType"):
        records = [r for r in records if r["RoleType"].lower() == common.stored(inv.params["RoleType"]).lower()]
    common.write_sorted(inv, records, lambda rec: common.render(rec, ROLE_TYPES, {"RoleType": f"{SYSCONF}.RoleType"}))


def _render_assignment(rec: dict[str, t.Any], effective: str | None = None):
    out = dict(rec)
    if effective is not None:
        out["EffectiveUserName"] = effective
    return common.render(out, ASSIGNMENT_TYPES, {"RoleAssigneeType": f"{SYSCONF}.RoleAssigneeType",
                                                 "RoleAssignmentDelegationType": f"{SYSCONF}.RoleAssignmentDelegationType"})


@common.cmdlet("Get-ManagementRoleAssignment")
def get_management_role_assignment(inv) -> None:
    with inv.store.read() as data:
        records = common.identified(inv, assignments(data).values())
        if inv.has("Role"):
            records = [r for r in records if r["Role"].lower() == str(inv.params["Role"]).lower()]
        if inv.has("RoleAssignee"):
            wanted = str(inv.params["RoleAssignee"]).rsplit("\\", maxsplit=1)[-1].lower()
            records = [r for r in records if r["RoleAssignee"].lower() == wanted]
        if inv.has("Delegating"):
            want = bool(inv.params["Delegating"])
            records = [r for r in records if (r["RoleAssignmentDelegationType"] != "Regular") == want]
        rows = []
        for rec in sorted(records, key=lambda r: r["Name"].lower()):
            if inv.params.get("GetEffectiveUsers"):
                group = data["directory"]["groups"].get(rec["RoleAssignee"].lower())
                members = group["members"] if group else [rec["RoleAssignee"].lower()]
                for key in members:
                    user = recipients.users(data).get(key)
                    rows.append(_render_assignment(rec, user["name"] if user else key))
            else:
                rows.append(_render_assignment(rec))
    for row in rows:
        inv.write(row)


@common.cmdlet("New-ManagementRoleAssignment")
def new_management_role_assignment(inv) -> None:
    with inv.store.write() as data:
        role = common.find(roles(data).values(), inv.params.get("Role"))
        if not role:
            common.report_not_found(inv, inv.params.get("Role"))
            return
        role_name = role[0]["Name"]
        assignee, assignee_type = None, None
        for param, kind in (("User", "User"), ("SecurityGroup", "SecurityGroup"), ("Policy", "RoleAssignmentPolicy"),
                            ("Computer", "Computer"), ("App", "ServicePrincipal")):
            if inv.has(param):
                value = inv.params[param]
                if kind in ("User", "SecurityGroup"):
                    principal = common.resolve_principal(data, value)
                    if principal is None or (kind == "User") != (principal["kind"] == "user"):
                        common.report_not_found(inv, value)
                        return
                    assignee = principal["name"].rsplit("\\", maxsplit=1)[-1]
                    if kind == "SecurityGroup" and data["directory"]["groups"][principal["key"]].get("role_group"):
                        kind = "RoleGroup"
                else:
                    assignee = str(value)
                assignee_type = kind
        if assignee is None:
            common.fail(inv, "You must specify a user, security group, or role assignment policy for the role "
                             "assignment.", errors.ARGUMENT_EXC, category="InvalidArgument")
            return
        scope = inv.params.get("CustomRecipientWriteScope")
        if scope is not None and not common.find(scopes(data).values(), scope):
            common.report_not_found(inv, scope)
            return
        delegating = bool(inv.params.get("Delegating", False))
        name = inv.params.get("Name")
        rec = _assignment(data, role_name, assignee, assignee_type, delegating=delegating, name=name,
                          scope=str(scope) if scope else None)
        if rec["Name"].lower() in assignments(data):
            common.already_exists(inv, rec["DistinguishedName"])
            return
        rec["Guid"] = common.new_guid()
        assignments(data)[rec["Name"].lower()] = rec
    inv.write(_render_assignment(rec))


@common.cmdlet("Remove-ManagementRoleAssignment")
def remove_management_role_assignment(inv) -> None:
    with inv.store.write() as data:
        rec = common.find_one(inv, assignments(data).values(), inv.params["Identity"])
        if rec is None:
            return
        # Strings.ConfirmationMessageRemoveManagementRoleAssignment.
        common.confirm(inv, f"Removing the \"{rec['Name']}\" management role assignment object. The following properties "
                            f"were configured: management role \"{rec.get('Role') or '<null>'}\", role assignee "
                            f"\"{rec.get('RoleAssignee') or '<null>'}\", delegation type \"{rec['RoleAssignmentDelegationType']}\", "
                            f"recipient write scope \"{rec['RecipientWriteScope']}\", and configure write scope "
                            f"\"{rec['ConfigWriteScope']}\".")
        del assignments(data)[rec["Name"].lower()]


def _render_scope(rec: dict[str, t.Any]):
    return common.render(rec, SCOPE_TYPES, {"ScopeRestrictionType": f"{SYSCONF}.ScopeRestrictionType"})


@common.cmdlet("Get-ManagementScope")
def get_management_scope(inv) -> None:
    with inv.store.read() as data:
        records = list(scopes(data).values())
    common.write_matching(inv, records, _render_scope)


@common.cmdlet("New-ManagementScope")
def new_management_scope(inv) -> None:
    name = inv.params["Name"]
    with inv.store.write() as data:
        if name.lower() in scopes(data):
            common.already_exists(inv, _rbac_dn(data, "Scopes", name))
            return
        rec = common.base_record(name, _rbac_dn(data, "Scopes", name))
        rec.update({"RecipientRoot": inv.params.get("RecipientRoot"),
                    "RecipientFilter": inv.params.get("RecipientRestrictionFilter"),
                    "ServerFilter": inv.params.get("ServerRestrictionFilter"),
                    "DatabaseFilter": inv.params.get("DatabaseRestrictionFilter"),
                    "ScopeRestrictionType": "RecipientScope" if inv.has("RecipientRestrictionFilter") else
                    "ServerScope" if inv.has("ServerRestrictionFilter") else "DatabaseScope",
                    "Exclusive": bool(inv.params.get("Exclusive", False))})
        scopes(data)[name.lower()] = rec
    inv.write(_render_scope(rec))

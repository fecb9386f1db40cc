"""AD and mailbox permissions: Add/Get/Remove-ADPermission, Get/Add/Remove-MailboxPermission.

Explicit entries are stored per object DN (``organization.ad_permissions``) and per mailbox
(``organization.mailbox_permissions``), one entry per right as AD keeps one ACE per extended right; adding
an entry that is already there changes nothing. Entries a real install carries anyway (the inherited
Receive-As/Send-As denies of the admin groups on databases, the permission-group entries of receive
connectors) are computed. Get-MailboxPermission shows FullAccess inherited from Receive-As on the database.
"""

from __future__ import annotations

import typing as t

from . import common, receive_connector, recipients, send_connector

AD_ACE_TYPES = ["Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject",
                "Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject",
                "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
MAILBOX_ACE_TYPES = ["Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject",
                     "Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject",
                     "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
AD_RIGHTS = "System.DirectoryServices.ActiveDirectoryRights"
MAILBOX_RIGHTS = "Microsoft.Exchange.Management.RecipientTasks.MailboxRights"
INHERITANCE = "System.DirectoryServices.ActiveDirectorySecurityInheritance"
ADMIN_DENY_GROUPS = ("Domain Admins", "Enterprise Admins", "Organization Management")
ALREADY_PRESENT = "The appropriate access control entry is already present on the object \"{0}\" for account \"{1}\"."
NOT_PRESENT = ("Can't remove the access control entry on the object \"{0}\" for account \"{1}\" because the ACE "
               "doesn't exist on the object.")
# Strings.ErrorWillNotPerformOnInheritedAce (two spaces before "and" in the original).
INHERITED_ACE = ("An inherited access control entry has been specified: [Rights: {0}, ControlType: {1}]  and was ignored "
                 "on object \"{2}\".")
CONFIRM_REMOVE_AD = "Removing Active Directory permission \"{0}\" for user \"{2}\" with access rights \"{1}\"."

# The receive connector rights behind the permission groups (ReceiveConnector.PermissionGroupPermissions, EX2013-src;
# audit Q2), by their extended-right CNs. FULL is what Exchange 2013 and later give Hub and Edge servers.
SUB, ANY_RCPT, AUTH_FLAG, ANY_SND, AUTH_DOM = (
    "ms-Exch-SMTP-Submit", "ms-Exch-SMTP-Accept-Any-Recipient", "ms-Exch-SMTP-Accept-Authentication-Flag",
    "ms-Exch-SMTP-Accept-Any-Sender", "ms-Exch-SMTP-Accept-Authoritative-Domain-Sender")
BYP_AS, BYP_SIZE, EXCH50, H_ROUT, H_FOR, H_ORG = ("ms-Exch-Bypass-Anti-Spam", "ms-Exch-Bypass-Message-Size-Limit",
                                                  "ms-Exch-SMTP-Accept-Exch50", "ms-Exch-Accept-Headers-Routing",
                                                  "ms-Exch-Accept-Headers-Forest", "ms-Exch-Accept-Headers-Organization")
SET9 = [SUB, ANY_RCPT, AUTH_FLAG, ANY_SND, AUTH_DOM, BYP_AS, BYP_SIZE, EXCH50, H_ROUT]
FULL = SET9 + [H_FOR, H_ORG, "ms-Exch-SMTP-Accept-XShadow", "ms-Exch-SMTP-Accept-XProxyFrom",
               "ms-Exch-SMTP-Accept-XSessionParams", "ms-Exch-SMTP-Accept-XMessageContext-ADRecipientCache",
               "ms-Exch-SMTP-Accept-XMessageContext-ExtendedProperties", "ms-Exch-SMTP-Accept-XMessageContext-FastIndex",
               "ms-Exch-SMTP-Accept-XAttr", "ms-Exch-SMTP-Accept-XSysProbe"]
# group -> [(principal, allowed rights, denied rights)]; "{domain}" is the domain's NetBIOS name.
PERMISSION_GROUP_RIGHTS: dict[str, list[tuple[str, list[str], list[str]]]] = {
    "AnonymousUsers": [("NT AUTHORITY\\ANONYMOUS LOGON", [SUB, ANY_SND, AUTH_DOM, H_ROUT], [])],
    "ExchangeUsers": [("NT AUTHORITY\\Authenticated Users", [SUB, ANY_RCPT, BYP_AS, H_ROUT], [])],
    "ExchangeServers": [("MS Exchange\\Edge Transport Servers", FULL, []),
                        ("MS Exchange\\Externally Secured Servers", SET9, []),
                        ("MS Exchange\\Hub Transport Servers", FULL, []),
                        ("{domain}\\Exchange Servers", FULL, [])],
    "ExchangeLegacyServers": [("{domain}\\ExchangeLegacyInterop", SET9, [H_FOR, H_ORG])],
    "Partners": [("MS Exchange\\Partner Servers", [SUB, H_ROUT], [])],
}


def repr_quoted(value: t.Any) -> str:
    """An item of Exchange's FormatMultiValuedProperty: in single quotes."""
    return f"'{value}'"


# -- AD objects -------------------------------------------------------------------------------------------
def resolve_object(data: dict[str, t.Any], identity: t.Any) -> list[dict[str, t.Any]]:
    """Objects an ADRawEntryIdParameter names: databases, receive/send connectors, servers, recipients, groups."""
    text = str(identity.get("Identity") if isinstance(identity, dict) else identity).strip()
    org = common.org(data)
    found: list[dict[str, t.Any]] = []
    for db in common.find(org.get("databases", {}).values(), text):
        found.append({"kind": "database", "identity": db["Identity"], "dn": db["DistinguishedName"], "obj": db})
    for rc in receive_connector.find(data, text):
        found.append({"kind": "receive_connector", "identity": rc["Identity"], "dn": rc["DistinguishedName"], "obj": rc})
    for sc in common.find(send_connector.connectors(data).values(), text):
        found.append({"kind": "send_connector", "identity": sc["Identity"], "dn": sc["DistinguishedName"], "obj": sc})
    for server in common.find(org.get("exchange_servers", {}).values(), text, ("Name", "Fqdn")):
        found.append({"kind": "server", "identity": server["Identity"], "dn": server["DistinguishedName"], "obj": server})
    if not found:
        for user in recipients.find_users(data, text):
            found.append({"kind": "user", "identity": common.user_identity(data, user),
                          "dn": common.user_dn(data, user), "obj": user})
    return found


def entry(user: dict[str, str], *, rights: list[str] | None = None, extended: str | None = None, deny: bool = False,
          inherited: bool = False, inheritance: str = "All") -> dict[str, t.Any]:
    return {"User": user["name"], "Sid": user["sid"], "AccessRights": rights or ["ExtendedRight"],
            "ExtendedRights": [extended] if extended else [], "Deny": deny, "IsInherited": inherited,
            "InheritanceType": inheritance, "Properties": [], "ChildObjectTypes": [], "InheritedObjectType": None}


def _group(data: dict[str, t.Any], name: str) -> dict[str, str] | None:
    return common.resolve_principal(data, name)


def computed_entries(data: dict[str, t.Any], target: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    out: list[dict[str, t.Any]] = []
    if target["kind"] == "database":
        for name in ADMIN_DENY_GROUPS:
            group = _group(data, name)
            if group:
                for right in ("Receive-As", "Send-As"):
                    out.append(entry(group, extended=right, deny=True, inherited=True))
        # Inherited from the organization container (InitializeConfigPermissions): Exchange Servers hold every
        # extended right (an ExtendedRight ACE with no object type), Exchange Trusted Subsystem GenericAll.
        servers = _group(data, "Exchange Servers")
        if servers:
            out.append(entry(servers, rights=["ExtendedRight"], inherited=True))
        ets = _group(data, "Exchange Trusted Subsystem")
        if ets:
            out.append(entry(ets, rights=["GenericAll"], inherited=True))
    elif target["kind"] == "receive_connector":
        groups = str(target["obj"].get("PermissionGroups") or "")
        netbios = common.domain(data)["netbios"]
        for group_name in [g.strip() for g in groups.split(",") if g.strip()]:
            for principal_name, allowed, denied in PERMISSION_GROUP_RIGHTS.get(group_name, []):
                principal = common.resolve_principal(data, principal_name.format(domain=netbios))
                if principal is None:
                    continue
                out.extend(entry(principal, extended=right) for right in allowed)
                out.extend(entry(principal, extended=right, deny=True) for right in denied)
    return out


def stored_entries(data: dict[str, t.Any], dn: str) -> list[dict[str, t.Any]]:
    return common.org(data).setdefault("ad_permissions", {}).setdefault(dn.lower(), [])


def all_entries(data: dict[str, t.Any], target: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return computed_entries(data, target) + list(common.org(data).get("ad_permissions", {}).get(target["dn"].lower(), []))


def _same(a: dict[str, t.Any], b: dict[str, t.Any]) -> bool:
    return (a["Sid"] == b["Sid"] and a["Deny"] == b["Deny"] and a["ExtendedRights"] == b["ExtendedRights"]
            and sorted(a["AccessRights"]) == sorted(b["AccessRights"]) and a["InheritanceType"] == b["InheritanceType"])


def render_ad(identity: str, ent: dict[str, t.Any]):
    props = {"Identity": identity, "User": ent["User"],
             "AccessRights": [common.LabEnum(AD_RIGHTS, r) for r in ent["AccessRights"]],
             "ExtendedRights": list(ent["ExtendedRights"]) or None, "Deny": ent["Deny"],
             "IsInherited": ent["IsInherited"], "InheritanceType": common.LabEnum(INHERITANCE, ent["InheritanceType"]),
             "Properties": list(ent["Properties"]) or None, "ChildObjectTypes": list(ent["ChildObjectTypes"]) or None,
             "InheritedObjectType": ent["InheritedObjectType"], "IsValid": True}
    return common.render(props, AD_ACE_TYPES)


def _requested(inv, principal: dict[str, str]) -> list[dict[str, t.Any]]:
    rights = [common.stored(r) for r in inv.params.get("AccessRights") or []]
    extended = [str(r) for r in inv.params.get("ExtendedRights") or []]
    deny = bool(inv.params.get("Deny", False))
    inheritance = common.stored(inv.params.get("InheritanceType")) or "All"
    if extended:
        access = sorted(set(rights) | {"ExtendedRight"})
        return [entry(principal, rights=access, extended=r, deny=deny, inheritance=inheritance) for r in extended]
    return [entry(principal, rights=rights or ["GenericRead"], deny=deny, inheritance=inheritance)]


def _of_user(inv, data: dict[str, t.Any], entries: list[dict[str, t.Any]]) -> list[dict[str, t.Any]] | None:
    """The entries of the -User principal (all without -User), or None after a not-found error."""
    if not inv.has("User"):
        return entries
    principal = common.find_principal(inv, data, inv.params["User"])
    return None if principal is None else [e for e in entries if e["Sid"] == principal["sid"]]


def _target(inv, data: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The first object -Identity names, or None after Exchange's not-found error."""
    targets = resolve_object(data, inv.params["Identity"])
    if not targets:
        common.report_not_found(inv, inv.params["Identity"])
        return None
    return targets[0]


@common.cmdlet("Get-ADPermission")
def get_ad_permission(inv) -> None:
    with inv.store.read() as data:
        target = _target(inv, data)
        if target is None:
            return
        if inv.params.get("Owner"):
            owner = common.org(data).get("ad_owners", {}).get(target["dn"].lower(), f"{common.domain(data)['netbios']}\\Domain Admins")
            inv.write(owner)
            return
        entries = _of_user(inv, data, all_entries(data, target))
        if entries is None:
            return
    for ent in entries:
        inv.write(render_ad(target["identity"], ent))


@common.cmdlet("Add-ADPermission")
def add_ad_permission(inv) -> None:
    with inv.store.write() as data:
        if inv.has("Instance"):
            instance = inv.params["Instance"]
            props = instance.properties if hasattr(instance, "properties") else dict(instance)
            inv.params.setdefault("Identity", props.get("Identity"))
            inv.params.setdefault("User", props.get("User"))
            inv.params.setdefault("ExtendedRights", props.get("ExtendedRights") or [])
            inv.params.setdefault("AccessRights", props.get("AccessRights") or [])
            inv.params.setdefault("Deny", props.get("Deny", False))
        target = _target(inv, data)
        if target is None:
            return
        if inv.has("Owner"):
            owner = common.find_principal(inv, data, inv.params["Owner"])
            if owner is None:
                return
            common.org(data).setdefault("ad_owners", {})[target["dn"].lower()] = owner["name"]
            return
        principal = common.find_principal(inv, data, inv.params["User"])
        if principal is None:
            return
        stored = stored_entries(data, target["dn"])
        existing = all_entries(data, target)
        written = []
        for ent in _requested(inv, principal):
            if any(_same(ent, e) and not e["IsInherited"] for e in existing):
                inv.warn(ALREADY_PRESENT.format(target["dn"], principal["name"]))
            else:
                stored.append(ent)
                existing.append(ent)
            written.append(ent)
    for ent in written:
        inv.write(render_ad(target["identity"], ent))


@common.cmdlet("Remove-ADPermission")
def remove_ad_permission(inv) -> None:
    with inv.store.write() as data:
        if inv.has("Instance"):
            instance = inv.params["Instance"]
            props = instance.properties if hasattr(instance, "properties") else dict(instance)
            for key in ("Identity", "User", "ExtendedRights", "AccessRights", "Deny"):
                inv.params.setdefault(key, props.get(key))
        target = _target(inv, data)
        if target is None:
            return
        principal = common.find_principal(inv, data, inv.params.get("User"))
        if principal is None:
            return
        rights = [str(common.stored(r)) for r in inv.params.get("AccessRights") or []] or \
            [str(r) for r in inv.params.get("ExtendedRights") or []]
        common.confirm(inv, CONFIRM_REMOVE_AD.format(inv.params["Identity"] if isinstance(inv.params["Identity"], str)
                                                     else target["identity"],
                                                     ", ".join(repr_quoted(r) for r in rights), principal["name"]))
        stored = stored_entries(data, target["dn"])
        inherited = [e for e in computed_entries(data, target) if e["IsInherited"]]
        for ent in _requested(inv, principal):
            match = next((e for e in inherited if _same(ent, e)), None)
            if match is not None:
                common.fail(inv, INHERITED_ACE.format(", ".join(match["AccessRights"]), "Deny" if match["Deny"] else "Allow",
                                                      target["dn"]),
                            "Microsoft.Exchange.Configuration.Tasks.TaskInvalidOperationException",
                            category="InvalidOperation", target=target["identity"])
                continue
            keep = [e for e in stored if not _same(ent, e)]
            if len(keep) == len(stored):
                inv.warn(NOT_PRESENT.format(target["dn"], principal["name"]))
            stored[:] = keep


# -- mailbox permissions --------------------------------------------------------------------------------
def _mailbox_entries(data: dict[str, t.Any], user: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    self_principal = common.resolve_principal(data, "NT AUTHORITY\\SELF")
    out = [{"User": self_principal["name"], "Sid": self_principal["sid"], "AccessRights": ["FullAccess", "ReadPermission"],
            "Deny": False, "IsInherited": False, "InheritanceType": "All"}]
    out.extend(common.org(data).get("mailbox_permissions", {}).get(user["sam"].lower(), []))
    db = common.org(data).get("databases", {}).get(str(user["mailbox"]["Database"]).lower())
    if db:
        target = {"kind": "database", "identity": db["Identity"], "dn": db["DistinguishedName"], "obj": db}
        seen = set()
        for ent in all_entries(data, target):
            # Receive-As (alone, or as part of every extended right, or of GenericAll) is MailboxOwner: FullAccess.
            every = "GenericAll" in ent["AccessRights"] or "ExtendedRight" in ent["AccessRights"] and not ent["ExtendedRights"]
            if ("Receive-As" in ent["ExtendedRights"] or every) and (ent["Sid"], ent["Deny"]) not in seen:
                seen.add((ent["Sid"], ent["Deny"]))
                rights = (["FullAccess", "DeleteItem", "ReadPermission", "ChangePermission", "ChangeOwner"]
                          if "GenericAll" in ent["AccessRights"] else ["FullAccess"])
                out.append({"User": ent["User"], "Sid": ent["Sid"], "AccessRights": rights,
                            "Deny": ent["Deny"], "IsInherited": True, "InheritanceType": "All"})
    return out


def render_mailbox(identity: str, ent: dict[str, t.Any]):
    props = {"Identity": identity, "User": ent["User"],
             "AccessRights": [common.LabEnum(MAILBOX_RIGHTS, r) for r in ent["AccessRights"]],
             "IsInherited": ent["IsInherited"], "Deny": ent["Deny"],
             "InheritanceType": common.LabEnum(INHERITANCE, ent["InheritanceType"]), "IsValid": True}
    return common.render(props, MAILBOX_ACE_TYPES)


@common.cmdlet("Get-MailboxPermission")
def get_mailbox_permission(inv) -> None:
    with inv.store.read() as data:
        user = recipients.find_user(inv, data, inv.params["Identity"], mailbox_only=True)
        if user is None:
            return
        identity = common.user_identity(data, user)
        if inv.params.get("Owner"):
            inv.write(common.render({"Identity": identity, "Owner": f"{common.domain(data)['netbios']}\\Domain Admins"},
                                    MAILBOX_ACE_TYPES))
            return
        entries = _of_user(inv, data, _mailbox_entries(data, user))
        if entries is None:
            return
    for ent in entries:
        inv.write(render_mailbox(identity, ent))


def _mailbox_request(inv, data: dict[str, t.Any]) -> tuple[dict[str, t.Any], dict[str, str], dict[str, t.Any]] | None:
    user = recipients.find_user(inv, data, inv.params["Identity"], mailbox_only=True)
    if user is None:
        return None
    principal = common.find_principal(inv, data, inv.params.get("User"))
    if principal is None:
        return None
    ent = {"User": principal["name"], "Sid": principal["sid"],
           "AccessRights": sorted(common.stored(r) for r in inv.params.get("AccessRights") or []),
           "Deny": bool(inv.params.get("Deny", False)), "IsInherited": False,
           "InheritanceType": common.stored(inv.params.get("InheritanceType")) or "All"}
    return user, principal, ent


@common.cmdlet("Add-MailboxPermission")
def add_mailbox_permission(inv) -> None:
    with inv.store.write() as data:
        request = _mailbox_request(inv, data)
        if request is None:
            return
        user, principal, ent = request
        entries = common.org(data).setdefault("mailbox_permissions", {}).setdefault(user["sam"].lower(), [])
        existing = next((e for e in entries if e["Sid"] == ent["Sid"] and e["Deny"] == ent["Deny"]), None)
        if existing and set(ent["AccessRights"]) <= set(existing["AccessRights"]):
            inv.warn(ALREADY_PRESENT.format(common.user_identity(data, user), principal["name"]))
            shown = existing
        elif existing:
            existing["AccessRights"] = sorted(set(existing["AccessRights"]) | set(ent["AccessRights"]))
            shown = existing
        else:
            entries.append(ent)
            shown = ent
        identity = common.user_identity(data, user)
    inv.write(render_mailbox(identity, shown))


@common.cmdlet("Remove-MailboxPermission")
def remove_mailbox_permission(inv) -> None:
    with inv.store.write() as data:
        request = _mailbox_request(inv, data)
        if request is None:
            return
        user, principal, ent = request
        identity = common.user_identity(data, user)
        # ConfirmationMessageRemoveMailboxPermissionAccessRights: the rights as a quoted list ('a', 'b').
        common.confirm(inv, f"Removing mailbox permission \"{identity}\" for user \"{principal['name']}\" with "
                            f"access rights \"{', '.join(repr_quoted(r) for r in ent['AccessRights'])}\".")
        entries = common.org(data).setdefault("mailbox_permissions", {}).setdefault(user["sam"].lower(), [])
        changed = False
        for existing in list(entries):
            if existing["Sid"] == ent["Sid"] and existing["Deny"] == ent["Deny"]:
                remaining = sorted(set(existing["AccessRights"]) - set(ent["AccessRights"]))
                if remaining != existing["AccessRights"]:
                    changed = True
                if remaining:
                    existing["AccessRights"] = remaining
                else:
                    entries.remove(existing)
        if not changed:
            inv.warn(NOT_PRESENT.format(identity, principal["name"]))

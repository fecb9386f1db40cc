"""Recipients: Get-User, Get-Group, Get-Mailbox, New-Mailbox, Enable-Mailbox, Set-Mailbox.

Users and groups live in ``directory``; a user's mailbox is ``users[x]["mailbox"]`` (None when the user
is not mailbox-enabled). Passwords never enter the state: only a salted hash does (see engine.Lab.set_password).
"""

from __future__ import annotations

import re
import typing as t

from .. import errors, topology
from . import access, common

RECIPIENT_BASE = ["Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
                  "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
MAILBOX_TYPES = ["Microsoft.Exchange.Data.Directory.Management.Mailbox",
                 "Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson",
                 "Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient"] + RECIPIENT_BASE
USER_TYPES = ["Microsoft.Exchange.Data.Directory.Management.User",
              "Microsoft.Exchange.Data.Directory.Management.OrgPersonPresentationObject"] + RECIPIENT_BASE
GROUP_TYPES = ["Microsoft.Exchange.Data.Directory.Management.WindowsGroup"] + RECIPIENT_BASE
RECIPIENT_ENUMS = {"RecipientType": "Microsoft.Exchange.Data.Directory.Recipient.RecipientType",
                   "RecipientTypeDetails": "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails"}
RESULT_SIZE_WARNING = ("By default, only the first 1000 items are returned. Use the ResultSize parameter to specify "
                       "the number of items returned. To return all items, specify \"-ResultSize Unlimited\". Be "
                       "aware that, depending on the actual number of items, returning all items can take a long "
                       "time and consume a large amount of memory. Also, we don't recommend storing the results in "
                       "a variable. Instead, pipe the results to another task or script to perform batch changes.")
# DirectoryStrings.ExceptionADInvalidPassword (ADDataSession; audit must-change 17): {0} is the domain controller.
PASSWORD_POLICY_TEXT = ("Active Directory operation failed on {0}. The password is invalid. Unable to update the password. "
                        "The value provided for the new password does not meet the length, complexity, or history "
                        "requirements of the domain.")
INVALID_PASSWORD_EXC = "Microsoft.Exchange.Data.Directory.ADInvalidPasswordException"


def users(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return data["directory"]["users"]


def groups(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return data["directory"]["groups"]


def pick_database(data: dict[str, t.Any]) -> str | None:
    dbs = sorted(common.org(data).get("databases", {}).values(), key=lambda d: d["Name"].lower())
    return dbs[0]["Name"] if dbs else None


def new_mailbox_record(data: dict[str, t.Any], user: dict[str, t.Any], database: str | None,
                       alias: str | None = None) -> dict[str, t.Any]:
    alias = alias or re.sub(r"[^A-Za-z0-9._-]", "", user["sam"])
    return {"Database": database or pick_database(data), "Alias": alias,
            "ExchangeGuid": topology.stable_guid("mailbox", user["sam"]),
            "PrimarySmtpAddress": f"{alias}@{common.domain(data)['fqdn']}", "settings": {}}


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    for user in users(state).values():
        if user.pop("seed_mailbox", False):
            user["mailbox"] = new_mailbox_record(state, user, user.get("seed_database"))
        user.pop("seed_database", None)


topology.SEEDERS.append(seed)


def _recipient_matches(data: dict[str, t.Any], user: dict[str, t.Any], identity: t.Any) -> bool:
    text = str(identity).strip()
    lowered = text.lower()
    netbios = common.domain(data)["netbios"].lower()
    mailbox = user.get("mailbox") or {}
    candidates = [user["name"], user["sam"], user["upn"], user["display_name"], user["guid"], user["sid"],
                  common.user_identity(data, user), common.user_dn(data, user), f"{netbios}\\{user['sam']}",
                  mailbox.get("Alias"), mailbox.get("PrimarySmtpAddress"), mailbox.get("ExchangeGuid")]
    if "*" in text:
        return any(c and common.binding.wildcard_match(text, str(c)) for c in candidates[:4])
    return any(c and str(c).lower() == lowered for c in candidates)


def find_users(data: dict[str, t.Any], identity: t.Any, mailbox_only: bool = False) -> list[dict[str, t.Any]]:
    return [u for u in users(data).values()
            if (u.get("mailbox") or not mailbox_only) and _recipient_matches(data, u, identity)]


def find_user(inv, data: dict[str, t.Any], identity: t.Any, mailbox_only: bool = False) -> dict[str, t.Any] | None:
    found = find_users(data, identity, mailbox_only)
    if not found:
        common.report_not_found(inv, identity)
        return None
    if len(found) > 1:
        common.fail(inv, f"The operation couldn't be performed because '{identity}' matches multiple entries.",
                    errors.AMBIGUOUS_EXC, category="NotSpecified", target=str(identity))
        return None
    return found[0]


def mailbox_object(data: dict[str, t.Any], user: dict[str, t.Any]):
    mailbox = user["mailbox"]
    db = common.org(data).get("databases", {}).get(str(mailbox["Database"]).lower(), {})
    props = {
        "Name": user["name"], "Alias": mailbox["Alias"], "DisplayName": user["display_name"],
        "Identity": common.user_identity(data, user), "DistinguishedName": common.user_dn(data, user),
        "Guid": user["guid"], "ExchangeGuid": mailbox["ExchangeGuid"], "SamAccountName": user["sam"],
        "UserPrincipalName": user["upn"], "PrimarySmtpAddress": mailbox["PrimarySmtpAddress"],
        "EmailAddresses": [f"SMTP:{mailbox['PrimarySmtpAddress']}"], "Database": mailbox["Database"],
        "ServerName": str(db.get("_active", "")).lower(), "RecipientType": "UserMailbox",
        "RecipientTypeDetails": "UserMailbox", "ThrottlingPolicy": user.get("throttling_policy"),
        "UseDatabaseQuotaDefaults": True, "IssueWarningQuota": "Unlimited", "ProhibitSendQuota": "Unlimited",
        "ProhibitSendReceiveQuota": "Unlimited", "HiddenFromAddressListsEnabled": False,
        "OrganizationalUnit": f"{common.domain(data)['fqdn']}/{user.get('ou', 'Users')}",
        "IsMailboxEnabled": True, "AccountDisabled": not user.get("enabled", True), "IsValid": True,
    }
    props.update(common.stored(mailbox.get("settings") or {}))
    props["ThrottlingPolicy"] = user.get("throttling_policy")
    return common.render(props, MAILBOX_TYPES, RECIPIENT_ENUMS)


def user_object(data: dict[str, t.Any], user: dict[str, t.Any]):
    mailbox = user.get("mailbox")
    props = {"Name": user["name"], "Identity": common.user_identity(data, user),
             "DistinguishedName": common.user_dn(data, user), "Guid": user["guid"], "SamAccountName": user["sam"],
             "Sid": user["sid"], "UserPrincipalName": user["upn"], "DisplayName": user["display_name"],
             "FirstName": user.get("first_name"), "LastName": user.get("last_name"),
             "WindowsEmailAddress": mailbox["PrimarySmtpAddress"] if mailbox else None,
             "RecipientType": "UserMailbox" if mailbox else "User",
             "RecipientTypeDetails": "UserMailbox" if mailbox else "User",
             "OrganizationalUnit": f"{common.domain(data)['fqdn']}/{user.get('ou', 'Users')}",
             "AccountDisabled": not user.get("enabled", True), "IsLinked": False, "IsValid": True}
    return common.render(props, USER_TYPES, RECIPIENT_ENUMS)


def group_object(data: dict[str, t.Any], group: dict[str, t.Any]):
    fqdn = common.domain(data)["fqdn"]
    members = []
    for key in group.get("members") or []:
        member = users(data).get(key) or groups(data).get(key)
        if member:
            members.append(f"{fqdn}/{member.get('ou', 'Users')}/{member['name']}")
    props = {"Name": group["name"], "Identity": f"{fqdn}/{group.get('ou', 'Users')}/{group['name']}",
             "DistinguishedName": group_dn(data, group), "Guid": group["guid"], "SamAccountName": group["name"],
             "Sid": group["sid"], "DisplayName": group["name"], "GroupType": "Universal, SecurityEnabled",
             "Members": members, "RecipientType": "Group",
             "RecipientTypeDetails": "RoleGroup" if group.get("role_group") else "UniversalSecurityGroup",
             "Description": [group["description"]] if group.get("description") else [],
             "ManagedBy": [], "IsValid": True}
    return common.render(props, GROUP_TYPES, RECIPIENT_ENUMS)


def group_dn(data: dict[str, t.Any], group: dict[str, t.Any]) -> str:
    ou = group.get("ou", "Users")
    container = f"OU={ou}" if ou != "Users" else "CN=Users"
    return f"CN={group['name']},{container},{common.domain(data)['dn']}"


def _result_size(inv, items: list[t.Any]) -> list[t.Any]:
    size = inv.params.get("ResultSize", 1000 if not inv.has("Identity") else "Unlimited")
    if size != "Unlimited" and len(items) > int(size):
        if not inv.has("ResultSize"):
            inv.warn(RESULT_SIZE_WARNING)
        return items[:int(size)]
    return items


def _self_only(inv, data: dict[str, t.Any]) -> str | None:
    return common.session_user_key(data, inv.session.user) if access.self_service_only(data, inv.session.user) else None


@common.cmdlet("Get-Mailbox")
def get_mailbox(inv) -> None:
    with inv.store.read() as data:
        own = _self_only(inv, data)
        if inv.has("Identity"):
            found = find_users(data, inv.params["Identity"], mailbox_only=True)
            if own:
                found = [u for u in found if u["sam"].lower() == own]
            if not found:
                common.report_not_found(inv, inv.params["Identity"])
        else:
            found = [u for u in users(data).values() if u.get("mailbox") and (not own or u["sam"].lower() == own)]
        if inv.has("Database"):
            found = [u for u in found if u["mailbox"]["Database"].lower() == str(inv.params["Database"]).lower()]
        objects = [mailbox_object(data, u) for u in sorted(found, key=lambda u: u["name"].lower())]
    for obj in _result_size(inv, objects):
        inv.write(obj)


@common.cmdlet("Get-User")
def get_user(inv) -> None:
    with inv.store.read() as data:
        own = _self_only(inv, data)
        if inv.has("Identity"):
            found = find_users(data, inv.params["Identity"])
            if not found:
                common.report_not_found(inv, inv.params["Identity"])
        else:
            found = list(users(data).values())
        if own:
            found = [u for u in found if u["sam"].lower() == own]
        objects = [user_object(data, u) for u in sorted(found, key=lambda u: u["name"].lower())]
    for obj in _result_size(inv, objects):
        inv.write(obj)


@common.cmdlet("Get-Group")
def get_group(inv) -> None:
    with inv.store.read() as data:
        records = list(groups(data).values())
        if inv.has("Identity"):
            ident = inv.params["Identity"]
            # GroupIdParameter also resolves the canonical name that Get-Group's Members show (alleo.intern/Users/X).
            fqdn = common.domain(data)["fqdn"]
            found = [g for g in records if common.matches(
                {"Name": g["name"], "Guid": g["guid"], "Sid": g["sid"], "DistinguishedName": group_dn(data, g),
                 "Identity": f"{fqdn}/{g.get('ou', 'Users')}/{g['name']}"},
                ident, ("Name", "Sid", "Identity"))]
            if not found:
                common.report_not_found(inv, ident)
            records = found
        objects = [group_object(data, g) for g in sorted(records, key=lambda g: g["name"].lower())]
    for obj in _result_size(inv, objects):
        inv.write(obj)


def password_ok(password: str, sam: str) -> bool:
    classes = sum(bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    return len(password) >= 7 and classes >= 3 and sam.lower() not in password.lower()


@common.cmdlet("New-Mailbox")
def new_mailbox(inv) -> None:
    name = inv.params["Name"]
    password = inv.params.get("Password")
    with inv.store.write() as data:
        fqdn = common.domain(data)["fqdn"]
        sam = inv.params.get("SamAccountName") or re.sub(r"[^A-Za-z0-9._-]", "", name)[:20]
        upn = inv.params.get("UserPrincipalName") or f"{sam}@{fqdn}"
        ou = str(inv.params.get("OrganizationalUnit") or "Users").rsplit("/", maxsplit=1)[-1]
        if any(u["name"].lower() == name.lower() and u.get("ou", "Users").lower() == ou.lower() for u in users(data).values()):
            common.already_exists(inv, f"CN={name},{'CN=Users' if ou == 'Users' else 'OU=' + ou},{common.domain(data)['dn']}")
            return
        if sam.lower() in users(data) or sam.lower() in groups(data):
            common.fail(inv, f"The name \"{sam}\" is already being used. Please try another name.",
                        errors.ALREADY_EXISTS_EXC, category="NotSpecified", target=sam)
            return
        if any(u["upn"].lower() == str(upn).lower() for u in users(data).values()):
            common.fail(inv, f"The user principal name {upn} is already used. Please try another name.",
                        errors.ALREADY_EXISTS_EXC, category="NotSpecified", target=str(upn))
            return
        database = inv.params.get("Database")
        if database and str(database).lower() not in common.org(data).get("databases", {}):
            common.report_not_found(inv, database)
            return
        if password is not None and not password_ok(password.reveal(), sam):
            common.fail(inv, PASSWORD_POLICY_TEXT.format(common.domain(data)["dc"]), INVALID_PASSWORD_EXC,
                        category="NotSpecified", target=name)
            return
        domain = common.domain(data)
        rid = domain["next_rid"]
        domain["next_rid"] += 1
        user = {"name": name, "sam": sam, "sid": f"{domain['sid']}-{rid}", "guid": common.new_guid(),
                "display_name": inv.params.get("DisplayName") or name, "upn": str(upn), "ou": ou,
                "first_name": inv.params.get("FirstName"), "last_name": inv.params.get("LastName"),
                "enabled": password is not None, "mailbox": None, "throttling_policy": None,
                "from_topology": False}
        user["mailbox"] = new_mailbox_record(data, user, str(database) if database else None, inv.params.get("Alias"))
        if password is not None and not inv.what_if and inv.lab is not None:
            user["password_hash"] = inv.lab.set_password(sam, password)
        users(data)[sam.lower()] = user
        obj = mailbox_object(data, user)
    inv.write(obj)


@common.cmdlet("Enable-Mailbox")
def enable_mailbox(inv) -> None:
    with inv.store.write() as data:
        user = find_user(inv, data, inv.params["Identity"])
        if user is None:
            return
        if user.get("mailbox"):
            common.fail(inv, f"The user \"{common.user_identity(data, user)}\" is already mailbox-enabled.",
                        errors.TASK_EXC, category="InvalidArgument", target=common.user_identity(data, user))
            return
        database = inv.params.get("Database")
        if database and str(database).lower() not in common.org(data).get("databases", {}):
            common.report_not_found(inv, database)
            return
        user["mailbox"] = new_mailbox_record(data, user, str(database) if database else None, inv.params.get("Alias"))
        obj = mailbox_object(data, user)
    inv.write(obj)


@common.cmdlet("Set-Mailbox")
def set_mailbox(inv) -> None:
    with inv.store.write() as data:
        user = find_user(inv, data, inv.params["Identity"], mailbox_only=True)
        if user is None:
            return
        password = inv.params.get("Password")
        if password is not None and not password_ok(password.reveal(), user["sam"]):
            # Nothing of the call is applied: the password is checked before any other change is saved.
            common.fail(inv, PASSWORD_POLICY_TEXT.format(common.domain(data)["dc"]), INVALID_PASSWORD_EXC,
                        category="NotSpecified", target=user["name"])
            return
        changed = False
        if inv.has("ThrottlingPolicy"):
            wanted = inv.params["ThrottlingPolicy"]
            policy = None
            if wanted is not None:
                found = common.find(common.org(data).get("throttling_policies", {}).values(), wanted)
                policy = found[0] if len(found) == 1 else None
                if policy is None:
                    common.report_not_found(inv, wanted)
                    return
            new = policy["Name"] if policy else None
            if user.get("throttling_policy") != new:
                user["throttling_policy"] = new
                changed = True
        settings = user["mailbox"].setdefault("settings", {})
        for key, value in inv.params.items():
            if key in ("Identity", "ThrottlingPolicy", "DomainController", "Force"):
                continue
            new = common.stored(value)
            if key == "Password":
                if not inv.what_if and inv.lab is not None:
                    user["password_hash"] = inv.lab.set_password(user["sam"], value)
                changed = True
                continue
            if key in ("Alias", "DisplayName", "Name"):
                target = {"Alias": user["mailbox"], "DisplayName": user, "Name": user}[key]
                field = {"Alias": "Alias", "DisplayName": "display_name", "Name": "name"}[key]
                if target.get(field) != new:
                    target[field] = new
                    changed = True
                continue
            if isinstance(settings.get(key), list) or isinstance(new, dict):
                new = common.apply_multi(settings.get(key) or [], new)
            if not common.same_value(settings.get(key), new):
                settings[key] = new
                changed = True
        if not changed:
            common.no_op(inv, common.user_identity(data, user))

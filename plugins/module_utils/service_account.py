# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_service_account: the XPhone service account (the vendor document's MAPIAccount) and its mailbox.

Created with New-Mailbox when absent (the password bound as a SecureString), mailbox-enabled with Enable-Mailbox when
the AD account exists without one, its password set again only when asked. Refused, naming the group path, when the
account is a member - directly or through nested groups - of an administrative group: the organisation container
gives those groups an inherited Deny Receive-As/Send-As (lab-fidelity-audit Q4), which outranks the grants the
integration makes, so the account would silently get no access (exchange-failure-modes 1e, 2e).
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, ReplyLost
from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import Secret

ADMIN_GROUPS = ("Domain Admins", "Enterprise Admins", "Organization Management", "Exchange Servers",
                "Exchange Trusted Subsystem", "Exchange Organization Administrators")
# Characters AD refuses in a sAMAccountName (and so in an account name Exchange derives one from).
_BAD_NAME_CHARS = set('"/\\[]:;|=,+*?<>@')

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    account_password=dict(type="str", no_log=True),
    update_password=dict(type="str", default="on_create", choices=["on_create", "always"]),
    user_principal_name=dict(type="str"),
    alias=dict(type="str"),
    display_name=dict(type="str"),
    organizational_unit=dict(type="str"),
    database=dict(type="str"),
    admin_groups=dict(type="list", elements="str", default=list(ADMIN_GROUPS)),
)
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def validate(params):
    name = params.get("name")
    c.validate_name("name", name, max_length=64)
    bad = sorted(set(str(name)) & _BAD_NAME_CHARS)
    if bad or str(name).strip() != str(name) or str(name).endswith("."):
        raise InvalidInput("name", "%r cannot be an Active Directory account name (%s)" % (
            name, "it contains %s" % " ".join(bad) if bad else "leading or trailing blanks or a final dot"))
    upn = params.get("user_principal_name")
    local, _at, domain = str(upn or "").partition("@")
    if upn is not None and (str(upn).count("@") != 1 or not local or not domain):
        raise InvalidInput("user_principal_name", "%r is not a user principal name such as MAPIAccount@alleo.intern" % (upn,))
    if params.get("account_password") is not None and not str(params["account_password"]):
        raise InvalidInput("account_password", "must not be empty")


def _find(session, cmdlet, name):
    found = session.invoke(cmdlet, [("Identity", name)], not_found_ok=True)
    if len(found) > 1:
        raise InvalidInput("name", "%r names %d accounts (%s); give a unique name such as the UPN" % (
            name, len(found), ", ".join(sorted(str(u.get("Name")) for u in found))))
    return found[0] if found else None


def admin_path(session, user, groups):
    """The first path from an administrative group down to ``user`` (["Domain Admins", "IT", "MAPIAccount"]), or None."""
    mine = set(str(user.get(k) or "").lower() for k in ("Identity", "DistinguishedName", "Name") if user.get(k))
    cache = {}

    def group(identity):
        key = str(identity).lower()
        if key not in cache:
            found = session.invoke("Get-Group", [("Identity", identity)], not_found_ok=True)
            cache[key] = found[0] if len(found) == 1 else None
        return cache[key]

    for top in groups:
        start = group(top)
        if start is None:
            continue  # e.g. Exchange Organization Administrators, which Exchange 2010 and later no longer have
        queue, seen = [(start, [str(start.get("Name"))])], set()
        while queue:
            current, path = queue.pop(0)
            members = current.get("Members") or []
            for member in members if isinstance(members, list) else [members]:
                text = str(member)
                if text.lower() in mine:
                    return path + [str(user.get("Name"))]
                if text.lower() in seen:
                    continue
                seen.add(text.lower())
                nested = group(text)
                if nested is not None:
                    queue.append((nested, path + [str(nested.get("Name"))]))
    return None


def _write(session, cmdlet, args, landed):
    """Send a write once; when its reply is lost, read whether it took effect instead of sending it again."""
    try:
        session.invoke(cmdlet, args)
    except ReplyLost as err:
        if landed is None or not landed():
            raise
        del err


def run(session, params, check_mode=False, diff_mode=False):
    validate(params)
    name = params["name"]
    password = params.get("account_password")
    user = _find(session, "Get-User", name)
    mailbox = _find(session, "Get-Mailbox", name) if user is not None else None
    differences = []
    if user is not None:
        path = admin_path(session, user, params.get("admin_groups") or [])
        if path:
            raise InvalidInput("name", "%s is a member of %s (%s): the inherited Deny Receive-As/Send-As of that group "
                                       "would defeat the permissions the integration grants, and a service account "
                                       "must not be an administrator. Remove it from the group, or use another account"
                                       % (user.get("Name"), path[0], " > ".join(path)))
    wrote = []
    if user is None:
        if password is None:
            raise InvalidInput("account_password", "is required to create the account %s" % name)
        upn = params.get("user_principal_name")
        if not upn:
            raise InvalidInput("user_principal_name", "is required to create the account %s (such as %s@<domain>)"
                               % (name, name))
        differences.append(dict(option="state", parameter=None, before="absent", after="present"))
        args = [("Name", name), ("UserPrincipalName", upn), ("Password", Secret(password))]
        for option, parameter in (("alias", "Alias"), ("display_name", "DisplayName"),
                                  ("organizational_unit", "OrganizationalUnit"), ("database", "Database")):
            if params.get(option):
                args.append((parameter, params[option]))
        if not check_mode:
            _write(session, "New-Mailbox", args, lambda: _find(session, "Get-Mailbox", name) is not None)
            wrote.append("New-Mailbox")
    else:
        if mailbox is None:
            differences.append(dict(option="mailbox", parameter=None, before="none", after="enabled"))
            args = [("Identity", name)] + [(p, params[o]) for o, p in (("alias", "Alias"), ("database", "Database"))
                                           if params.get(o)]
            if not check_mode:
                _write(session, "Enable-Mailbox", args, lambda: _find(session, "Get-Mailbox", name) is not None)
                wrote.append("Enable-Mailbox")
        if password is not None and params.get("update_password") == "always":
            differences.append(dict(option="account_password", parameter="Password", before=None, after=None))
            if not check_mode:
                # A password cannot be read back: a lost reply is reported (the password may or may not be set; a
                # second send could meet the domain's password history).
                _write(session, "Set-Mailbox", [("Identity", name), ("Password", Secret(password))], None)
                wrote.append("Set-Mailbox")
    current = _find(session, "Get-Mailbox", name) if wrote else mailbox
    label = 'service account "%s"' % name
    shown = current or user or {}
    keys = ("Name", "UserPrincipalName", "PrimarySmtpAddress", "Database", "DistinguishedName", "Sid")
    result = dict(changed=bool(differences), differences=differences, object=label,
                  account=dict((k, shown.get(k)) for k in keys if shown.get(k) is not None),
                  admin_groups_checked=list(params.get("admin_groups") or []))
    if diff_mode:
        result["diff"] = dict(before=dict((d["option"], d["before"]) for d in differences),
                              after=dict((d["option"], d["after"]) for d in differences),
                              before_header=label, after_header=label)
    if session.warnings:
        result["warnings"] = list(session.warnings)
    return result

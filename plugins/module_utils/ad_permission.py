# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_ad_permission: extended rights (Receive-As, Send-As) for one account on mailbox databases.

The vendor document's "MAPIAccount" steps: ``Get-MailboxDatabase | Add-ADPermission -User MAPIAccount -AccessRights
ExtendedRight -ExtendedRights Receive-As, Send-As``, the ``Get-MailboxPermission`` check that a mailbox shows the
account's FullAccess (inherited from Receive-As on its database), and ``Remove-ADPermission`` to take it back.

Facts (lab-fidelity-audit Q4, Q5): ``Get-ADPermission -User`` matches the exact trustee SID, so a near-miss name
(MAPIAccount2) never counts; an inherited entry does not count (an explicit one is added next to it); adding a right
already present is a no-op with a warning, removing an absent one a warning. The reads and writes go through one
pipeline per kind of change, with the databases as pipeline input, so 400 databases cost a handful of pipelines.
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound, ReplyLost

RIGHTS = ("Receive-As", "Send-As")

ARGUMENT_SPEC = dict(
    user=dict(type="str", required=True),
    extended_rights=dict(type="list", elements="str", default=list(RIGHTS)),
    databases=dict(type="list", elements="str"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    full_access_mailbox=dict(type="str"),
)
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def _true(value):
    return value in (True, "True", "true")


def _items(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def canonical_rights(values):
    """The extended rights as Exchange names them (Receive-As, Send-As in any case); others as given."""
    out = []
    for value in _items(values):
        text = str(value).strip()
        if not text:
            raise InvalidInput("extended_rights", "an extended right must not be empty")
        text = next((r for r in RIGHTS if r.lower() == text.lower()), text)
        if text not in out:
            out.append(text)
    if not out:
        raise InvalidInput("extended_rights", "must name at least one extended right, such as Receive-As")
    return out


def _user(session, name, check_mode=False):
    found = session.invoke("Get-User", [("Identity", name)], not_found_ok=True)
    if not found and check_mode:
        # A check-mode run of a play that creates the account first: the account does not exist yet.
        session.warnings.append("user %s does not exist (yet): in check mode every right is shown as missing, as it would "
                                "be once a task before this one created the account" % name)
        return None
    if not found:
        raise InvalidInput("user", "no user %r was found (give the account's name, alias, UPN or DOMAIN\\name)" % name)
    if len(found) > 1:
        raise InvalidInput("user", "%r names %d users (%s); give a unique name such as the UPN" % (
            name, len(found), ", ".join(sorted(str(u.get("Name")) for u in found))))
    return found[0]


def _databases(session, wanted):
    """The mailbox databases to act on (all, or the ``wanted`` names checked against the organisation's)."""
    every = session.invoke("Get-MailboxDatabase")
    if wanted is None:
        return every
    by_name = dict((str(db.get("Name")).lower(), db) for db in every)
    chosen, unknown = [], []
    for name in wanted:
        db = by_name.get(str(name).strip().lower())
        if db is None:
            unknown.append(str(name))
        elif db not in chosen:
            chosen.append(db)
    if unknown:
        raise InvalidInput("databases", "%s %s not a mailbox database of the organisation (known: %s)" % (
            ", ".join(unknown), "is" if len(unknown) == 1 else "are",
            ", ".join(sorted(str(db.get("Name")) for db in every)) or "none"))
    return chosen


def _owner(ace, databases):
    """The database an ACE belongs to: its Identity is the database's name, DN or canonical name."""
    text = str(ace.get("Identity") or "").strip().lower()
    for db in databases:
        name = str(db.get("Name")).lower()
        if text in (name, str(db.get("DistinguishedName") or "").lower(), str(db.get("Identity") or "").lower()) \
                or text.endswith("/" + name) or text.startswith("cn=%s," % name):
            return str(db.get("Name"))
    return None


def explicit_rights(session, user, databases):
    """Per database name, the extended rights ``user`` holds explicitly (allow, not inherited), in one pipeline."""
    have = dict((str(db.get("Name")), set()) for db in databases)
    if not databases:
        return have
    aces = session.invoke("Get-ADPermission", [("User", user)], input_objects=[str(db.get("Name")) for db in databases])
    for ace in aces:
        if _true(ace.get("Deny")) or _true(ace.get("IsInherited")):
            continue
        owner = _owner(ace, databases)
        if owner is None:
            continue
        for right in _items(ace.get("ExtendedRights")):
            have[owner].add(str(right).lower())
    return have


def _groups(changes):
    """Databases grouped by the same set of rights to write: one pipeline per group."""
    grouped = {}
    for name, rights in changes.items():
        if rights:
            grouped.setdefault(tuple(sorted(rights)), []).append(name)
    return sorted(grouped.items())


def run(session, params, check_mode=False, diff_mode=False):
    c.validate_name("user", params.get("user"), max_length=256)
    rights = canonical_rights(params.get("extended_rights"))
    wanted_dbs = params.get("databases")
    if wanted_dbs is not None and not _items(wanted_dbs):
        raise InvalidInput("databases", "is empty; leave it out for every mailbox database of the organisation")
    user = params["user"]
    account = _user(session, user, check_mode)
    databases = _databases(session, wanted_dbs)
    absent = params.get("state") == "absent"

    def plan():
        if account is None:
            have = dict((str(db.get("Name")), set()) for db in databases)
        else:
            have = explicit_rights(session, user, databases)
        changes = {}
        for name, held in have.items():
            if absent:
                changes[name] = [r for r in rights if r.lower() in held]
            else:
                changes[name] = [r for r in rights if r.lower() not in held]
        return have, changes

    have, changes = plan()
    differences = []
    for name in sorted(changes, key=str.lower):
        if changes[name]:
            before = sorted(r for r in rights if r.lower() in have[name])
            after = [] if absent else list(rights)
            differences.append(dict(option="databases", parameter="%s: ExtendedRights" % name, before=before,
                                    after=sorted(after) if not absent else sorted(set(before) - set(changes[name]))))
    pipelines = 0
    if differences and not check_mode:
        cmdlet = "Remove-ADPermission" if absent else "Add-ADPermission"
        for attempt in range(2):
            try:
                for group, names in _groups(changes):
                    pipelines += 1
                    session.invoke(cmdlet, [("User", user), ("AccessRights", ["ExtendedRight"]),
                                            ("ExtendedRights", list(group))], input_objects=names)
                break
            except ReplyLost:
                if attempt:
                    raise
                # Whether the write took effect is unknown: read again and write only what is still missing.
                have, changes = plan()
    account = account or dict(Name=user)
    result = dict(changed=bool(differences), differences=differences, user=str(account.get("Name")),
                  databases=sorted(str(db.get("Name")) for db in databases), extended_rights=rights,
                  servers=sorted(set(str(server) for db in databases for server in _items(db.get("Servers")))),
                  pipelines=pipelines, object="extended rights of %s on %d mailbox database%s" % (
                      account.get("Name"), len(databases), "" if len(databases) == 1 else "s"))
    if diff_mode:
        result["diff"] = dict(before=dict((d["parameter"], d["before"]) for d in differences),
                              after=dict((d["parameter"], d["after"]) for d in differences),
                              before_header=result["object"], after_header=result["object"])
    mailbox = params.get("full_access_mailbox")
    if mailbox and not absent and not check_mode and "Receive-As" in rights:
        result["full_access"] = _full_access(session, mailbox, user)
        if not result["full_access"]:
            session.warnings.append(
                "mailbox %s does not show FullAccess for %s inherited from its database: check that the account is in no "
                "administrative group (their inherited Deny Receive-As wins over the grant) and that the mailbox's "
                "database is one of those granted" % (mailbox, account.get("Name")))
    if session.warnings:
        result["warnings"] = list(session.warnings)
    return result


def _full_access(session, mailbox, user):
    """The vendor document's check: Get-MailboxPermission shows FullAccess for the account, inherited, not denied."""
    try:
        entries = session.invoke("Get-MailboxPermission", [("Identity", mailbox), ("User", user)])
    except NotFound:
        raise InvalidInput("full_access_mailbox", "no mailbox %r was found" % mailbox)

    def rights_of(entry):
        return [part.strip().lower() for r in _items(entry.get("AccessRights")) for part in str(r).split(",")]

    full = [e for e in entries if "fullaccess" in rights_of(e)]
    # A Deny (the admin groups' inherited Deny Receive-As shows as Deny FullAccess) wins over any allow.
    return (any(_true(e.get("IsInherited")) and not _true(e.get("Deny")) for e in full)
            and not any(_true(e.get("Deny")) for e in full))

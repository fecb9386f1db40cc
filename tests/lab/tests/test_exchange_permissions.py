"""AD and mailbox permissions: the seed's Receive-As/Send-As grant on every database, merging, admin denies,
ANONYMOUS LOGON by name and SID, FullAccess inherited from Receive-As, removal."""

from __future__ import annotations

import pytest

from lab.engine import Lab
from lab.model import CommandCall

from helpers import call, run

GRANT = {"AccessRights": "ExtendedRight", "ExtendedRights": ["Receive-As", "Send-As"], "User": "ALLEO\\jdoe"}


def explicit(lab: Lab, identity: str, user: str) -> list:
    return [o for o in run(lab, call("Get-ADPermission", identity, User=user)).output if not o["IsInherited"]]


def test_grant_on_all_databases_shape(lab: Lab) -> None:
    result = run(lab, call("Get-MailboxDatabase"), call("Add-ADPermission", **GRANT))
    assert not result.errors and len(result.output) == 10
    ace = result.output[0]
    assert ace.type_names[0] == "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject"
    assert ace["Identity"] == "DB01" and ace["User"] == "ALLEO\\jdoe"
    assert ace["ExtendedRights"] == ["Receive-As"] and [r.value for r in ace["AccessRights"]] == ["ExtendedRight"]
    assert ace["Deny"] is False and ace["IsInherited"] is False


def test_adding_twice_merges_instead_of_duplicating(lab: Lab) -> None:
    run(lab, call("Get-MailboxDatabase"), call("Add-ADPermission", **GRANT))
    again = run(lab, call("Get-MailboxDatabase"), call("Add-ADPermission", **GRANT))
    assert not again.errors and len(again.warnings) == 10
    # {0} is the object's DN (DirectoryCommon.ApplyAcesOnAcl, audit Q4), {1} the account.
    assert again.warnings[0] == ("The appropriate access control entry is already present on the object "
                                 "\"CN=DB01,CN=Databases,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative "
                                 "Groups,CN=Alleo,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=alleo,DC=intern\" "
                                 "for account \"ALLEO\\jdoe\".")
    rights = sorted(r for o in explicit(lab, "DB03", "jdoe") for r in o["ExtendedRights"])
    assert rights == ["Receive-As", "Send-As"]


def test_admin_groups_carry_inherited_denies_on_databases(lab: Lab) -> None:
    for group in ("Domain Admins", "Enterprise Admins", "Organization Management"):
        entries = run(lab, call("Get-ADPermission", "DB01", User=group)).output
        assert {tuple(e["ExtendedRights"]) for e in entries} == {("Receive-As",), ("Send-As",)}, group
        assert all(e["Deny"] and e["IsInherited"] for e in entries)


def test_full_access_inherited_from_receive_as(lab: Lab) -> None:
    before = run(lab, call("Get-MailboxPermission", Identity="helpdesk", User="jdoe"))
    assert not before.output and not before.errors
    run(lab, call("Add-ADPermission", "DB02", **GRANT))
    (entry,) = run(lab, call("Get-MailboxPermission", Identity="helpdesk", User="jdoe")).output
    assert entry.type_names[0] == "Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject"
    assert [r.value for r in entry["AccessRights"]] == ["FullAccess"]
    assert entry["IsInherited"] is True and entry["Deny"] is False
    assert entry["Identity"] == "alleo.intern/Users/helpdesk"
    # jdoe's own mailbox lives on DB03, where no Receive-As was granted
    assert not run(lab, call("Get-MailboxPermission", Identity="jdoe", User="jdoe")).output


def test_mailbox_permission_lists_self_and_admin_denies(lab: Lab) -> None:
    entries = run(lab, call("Get-MailboxPermission", "jdoe")).output
    users = {(e["User"], e["Deny"]) for e in entries}
    assert ("NT AUTHORITY\\SELF", False) in users
    assert ("ALLEO\\Domain Admins", True) in users and ("ALLEO\\Organization Management", True) in users


def test_remove_ad_permission(lab: Lab) -> None:
    run(lab, call("Get-MailboxDatabase"), call("Add-ADPermission", **GRANT))
    refused = run(lab, call("Get-MailboxDatabase"), call("Remove-ADPermission", **GRANT))
    assert refused.terminating_error is not None and len(explicit(lab, "DB01", "jdoe")) == 2
    done = run(lab, call("Get-MailboxDatabase"), call("Remove-ADPermission", Confirm=False, **GRANT))
    assert done.terminating_error is None and not done.warnings
    assert explicit(lab, "DB01", "jdoe") == [] and explicit(lab, "DB05", "jdoe") == []
    missing = run(lab, call("Remove-ADPermission", "DB01", Confirm=False, **GRANT))
    assert missing.warnings and "doesn't exist" in missing.warnings[0]


@pytest.mark.parametrize("who", ["NT AUTHORITY\\ANONYMOUS LOGON", "S-1-5-7", "ANONYMOUS LOGON"])
def test_anonymous_relay_right_on_receive_connector(lab: Lab, who: str) -> None:
    run(lab, CommandCall("New-ReceiveConnector", [("Name", "Relay XPhone"), ("Server", "EX01"), ("Custom", True),
                                                  ("TransportRole", "FrontendTransport"), ("Bindings", "0.0.0.0:25"),
                                                  ("RemoteIPRanges", "10.0.0.5"), ("PermissionGroups", "AnonymousUsers")]))
    result = run(lab, call("Get-ReceiveConnector", "EX01\\Relay XPhone"),
                 call("Add-ADPermission", User=who, ExtendedRights="ms-Exch-SMTP-Accept-Any-Recipient"))
    assert not result.errors and result.output[0]["User"] == "NT AUTHORITY\\ANONYMOUS LOGON"
    rights = [r for o in run(lab, call("Get-ADPermission", "EX01\\Relay XPhone", User="S-1-5-7")).output
              for r in o["ExtendedRights"]]
    assert "ms-Exch-SMTP-Accept-Any-Recipient" in rights and "ms-Exch-SMTP-Submit" in rights


def test_default_connector_permission_groups_as_entries(lab: Lab) -> None:
    entries = run(lab, call("Get-ADPermission", "EX01\\Default EX01")).output
    users = {o["User"] for o in entries}
    # ExchangeUsers, ExchangeServers (four principals) and ExchangeLegacyServers (ExchangeLegacyInterop), audit Q2.
    assert users == {"NT AUTHORITY\\Authenticated Users", "MS Exchange\\Hub Transport Servers",
                     "MS Exchange\\Edge Transport Servers", "MS Exchange\\Externally Secured Servers",
                     "ALLEO\\Exchange Servers", "ALLEO\\ExchangeLegacyInterop"}
    legacy = [o for o in entries if o["User"] == "ALLEO\\ExchangeLegacyInterop"]
    assert sorted(r for o in legacy if o["Deny"] for r in o["ExtendedRights"]) == [
        "ms-Exch-Accept-Headers-Forest", "ms-Exch-Accept-Headers-Organization"]
    assert len([o for o in legacy if not o["Deny"]]) == 9


def test_unknown_object_and_user_are_not_found(lab: Lab) -> None:
    assert "couldn't be found" in run(lab, call("Add-ADPermission", "DB99", **GRANT)).errors[0].message
    err = run(lab, call("Add-ADPermission", "DB01", AccessRights="ExtendedRight", ExtendedRights="Receive-As",
                        User="ALLEO\\nobody")).errors[0]
    assert "'ALLEO\\nobody'" in err.message
    assert run(lab, call("Get-ADPermission", "DB01", User="ALLEO\\jdoe2")).errors


def test_add_and_remove_mailbox_permission(lab: Lab) -> None:
    added = run(lab, call("Add-MailboxPermission", "helpdesk", User="jdoe", AccessRights="FullAccess",
                          AutoMapping=False))
    assert not added.errors and added.output[0]["IsInherited"] is False
    again = run(lab, call("Add-MailboxPermission", "helpdesk", User="jdoe", AccessRights="FullAccess"))
    assert again.warnings == ["The appropriate access control entry is already present on the object "
                              "\"alleo.intern/Users/helpdesk\" for account \"ALLEO\\jdoe\"."]
    entries = run(lab, call("Get-MailboxPermission", "helpdesk", User="jdoe")).output
    assert len(entries) == 1
    assert run(lab, call("Remove-MailboxPermission", "helpdesk", User="jdoe", AccessRights="FullAccess")).terminating_error
    assert not run(lab, call("Remove-MailboxPermission", "helpdesk", User="jdoe", AccessRights="FullAccess",
                             Confirm=False)).warnings
    assert not run(lab, call("Get-MailboxPermission", "helpdesk", User="jdoe")).output
    bad = run(lab, call("Add-MailboxPermission", "helpdesk", User="jdoe", AccessRights="AllOfIt"))
    assert bad.terminating_error and "FullAccess" in bad.terminating_error.message

"""ActiveDirectory cmdlets through Lab.run_pipeline: members, recursion, memberships, identity not found."""

from __future__ import annotations

from lab.engine import Lab

from helpers import windows_runner


run = windows_runner("EX01")


def test_group_members_from_the_directory(lab: Lab) -> None:
    members = run(lab, "Get-ADGroupMember", Identity="Domain Admins").output
    assert [m["SamAccountName"] for m in members] == ["Administrator"]
    assert members[0]["objectClass"] == "user"
    assert members[0]["distinguishedName"] == "CN=Administrator,CN=Users,DC=alleo,DC=intern"


def test_recursive_membership_expands_nested_groups(lab: Lab) -> None:
    with lab.store.write() as data:
        data["directory"]["groups"]["organization management"]["members"].append("domain admins")
    direct = {(m["objectClass"], m["name"]) for m in run(lab, "Get-ADGroupMember", Identity="Organization Management").output}
    assert ("group", "Domain Admins") in direct
    nested = [m["name"] for m in run(lab, "Get-ADGroupMember", Identity="Organization Management", Recursive=True).output]
    assert nested == ["Administrator"]


def test_principal_group_membership_includes_the_primary_group(lab: Lab) -> None:
    groups = [g["name"] for g in run(lab, "Get-ADPrincipalGroupMembership", Identity="jdoe").output]
    assert groups == ["Domain Users"]
    admin = {g["name"] for g in run(lab, "Get-ADPrincipalGroupMembership", Identity="Administrator").output}
    assert {"Domain Admins", "Organization Management", "Domain Users"} <= admin


def test_unknown_identity_is_terminating_with_the_ad_text(lab: Lab) -> None:
    result = run(lab, "Get-ADGroupMember", Identity="No Such Group")
    err = result.terminating_error
    assert err is not None
    assert err.message == "Cannot find an object with identity: 'No Such Group' under: 'DC=alleo,DC=intern'."
    assert err.error_id == ("ActiveDirectoryCmdlet:Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException,"
                            "Microsoft.ActiveDirectory.Management.Commands.GetADGroupMember")


def test_the_xphone_server_has_no_active_directory_module(lab: Lab) -> None:
    err = run(lab, "Get-ADGroupMember", host="XPHONE01", Identity="Domain Admins").terminating_error
    assert err is not None and err.exception_type == "System.Management.Automation.CommandNotFoundException"

"""RBAC objects: built-in roles and role groups, ApplicationImpersonation role group for EWS, members, scopes."""

from __future__ import annotations

from lab.engine import Lab
from lab.model import SessionInfo

from helpers import call, run

JDOE = SessionInfo("EX01", "exchange", "ALLEO\\jdoe")


def test_builtin_roles_and_groups(lab: Lab) -> None:
    role = run(lab, call("Get-ManagementRole", "ApplicationImpersonation")).output[0]
    assert role["RoleType"].value == "ApplicationImpersonation"
    groups = {g["Name"]: g for g in run(lab, call("Get-RoleGroup")).output}
    assert {"Organization Management", "Recipient Management", "View-Only Organization Management",
            "Server Management"} <= set(groups)
    assert "Receive Connectors" in groups["Organization Management"]["Roles"]
    assert "ApplicationImpersonation" in groups["Organization Management"]["Roles"]  # delegating only
    delegating = run(lab, call("Get-ManagementRoleAssignment", Role="ApplicationImpersonation")).output
    assert [a["RoleAssignmentDelegationType"].value for a in delegating] == ["DelegatingOrgWide"]


def test_impersonation_role_group_for_the_service_account(lab: Lab) -> None:
    created = run(lab, call("New-RoleGroup", Name="XPhone Impersonation", Roles=["ApplicationImpersonation"],
                            Members=["jdoe"]))
    assert not created.errors
    group = created.output[0]
    assert group["Roles"] == ["ApplicationImpersonation"] and group["Members"] == ["alleo.intern/Users/jdoe"]
    effective = run(lab, call("Get-ManagementRoleAssignment", Role="ApplicationImpersonation", GetEffectiveUsers=True)).output
    assert "jdoe" in {a["EffectiveUserName"] for a in effective}
    assert "already exists" in run(lab, call("New-RoleGroup", Name="XPhone Impersonation")).errors[0].message


def test_role_group_members_must_exist(lab: Lab) -> None:
    bad = run(lab, call("New-RoleGroup", Name="G", Roles=["ApplicationImpersonation"], Members=["ghost"]))
    assert "'ghost'" in bad.errors[0].message
    assert not run(lab, call("Get-RoleGroup", "G", ErrorAction="SilentlyContinue")).output
    assert run(lab, call("New-RoleGroup", Name="H", Roles=["NoSuchRole"])).errors
    assert run(lab, call("Add-RoleGroupMember", "Organization Management", Member="ghost")).errors


def test_membership_changes_and_rbac_effect(lab: Lab) -> None:
    assert run(lab, call("Get-ReceiveConnector"), session=JDOE).terminating_error is not None
    assert not run(lab, call("Add-RoleGroupMember", "Server Management", Member="jdoe")).errors
    assert run(lab, call("Get-ReceiveConnector"), session=JDOE).output
    dup = run(lab, call("Add-RoleGroupMember", "Server Management", Member="jdoe"))
    assert dup.errors[0].message == 'The recipient "jdoe" is already a member of the group "Server Management".'
    members = [m["Name"] for m in run(lab, call("Get-RoleGroupMember", "Server Management")).output]
    assert members == ["jdoe"]
    assert run(lab, call("Remove-RoleGroupMember", "Server Management", Member="jdoe")).terminating_error
    assert not run(lab, call("Remove-RoleGroupMember", "Server Management", Member="jdoe", Confirm=False)).errors
    assert run(lab, call("Get-ReceiveConnector"), session=JDOE).terminating_error is not None


def test_direct_assignment_with_a_scope(lab: Lab) -> None:
    scope = run(lab, call("New-ManagementScope", Name="XPhone Users",
                          RecipientRestrictionFilter="MemberOfGroup -eq 'CN=XPhone,CN=Users,DC=alleo,DC=intern'"))
    assert scope.output[0]["ScopeRestrictionType"].value == "RecipientScope"
    assigned = run(lab, call("New-ManagementRoleAssignment", Role="ApplicationImpersonation", User="jdoe",
                             CustomRecipientWriteScope="XPhone Users"))
    assert not assigned.errors
    row = assigned.output[0]
    assert row["Name"] == "ApplicationImpersonation-jdoe" and row["CustomRecipientWriteScope"] == "XPhone Users"
    assert row["RoleAssigneeType"].value == "User"
    assert run(lab, call("New-ManagementRoleAssignment", Role="ApplicationImpersonation", User="jdoe",
                         CustomRecipientWriteScope="Nope")).errors
    assert run(lab, call("Remove-ManagementRoleAssignment", "ApplicationImpersonation-jdoe")).terminating_error
    assert not run(lab, call("Remove-ManagementRoleAssignment", "ApplicationImpersonation-jdoe", Confirm=False)).errors
    assert [s["Name"] for s in run(lab, call("Get-ManagementScope")).output] == ["XPhone Users"]


def test_remove_role_group(lab: Lab) -> None:
    run(lab, call("New-RoleGroup", Name="Temp", Roles=["ApplicationImpersonation"]))
    assert not run(lab, call("Remove-RoleGroup", "Temp", Confirm=False)).errors
    assert not run(lab, call("Get-ManagementRoleAssignment", RoleAssignee="Temp")).output
    assert run(lab, call("Remove-RoleGroup", "Organization Management", Confirm=False)).errors
    assert run(lab, call("Set-RoleGroup", "Organization Management", Description="x")).warnings == []
    assert run(lab, call("Set-RoleGroup", "Organization Management", Description="x")).warnings

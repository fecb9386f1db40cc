"""Recipients: Get-User/Get-Group/Get-Mailbox shapes, New-Mailbox with a SecureString, Enable-Mailbox, Set-Mailbox."""

from __future__ import annotations

from lab.engine import Lab
from lab.model import SecureString

from helpers import ADMIN, call, run


def test_mailbox_shape_and_identity_forms(lab: Lab) -> None:
    mbx = run(lab, call("Get-Mailbox", "jdoe")).output[0]
    assert mbx.type_names[0] == "Microsoft.Exchange.Data.Directory.Management.Mailbox"
    assert mbx["Identity"] == "alleo.intern/Users/jdoe" and mbx["Database"] == "DB03"
    assert mbx["PrimarySmtpAddress"] == "jdoe@alleo.intern" and mbx["RecipientTypeDetails"].value == "UserMailbox"
    assert mbx["ThrottlingPolicy"] is None and mbx["ServerName"] == "ex02"
    for identity in ("ALLEO\\jdoe", "jdoe@alleo.intern", "John Doe", mbx["Guid"], "CN=jdoe,CN=Users,DC=alleo,DC=intern"):
        assert run(lab, call("Get-Mailbox", identity)).output[0]["Guid"] == mbx["Guid"], identity
    assert len(run(lab, call("Get-Mailbox")).output) == 3
    assert [m["Name"] for m in run(lab, call("Get-Mailbox", Database="DB01")).output] == ["Administrator"]
    assert "couldn't be found" in run(lab, call("Get-Mailbox", "ghost")).errors[0].message


def test_get_user_and_group(lab: Lab) -> None:
    user = run(lab, call("Get-User", "helpdesk")).output[0]
    assert user["Sid"].startswith("S-1-5-21-") and user["RecipientType"].value == "UserMailbox"
    groups = {g["Name"]: g for g in run(lab, call("Get-Group")).output}
    assert "alleo.intern/Users/Administrator" in groups["Domain Admins"]["Members"]
    assert groups["Organization Management"]["RecipientTypeDetails"].value == "RoleGroup"
    assert run(lab, call("Get-Group", "Nobody Group")).errors


def test_new_mailbox_for_the_mapi_account(lab: Lab) -> None:
    result = run(lab, call("New-Mailbox", Name="MAPIAccount", Password=SecureString("Xphone-Mapi-2026!"),
                           UserPrincipalName="MAPIAccount@alleo.intern", Database="DB04"))
    assert not result.errors
    assert result.output[0]["Database"] == "DB04" and result.output[0]["SamAccountName"] == "MAPIAccount"
    assert run(lab, call("Get-User", "ALLEO\\MAPIAccount")).output
    names = {a["name"] for a in lab.accounts() if a["enabled"]}
    assert "MAPIAccount" in names
    dup = run(lab, call("New-Mailbox", Name="MAPIAccount", Password=SecureString("Xphone-Mapi-2026!"),
                        UserPrincipalName="other@alleo.intern"))
    assert "already exists" in dup.errors[0].message


def test_new_mailbox_password_policy_and_database(lab: Lab) -> None:
    weak = run(lab, call("New-Mailbox", Name="weak", Password=SecureString("abc"), UserPrincipalName="weak@alleo.intern"))
    assert "complexity" in weak.errors[0].message and "abc" not in weak.errors[0].message
    nodb = run(lab, call("New-Mailbox", Name="x", Password=SecureString("Good-Pass-123"), UserPrincipalName="x@alleo.intern",
                         Database="DB42"))
    assert "'DB42'" in nodb.errors[0].message
    assert not run(lab, call("Get-User", "weak", ErrorAction="SilentlyContinue")).output


def test_enable_mailbox(lab: Lab) -> None:
    lab.run_pipeline(ADMIN, [call("New-Mailbox", Name="svc", Password=SecureString("Good-Pass-123"),
                                  UserPrincipalName="svc@alleo.intern")])
    again = run(lab, call("Enable-Mailbox", "svc"))
    assert "already mailbox-enabled" in again.errors[0].message
    assert "couldn't be found" in run(lab, call("Enable-Mailbox", "ghost")).errors[0].message


def test_set_mailbox_and_no_op(lab: Lab) -> None:
    changed = run(lab, call("Set-Mailbox", "jdoe", HiddenFromAddressListsEnabled=True))
    assert not changed.warnings and not changed.errors
    assert run(lab, call("Get-Mailbox", "jdoe")).output[0]["HiddenFromAddressListsEnabled"] is True
    same = run(lab, call("Set-Mailbox", "jdoe", HiddenFromAddressListsEnabled=True))
    assert same.warnings == ["The command completed successfully but no settings of 'alleo.intern/Users/jdoe' have been modified."]
    assert run(lab, call("Set-Mailbox", "jdoe", ThrottlingPolicy="NoSuchPolicy")).errors

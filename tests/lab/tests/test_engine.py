"""The engine: NoLanguage and RBAC refusals, pipelines, error streams, -WhatIf, prompts, audit, stats, persistence."""

from __future__ import annotations

import json
import os

from lab import registry
from lab.engine import DEFAULT_TOPOLOGY, Lab
from lab.model import CommandCall, LabObject, SecureString, SessionInfo

from helpers import ADMIN, call

HELPDESK = SessionInfo("EX01", "exchange", "ALLEO\\helpdesk")
PASSWORD = "Canary-Pa55word-7781"


def test_default_topology_constant_and_hosts(lab: Lab) -> None:
    assert os.path.exists(DEFAULT_TOPOLOGY)
    hosts = {h["name"]: h for h in lab.hosts()}
    assert hosts["EX01"]["build"] == "15.2.1748.10" and hosts["EX03"]["dag"] is None
    accounts = {a["name"]: a for a in lab.accounts()}
    assert accounts["Administrator"]["domain_netbios"] == "ALLEO"
    assert accounts["helpdesk"]["password"] == "Lab-Helpdesk-2019!"
    assert all(a["enabled"] for a in accounts.values())


def test_script_text_is_refused_on_exchange(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [CommandCall("Get-Mailbox | Where-Object { $_.Name }", [], is_script=True)])
    err = result.terminating_error
    assert err is not None and err.terminating
    assert err.message == ("The syntax is not supported by this runspace. This can occur if the runspace is in "
                           "no-language mode.")
    assert err.category == "ParserError" and err.error_id == "ScriptsNotAllowed"


def test_unknown_cmdlet_is_command_not_found(lab: Lab) -> None:
    err = lab.run_pipeline(ADMIN, [call("Get-Frobnicator")]).terminating_error
    assert err.message.startswith("The term 'Get-Frobnicator' is not recognized as the name of a cmdlet")
    assert err.category == "ObjectNotFound" and err.error_id == "CommandNotFoundException"


def test_windows_cmdlet_is_not_on_the_exchange_endpoint(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [call("Get-ItemProperty", "HKLM:\\SOFTWARE")])
    assert result.terminating_error.error_id == "CommandNotFoundException"


def test_rbac_user_without_role_group_sees_only_self_service(lab: Lab) -> None:
    for cmdlet in ("Get-RemoteDomain", "New-RemoteDomain", "Add-ADPermission", "Get-MailboxDatabase"):
        err = lab.run_pipeline(HELPDESK, [call(cmdlet)]).terminating_error
        assert err is not None and err.error_id == "CommandNotFoundException", cmdlet
        assert f"The term '{cmdlet}' is not recognized" in err.message
    own = lab.run_pipeline(HELPDESK, [call("Get-Mailbox")])
    assert [o["SamAccountName"] for o in own.output] == ["helpdesk"]
    other = lab.run_pipeline(HELPDESK, [call("Get-Mailbox", "jdoe")])
    assert not other.output and other.errors


def test_rbac_follows_role_group_membership(lab: Lab) -> None:
    assert lab.run_pipeline(ADMIN, [call("Add-RoleGroupMember", "View-Only Organization Management",
                                         Member="helpdesk")]).terminating_error is None
    assert lab.run_pipeline(HELPDESK, [call("Get-RemoteDomain")]).output
    assert lab.run_pipeline(HELPDESK, [call("New-RemoteDomain", Name="x", DomainName="x.example")]).terminating_error


def test_pipeline_output_feeds_the_next_command(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [call("Get-MailboxDatabase"),
                                      call("Add-ADPermission", AccessRights="ExtendedRight",
                                           ExtendedRights=["Receive-As", "Send-As"], User="jdoe")])
    assert result.terminating_error is None and not result.errors
    assert sorted({o["Identity"] for o in result.output}) == ["DB01", "DB02", "DB03", "DB04", "DB05"]
    assert len(result.output) == 10


def test_empty_upstream_does_not_run_downstream(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [call("Get-SendConnector"), call("Remove-SendConnector")])
    assert result.terminating_error is None and not result.output


def test_input_objects_from_the_client(lab: Lab) -> None:
    db = LabObject(["Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxDatabase"], {"Identity": "DB02"})
    result = lab.run_pipeline(ADMIN, [call("Get-ADPermission", User="ALLEO\\Domain Admins")], input_objects=[db])
    assert {o["Identity"] for o in result.output} == {"DB02"}


def test_not_found_is_non_terminating_and_error_action(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "nope")])
    assert result.terminating_error is None and len(result.errors) == 1
    assert not result.errors[0].terminating
    quiet = lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "nope", ErrorAction="SilentlyContinue")])
    assert not quiet.errors and quiet.terminating_error is None
    stop = lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "nope", ErrorAction="Stop")])
    assert stop.terminating_error is not None and "couldn't be found" in stop.terminating_error.message


def test_warning_action_silently_continue_hides_warnings(lab: Lab) -> None:
    result = lab.run_pipeline(ADMIN, [call("Set-RemoteDomain", "Default", WarningAction="SilentlyContinue")])
    assert not result.warnings
    assert lab.run_pipeline(ADMIN, [call("Set-RemoteDomain", "Default")]).warnings


def test_what_if_changes_nothing(lab: Lab) -> None:
    before = lab.store.snapshot()
    result = lab.run_pipeline(ADMIN, [call("New-RemoteDomain", Name="fax", DomainName="fax.alleo.intern", WhatIf=True),
                                      ])
    assert result.terminating_error is None
    assert lab.store.snapshot() == before
    assert not lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "fax", ErrorAction="SilentlyContinue")]).output
    # validation still happens under -WhatIf
    assert lab.run_pipeline(ADMIN, [call("Set-RemoteDomain", "nope", NDREnabled=False, WhatIf=True)]).errors


def test_remove_without_confirm_false_fails_instead_of_prompting(lab: Lab) -> None:
    lab.run_pipeline(ADMIN, [call("New-RemoteDomain", Name="fax", DomainName="fax.alleo.intern")])
    err = lab.run_pipeline(ADMIN, [call("Remove-RemoteDomain", "fax")]).terminating_error
    assert err is not None and "does not support user interaction" in err.message
    assert lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "fax")]).output
    assert lab.run_pipeline(ADMIN, [call("Remove-RemoteDomain", "fax", Confirm=False)]).terminating_error is None
    assert not lab.run_pipeline(ADMIN, [call("Get-RemoteDomain", "fax", ErrorAction="SilentlyContinue")]).output


def test_handler_crash_becomes_terminating_error(lab: Lab) -> None:
    def broken(inv: registry.Invocation) -> None:
        raise ZeroDivisionError(inv.params["Count"])

    registry.cmdlet("Get-LabBroken", endpoint="windows", extra_parameters={"Count": {"type": "Int32"}})(broken)
    try:
        session = SessionInfo("XPHONE01", "windows", "ALLEO\\Administrator")
        err = lab.run_pipeline(session, [call("Get-LabBroken", Count=3)]).terminating_error
        assert err is not None and err.terminating and "ZeroDivisionError" in err.message
        assert lab.audit()[-1]["outcome"] == "Failed"
    finally:
        registry.CMDLETS.pop("get-labbroken", None)


def test_unknown_cmdlet_for_organization_management_too(lab: Lab) -> None:
    registry.cmdlet("Get-LabExtra", endpoint="exchange")(lambda inv: inv.write(1))
    try:
        assert lab.run_pipeline(ADMIN, [call("Get-LabExtra")]).terminating_error.error_id == "CommandNotFoundException"
    finally:
        registry.CMDLETS.pop("get-labextra", None)


def test_audit_and_stats_redact_passwords(tmp_path) -> None:
    state_file = tmp_path / "state.json"
    lab = Lab.load(state_path=str(state_file))
    result = lab.run_pipeline(ADMIN, [call("New-Mailbox", Name="MAPIAccount", Password=SecureString(PASSWORD),
                                           UserPrincipalName="MAPIAccount@alleo.intern")])
    assert result.terminating_error is None and not result.errors
    entry = lab.audit()[-1]
    assert entry["cmdlet"] == "New-Mailbox" and entry["user"] == "ALLEO\\Administrator" and entry["host"] == "EX01"
    assert entry["parameters"]["Password"] == "********" and entry["outcome"] == "Completed"
    for blob in (json.dumps(lab.audit()), json.dumps(lab.stats()), json.dumps(lab.store.snapshot()),
                 state_file.read_text(encoding="utf-8"), repr(result.output)):
        assert PASSWORD not in blob
    assert lab.stats()["calls"]["New-Mailbox"] == 1
    # The new account can log on: the password is known to the running lab, and a hash verifies it after a restart.
    account = next(a for a in lab.accounts() if a["name"] == "MAPIAccount")
    assert account["password"] == PASSWORD and account["enabled"]
    again = Lab.load(state_path=str(state_file))
    account = next(a for a in again.accounts() if a["name"] == "MAPIAccount")
    assert account["password"] is None and Lab.check_password(account["password_hash"], PASSWORD)
    assert not Lab.check_password(account["password_hash"], "wrong")


def test_password_named_parameters_are_redacted_even_as_plain_values(lab: Lab) -> None:
    lab.run_pipeline(ADMIN, [call("New-Mailbox", Name="x", Password="Plain-Text-Secret-1", UserPrincipalName="x@a.b")])
    assert "Plain-Text-Secret-1" not in json.dumps(lab.audit())


def test_state_persists_across_labs(tmp_path) -> None:
    state_file = str(tmp_path / "state.json")
    first = Lab.load(state_path=state_file)
    first.run_pipeline(ADMIN, [call("New-RemoteDomain", Name="fax", DomainName="fax.alleo.intern")])
    first.run_pipeline(ADMIN, [call("Set-RemoteDomain", "fax", ContentType="MimeText")])
    second = Lab.load(state_path=state_file)
    out = second.run_pipeline(ADMIN, [call("Get-RemoteDomain", "fax")]).output
    assert out and out[0]["ContentType"].value == "MimeText"
    second.reset()
    assert not second.run_pipeline(ADMIN, [call("Get-RemoteDomain", "fax", ErrorAction="SilentlyContinue")]).output
    assert second.stats()["total_calls"] == 1


def test_reset_clears_audit_and_counts(lab: Lab) -> None:
    lab.run_pipeline(ADMIN, [call("Get-ExchangeServer")])
    assert lab.stats()["calls"] == {"Get-ExchangeServer": 1}
    lab.reset()
    assert lab.audit() == [] and lab.stats()["total_calls"] == 0


def test_a_thousand_objects_from_one_get() -> None:
    topo = Lab.load().topology
    topo["databases"] = topo["databases"] + [{"name": f"DBX{i:04d}", "server": "EX03", "copies": ["EX03"]}
                                             for i in range(1200)]
    lab = Lab(topo)
    result = lab.run_pipeline(ADMIN, [call("Get-MailboxDatabase")])
    assert len(result.output) == 1205 and result.terminating_error is None
    copies = lab.run_pipeline(ADMIN, [call("Get-MailboxDatabaseCopyStatus", Server="EX03")])
    assert len(copies.output) == 1201


def test_pipeline_over_400_databases_is_one_transaction() -> None:
    topo = Lab.load().topology
    topo["databases"] = topo["databases"] + [{"name": f"DBX{i:03d}", "server": "EX03", "copies": ["EX03"]}
                                             for i in range(400)]
    lab = Lab(topo)
    grant = call("Add-ADPermission", AccessRights="ExtendedRight", ExtendedRights=["Receive-As", "Send-As"], User="jdoe")
    generation = lab.store.generation
    first = lab.run_pipeline(ADMIN, [call("Get-MailboxDatabase"), grant])
    assert len(first.output) == 810 and not first.warnings
    assert lab.store.generation == generation + 1
    second = lab.run_pipeline(ADMIN, [call("Get-MailboxDatabase"), grant])
    assert len(second.warnings) == 810


def test_terminating_error_keeps_the_records_before_it(lab: Lab) -> None:
    dbs = [LabObject(["Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxDatabase"], {"Identity": name})
           for name in ("DB01", "DB99", "DB02")]
    grant = call("Add-ADPermission", AccessRights="ExtendedRight", ExtendedRights="Receive-As", User="jdoe",
                 ErrorAction="Stop")
    result = lab.run_pipeline(ADMIN, [grant], input_objects=dbs)
    assert result.terminating_error is not None and "'DB99'" in result.terminating_error.message
    held = {db: [o for o in lab.run_pipeline(ADMIN, [call("Get-ADPermission", db, User="jdoe")]).output
                 if not o["IsInherited"]] for db in ("DB01", "DB02")}
    assert len(held["DB01"]) == 1 and held["DB02"] == []

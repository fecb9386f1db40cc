"""exchange_ad_permission against the lab with the real client: Receive-As and Send-As for the service account on
every mailbox database of the organisation (two DAG members and a 2016 server, five databases), in few pipelines;
exact trustee, explicit entries only; FullAccess shown inherited on a mailbox; absent; bad input changes nothing."""

from __future__ import annotations

import pytest
import yaml

from lab.model import SecureString
from lab.pytest_plugin import DEFAULT_TOPOLOGY
from pytest_ansible.errors import AnsibleConnectionFailure

RIGHTS = ("Receive-As", "Send-As")


def explicit(handle, user):
    """(database, right) pairs the user holds explicitly, as Get-ADPermission shows them."""
    held = set()
    for db in handle.exchange("Get-MailboxDatabase"):
        name = str(db.properties["Name"])
        for ace in handle.exchange("Get-ADPermission", Identity=name, User=user):
            props = ace.properties
            if props["Deny"] or props["IsInherited"]:
                continue
            for right in props["ExtendedRights"] or []:
                held.add((name, str(right)))
    return held


def databases(handle):
    return sorted(str(db.properties["Name"]) for db in handle.exchange("Get-MailboxDatabase"))


def writes(handle):
    return [a for a in handle.audit() if a["cmdlet"].startswith(("Add-", "Remove-", "Set-", "New-"))]


@pytest.fixture
def accounts(shared_labs):
    handle = shared_labs("permissions")
    handle.reset()
    for name in ("MAPIAccount", "MAPIAccount2"):
        handle.exchange("New-Mailbox", Name=name, UserPrincipalName="%s@alleo.intern" % name.lower(),
                        Password=SecureString("Lab-Service-2026!"))
    return handle


def test_every_database_in_one_pipeline_then_nothing(accounts, module_runner):
    handle = accounts
    run = module_runner(handle, "exchange_ad_permission")
    all_dbs = databases(handle)
    assert len(all_dbs) == 5
    before = len(writes(handle))
    granted = run(user="MAPIAccount", full_access_mailbox="jdoe")
    assert granted["changed"] is True and granted["pipelines"] == 1, granted
    assert granted["databases"] == all_dbs and len(granted["differences"]) == 5
    assert granted["full_access"] is True
    assert explicit(handle, "MAPIAccount") == set((db, r) for db in all_dbs for r in RIGHTS)
    assert explicit(handle, "MAPIAccount2") == set()
    (add,) = writes(handle)[before:]
    assert add["cmdlet"] == "Add-ADPermission"

    count = len(writes(handle))
    again = run(user="mapiaccount", extended_rights=["receive-as", "SEND-AS"])
    assert again["changed"] is False and again["pipelines"] == 0 and len(writes(handle)) == count, again


def test_only_what_is_missing_in_as_few_pipelines(accounts, module_runner):
    handle = accounts
    run = module_runner(handle, "exchange_ad_permission")
    assert run(user="MAPIAccount", databases=["DB01"], extended_rights=["Receive-As"])["changed"]
    assert run(user="MAPIAccount", databases=["DB02", "db03"])["changed"]
    # A near-miss account with every right must not make the module believe MAPIAccount has them.
    assert run(user="MAPIAccount2")["changed"]
    count = len(writes(handle))
    result = run(user="MAPIAccount")
    # DB01 misses Send-As; DB04 and DB05 miss both: two pipelines, not five.
    assert result["changed"] is True and result["pipelines"] == 2, result
    changed = sorted(d["parameter"] for d in result["differences"])
    assert changed == ["DB01: ExtendedRights", "DB04: ExtendedRights", "DB05: ExtendedRights"]
    assert len(writes(handle)) == count + 2
    assert explicit(handle, "MAPIAccount") == set((db, r) for db in databases(handle) for r in RIGHTS)


def test_check_mode_then_absent(accounts, module_runner, tmp_path):
    handle = accounts
    run = module_runner(handle, "exchange_ad_permission")
    assert run(user="MAPIAccount")["changed"]
    assert run(user="MAPIAccount2")["changed"]
    removed = run(user="MAPIAccount", state="absent")
    assert removed["changed"] is True and removed["pipelines"] == 1, removed
    assert explicit(handle, "MAPIAccount") == set()
    assert len(explicit(handle, "MAPIAccount2")) == 10  # the other account's grants untouched
    assert run(user="MAPIAccount", state="absent")["changed"] is False


def test_full_access_is_reported_missing_where_the_database_was_not_granted(accounts, module_runner):
    handle = accounts
    run = module_runner(handle, "exchange_ad_permission")
    # jdoe's mailbox is on DB03.
    missing = run(user="MAPIAccount", databases=["DB01"], full_access_mailbox="jdoe")
    assert missing["changed"] is True and missing["full_access"] is False, missing
    assert any("does not show FullAccess" in w for w in missing["warnings"])
    shown = run(user="MAPIAccount", databases=["DB03"], full_access_mailbox="jdoe")
    assert shown["full_access"] is True and not any("FullAccess" in w for w in shown.get("warnings", []))


@pytest.mark.parametrize("args, option, words", [
    (dict(user="NoSuchAccount"), "user", "NoSuchAccount"),
    (dict(user="MAPIAccount", databases=["DB01", "DB99"]), "databases", "DB99 is not a mailbox database"),
    (dict(user="MAPIAccount", databases=[]), "databases", "is empty"),
    (dict(user="MAPIAccount", extended_rights=[]), "extended_rights", "at least one"),
])
def test_bad_input_changes_nothing(accounts, module_runner, args, option, words):
    handle = accounts
    state = handle.state()
    result = module_runner(handle, "exchange_ad_permission")(**args)
    assert result.get("failed") and result.get("option") == option and words in result["msg"], result
    assert handle.state() == state


def stored_entries(handle, user):
    """Every explicit (database, right) entry of ``user`` in the lab's store, duplicates included."""
    state = handle.state()
    sids = [u["sid"] for u in state["directory"]["users"].values() if u["name"].lower() == user.lower()]
    found = []
    for entries in state["organization"].get("ad_permissions", {}).values():
        for entry in entries:
            if entry["Sid"] in sids:
                found.extend(entry["ExtendedRights"])
    return found


def test_a_connection_reset_anywhere_then_a_rerun_completes_without_duplicates(accounts, module_runner):
    handle = accounts
    run = module_runner(handle, "exchange_ad_permission")
    handle.reset_stats()
    assert run(user="MAPIAccount")["changed"]
    requests = handle.host_stats("EX01")["requests"]
    outcomes = {}
    for position in range(requests):
        handle.reset()
        for name in ("MAPIAccount",):
            handle.exchange("New-Mailbox", Name=name, UserPrincipalName="%s@alleo.intern" % name.lower(),
                            Password=SecureString("Lab-Service-2026!"))
        handle.inject_fault("reset", host="EX01", skip=position)
        try:
            first = run(user="MAPIAccount")
            outcomes[position] = "failed" if first.get("failed") else "ok"
        except AnsibleConnectionFailure:
            # A reset while the session opens ends the host for the run, as an SSH failure would.
            outcomes[position] = "unreachable"
        handle.clear_faults()
        again = run(user="MAPIAccount")
        assert not again.get("failed"), (position, again)
        assert explicit(handle, "MAPIAccount") == set((db, r) for db in databases(handle) for r in RIGHTS), position
        rights = stored_entries(handle, "MAPIAccount")
        assert sorted(rights) == sorted(list(RIGHTS) * 5), (position, rights)
    # Some drops were survived within the run (reads retried, a lost write's reply read back), some ended it.
    assert "ok" in outcomes.values(), outcomes


def test_four_hundred_databases_in_a_dag_and_on_a_standalone_server(lab_factory, module_runner):
    """A full 16-member DAG's worth of databases: one read pipeline and one write pipeline, whatever the count."""
    dbs = []
    for n in range(1, 401):
        server, copies = (("EX03", ["EX03"]) if n % 5 == 0 else
                          ("EX01", ["EX01", "EX02"]) if n % 2 else ("EX02", ["EX02", "EX01"]))
        dbs.append({"name": "DB%03d" % n, "server": server, "copies": copies})
    with open(DEFAULT_TOPOLOGY, encoding="utf-8") as f:
        hosts = yaml.safe_load(f)["hosts"]
    for host in hosts:
        if host.get("role") == "exchange":
            host["databases"] = [d["name"] for d in dbs if d["server"] == host["name"]]
    handle = lab_factory("many", changes={"databases": dbs, "hosts": hosts})
    handle.exchange("New-Mailbox", Name="MAPIAccount", UserPrincipalName="mapiaccount@alleo.intern",
                    Password=SecureString("Lab-Service-2026!"))
    run = module_runner(handle, "exchange_ad_permission")
    handle.reset_stats()
    granted = run(user="MAPIAccount")
    assert granted["changed"] is True and granted["pipelines"] == 1 and len(granted["databases"]) == 400, granted
    pipelines = handle.host_stats("EX01")["pipelines"]
    # Get-User, Get-MailboxDatabase, one Get-ADPermission over all 400, one Add-ADPermission over all 400.
    assert pipelines <= 5, pipelines
    held = stored_entries(handle, "MAPIAccount")
    assert sorted(held) == sorted(list(RIGHTS) * 400)
    handle.reset_stats()
    again = run(user="MAPIAccount")
    assert again["changed"] is False and again["pipelines"] == 0 and handle.host_stats("EX01")["pipelines"] <= 4

"""The mapi_account role through playbooks/site.yml against the lab: the service account, its rights on the five
databases, the throttling policy for it alone, the session limit computed and written on every Exchange server, the
Information Store restarted only when asked, the password never shown, and the way back."""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
CANARY = "Canary-7f3e-'$(x)-Pw9!"
SERVERS = ("EX01", "EX02", "EX03")
SESSIONS_KEY = "hkey_local_machine\\system\\currentcontrolset\\services\\msexchangeis\\parameterssystem"


def mapi(handle, scratch, *args, **extra_vars):
    extra = dict(dict(xphone_mapi_account_password=CANARY), **extra_vars)
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=(DEMO_VARS, json.dumps(extra)),
                                    args=("--tags", "mapi_account") + args)


def rights(handle, user="MAPIAccount"):
    held = set()
    for db in handle.exchange("Get-MailboxDatabase"):
        for ace in handle.exchange("Get-ADPermission", Identity=str(db.properties["Name"]), User=user):
            if not ace.properties["Deny"] and not ace.properties["IsInherited"]:
                held.update((str(db.properties["Name"]), str(r)) for r in ace.properties["ExtendedRights"] or [])
    return held


def policy_of(handle, user="MAPIAccount"):
    (assoc,) = handle.exchange("Get-ThrottlingPolicyAssociation", Identity=user)
    return assoc.properties["ThrottlingPolicyId"]


def sessions(handle, server):
    key = handle.state()["hosts"][server]["registry"].get(SESSIONS_KEY) or {"values": {}}
    found = key["values"].get("maximum allowed sessions per user")
    return None if found is None else found["data"]


def restarts(handle, name="MSExchangeIS"):
    return [a["host"] for a in handle.audit() if a["cmdlet"] == "Restart-Service"
            and name in json.dumps(a["parameters"])]


def test_the_account_its_rights_and_policy_then_nothing_then_back(lab_env, tmp_path):
    state = lab_env.state()
    checked = mapi(lab_env, tmp_path, "--check", "--diff", "-vvvv")
    assert checked.rc == 0, checked.output
    assert lab_env.state() == state
    assert CANARY not in checked.output

    first = mapi(lab_env, tmp_path, "-vvvv")
    assert first.rc == 0, first.output[-3000:]
    assert CANARY not in first.output
    assert "Exchange's default of 32 already suffices" in first.output
    assert len(rights(lab_env)) == 10 and policy_of(lab_env) == "NoThrottlingPolicy"
    assert all(sessions(lab_env, s) is None for s in SERVERS)
    assert CANARY not in json.dumps(lab_env.state()) and CANARY not in json.dumps(lab_env.audit())
    for folder, _dirs, files in os.walk(lab_env.dir):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                assert CANARY.encode() not in handle.read(), os.path.join(folder, name)

    again = mapi(lab_env, tmp_path)
    assert again.rc == 0 and again.changed == 0, again.output

    back = mapi(lab_env, tmp_path, mapi_account_state="absent")
    assert back.rc == 0, back.output
    assert rights(lab_env) == set() and policy_of(lab_env) in (None, "")
    assert not [p for p in lab_env.exchange("Get-ThrottlingPolicy") if str(p.properties["Name"]) == "NoThrottlingPolicy"]
    assert mapi(lab_env, tmp_path, mapi_account_state="absent").changed == 0


def test_a_demand_above_the_limit_fails_with_the_numbers_before_any_change(lab_env, tmp_path):
    state = lab_env.state()
    run = mapi(lab_env, tmp_path, mapi_account_public_sources=6)
    assert run.rc != 0
    assert "needs about 35 MAPI sessions" in run.output and "1 XPhone server(s) x 5 x (6 public + 1 private" in run.output
    assert "Set mapi_account_max_sessions to 35 or more" in run.output
    assert lab_env.state() == state
    low = mapi(lab_env, tmp_path, mapi_account_public_sources=6, mapi_account_max_sessions=34)
    assert low.rc != 0 and "the limit per user is 34 (mapi_account_max_sessions)" in low.output
    assert lab_env.state() == state


def test_the_session_limit_on_every_server_and_the_restart_only_when_asked(lab_env, tmp_path):
    run = mapi(lab_env, tmp_path, mapi_account_public_sources=6, mapi_account_max_sessions=128)
    assert run.rc == 0, run.output
    assert all(sessions(lab_env, s) == 128 for s in SERVERS)
    assert restarts(lab_env) == [] and "Restart \\\"Microsoft Exchange Information Store\\\"" in run.output \
        or "Restart \"Microsoft Exchange Information Store\"" in run.output

    restarted = mapi(lab_env, tmp_path, mapi_account_public_sources=6, mapi_account_max_sessions=256,
                     mapi_account_restart_information_store=True)
    assert restarted.rc == 0, restarted.output
    assert sorted(restarts(lab_env)) == list(SERVERS)
    # One server at a time: each restart is followed by that server's copy check before the next restart.
    order = [(a["host"], a["cmdlet"]) for a in lab_env.audit()
             if a["cmdlet"] in ("Restart-Service", "Get-MailboxDatabaseCopyStatus")]
    for server in SERVERS:
        at = order.index((server, "Restart-Service"))
        assert order[at + 1][1] == "Get-MailboxDatabaseCopyStatus", order
    nothing = mapi(lab_env, tmp_path, mapi_account_public_sources=6, mapi_account_max_sessions=256,
                   mapi_account_restart_information_store=True)
    assert nothing.rc == 0 and nothing.changed == 0 and len(restarts(lab_env)) == 3


def test_an_administrator_is_refused_and_nothing_changes(lab_env, tmp_path):
    state = lab_env.state()
    run = mapi(lab_env, tmp_path, xphone_mapi_account="Administrator")
    assert run.rc != 0
    assert "Administrator is a member of Domain Admins (Domain Admins > Administrator)" in run.output
    assert "mapi_account_name (or xphone_mapi_account)" in run.output
    assert lab_env.state() == state


def test_a_dag_member_outside_the_play_is_named(lab_env, tmp_path):
    run = mapi(lab_env, tmp_path, "--limit", "ex01,ex03", mapi_account_public_sources=6, mapi_account_max_sessions=64)
    assert run.rc != 0
    assert "but ex02 is not in this play" in run.output, run.output[-3000:]
    assert all(sessions(lab_env, s) is None for s in SERVERS)

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WindowsSession with the real pypsrp and pywinrm clients against XPHONE01's /wsman in the lab.

Settings come from the host's own psrp/winrm connection settings, read through Ansible's real connection
plugins as an action plugin reads them; the session then runs plans over the wire that ansible_connection
names: one session for several plans, faults at reads retried, a lost reply never re-sent, a wrong
password tried once, secrets never stored or returned.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = os.path.join(REPO, "tests", "output", "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# pylint: disable=wrong-import-position
from ansible.playbook.play_context import PlayContext  # noqa: E402
from ansible.plugins.loader import connection_loader  # noqa: E402

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, remote_session  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils import windows_plan as wp  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession  # noqa: E402

HOST = "XPHONE01"
MAIL = "HKLM:\\SOFTWARE\\Clients\\Mail"
WIRES = ["psrp", "winrm"]
SECRET = "Lab-Plan-S3cret-'$(x)!"


def host_connection(handle, wire, password=None):
    """The host's settings as ``from_windows_host_connection`` reads them from Ansible's own psrp/winrm plugin."""
    ep = handle.host(HOST)
    hostvars = {"ansible_host": ep.address, "ansible_port": ep.ports["wsman_http"], "ansible_user": handle.admin_user,
                "ansible_password": password or handle.admin_password}
    if wire == "psrp":
        hostvars.update(ansible_psrp_protocol="http", ansible_psrp_auth="ntlm")
    else:
        hostvars.update(ansible_winrm_scheme="http", ansible_winrm_transport="ntlm")
    plugin = connection_loader.get("ansible.builtin." + wire, PlayContext(), os.devnull)
    plugin.set_options(var_options=hostvars)
    return connection.from_windows_host_connection(plugin._load_name, plugin.get_option)


def settings_for(handle, wire, password=None):
    params = dict((k, None) for k in connection.WINDOWS_CONNECTION_OPTIONS)
    settings, warnings = connection.resolve_windows_settings(params, {}, host_connection(handle, wire, password))
    assert warnings == [] and settings.transport == wire
    return settings


def session_for(handle, wire, password=None, **kwargs):
    slept = []
    session = WindowsSession(settings_for(handle, wire, password), sleep=slept.append, **kwargs)
    session.slept = slept
    return session


def audit_count(handle, cmdlet):
    return len([entry for entry in handle.audit() if entry.get("cmdlet") == cmdlet])


def open_sessions(handle):
    return handle.stats()["sessions"]["open"]


def set_and_read(value):
    plan = wp.Plan()
    plan.add("Set-ItemProperty", Path=MAIL, Name="(default)", Value=value)
    plan.add("Get-ItemProperty", Path=MAIL, Name="(default)")
    plan.add("Get-Service", Name="XPhoneConnectServer")
    return plan


def _comparable(results):
    return [(r["cmdlet"], [dict((k, v) for k, v in o.items() if k in ("(default)", "Name", "Status", "StartType"))
                           if isinstance(o, dict) else o for o in r["output"]],
             [(e["message"], e["category"], e["fqeid"]) for e in r["errors"]]) for r in results]


def test_the_hosts_own_port_and_wire_are_used(lab_env):
    ep = lab_env.host(HOST)
    for wire in WIRES:
        settings = settings_for(lab_env, wire)
        assert settings.url == "http://%s:%d/wsman" % (ep.address, ep.ports["wsman_http"])


@pytest.mark.parametrize("wire", WIRES)
def test_a_plan_runs_and_reads_back(lab_env, wire):
    before = open_sessions(lab_env)
    with session_for(lab_env, wire) as session:
        results = session.run_plan(set_and_read("Microsoft Outlook"))
    assert [r["errors"] for r in results] == [[], [], []]
    assert results[1]["output"][0]["(default)"] == "Microsoft Outlook"
    assert results[2]["output"][0]["Status"] == "Running"
    assert open_sessions(lab_env) == before
    assert session.stats["opened"] == session.stats["closed"] >= 1


def test_both_wires_give_the_same_results(lab_env):
    plan = wp.Plan(stop_on_error=False)
    plan.add("Get-ItemProperty", Path=MAIL)
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Missing")
    plan.add("Get-Service", Name="XPhoneConnectServer")
    plan.add("Test-Path", Path="C:\\Program Files\\C4B\\XPhone Connect Server\\atlas.xml")
    over = {}
    for wire in WIRES:
        with session_for(lab_env, wire) as session:
            over[wire] = session.run_plan(plan)
    assert _comparable(over["psrp"]) == _comparable(over["winrm"])
    assert over["psrp"][1]["errors"][0]["category"] == "ObjectNotFound" and over["psrp"][3]["output"] == [True]


def test_psrp_opens_one_session_for_several_plans(lab_env):
    opened = lab_env.stats()["sessions"]["opened"]
    session = session_for(lab_env, "psrp")
    for value in ("Microsoft Outlook", "Windows Mail", "Microsoft Outlook"):
        session.run_plan(set_and_read(value))
    session.invoke("Get-Service", {"Name": "WinRM"})
    assert lab_env.stats()["sessions"]["opened"] - opened == 1 and session.stats["opened"] == 1
    assert session.stats["commands"] == 10
    session.close()
    assert lab_env.stats()["sessions"]["open"] == 0


def test_winrm_deletes_every_shell_it_opens(lab_env):
    opened = lab_env.stats()["sessions"]["opened"]
    with session_for(lab_env, "winrm") as session:
        for value in ("Microsoft Outlook", "Windows Mail"):
            session.run_plan(set_and_read(value))
            assert open_sessions(lab_env) == 0
    assert lab_env.stats()["sessions"]["opened"] - opened == session.stats["opened"] == session.stats["closed"] == 2


@pytest.mark.parametrize("wire", WIRES)
def test_a_wrong_password_is_one_failed_logon(lab_env, wire):
    session = session_for(lab_env, wire, password="Not-The-Password-1")
    with pytest.raises(errors.AuthenticationFailed) as first:
        session.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    with pytest.raises(errors.AuthenticationFailed):
        session.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    assert "Not-The-Password-1" not in first.value.message and "ansible_user" in first.value.message
    assert lab_env.stats()["hosts"][HOST]["failed_logons"] == 1
    assert lab_env.stats()["locked_accounts"] == [] and session.slept == []


@pytest.mark.parametrize("wire, kind, action", [("psrp", "http500", "Command"), ("psrp", "throttle", "Command"),
                                                ("winrm", "http500", "Receive"), ("winrm", "throttle", "Command")])
def test_a_fault_at_a_read_is_retried(lab_env, wire, kind, action):
    session = session_for(lab_env, wire)
    session.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))          # the endpoint has answered once
    lab_env.inject_fault(kind, host=HOST, action=action)
    results = session.run_plan(wp.Plan().add("Get-ItemProperty", Path=MAIL, Name="(default)"))
    assert results[0]["output"][0]["(default)"] == "Windows Mail"
    assert session.stats["retries"] == 1 and len(session.slept) == 1
    session.close()
    assert open_sessions(lab_env) == 0


def test_a_write_whose_reply_is_lost_is_not_sent_again(lab_env):
    session = session_for(lab_env, "winrm")
    lab_env.inject_fault("http500", host=HOST, action="Receive")
    with pytest.raises(errors.ReplyLost):
        session.run_plan(wp.Plan().add("Set-ItemProperty", Path=MAIL, Name="(default)", Value="Microsoft Outlook"))
    assert audit_count(lab_env, "Set-ItemProperty") == 1 and session.slept == []
    # It took effect; reading again shows it, and the broken shell was deleted.
    assert session.invoke("Get-ItemProperty", {"Path": MAIL, "Name": "(default)"})[0]["(default)"] == "Microsoft Outlook"
    session.close()
    assert open_sessions(lab_env) == 0


@pytest.mark.parametrize("wire", WIRES)
def test_a_secret_arrives_as_a_securestring_and_is_never_stored_or_returned(lab_env, wire):
    plan = wp.Plan()
    plan.add("New-ItemProperty", Path=MAIL, Name="Sealed", Value=wp.Secret(SECRET), Force=True)
    plan.add("Invoke-CimMethod", Query=wp.service_query("XPhoneConnectServer"), MethodName="Change",
             Arguments={"StartName": "ALLEO\\jdoe", "StartPassword": wp.Secret(SECRET)})
    plan.add("Get-ItemProperty", Path=MAIL, Name="Sealed")
    with session_for(lab_env, wire) as session:
        results = session.run_plan(plan)
    assert [r["errors"] for r in results] == [[], [], []], results
    assert results[2]["output"][0]["Sealed"] == "System.Security.SecureString"
    assert results[1]["output"][0]["ReturnValue"] == 0
    assert SECRET not in json.dumps(results) + json.dumps(lab_env.state()) + json.dumps(lab_env.audit())


def test_the_persistent_table_runs_plans_of_several_tasks_on_one_session(lab_env):
    table = remote_session.SessionTable()

    class Socket(object):
        def session_request(self, text):
            return json.dumps(table.handle(json.loads(text)))

    opened = lab_env.stats()["sessions"]["opened"]
    settings = settings_for(lab_env, "psrp")
    for task in ("task-1", "task-2", "task-3"):
        proxy = remote_session.RemoteSession(Socket(), settings, task)
        results = proxy.run_plan(set_and_read("Microsoft Outlook"))
        assert results[1]["output"][0]["(default)"] == "Microsoft Outlook"
    assert lab_env.stats()["sessions"]["opened"] - opened == 1
    table.close_all()
    assert open_sessions(lab_env) == 0

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows plans through the persistent connection: RemoteSession.run_plan -> JSON -> SessionTable -> WindowsSession."""

from __future__ import annotations

import json

import pytest
from winrm import exceptions as winrm_exceptions

from ansible_collections.xphone.connect.plugins.module_utils import errors, remote_session
from ansible_collections.xphone.connect.plugins.module_utils import windows_plan as wp
from ansible_collections.xphone.connect.plugins.module_utils.connection import (
    CONNECTION_OPTIONS,
    WINDOWS_CONNECTION_OPTIONS,
    resolve_settings,
    resolve_windows_settings,
)
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession

from fake_windows import FakeWindows

PASSWORD = "Conn-Pa55-word!"
SECRET = "Remote-S3cret-%2F+x"
MAIL = "HKLM:\\SOFTWARE\\Clients\\Mail"


def windows_settings(wire="psrp", password=PASSWORD):
    params = dict((k, None) for k in WINDOWS_CONNECTION_OPTIONS)
    params.update(connection_server="xphone01", username="ALLEO\\admin", password=password, auth="ntlm",
                  protocol="http", transport=wire)
    return resolve_windows_settings(params)[0]


class Socket(object):
    """ansible-connection in this process: the request and its answer cross as JSON text, as over the socket."""

    def __init__(self, table):
        self.table = table
        self.requests = []

    def session_request(self, text):
        self.requests.append(text)
        return json.dumps(self.table.handle(json.loads(text)))


@pytest.fixture
def host():
    return FakeWindows()


@pytest.fixture
def table(host):
    def windows_session(settings):
        return WindowsSession(settings, transport=host, winrm_transport=host, sleep=lambda s: None)
    return remote_session.SessionTable(windows_session_class=windows_session)


def proxy(table, wire="psrp", task="task-1", password=PASSWORD):
    socket = Socket(table)
    session = remote_session.RemoteSession(socket, windows_settings(wire, password), task)
    session.socket = socket
    return session


@pytest.mark.parametrize("wire", ["psrp", "winrm"])
def test_a_plan_runs_in_the_persistent_process_as_on_a_local_session(table, host, wire):
    session = proxy(table, wire)
    plan = wp.Plan().add("Set-ItemProperty", Path=MAIL, Name="(default)", Value="Microsoft Outlook")
    plan.add("Get-ItemProperty", Path=MAIL, Name="(default)")
    results = session.run_plan(plan)
    assert results[1]["output"][0]["(default)"] == "Microsoft Outlook"
    local = WindowsSession(windows_settings(wire), transport=FakeWindows(), winrm_transport=FakeWindows())
    assert [r.keys() for r in results] == [r.keys() for r in local.run_plan(plan)]
    # The same proxy serves invoke on the same session; one session (one pool) for both tasks.
    assert proxy(table, wire, task="task-2").invoke("Get-Service", [["Name", "WinRM"]])[0]["Name"] == "WinRM"
    assert len(table.stats()) == 1
    assert (len(host.pools), host.shells_opened) == ((1, 0) if wire == "psrp" else (0, 2))


def test_secrets_cross_the_socket_but_never_come_back(table, host):
    host.registry[MAIL]["Echo"] = "value is %s" % SECRET
    session = proxy(table)
    plan = wp.Plan().add("Invoke-CimMethod", Query=wp.service_query("XPhoneConnectServer"), MethodName="Change",
                         Arguments={"StartName": "ALLEO\\svc", "StartPassword": wp.Secret(SECRET)})
    plan.add("Set-ItemProperty", Path=MAIL, Name="Warn", Value=wp.Secret(SECRET))
    plan.add("Get-ItemProperty", Path=MAIL)
    results = session.run_plan(plan)
    assert host.passwords == [SECRET]                              # it did reach the host
    answer = session.socket.table.handle(json.loads(session.socket.requests[-1]))
    shown = json.dumps(answer) + json.dumps(results) + json.dumps(session.warnings)
    assert SECRET not in shown and "value is ********" in shown
    assert SECRET in session.secrets                             # the action plugin's runner scrubs with them too


def test_errors_come_back_classified_and_scrubbed(table, host):
    session = proxy(table, "winrm")
    host.faults["winrm_command"].append(winrm_exceptions.WinRMTransportError("http", 500, ""))
    plan = wp.Plan().add("Set-ItemProperty", Path=MAIL, Name="(default)", Value=wp.Secret(SECRET))
    with pytest.raises(errors.ReplyLost) as err:
        session.run_plan(plan)
    assert SECRET not in err.value.message and PASSWORD not in err.value.message


def test_a_rejected_logon_ends_the_host_once_per_task(table, host):
    host.faults["winrm_open"].append(winrm_exceptions.InvalidCredentialsError("rejected"))
    first = proxy(table, "winrm", password="Wrong-Pa55")
    with pytest.raises(errors.AuthenticationFailed) as err:
        first.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    assert err.value.repeat is False and "Wrong-Pa55" not in err.value.message
    with pytest.raises(errors.AuthenticationFailed) as again:     # a later loop item of the same task
        first.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    assert again.value.repeat is True and host.shells_opened == 0


def test_a_plan_with_exchange_settings_is_refused(table):
    params = dict((k, None) for k in CONNECTION_OPTIONS)
    params.update(connection_server="ex01", username="u", password="p", auth="ntlm", protocol="http")

    class ExchangeOnly(object):
        terminal_error = None

        def __init__(self, settings):
            self.settings = settings
            self.warnings = []

    table.session_class = ExchangeOnly
    session = remote_session.RemoteSession(Socket(table), resolve_settings(params)[0], "t")
    with pytest.raises(errors.XPhoneError, match="Windows host"):
        session.run_plan(wp.Plan().add("Get-Service", Name="WinRM"))


def test_a_plan_from_the_socket_is_checked_again(table):
    answer = table.handle(dict(settings=windows_settings().to_dict(), task="t", op="plan",
                               plan={"steps": [{"cmdlet": "Invoke-Expression", "parameters": []}]}))
    assert answer["error"]["type"] == "PlanError" and "not allowed" in answer["error"]["message"]


def test_windows_settings_get_a_windows_session_by_default():
    table = remote_session.SessionTable()
    table.handle(dict(settings=windows_settings().to_dict(), task="t", op="close"))
    assert [type(s).__name__ for s in table._sessions.values()] == ["WindowsSession"]

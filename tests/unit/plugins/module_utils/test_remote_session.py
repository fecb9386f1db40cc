# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both ends of the persistent session: SessionTable in ansible-connection, RemoteSession in the action plugin."""

from __future__ import annotations

import functools
import json

import pytest

from fake_exchange import AuthenticationError, FakeError, FakeExchange

from pypsrp.exceptions import WSManFaultError

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors
from ansible_collections.xphone.connect.plugins.module_utils.remote_session import RemoteSession, SessionTable
from ansible_collections.xphone.connect.plugins.module_utils.session import RETRIES, Session
from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import value_to_data

PASSWORD = "Table-Secret-9!"
TASK_A = "0242ac11-0002-aaaa-0000-000000000001"
TASK_B = "0242ac11-0002-bbbb-0000-000000000002"


class FakeConnection(object):
    """ansible.module_utils.connection.Connection to the remoting plugin: JSON text over the socket both ways."""

    def __init__(self, table):
        self.table = table
        self.requests = []

    def session_request(self, text):
        request = json.loads(text)
        self.requests.append(request)
        return json.dumps(self.table.handle(request))


def make_settings(password=PASSWORD, **extra):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01.alleo.intern", username="ALLEO\\admin", password=password)
    params.update(extra)
    return connection.resolve_settings(params)[0]


@pytest.fixture
def fx():
    return FakeExchange()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def table(fx, sleeps):
    table = SessionTable(session_class=functools.partial(Session, transport=fx, sleep=sleeps.append))
    yield table
    table.close_all()


def request(settings, cmdlet="Get-RemoteDomain", parameters=(), task=TASK_A, op="invoke", not_found_ok=False):
    return dict(settings=settings.to_dict(), task=task, op=op, cmdlet=cmdlet,
                parameters=[[name, value_to_data(value)] for name, value in parameters], not_found_ok=not_found_ok)


def remote(table, settings=None, task=TASK_A):
    return RemoteSession(FakeConnection(table), settings or make_settings(), task)


# == SessionTable ===========================================================================================
def test_same_settings_share_one_session(table, fx):
    settings = make_settings()
    first = table.handle(request(settings, task=TASK_A))
    second = table.handle(request(make_settings(), cmdlet="Get-SendConnector", task=TASK_B))
    assert first["output"][0]["Name"] == "Default" and second["output"] == []
    assert fx.open_attempts == 1 and len(fx.pools) == 1
    assert [ps.pool for ps in fx.recorded] == [fx.pools[0], fx.pools[0]]
    assert second["stats"]["commands"] == 2 and second["stats"]["opened"] == 1


def test_another_password_is_another_session(table, fx):
    table.handle(request(make_settings()))
    table.handle(request(make_settings(password="Other-Secret-1")))
    assert fx.open_attempts == 2 and len(fx.pools) == 2
    assert fx.recorded[0].pool is not fx.recorded[1].pool
    assert len(table.stats()) == 2


def test_another_domain_controller_is_another_session(table, fx):
    table.handle(request(make_settings()))
    table.handle(request(make_settings(domain_controller="dc01.alleo.intern")))
    assert len(fx.pools) == 2 and fx.recorded[1].params == [("DomainController", "dc01.alleo.intern")]


def test_close_op_closes_and_the_next_request_reopens(table, fx):
    settings = make_settings()
    table.handle(request(settings))
    assert table.handle(request(settings, op="close", cmdlet=None)) == dict(output=[], warnings=[])
    assert fx.pools[0].closed
    assert list(table.stats().values())[0]["open"] is False
    table.handle(request(settings))
    assert len(fx.pools) == 2 and not fx.pools[1].closed


def test_close_all_closes_every_session(table, fx):
    table.handle(request(make_settings()))
    table.handle(request(make_settings(password="Other-Secret-1")))
    table.close_all()
    assert all(pool.closed for pool in fx.pools) and len(fx.pools) == 2


def test_stats_name_the_endpoint_not_the_password(table):
    table.handle(request(make_settings()))
    stats = table.stats()
    assert len(stats) == 1
    entry = list(stats.values())[0]
    assert entry["url"] == "https://ex01.alleo.intern/PowerShell" and entry["open"] is True
    assert PASSWORD not in json.dumps(stats)


def test_rejected_logon_ends_the_host_once_per_task(table, fx):
    fx.open_faults.extend([AuthenticationError("Failed to authenticate with %s" % PASSWORD)] * 5)
    settings = make_settings()
    item1 = table.handle(request(settings, task=TASK_A))
    item2 = table.handle(request(settings, task=TASK_A))
    other = table.handle(request(settings, task=TASK_B))
    assert item1["error"]["type"] == item2["error"]["type"] == other["error"]["type"] == "AuthenticationFailed"
    assert (item1["repeat"], item2["repeat"], other["repeat"]) == (False, True, False)
    assert item1["error"]["message"] == item2["error"]["message"] == other["error"]["message"]
    assert PASSWORD not in item1["error"]["message"]
    assert fx.open_attempts == 1, "a rejected logon was tried again"


def test_an_ordinary_error_is_never_a_repeat(table, fx):
    settings = make_settings()
    for _item in range(2):
        fx.faults.append(lambda ps: ps.streams.error.append(FakeError("Exchange said no")))
        answer = table.handle(request(settings, task=TASK_A))
        assert answer["error"]["type"] == "CmdletFailed" and answer["repeat"] is False


def test_warnings_belong_to_their_request(table, fx):
    settings = make_settings()
    fx.warn_on_set = "no settings of 'Default' have been modified"
    first = table.handle(request(settings, "Set-RemoteDomain", [("Identity", "Default")]))
    second = table.handle(request(settings))
    assert first["warnings"] == [fx.warn_on_set] and second["warnings"] == []


# == RemoteSession: the same interface over the socket =======================================================
def test_round_trip_output_equals_a_local_session(table, fx):
    local_fx = FakeExchange()
    with Session(make_settings(), transport=local_fx) as local:
        expected = local.invoke("Get-ReceiveConnector", {"Server": "EX01"})
    sess = remote(table)
    assert sess.invoke("Get-ReceiveConnector", {"Server": "EX01"}) == expected
    assert len(expected) == 2
    assert fx.recorded[0].params == [("Server", "EX01")]


def test_round_trip_carries_values_as_bound_parameters(table, fx):
    fx.remote_domains.append(dict(Name="fax", Identity="fax", DomainName="fax.alleo.intern"))
    value = "x'; Remove-Item C:\\ -Recurse; \u201c$(calc)\u201d`n\nnext"
    remote(table).invoke("Set-RemoteDomain", [("Identity", "fax"), ("Name", value), ("NDREnabled", False)])
    ps = fx.call("Set-RemoteDomain")[0]
    assert ps.params == [("Identity", "fax"), ("Name", value), ("NDREnabled", False), ("Confirm", False)]
    assert fx.remote_domains[-1]["Name"] == value


def test_request_carries_settings_task_and_op(table):
    conn = FakeConnection(table)
    sess = RemoteSession(conn, make_settings(), TASK_B)
    sess.invoke("Get-RemoteDomain", not_found_ok=True)
    sent = conn.requests[0]
    assert (sent["op"], sent["cmdlet"], sent["task"], sent["not_found_ok"]) == ("invoke", "Get-RemoteDomain", TASK_B, True)
    assert connection.ExchangeSettings.from_dict(sent["settings"]).session_key() == make_settings().session_key()


def test_not_found_ok_round_trip(table):
    sess = remote(table)
    assert sess.invoke("Set-RemoteDomain", {"Identity": "nope"}, not_found_ok=True) == []
    with pytest.raises(errors.NotFound) as err:
        sess.invoke("Set-RemoteDomain", {"Identity": "nope"})
    assert "'nope' couldn't be found" in err.value.message and err.value.cmdlet == "Set-RemoteDomain"


def cmdlet_error(fx):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("Exchange said no")))


def missing_role(fx):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError(
        "The term 'Get-RemoteDomain' is not recognized as the name of a cmdlet",
        "System.Management.Automation.CommandNotFoundException")))


def throttled_for_good(fx):
    fx.reply_faults.extend([WSManFaultError(2150859173, "ex01", "quota", None, None, None)] * (RETRIES + 1))


def shell_lost_for_good(fx):
    fx.begin_faults.extend([WSManFaultError(2150858843, "ex01", "shell was not found", None, None, None)]
                           * (RETRIES + 1))


@pytest.mark.parametrize("arrange, cls, cmdlet", [
    (cmdlet_error, errors.CmdletFailed, "Get-RemoteDomain"),
    (missing_role, errors.AuthorizationFailed, "Get-RemoteDomain"),
    (throttled_for_good, errors.Throttled, "Get-RemoteDomain"),
    (shell_lost_for_good, errors.ShellLost, "Get-RemoteDomain"),
    (lambda fx: fx.reply_faults.append(WSManFaultError(2150859173, "ex01", "quota", None, None, None)),
     errors.ReplyLost, "Set-RemoteDomain"),
    (lambda fx: fx.open_faults.append(AuthenticationError("Failed to authenticate")),
     errors.AuthenticationFailed, "Get-RemoteDomain"),
], ids=["cmdlet-failed", "authorization", "throttled", "shell-lost", "reply-lost", "authentication"])
def test_errors_come_back_as_the_same_class_with_the_same_message(fx, sleeps, arrange, cls, cmdlet):
    params = [("Identity", "Default")] if cmdlet.startswith("Set-") else []
    local_fx = FakeExchange()
    arrange(local_fx)
    with pytest.raises(errors.XPhoneError) as local_err:
        Session(make_settings(), transport=local_fx, sleep=lambda s: None, clock=lambda: 0.0).invoke(cmdlet, params)
    arrange(fx)
    table = SessionTable(session_class=functools.partial(Session, transport=fx, sleep=sleeps.append, clock=lambda: 0.0))
    with pytest.raises(errors.XPhoneError) as remote_err:
        remote(table).invoke(cmdlet, params)
    assert local_err.value.__class__ is cls
    assert remote_err.value.__class__ is cls
    assert remote_err.value.message == local_err.value.message
    assert remote_err.value.unreachable is cls.unreachable
    assert remote_err.value.repeat is False


def test_later_items_of_the_task_that_ended_the_host_are_repeats(table, fx):
    fx.open_faults.extend([AuthenticationError("Failed to authenticate")] * 5)
    item = remote(table, task=TASK_A)
    with pytest.raises(errors.AuthenticationFailed) as first:
        item.invoke("Get-RemoteDomain")
    with pytest.raises(errors.AuthenticationFailed) as second:
        remote(table, task=TASK_A).invoke("Get-RemoteDomain")
    with pytest.raises(errors.AuthenticationFailed) as other_task:
        remote(table, task=TASK_B).invoke("Get-RemoteDomain")
    assert (first.value.repeat, second.value.repeat, other_task.value.repeat) == (False, True, False)
    assert first.value.unreachable and second.value.message == first.value.message
    assert fx.open_attempts == 1


def test_warnings_are_collected_once(table, fx):
    fx.warn_on_set = "The command completed successfully but no settings of 'Default' have been modified."
    sess = remote(table)
    sess.invoke("Set-RemoteDomain", {"Identity": "Default"})
    sess.invoke("Set-RemoteDomain", {"Identity": "Default"})
    assert sess.warnings == [fx.warn_on_set]


def test_warnings_of_a_failed_request_are_kept(table, fx):
    def warn_then_fail(ps):
        ps.streams.warning.append(type("W", (), {"message": "careful with %s" % PASSWORD})())
        ps.streams.error.append(FakeError("then no"))
    fx.faults.append(warn_then_fail)
    sess = remote(table)
    with pytest.raises(errors.CmdletFailed):
        sess.invoke("Get-RemoteDomain")
    assert sess.warnings == ["careful with ********"]


def test_added_secrets_stay_on_the_proxy(table):
    sess = remote(table)
    sess.add_secret("Secure-Value-7")
    sess.add_secret("")
    assert sess.secrets == [PASSWORD, "Secure-Value-7"]

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared runner: errors of the family become results the way Ansible reports them; secrets never show."""

from __future__ import annotations

import functools
import json

import pytest

from fake_exchange import FakeExchange

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, remote_domain, runner
from ansible_collections.xphone.connect.plugins.module_utils.remote_session import RemoteSession, SessionTable
from ansible_collections.xphone.connect.plugins.module_utils.session import Session

PASSWORD = "Runner-Secret-3!"
OPTION_PASSWORD = "Connector-Auth-Pw-8"


class AuthenticationError(Exception):
    """pypsrp's class name; classification goes by the name."""


class Core(object):
    """A module core: raises ``error`` or returns ``result``; records how it was called."""

    ARGUMENT_SPEC = dict(connection.CONNECTION_ARGUMENT_SPEC, name=dict(type="str"))
    REQUIRED_IF = []

    def __init__(self, result=None, error=None, cmdlet=None):
        self.result = result if result is not None else dict(changed=False)
        self.error = error
        self.cmdlet = cmdlet
        self.calls = []

    def run(self, session, params, check_mode=False, diff_mode=False):
        self.calls.append(dict(session=session, params=params, check_mode=check_mode, diff_mode=diff_mode))
        if self.cmdlet:
            session.invoke(self.cmdlet)
        if self.error is not None:
            raise self.error
        return dict(self.result)


def make_settings(**extra):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01.alleo.intern", username="ALLEO\\admin", password=PASSWORD)
    params.update(extra)
    return connection.resolve_settings(params)[0]


def params(**extra):
    out = dict((k, None) for k in Core.ARGUMENT_SPEC)
    out.update(extra)
    return out


# == failure() ============================================================================================
@pytest.mark.parametrize("err", [errors.Unreachable("Cannot connect to https://ex01/PowerShell: refused"),
                                 errors.AuthenticationFailed("https://ex01/PowerShell rejected the logon of ALLEO\\admin")])
def test_unreachable_errors_end_the_host_without_failing(err):
    result = runner.failure(err, [PASSWORD])
    assert result == dict(unreachable=True, changed=False, msg=err.message)
    assert "failed" not in result


def test_invalid_input_fails_naming_the_option():
    result = runner.failure(errors.InvalidInput("remote_ip_ranges", "0.0.0.0/0 would make an open relay"), [PASSWORD])
    assert result == dict(failed=True, changed=False, option="remote_ip_ranges",
                          msg="remote_ip_ranges: 0.0.0.0/0 would make an open relay")


@pytest.mark.parametrize("err", [errors.CmdletFailed("Set-RemoteDomain failed: no"), errors.NotFound("gone"),
                                 errors.AuthorizationFailed("RBAC"), errors.Throttled("quota"),
                                 errors.ReplyLost("lost"), errors.ConfigurationError("no password"),
                                 errors.XPhoneError("odd")])
def test_other_errors_fail_the_task(err):
    result = runner.failure(err, [PASSWORD])
    assert result == dict(failed=True, changed=False, msg=err.message)


def test_a_repeat_is_skipped_naming_the_host():
    err = errors.AuthenticationFailed("rejected")
    err.repeat = True
    result = runner.failure(err, [PASSWORD], host="ex01")
    assert result["skipped"] is True and result["changed"] is False
    assert "ex01 was reported unreachable by an earlier item of this task" in result["skip_reason"]
    assert "failed" not in result and "unreachable" not in result
    err.repeat = False
    assert runner.failure(err, [PASSWORD], host="ex01")["unreachable"] is True


def test_failure_scrubs_secrets_from_the_message():
    err = errors.CmdletFailed("New-SendConnector failed: bad value %s (url p=%s)" % (PASSWORD, "Runner-Secret-3%21"))
    result = runner.failure(err, [None, "", PASSWORD])
    assert PASSWORD not in result["msg"] and "Runner-Secret-3%21" not in result["msg"]
    assert result["msg"] == "New-SendConnector failed: bad value ******** (url p=********)"


def test_an_empty_secret_does_not_mangle_the_message():
    err = errors.CmdletFailed("Set-RemoteDomain failed: '' is not a valid value")
    assert runner.failure(err, [""])["msg"] == err.message
    assert runner.failure(err, [None, ""])["msg"] == err.message


# == execute() ============================================================================================
@pytest.fixture
def fx():
    return FakeExchange()


@pytest.fixture
def session(fx):
    sess = Session(make_settings(), transport=fx, sleep=lambda s: None)
    yield sess
    sess.close()


def test_execute_returns_the_cores_result_and_passes_the_modes(session):
    core = Core(result=dict(changed=True, remote_domain={"Name": "fax"}))
    result = runner.execute(core, params(name="fax"), session.settings, session, check_mode=True, diff_mode=True)
    assert result == dict(changed=True, remote_domain={"Name": "fax"})
    assert core.calls[0]["check_mode"] is True and core.calls[0]["diff_mode"] is True
    assert core.calls[0]["session"] is session and core.calls[0]["params"]["name"] == "fax"


def test_execute_turns_errors_into_results(session):
    failed = runner.execute(Core(error=errors.InvalidInput("name", "too long")), params(), session.settings, session)
    assert failed == dict(failed=True, changed=False, option="name", msg="name: too long")
    unreachable = runner.execute(Core(error=errors.Unreachable("gone")), params(), session.settings, session)
    assert unreachable == dict(unreachable=True, changed=False, msg="gone")


def test_execute_lets_other_exceptions_through(session):
    with pytest.raises(ZeroDivisionError):
        runner.execute(Core(error=ZeroDivisionError("bug")), params(), session.settings, session)


def test_execute_scrubs_every_secret_it_knows(session):
    session.add_secret("Secure-String-11")
    text = "%s / %s / %s" % (PASSWORD, OPTION_PASSWORD, "Secure-String-11")
    result = runner.execute(Core(error=errors.CmdletFailed("failed: " + text)), params(password=OPTION_PASSWORD),
                            session.settings, session)
    assert result["msg"] == "failed: ******** / ******** / ********"
    warned = runner.execute(Core(result=dict(changed=False, warnings=["core says " + text])),
                            params(password=OPTION_PASSWORD), session.settings, session, warnings=["setting " + text])
    assert warned["warnings"] == ["setting ******** / ******** / ********", "core says ******** / ******** / ********"]
    for secret in (PASSWORD, OPTION_PASSWORD, "Secure-String-11"):
        assert secret not in json.dumps(warned) and secret not in json.dumps(result)


def test_execute_merges_warnings_without_repeating_them(session):
    core = Core(result=dict(changed=False, warnings=["validate_certs is false", "Exchange warned"]))
    result = runner.execute(core, params(), session.settings, session, warnings=("validate_certs is false",))
    assert result["warnings"] == ["validate_certs is false", "Exchange warned"]
    assert "warnings" not in runner.execute(Core(), params(), session.settings, session)


def test_execute_with_empty_secrets_leaves_warnings_alone(fx):
    settings = make_settings(username=None, password=None, auth="kerberos")
    with Session(settings, transport=fx, sleep=lambda s: None) as sess:
        result = runner.execute(Core(result=dict(changed=False, warnings=["value '' ignored", "plain"])),
                                params(password=""), settings, sess, warnings=["from settings"])
    assert result["warnings"] == ["from settings", "value '' ignored", "plain"]


def test_execute_over_the_persistent_session_skips_later_items(fx):
    """A rejected logon in item 1 ends the host; item 2 of the same task is skipped; another task reports it again."""
    fx.open_faults.extend([AuthenticationError("Failed to authenticate with %s" % PASSWORD)] * 3)
    table = SessionTable(session_class=functools.partial(Session, transport=fx, sleep=lambda s: None))

    class Conn(object):
        def session_request(self, text):
            return json.dumps(table.handle(json.loads(text)))

    settings = make_settings()
    core = Core(cmdlet="Get-RemoteDomain")

    def item(task):
        return runner.execute(core, params(), settings, RemoteSession(Conn(), settings, task), host="ex01")

    first, second, other = item("task-a"), item("task-a"), item("task-b")
    assert first["unreachable"] is True and "failed" not in first and PASSWORD not in first["msg"]
    assert "ALLEO\\admin" in first["msg"]
    assert second["skipped"] is True and "unreachable" not in second and "ex01" in second["skip_reason"]
    assert other["unreachable"] is True
    assert len(fx.open_faults) == 2, "the logon was tried more than once"


def test_connection_options_picks_only_connection_options():
    picked = runner.endpoint(remote_domain).connection_options(params(name="fax", username="u", password="p"))
    assert set(picked) == set(connection.CONNECTION_OPTIONS)
    assert picked["username"] == "u" and "name" not in picked


def test_a_windows_core_gets_windows_settings_and_session():
    class WindowsCore(object):
        ENDPOINT = "windows"

    where = runner.endpoint(WindowsCore)
    assert where.session_class.__name__ == "WindowsSession" and runner.endpoint(remote_domain).session_class.__name__ == "Session"
    settings = where.resolve({"connection_server": "xphone01", "username": "u", "password": "p", "protocol": "http"})[0]
    assert settings.url.endswith(":5985/wsman") and settings.configuration_name == "Microsoft.PowerShell"

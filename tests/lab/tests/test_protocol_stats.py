"""Per-host statistics (``GET /stats``), their reset, and shells left behind, as the real clients make them."""

from __future__ import annotations

import json
import typing as t
import urllib.request

import pytest
import winrm
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import RunspacePool

from helpers import invoke

HOST_KEYS = {"sessions_opened", "sessions_closed", "sessions_open", "sessions_peak", "logons", "failed_logons",
             "requests", "requests_by_action", "http_posts", "pipelines"}


def control(uri: str, path: str, method: str = "GET", body: dict[str, t.Any] | None = None) -> t.Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(uri + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def exchange_pool(handle: t.Any, host: str, **kwargs: t.Any) -> RunspacePool:
    return RunspacePool(handle.wsman(host, **kwargs), configuration_name="Microsoft.Exchange")


def test_stats_per_host(lab_env) -> None:
    uri = lab_env.control_uri
    with exchange_pool(lab_env, "EX01") as pool:                     # NTLM over http, message encryption
        invoke(pool, "Get-RemoteDomain")
        invoke(pool, "Get-AcceptedDomain")
    with exchange_pool(lab_env, "EX02", auth="basic", https=True) as pool:
        invoke(pool, "Get-RemoteDomain")
    session = winrm.Session(lab_env.wsman_uri("XPHONE01"), auth=(lab_env.admin_user, lab_env.admin_password),
                            transport="ntlm")
    assert session.run_cmd("hostname").status_code == 0

    stats = control(uri, "/stats")
    hosts = stats["hosts"]
    assert sorted(hosts) == ["EX01", "EX02", "EX03", "XPHONE01"]
    assert all(set(counters) == HOST_KEYS for counters in hosts.values())
    ex01, ex02, ex03, xphone = hosts["EX01"], hosts["EX02"], hosts["EX03"], hosts["XPHONE01"]
    # One pool = one shell, one authenticated connection.
    assert {k: ex01[k] for k in ("sessions_opened", "sessions_closed", "sessions_open", "sessions_peak")} == \
        {"sessions_opened": 1, "sessions_closed": 1, "sessions_open": 0, "sessions_peak": 1}
    assert (ex01["logons"], ex01["failed_logons"], ex01["pipelines"]) == (1, 0, 2)
    assert ex01["requests_by_action"]["Create"] == 1 and ex01["requests_by_action"]["Delete"] == 1
    assert ex01["requests_by_action"]["Command"] == 2
    assert ex01["requests"] == sum(ex01["requests_by_action"].values())
    assert ex01["http_posts"] > ex01["requests"]                      # plus the NTLM legs
    assert (ex02["sessions_opened"], ex02["sessions_closed"], ex02["logons"], ex02["pipelines"]) == (1, 1, 1, 1)
    assert ex02["http_posts"] == ex02["requests"]                     # Basic: no extra legs
    assert (xphone["sessions_opened"], xphone["sessions_closed"], xphone["logons"], xphone["pipelines"]) == (1, 1, 1, 1)
    assert ex03 == {**{k: 0 for k in HOST_KEYS}, "requests_by_action": {}}
    # The global figures are the sums.
    for total, key in (("requests", "requests"), ("pipelines", "pipelines"), ("logons", "logons"),
                       ("auth_failures", "failed_logons"), ("http_posts", "http_posts")):
        assert stats[total] == sum(counters[key] for counters in hosts.values()), total
    assert stats["sessions"] == {"opened": 3, "closed": 3, "open": 0}
    assert stats["cmdlets"]["calls"] == {"Get-RemoteDomain": 2, "Get-AcceptedDomain": 1}


def test_peak_sessions_per_host(lab_env) -> None:
    pools = [exchange_pool(lab_env, "EX01") for _round in range(3)]
    for pool in pools:
        pool.open()
    other = exchange_pool(lab_env, "EX02")
    other.open()
    assert lab_env.host_stats("EX01")["sessions_open"] == 3 and lab_env.host_stats("EX02")["sessions_open"] == 1
    for pool in pools + [other]:
        pool.close()
    ex01 = lab_env.host_stats("EX01")
    assert (ex01["sessions_open"], ex01["sessions_peak"], ex01["sessions_opened"], ex01["sessions_closed"]) == (0, 3, 3, 3)
    assert lab_env.host_stats("EX02")["sessions_peak"] == 1
    assert lab_env.stats()["sessions_peak"] == 4
    # Three pools, three connections, three logons.
    assert ex01["logons"] == 3


def test_failed_logons_per_host(lab_env) -> None:
    with pytest.raises(AuthenticationError):
        exchange_pool(lab_env, "EX03", password="wrong").open()
    with pytest.raises(AuthenticationError):
        exchange_pool(lab_env, "EX03", auth="basic", https=True, password="wrong").open()
    ex03 = lab_env.host_stats("EX03")
    assert ex03["failed_logons"] >= 2 and ex03["logons"] == 0 and ex03["sessions_opened"] == 0
    assert lab_env.host_stats("EX01")["failed_logons"] == 0
    assert lab_env.stats()["auth_failures"] == ex03["failed_logons"]


def test_stats_reset_clears_every_counter(lab_env) -> None:
    uri = lab_env.control_uri
    with exchange_pool(lab_env, "EX02") as pool:
        invoke(pool, "Get-RemoteDomain")
    kept = exchange_pool(lab_env, "EX01")
    kept.open()
    invoke(kept, "Get-AcceptedDomain")
    with pytest.raises(AuthenticationError):
        exchange_pool(lab_env, "EX03", password="wrong").open()

    assert control(uri, "/stats/reset", "POST", {}) == {"reset": True}
    stats = control(uri, "/stats")
    for key in ("requests", "http_posts", "auth_failures", "logons", "pipelines"):
        assert stats[key] == 0, key
    assert stats["requests_by_action"] == {} and stats["requests_by_status"] == {}
    # The open shell stays open; opened/closed start again from 0 and the peak is what is open now.
    assert stats["sessions"] == {"opened": 0, "closed": 0, "open": 1} and stats["sessions_peak"] == 1
    assert stats["hosts"]["EX01"] == {**{k: 0 for k in HOST_KEYS}, "requests_by_action": {},
                                      "sessions_open": 1, "sessions_peak": 1}
    assert stats["hosts"]["EX02"]["sessions_peak"] == 0
    assert stats["cmdlets"]["calls"] == {} and stats["cmdlets"]["total_calls"] == 0 and stats["cmdlets"]["pipelines"] == 0
    assert control(uri, "/requests") == []
    # The shell still works and is counted again from here.
    invoke(kept, "Get-RemoteDomain")
    assert lab_env.host_stats("EX01")["pipelines"] == 1

    assert control(uri, "/reset", "POST", {}) == {"reset": True}
    stats = control(uri, "/stats")
    assert stats["sessions"] == {"opened": 0, "closed": 0, "open": 0} and stats["sessions_peak"] == 0
    assert stats["hosts"]["EX01"] == {**{k: 0 for k in HOST_KEYS}, "requests_by_action": {}}
    assert stats["requests"] == 0 and stats["cmdlets"]["total_calls"] == 0


def test_a_pool_that_failed_half_way_is_seen_per_host(lab_env) -> None:
    # The shell is created, then the Receive that would open the pool fails: the shell stays on EX02
    # until the client deletes it.
    lab_env.inject_fault("http500", host="EX02", action="Receive")
    pool = exchange_pool(lab_env, "EX02")
    with pytest.raises(WSManFaultError):
        pool.open()
    assert lab_env.host_stats("EX02")["sessions_open"] == 1
    assert lab_env.host_stats("EX01")["sessions_open"] == 0
    assert [shell["host"] for shell in control(lab_env.control_uri, "/shells")] == ["EX02"]
    pool.close()                                       # Delete: nothing left behind
    ex02 = lab_env.host_stats("EX02")
    assert (ex02["sessions_open"], ex02["sessions_opened"], ex02["sessions_closed"]) == (0, 1, 1)
    assert control(lab_env.control_uri, "/shells") == []


def test_request_log(lab_env) -> None:
    with exchange_pool(lab_env, "EX01") as pool:
        invoke(pool, "Get-RemoteDomain").close()
    log = control(lab_env.control_uri, "/requests")
    assert [entry["action"] for entry in log] == ["Create", "Receive", "Command", "Receive", "Signal", "Delete"]
    assert [entry["host_seq"] for entry in log] == [1, 2, 3, 4, 5, 6]
    assert {entry["host"] for entry in log} == {"EX01"} and {entry["status"] for entry in log} == {200}
    assert {entry["endpoint"] for entry in log} == {"exchange"} and all(entry["fault"] is None for entry in log)
    assert log[0]["shell_id"] is None and len({entry["shell_id"] for entry in log[1:]}) == 1

"""Pytest fixtures: a lab started in-process (threads) on free ports, fresh state in tmp_path.

``lab_env``      a lab of the default topology; yields a ``LabHandle``.
``lab_factory``  ``lab_factory(limits={...}, hosts={...}, topology=path)`` starts labs with changes to the
                 topology (deep-merged; ``limits`` is a shortcut for ``{"limits": {...}}``); all are stopped
                 at the end of the test.

Registered from the repository's ``tests/conftest.py`` (``pytest_plugins = ["lab.pytest_plugin"]``).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import typing as t

import pytest
import yaml

from .control import RunningLab
from .model import CommandCall, SessionInfo

DEFAULT_TOPOLOGY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "topology", "default.yml")


@dataclasses.dataclass
class HostEndpoints:
    name: str
    role: str
    address: str
    ports: dict[str, int]
    wsman_uri: str                      # http://127.0.0.x:port/wsman
    wsman_https_uri: str | None
    exchange_uri: str | None            # http://127.0.0.x:port/PowerShell (Exchange hosts)
    exchange_https_uri: str | None


class LabHandle:
    """What a test needs of a running lab."""

    def __init__(self, running: RunningLab) -> None:
        self.running = running
        self.lab = running.lab
        self.server = running.server
        self.dir = running.dir
        self.inventory = running.inventory_path
        self.control_uri = running.control_uri
        self.ca_file = running.server.tls.ca_file if running.server.tls else None
        topo = self.lab.topology
        domain = topo.get("domain") or {}
        self.domain_fqdn = domain.get("fqdn", "")
        self.domain_netbios = domain.get("netbios", "")
        admin = next((a for a in topo.get("accounts") or [] if a["name"].lower() == "administrator"), topo["accounts"][0])
        self.admin_name = admin["name"]
        self.admin_user = f"{admin['name']}@{self.domain_fqdn}" if self.domain_fqdn else admin["name"]
        self.admin_password = admin["password"]
        self.hosts: dict[str, HostEndpoints] = {}
        for name, ep in running.server.endpoints().items():
            self.hosts[name] = HostEndpoints(name, ep["role"], ep["address"], dict(ep["ports"]), ep["wsman_http_uri"],
                                             ep.get("wsman_https_uri"), ep.get("exchange_http_uri"), ep.get("exchange_https_uri"))

    # -- names and credentials ------------------------------------------------------------------------
    def credentials(self, name: str | None = None) -> tuple[str, str]:
        """(``name@fqdn``, password) of an account of the topology (default: Administrator)."""
        for acc in self.lab.topology.get("accounts") or []:
            if name is None and acc["name"] == self.admin_name or name and acc["name"].lower() == name.lower():
                return f"{acc['name']}@{self.domain_fqdn}", acc["password"]
        raise KeyError(name)

    def host(self, name: str) -> HostEndpoints:
        return self.hosts[name.upper()]

    def exchange_uri(self, host: str = "EX01", https: bool = False) -> str:
        ep = self.host(host)
        uri = ep.exchange_https_uri if https else ep.exchange_uri
        if not uri:
            raise KeyError(f"{host} serves no /PowerShell")
        return uri

    def wsman_uri(self, host: str = "EX01", https: bool = False) -> str:
        ep = self.host(host)
        return (ep.wsman_https_uri if https else ep.wsman_uri) or ""

    def wsman(self, host: str = "EX01", endpoint: str = "exchange", https: bool = False, auth: str = "ntlm",
              username: str | None = None, password: str | None = None, **kwargs: t.Any) -> t.Any:
        """A pypsrp ``WSMan`` for a host's /PowerShell (endpoint "exchange") or /wsman ("windows")."""
        from pypsrp.wsman import WSMan  # pylint: disable=import-outside-toplevel

        ep = self.host(host)
        port_name = ("https" if https else "http") if endpoint == "exchange" else ("wsman_https" if https else "wsman_http")
        kwargs.setdefault("cert_validation", self.ca_file if https else False)
        return WSMan(ep.address, port=ep.ports[port_name], path="PowerShell" if endpoint == "exchange" else "wsman",
                     ssl=https, auth=auth, username=username or self.admin_user,
                     password=password if password is not None else self.admin_password, **kwargs)

    def exchange(self, cmdlet: str, host: str = "EX01", **params: t.Any) -> list[t.Any]:
        """Run one Exchange cmdlet in the lab as its administrator; the output objects, or AssertionError on any error."""
        session = SessionInfo(host=host, endpoint="exchange", user=f"{self.domain_netbios}\\{self.admin_name}")
        result = self.lab.run_pipeline(session, [CommandCall(cmdlet, list(params.items()))])
        self.server.accounts.refresh()      # as after a request over the wire: new accounts get their principal
        if result.errors or result.terminating_error is not None:
            raise AssertionError((cmdlet, result.errors, result.terminating_error))
        return result.output

    # -- control -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.server.reset()

    def inject_fault(self, kind: str, count: int = 1, host: str | None = None, action: str | None = None,
                     delay_ms: int = 0, message: str | None = None, code: int | None = None, *, skip: int = 0,
                     endpoint: str | None = None) -> t.Any:
        """Let the first ``skip`` matching requests pass, then fault the next ``count`` (see lab.faults)."""
        return self.server.faults.add(kind, count, host, action, delay_ms, message, code, skip=skip, endpoint=endpoint)

    def clear_faults(self) -> int:
        return self.server.faults.clear()

    def set_latency(self, per_request_ms: float | None = None, per_shell_open_ms: float | None = None) -> t.Any:
        return self.server.faults.set_latency(per_request_ms, per_shell_open_ms)

    def forget_shells(self, host: str | None = None, user: str | None = None) -> int:
        return self.server.shells.forget(host, user)

    def stats(self) -> dict[str, t.Any]:
        return self.server.stats_snapshot()

    def host_stats(self, host: str) -> dict[str, t.Any]:
        """``stats()["hosts"][host]``: sessions_opened/closed/open/peak, logons, failed_logons, requests, pipelines."""
        return self.stats()["hosts"][host.upper()]

    def reset_stats(self) -> None:
        """Every counter back to 0 (as ``POST /stats/reset``); state, shells and faults stay."""
        self.server.reset_stats()

    def requests(self) -> list[dict[str, t.Any]]:
        """The request log (as ``GET /requests``)."""
        return self.server.stats.request_log()

    def audit(self) -> list[dict[str, t.Any]]:
        return self.lab.audit()

    def state(self) -> dict[str, t.Any]:
        return self.server.state()

    def stop(self) -> None:
        self.running.stop()


def _merge(base: dict[str, t.Any], changes: dict[str, t.Any]) -> dict[str, t.Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def start_lab(directory: str, *, topology: str | None = None, limits: dict[str, t.Any] | None = None,
              changes: dict[str, t.Any] | None = None, keep_state: bool = False, kerberos: bool = False) -> LabHandle:
    """Start a lab in this process on free ports (also usable outside pytest, e.g. by bench.py)."""
    path = topology or DEFAULT_TOPOLOGY
    if limits or changes:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        data = _merge(data, dict(changes or {}))
        if limits:
            data = _merge(data, {"limits": limits})
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "topology.yml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(data, f)
    running = RunningLab(directory, path, free_ports=True, keep_state=keep_state, kerberos=kerberos).start()
    return LabHandle(running)


@pytest.fixture
def lab_factory(tmp_path: t.Any) -> t.Iterator[t.Callable[..., LabHandle]]:
    started: list[LabHandle] = []

    def factory(name: str = "lab", **kwargs: t.Any) -> LabHandle:
        handle = start_lab(str(tmp_path / name), **kwargs)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()


@pytest.fixture
def lab_env(lab_factory: t.Callable[..., LabHandle]) -> LabHandle:  # pylint: disable=redefined-outer-name
    return lab_factory()

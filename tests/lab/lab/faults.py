"""Injectable faults and a latency profile, so that module retry/back-off logic can be tested.

A fault applies to the authenticated WS-Management requests that match it: optionally only those of one
host (topology name), one action (``Create``, ``Command``, ``Send``, ``Receive``, ``Signal``, ``Delete``)
and one endpoint (``exchange`` = ``/PowerShell``, ``windows`` = ``/wsman``). The first ``skip`` matching
requests pass untouched; the next ``count`` ones get the fault. Each fault counts its own matching
requests (a request that another fault answered still counts towards ``skip``), and at most one fault
fires per request: the oldest one whose ``skip`` is used up.

- ``http500``: HTTP 500 with a SOAP fault (``message`` overrides the text; ``code`` the WSManFault code)
- ``reset``: the TCP connection is reset without an answer
- ``shell_not_found``: the shell is dropped and the client gets the shell-not-found fault (2150858843)
- ``throttle``: the per-user quota fault
- ``slow``: the request is answered normally after ``delay_ms``
- ``hang``: the request is accepted and never answered; the connection is held open until the client
  gives up (closes it), ``delay_ms`` passes (default ``HANG_DEFAULT_MS``), the lab is reset or stopped,
  and is then closed without an answer
- ``runspace_limit``: Exchange 2013+'s AuthZ fault for PowerShellMaxConcurrency ("Fail to create a
  runspace because you have exceeded the maximum number of connections allowed : 18 ..."), raised while
  the runspace pool opens: it matches only ``Create`` requests on the ``exchange`` endpoint
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
import typing as t

KINDS = ("http500", "reset", "shell_not_found", "throttle", "slow", "hang", "runspace_limit")
ACTIONS = ("Create", "Command", "Send", "Receive", "Signal", "Delete", "Connect", "Disconnect", "Reconnect")
ENDPOINTS = ("exchange", "windows")
HANG_DEFAULT_MS = 600_000
FIRED_LOG_SIZE = 1000


@dataclasses.dataclass
class Fault:
    kind: str
    count: int = 1
    host: str | None = None
    action: str | None = None
    delay_ms: int = 0
    message: str | None = None
    code: int | None = None
    id: int = 0
    fired: int = 0
    skip: int = 0                  # matching requests still to let pass before the fault fires
    passed: int = 0                # matching requests let pass so far
    endpoint: str | None = None

    def matches(self, host: str, action: str, endpoint: str | None = None) -> bool:
        if self.host and self.host.lower() != host.lower():
            return False
        if self.endpoint and endpoint is not None and self.endpoint != endpoint:
            return False
        return not self.action or self.action.lower() == action.lower()


@dataclasses.dataclass
class Latency:
    per_request_ms: float = 0.0
    per_shell_open_ms: float = 0.0


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self._fired: collections.deque[dict[str, t.Any]] = collections.deque(maxlen=FIRED_LOG_SIZE)
        self.latency = Latency()

    def add(self, kind: str, count: int = 1, host: str | None = None, action: str | None = None,
            delay_ms: int = 0, message: str | None = None, code: int | None = None, skip: int = 0,
            endpoint: str | None = None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if int(count) < 1:
            raise ValueError("count must be at least 1")
        if int(skip) < 0:
            raise ValueError("skip must be 0 or more")
        if int(delay_ms) < 0:
            raise ValueError("delay_ms must be 0 or more")
        if action is not None:
            canonical = next((a for a in ACTIONS if a.lower() == str(action).lower()), None)
            if canonical is None:
                raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
            action = canonical
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        if kind == "runspace_limit":
            # Exchange's AuthZ plugin raises it while the runspace pool opens, on /PowerShell only.
            if action not in (None, "Create") or endpoint not in (None, "exchange"):
                raise ValueError("runspace_limit applies only to Create on the exchange endpoint (/PowerShell)")
            action, endpoint = "Create", "exchange"
        with self._lock:
            fault = Fault(kind, int(count), host, action, int(delay_ms), message, code, self._next_id,
                          skip=int(skip), endpoint=endpoint)
            self._next_id += 1
            self._faults.append(fault)
            return dataclasses.replace(fault)

    def take(self, host: str, action: str, endpoint: str | None = None) -> Fault | None:
        """The fault for this request, if any. Every matching fault still skipping counts the request;
        the oldest matching fault with no skip left fires (and is counted down)."""
        chosen: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(host, action, endpoint):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    fault.passed += 1
                    continue
                if chosen is not None:
                    continue
                fault.count -= 1
                fault.fired += 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                chosen = dataclasses.replace(fault)
                self._fired.append({"id": fault.id, "kind": fault.kind, "host": host, "action": action,
                                    "endpoint": endpoint, "time": time.time()})
        return chosen

    def clear(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def active(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return [dataclasses.asdict(f) for f in self._faults]

    def fired(self) -> list[dict[str, t.Any]]:
        """The faults that fired, oldest first (the last ``FIRED_LOG_SIZE``): id, kind, host, action, endpoint."""
        with self._lock:
            return [dict(entry) for entry in self._fired]

    def set_latency(self, per_request_ms: float | None = None, per_shell_open_ms: float | None = None) -> Latency:
        with self._lock:
            if per_request_ms is not None:
                self.latency.per_request_ms = max(0.0, float(per_request_ms))
            if per_shell_open_ms is not None:
                self.latency.per_shell_open_ms = max(0.0, float(per_shell_open_ms))
            return dataclasses.replace(self.latency)

    def request_delay(self) -> None:
        if self.latency.per_request_ms:
            time.sleep(self.latency.per_request_ms / 1000.0)

    def shell_open_delay(self) -> None:
        if self.latency.per_shell_open_ms:
            time.sleep(self.latency.per_shell_open_ms / 1000.0)

    def reset(self) -> None:
        self.clear()
        with self._lock:
            self._fired.clear()
        self.set_latency(0, 0)

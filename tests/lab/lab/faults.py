"""Injectable faults and a latency profile, so that module retry/back-off logic can be tested.

A fault applies to the next ``count`` authenticated WS-Management requests (optionally only those of
one host, or one action such as ``Create``), in the order the faults were added:

- ``http500``: HTTP 500 with a SOAP fault (``message`` overrides the text; ``code`` the WSManFault code)
- ``reset``: the TCP connection is reset without an answer
- ``shell_not_found``: the shell-not-found fault (2150858843)
- ``throttle``: the per-user quota fault
- ``slow``: the request is answered normally after ``delay_ms``
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t

KINDS = ("http500", "reset", "shell_not_found", "throttle", "slow")


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

    def matches(self, host: str, action: str) -> bool:
        if self.host and self.host.lower() != host.lower():
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
        self.latency = Latency()

    def add(self, kind: str, count: int = 1, host: str | None = None, action: str | None = None,
            delay_ms: int = 0, message: str | None = None, code: int | None = None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            fault = Fault(kind, int(count), host, action, int(delay_ms), message, code, self._next_id)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, host: str, action: str) -> Fault | None:
        """The fault for this request, if any (counting it down)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(host, action):
                    fault.count -= 1
                    fault.fired += 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return dataclasses.replace(fault)
        return None

    def clear(self, fault_id: int | None = None) -> int:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)

    def active(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return [dataclasses.asdict(f) for f in self._faults]

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
        self.set_latency(0, 0)

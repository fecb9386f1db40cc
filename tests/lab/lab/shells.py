"""The shell table: every open WinRS/PSRP shell, per-user shell quotas and commands-per-shell quota.

A shell belongs to one host (the topology name of the listener that created it), endpoint and user.
Each shell has one ``threading.Condition``: protocol state (psrpcore objects, outboxes, command table)
is only touched under it, and a blocked Receive waits on it.

The table also counts, per host, the shells opened and closed and the peak number open at once since
the last ``reset_counters()`` (after which the peak is the number open then).
"""

from __future__ import annotations

import collections
import threading
import time
import typing as t

from . import wsman
from .model import SessionInfo


class Shell:
    """Base class; psrp.PsrpShell and winrs.WinrsShell implement the actions."""

    kind = "shell"
    input_streams = "stdin"
    output_streams = "stdout"

    def __init__(self, shell_id: str, session: SessionInfo, resource_uri: str, max_commands: int) -> None:
        self.shell_id = shell_id
        self.session = session
        self.resource_uri = resource_uri
        self.max_commands = max_commands
        self.cond = threading.Condition()
        self.commands: dict[str, t.Any] = {}
        self.closed = False
        self.created = time.time()
        self.last_active = time.monotonic()
        self.receiving = 0

    def check_command_quota(self) -> None:
        """Called under ``cond`` before a command is added."""
        if self.max_commands and len(self.commands) >= self.max_commands:
            raise wsman.fault_max_commands_per_shell()

    def wait(self, predicate: t.Callable[[], bool], timeout: float) -> bool:
        """Wait under ``cond`` until predicate() or the shell closes; False on timeout."""
        deadline = time.monotonic() + timeout
        self.receiving += 1         # a shell waiting for output is in use, not idle
        try:
            while not predicate():
                if self.closed:
                    raise wsman.fault_shell_not_found(self.shell_id)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True
        finally:
            self.receiving -= 1
            self.last_active = time.monotonic()

    # Implemented by subclasses; each returns the SOAP response bytes.
    def command(self, req: wsman.Request) -> bytes:
        raise NotImplementedError

    def send(self, req: wsman.Request) -> bytes:
        raise NotImplementedError

    def receive(self, req: wsman.Request) -> bytes:
        raise NotImplementedError

    def signal(self, req: wsman.Request) -> bytes:
        raise NotImplementedError

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class ShellTable:
    def __init__(self, idle_timeout: float = 7200.0) -> None:
        # WinRM's IdleTimeout (7200 s by default): a shell nobody sent a request for that long is deleted, so a
        # client that leaks shells cannot hold the user's quota for ever.
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self._opened: collections.Counter[str] = collections.Counter()
        self._closed: collections.Counter[str] = collections.Counter()
        self._peak: collections.Counter[str] = collections.Counter()
        self._peak_total = 0

    @property
    def opened(self) -> int:
        with self._lock:
            return sum(self._opened.values())

    @property
    def closed(self) -> int:
        with self._lock:
            return sum(self._closed.values())

    def count(self, host: str, user: str, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(1 for s in self._shells.values()
                       if s.session.host == host and s.session.user.lower() == user.lower()
                       and (endpoint is None or s.session.endpoint == endpoint))

    def add(self, shell: Shell, quota: int, endpoint_scope: str | None, quota_fault: t.Callable[[int], wsman.WSManFault]) -> None:
        """Register ``shell`` unless the user already has ``quota`` shells on that host (and endpoint)."""
        with self._lock:
            if quota:
                used = sum(1 for s in self._shells.values()
                           if s.session.host == shell.session.host and s.session.user.lower() == shell.session.user.lower()
                           and (endpoint_scope is None or s.session.endpoint == endpoint_scope))
                if used >= quota:
                    raise quota_fault(quota)
            self._shells[shell.shell_id] = shell
            host = shell.session.host
            self._opened[host] += 1
            self._peak[host] = max(self._peak[host], self._open_on(host))
            self._peak_total = max(self._peak_total, len(self._shells))

    def _open_on(self, host: str) -> int:
        """Called under ``_lock``."""
        return sum(1 for s in self._shells.values() if s.session.host == host)

    def get(self, shell_id: str | None, host: str, user: str) -> Shell:
        with self._lock:
            shell = self._shells.get((shell_id or "").upper())
        # Another user's (or host's) shell is as good as missing.
        if shell is None or shell.session.host != host or shell.session.user.lower() != user.lower():
            raise wsman.fault_shell_not_found(shell_id or "")
        shell.last_active = time.monotonic()
        return shell

    def expire_idle(self, now: float | None = None) -> int:
        """Delete the shells idle for longer than ``idle_timeout`` (their clients then get "shell not found");
        returns how many. A shell with a Receive waiting for output is not idle."""
        if not self.idle_timeout:
            return 0
        now = time.monotonic() if now is None else now
        with self._lock:
            ids = [sid for sid, s in self._shells.items()
                   if now - s.last_active > self.idle_timeout and not getattr(s, "receiving", 0)]
        for sid in ids:
            self.remove(sid)
        return len(ids)

    def remove(self, shell_id: str) -> Shell | None:
        with self._lock:
            shell = self._shells.pop(shell_id.upper(), None)
            if shell is not None:
                self._closed[shell.session.host] += 1
        if shell is not None:
            shell.close()
        return shell

    def forget(self, host: str | None = None, user: str | None = None) -> int:
        """Drop shells without telling their clients (an app-pool recycle); returns how many."""
        with self._lock:
            ids = [sid for sid, s in self._shells.items()
                   if (host is None or s.session.host.lower() == host.lower())
                   and (user is None or s.session.user.lower() == user.lower())]
        for sid in ids:
            self.remove(sid)
        return len(ids)

    def open_count(self, host: str | None = None) -> int:
        with self._lock:
            return len(self._shells) if host is None else self._open_on(host)

    def counters(self, hosts: t.Iterable[str] = ()) -> dict[str, t.Any]:
        """``{"total": {...}, "hosts": {HOST: {...}}}`` with sessions_opened/closed/open/peak; ``hosts`` are
        listed even without any shell."""
        with self._lock:
            names = list(dict.fromkeys([*hosts, *self._opened, *self._closed,
                                        *(s.session.host for s in self._shells.values())]))
            per_host = {name: {"sessions_opened": self._opened[name], "sessions_closed": self._closed[name],
                               "sessions_open": self._open_on(name), "sessions_peak": self._peak[name]}
                        for name in names}
            total = {"opened": sum(self._opened.values()), "closed": sum(self._closed.values()),
                     "open": len(self._shells), "peak": self._peak_total}
        return {"total": total, "hosts": per_host}

    def reset_counters(self) -> None:
        """Opened and closed back to 0; the peak becomes the number open now."""
        with self._lock:
            self._opened.clear()
            self._closed.clear()
            self._peak.clear()
            for shell in self._shells.values():
                self._peak[shell.session.host] += 1
            self._peak_total = len(self._shells)

    def describe(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return [{"shell_id": s.shell_id, "kind": s.kind, "host": s.session.host, "endpoint": s.session.endpoint,
                     "user": s.session.user, "commands": len(s.commands), "created": s.created}
                    for s in self._shells.values()]

"""The shell table: every open WinRS/PSRP shell, per-user shell quotas and commands-per-shell quota.

A shell belongs to one host, endpoint and user. Each shell has one ``threading.Condition``: protocol
state (psrpcore objects, outboxes, command table) is only touched under it, and a blocked Receive
waits on it.
"""

from __future__ import annotations

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

    def check_command_quota(self) -> None:
        """Called under ``cond`` before a command is added."""
        if self.max_commands and len(self.commands) >= self.max_commands:
            raise wsman.fault_max_commands_per_shell()

    def wait(self, predicate: t.Callable[[], bool], timeout: float) -> bool:
        """Wait under ``cond`` until predicate() or the shell closes; False on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.closed:
                raise wsman.fault_shell_not_found(self.shell_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.cond.wait(remaining)
        return True

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
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shells: dict[str, Shell] = {}
        self.opened = 0
        self.closed = 0

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
            self.opened += 1

    def get(self, shell_id: str | None, host: str, user: str) -> Shell:
        with self._lock:
            shell = self._shells.get((shell_id or "").upper())
        # Another user's (or host's) shell is as good as missing.
        if shell is None or shell.session.host != host or shell.session.user.lower() != user.lower():
            raise wsman.fault_shell_not_found(shell_id or "")
        return shell

    def remove(self, shell_id: str) -> Shell | None:
        with self._lock:
            shell = self._shells.pop(shell_id.upper(), None)
            if shell is not None:
                self.closed += 1
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

    def open_count(self) -> int:
        with self._lock:
            return len(self._shells)

    def describe(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return [{"shell_id": s.shell_id, "kind": s.kind, "host": s.session.host, "endpoint": s.session.endpoint,
                     "user": s.session.user, "commands": len(s.commands), "created": s.created}
                    for s in self._shells.values()]

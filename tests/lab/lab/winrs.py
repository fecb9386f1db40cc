"""WinRS cmd shells (pywinrm ``run_cmd``/``run_ps``, pypsrp ``Client.execute_cmd``).

A command runs in a worker thread through ``winrs_exec.execute`` (the Windows emulation); Receive
returns its stdout/stderr and, once it is done, ``CommandState Done`` with the ``ExitCode`` pywinrm
requires.
"""

from __future__ import annotations

import base64
import logging
import threading
import typing as t
import uuid

from . import wsman
from .shells import Shell

log = logging.getLogger(__name__)


def _execute(lab: t.Any, session: t.Any, command: str, arguments: list[str]) -> tuple[bytes, bytes, int]:
    try:
        from . import winrs_exec  # pylint: disable=import-outside-toplevel  # written by another part of the lab
    except ImportError:
        name = command.split()[0] if command.split() else command
        return (b"", f"'{name}' is not recognized as an internal or external command,\r\n"
                     "operable program or batch file.\r\n".encode(), 1)
    return winrs_exec.execute(lab, session, command, arguments)


class _Command:
    def __init__(self) -> None:
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.exit_code: int | None = None
        self.stdin = bytearray()


class WinrsShell(Shell):
    kind = "winrs"
    input_streams = "stdin"
    output_streams = "stdout stderr"

    def __init__(self, *args: t.Any, lab: t.Any, server: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.lab = lab
        self.server = server

    def command(self, req: wsman.Request) -> bytes:
        line = wsman.find(req.body, "rsp:Command")
        command = (line.text or "").strip() if line is not None else ""
        arguments = [(a.text or "") for a in wsman.findall(req.body, "rsp:Arguments")]
        command_id = (req.body.get("CommandId") if req.body is not None else None) or str(uuid.uuid4()).upper()
        cmd = _Command()
        with self.cond:
            self.check_command_quota()
            self.commands[command_id.upper()] = cmd
        worker = threading.Thread(target=self._run, args=(cmd, command, arguments), daemon=True, name="lab-winrs")
        worker.start()
        return wsman.command_response(req, command_id.upper())

    def _run(self, cmd: _Command, command: str, arguments: list[str]) -> None:
        try:
            out, err, code = _execute(self.lab, self.session, command, arguments)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the client must see an end, not hang
            log.exception("WinRS command failed in the engine")
            out, err, code = b"", f"The lab failed to run the command: {exc.__class__.__name__}\r\n".encode(), 1
        if self.server is not None:
            self.server.stats.pipeline(self.session.host)
        with self.cond:
            cmd.stdout += out
            cmd.stderr += err
            cmd.exit_code = int(code)
            self.cond.notify_all()

    def send(self, req: wsman.Request) -> bytes:
        with self.cond:
            for stream in wsman.findall(req.body, "rsp:Stream"):
                cmd = self.commands.get((stream.get("CommandId") or "").upper())
                if cmd is not None:
                    cmd.stdin += base64.b64decode(stream.text or "")
        return wsman.send_response(req)

    def receive(self, req: wsman.Request) -> bytes:
        desired = wsman.find(req.body, "rsp:DesiredStream")
        cid = (desired.get("CommandId") or "").upper() if desired is not None else ""
        timeout = min(req.operation_timeout, self.server.max_receive_wait if self.server else 20.0)
        with self.cond:
            cmd = self.commands.get(cid)
            if cmd is None:
                raise wsman.fault_internal(f"The command {cid} was not found in the shell.")
            if not self.wait(lambda: cmd.exit_code is not None, timeout):
                raise wsman.fault_timed_out()
            out, err = bytes(cmd.stdout), bytes(cmd.stderr)
            cmd.stdout.clear()
            cmd.stderr.clear()
        streams = [("stdout", cid, out), ("stderr", cid, err)]
        return wsman.receive_response(req, streams, cid, True, cmd.exit_code)

    def signal(self, req: wsman.Request) -> bytes:
        cid = (req.body.get("CommandId") or "").upper() if req.body is not None else ""
        code_el = wsman.find(req.body, "rsp:Code")
        code = (code_el.text or "").strip().lower() if code_el is not None else ""
        with self.cond:
            if code.endswith("terminate"):
                self.commands.pop(cid, None)
            self.cond.notify_all()
        return wsman.signal_response(req)

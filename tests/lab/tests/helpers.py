"""What the lab's tests share: the Administrator's sessions, a cmdlet call, one pipeline through ``Lab``, one over PSRP,
and a call of the control API.

The ``lab`` fixture (a fresh ``Lab.load()``) is in this folder's conftest.py.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import typing as t
import urllib.error
import urllib.request

from pypsrp.powershell import PowerShell, RunspacePool

from lab.engine import Lab
from lab.model import CommandCall, PipelineResult, SessionInfo

ADMINISTRATOR = "ALLEO\\Administrator"
ADMIN = SessionInfo("EX01", "exchange", ADMINISTRATOR)


def call(name: str, *positional: t.Any, **named: t.Any) -> CommandCall:
    """``name`` with positional arguments, then named ones: ``call("Get-Mailbox", "jdoe", Database="DB01")``."""
    return CommandCall(name, [(None, v) for v in positional] + list(named.items()))


def run(lab: Lab, *commands: CommandCall, session: SessionInfo = ADMIN) -> PipelineResult:
    """``commands`` as one pipeline, by default in the Administrator's Exchange session on EX01."""
    return lab.run_pipeline(session, list(commands))


def windows_session(host: str) -> SessionInfo:
    return SessionInfo(host=host, endpoint="windows", user=ADMINISTRATOR)


def windows_runner(default_host: str) -> t.Callable[..., PipelineResult]:
    """``run(lab, cmdlet, host=default_host, **parameters)``: one cmdlet in the Administrator's Windows session."""
    def run_windows(lab: Lab, name: str, host: str = default_host, **params: t.Any) -> PipelineResult:
        return lab.run_pipeline(windows_session(host), [CommandCall(name, list(params.items()))])
    return run_windows


def invoke(pool: RunspacePool, cmdlet: str, **params: t.Any) -> PowerShell:
    """One cmdlet with named parameters over PSRP with the real pypsrp client; the PowerShell keeps its streams."""
    ps = PowerShell(pool)
    ps.add_cmdlet(cmdlet)
    for key, value in params.items():
        ps.add_parameter(key, value)
    ps.invoke()
    return ps


@functools.lru_cache(maxsize=1)
def collection_plan_module() -> t.Any:
    """The collection's windows_plan module, loaded from its file: the client side of a plan in the lab's tests
    (the lab itself reads plans with its own code, lab/winrs_exec.py)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "plugins",
                        "module_utils", "windows_plan.py")
    spec = importlib.util.spec_from_file_location("xphone_windows_plan", os.path.normpath(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def control(uri: str, path: str, method: str = "GET", body: dict[str, t.Any] | None = None) -> tuple[int, t.Any]:
    """One call of the lab's control API: (HTTP status, JSON answer), errors included."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(uri + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")

"""Cmdlet registry: each object family declares its cmdlets here with ``@cmdlet``.

A handler receives an ``Invocation`` whose ``params`` are already bound and validated against the
reference facts (canonical parameter names, converted types; common parameters removed and exposed as
attributes). It writes output with ``inv.write(obj)``, warnings with ``inv.warn(text)`` and
non-terminating errors with ``inv.error(CmdletError(...))``; it raises ``CmdletError`` for a terminating
one. State is read and changed only through ``inv.store`` (see state.py).
"""

from __future__ import annotations

import dataclasses
import typing as t

from .model import CmdletError, SessionInfo

Handler = t.Callable[["Invocation"], None]


@dataclasses.dataclass
class CmdletSpec:
    name: str
    endpoint: str              # "exchange" (/PowerShell) or "windows" (/wsman)
    handler: Handler
    reference: str              # "exchange" or "windows": which reference file validates its parameters
    extra_parameters: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    # Called for each pipeline input object, before the handler, to bind ValueFromPipeline(ByPropertyName).
    pipeline_binding: t.Callable[[t.Any], dict[str, t.Any]] | None = None


CMDLETS: dict[str, CmdletSpec] = {}


def cmdlet(name: str, *, endpoint: str, reference: str | None = None,
           extra_parameters: dict[str, t.Any] | None = None,
           pipeline_binding: t.Callable[[t.Any], dict[str, t.Any]] | None = None) -> t.Callable[[Handler], Handler]:
    """Register ``name`` (case-insensitive lookup) served on ``endpoint``.

    ``extra_parameters`` declares parameters for cmdlets that the reference does not list (only for
    commands outside the reference, such as those the issue names explicitly).
    """

    def deco(fn: Handler) -> Handler:
        CMDLETS[name.lower()] = CmdletSpec(name, endpoint, fn, reference or endpoint,
                                           extra_parameters or {}, pipeline_binding)
        return fn

    return deco


def lookup(name: str) -> CmdletSpec | None:
    return CMDLETS.get(name.lower())


@dataclasses.dataclass
class Invocation:
    spec: CmdletSpec
    session: SessionInfo
    params: dict[str, t.Any]
    store: t.Any                               # state.Store
    lab: t.Any = None                          # engine.Lab, for hosts/topology look-ups
    input_object: t.Any = None                 # the current pipeline input object, if any
    error_action: str = "Continue"             # Continue | Stop | SilentlyContinue | Ignore
    warning_action: str = "Continue"
    confirm: bool | None = None                # -Confirm / -Confirm:$false; None when not given
    what_if: bool = False
    output: list[t.Any] = dataclasses.field(default_factory=list)
    errors: list[CmdletError] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def write(self, obj: t.Any) -> None:
        self.output.append(obj)

    def warn(self, text: str) -> None:
        if self.warning_action not in ("SilentlyContinue", "Ignore"):
            self.warnings.append(text)

    def error(self, err: CmdletError) -> None:
        """A non-terminating error; becomes terminating under -ErrorAction Stop."""
        if self.error_action == "Stop" or err.terminating:
            err.terminating = True
            raise err
        if self.error_action not in ("SilentlyContinue", "Ignore"):
            self.errors.append(err)

    def has(self, name: str) -> bool:
        return name in self.params

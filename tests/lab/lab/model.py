"""The lab's shared object model: what flows between the protocol layer and the cmdlet emulation.

The protocol layer (psrp.py, winrs.py) turns wire data into ``CommandCall`` lists and hands them to
``engine.run_pipeline``; cmdlet emulation returns ``LabObject``/``LabEnum``/plain values and raises or
writes ``CmdletError``. Nothing here knows about XML, CLIXML or HTTP.
"""

from __future__ import annotations

import dataclasses
import typing as t


class SecureString:
    """A password as the cmdlet sees it. Its text is never shown by repr/str, JSON or the audit log."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<SecureString>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecureString) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("SecureString", self._value))


@dataclasses.dataclass
class LabEnum:
    """An enum value, serialized as a .NET enum of ``type_name`` (e.g. Microsoft.Exchange.Data.ContentType)."""

    type_name: str
    value: str
    number: int = 0

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass
class LabObject:
    """An object a cmdlet writes to the output stream.

    ``type_names`` is the .NET type chain, most derived first (``Deserialized.`` is added by the client).
    ``properties`` keeps insertion order; values are str/int/bool/float/None, lists (multi-valued
    properties), dicts, LabEnum or nested LabObject.
    """

    type_names: list[str]
    properties: dict[str, t.Any]
    to_string: str | None = None

    def __getitem__(self, key: str) -> t.Any:
        return self.properties[key]


@dataclasses.dataclass
class CommandCall:
    """One command of a pipeline as the client sent it.

    ``parameters`` keeps the client's order: (name or None for positional, value). Values are
    already plain Python (str, int, bool, float, None, list, dict, SecureString, LabObject for
    objects the client passed back).
    """

    name: str
    parameters: list[tuple[str | None, t.Any]]
    is_script: bool = False
    end_of_statement: bool = False


class CmdletError(Exception):
    """An error record. Non-terminating unless ``terminating`` (or -ErrorAction Stop) is in effect.

    ``category`` is a System.Management.Automation.ErrorCategory name; ``exception_type`` the .NET
    type of the exception; ``error_id`` the FullyQualifiedErrorId (Exchange style:
    ``[Server=EX01,RequestId=...,TimeStamp=...] [FailureCategory=Cmdlet-...] 8D2F1D1A,Microsoft...``).
    """

    def __init__(self, message: str, *, category: str = "NotSpecified", error_id: str = "",
                 exception_type: str = "System.Exception", target: t.Any = None,
                 terminating: bool = False, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.error_id = error_id
        self.exception_type = exception_type
        self.target = target
        self.terminating = terminating
        self.reason = reason or exception_type.rsplit(".", 1)[-1]


@dataclasses.dataclass
class PipelineResult:
    """What a pipeline produced, in order per stream."""

    output: list[t.Any] = dataclasses.field(default_factory=list)
    errors: list[CmdletError] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    verbose: list[str] = dataclasses.field(default_factory=list)
    # Set when the pipeline ended Failed; the protocol layer reports it as the pipeline state's error.
    terminating_error: CmdletError | None = None


@dataclasses.dataclass
class SessionInfo:
    """Who runs commands where: one per runspace pool (PSRP) or WinRS shell.

    ``endpoint`` is ``"exchange"`` for /PowerShell (configuration Microsoft.Exchange, NoLanguage, RBAC)
    and ``"windows"`` for /wsman (Microsoft.PowerShell, or the cmd shell for WinRS).
    ``user`` is the canonical account name (``ALLEO\\Administrator``) as resolved by authentication.
    """

    host: str
    endpoint: str
    user: str
    client_ip: str = "127.0.0.1"
    session_id: str = ""

"""What the Windows cmdlet families share: the host an invocation runs on, error records, values.

Error texts here are Windows PowerShell 5.1's; each is listed in tests/lab/FIDELITY.md (## Windows).
"""

from __future__ import annotations

import typing as t

from .. import errors
from ..model import CmdletError, LabEnum, SecureString

ITEM_NOT_FOUND_EXC = "System.Management.Automation.ItemNotFoundException"
PS_ARGUMENT_EXC = "System.Management.Automation.PSArgumentException"
IO_EXC = "System.IO.IOException"
PROMPT_TEXT = errors.PROMPT_TEXT


def command_class(cmdlet_name: str) -> str:
    """``Get-ItemProperty`` -> ``Microsoft.PowerShell.Commands.GetItemPropertyCommand``."""
    verb, noun = cmdlet_name.split("-", 1) if "-" in cmdlet_name else (cmdlet_name, "")
    return f"Microsoft.PowerShell.Commands.{verb}{noun}Command"


def error(inv: t.Any, message: str, category: str, error_id: str, exception_type: str, *, target: t.Any = None,
          terminating: bool = False) -> CmdletError:
    """An error record with the FQEID ``<id>,<command class>`` as PowerShell forms it."""
    return CmdletError(message, category=category, error_id=f"{error_id},{command_class(inv.spec.name)}",
                       exception_type=exception_type, target=target, terminating=terminating)


def path_not_found(inv: t.Any, shown: str) -> CmdletError:
    return error(inv, f"Cannot find path '{shown}' because it does not exist.", "ObjectNotFound", "PathNotFound",
                 ITEM_NOT_FOUND_EXC, target=shown)


def host_state(inv: t.Any, data: dict[str, t.Any]) -> dict[str, t.Any]:
    """The state of the host this session runs on (by name, FQDN or address, case-insensitive)."""
    hosts = data.setdefault("hosts", {})
    wanted = (inv.session.host or "").lower()
    for name, host in hosts.items():
        if wanted in (name.lower(), str(host.get("fqdn", "")).lower(), str(host.get("address", "")).lower()):
            return host
    lab = getattr(inv, "lab", None)
    for host in ((getattr(lab, "topology", None) or {}).get("hosts") or []):
        if wanted == str(host.get("address", "")).lower() and host["name"] in hosts:
            return hosts[host["name"]]
    raise CmdletError(f"The lab has no host '{inv.session.host}'.", category="ObjectNotFound",
                      error_id="LabHostNotFound", terminating=True)


def enum_text(value: t.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, LabEnum):
        return value.value
    return str(value)


def as_list(value: t.Any) -> list[t.Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def plain(value: t.Any) -> str:
    """A value the way PowerShell turns it into a string (a SecureString shows its type name only)."""
    if isinstance(value, SecureString):
        return "System.Security.SecureString"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, LabEnum):
        return value.value
    return "" if value is None else str(value)


def paths_of(inv: t.Any) -> list[tuple[str, bool]]:
    """The -Path/-LiteralPath values as (path, literal) pairs."""
    if inv.has("LiteralPath"):
        return [(p, True) for p in as_list(inv.params["LiteralPath"])]
    return [(p, False) for p in as_list(inv.params.get("Path"))]


def is_wildcard(path: str) -> bool:
    return any(ch in path for ch in "*?[")

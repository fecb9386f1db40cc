"""What a WinRS cmd shell on a lab host runs: a few canned commands and the collection's plan runner.

``powershell -EncodedCommand <base64 UTF-16LE>`` (any spelling PowerShell accepts, which includes
pywinrm's ``-encodedcommand``) is decoded; when the script is exactly the collection's runner
(``plugins/module_utils/windows_plan.py``: ``RUNNER_PREFIX`` + base64 plan + ``RUNNER_SUFFIX``), each
plan step runs through ``lab.run_pipeline`` and the stdout is what the runner prints: one marker line
with the base64 JSON results. Any other script fails: the lab never pretends to run PowerShell.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import importlib.util
import json
import os
import re
import typing as t

from .model import CommandCall, LabEnum, LabObject, SecureString, SessionInfo

PLAN_MODULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir,
                           "plugins", "module_utils", "windows_plan.py")
MAX_COMMAND_LINE = 8191
NOT_RUNNER_TEXT = ("The xphone.connect lab runs only the collection's Windows plan runner "
                   "(plugins/module_utils/windows_plan.py RUNNER_SCRIPT with a base64 plan); it never pretends "
                   "to run arbitrary PowerShell. The script sent was not the runner.\r\n")
_B64 = re.compile(r"^[A-Za-z0-9+/=]+$")


@functools.lru_cache(maxsize=1)
def plan_module() -> t.Any:
    """The collection's windows_plan module, loaded from its file (the lab does not need Ansible)."""
    spec = importlib.util.spec_from_file_location("xphone_windows_plan", os.path.normpath(PLAN_MODULE))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _not_recognized(name: str) -> tuple[bytes, bytes, int]:
    return (b"", f"'{name}' is not recognized as an internal or external command,\r\n"
                 "operable program or batch file.\r\n".encode(), 1)


def execute(lab: t.Any, session: SessionInfo, command: str, arguments: list[str]) -> tuple[bytes, bytes, int]:
    line = " ".join([command] + [a for a in arguments if a is not None]).strip()
    if len(line) > MAX_COMMAND_LINE:
        return b"", b"The command line is too long.\r\n", 1
    tokens = line.split()
    if not tokens:
        return b"", b"", 0
    name = tokens[0].lower()
    if name.endswith(".exe"):
        name = name[:-4]
    if name == "whoami":
        return session.user.lower().encode() + b"\r\n", b"", 0
    if name == "hostname":
        return session.host.upper().encode() + b"\r\n", b"", 0
    if name == "ipconfig":
        return _ipconfig(lab, session), b"", 0
    if name == "powershell":
        return _powershell(lab, session, tokens[1:])
    return _not_recognized(tokens[0])


def _ipconfig(lab: t.Any, session: SessionInfo) -> bytes:
    host = lab.host(session.host) if lab is not None else None
    address = (host or {}).get("address", "127.0.0.1")
    return ("\r\nWindows IP Configuration\r\n\r\n\r\nEthernet adapter Ethernet:\r\n\r\n"
            "   Connection-specific DNS Suffix  . : \r\n"
            f"   IPv4 Address. . . . . . . . . . . : {address}\r\n"
            "   Subnet Mask . . . . . . . . . . . : 255.255.255.0\r\n"
            "   Default Gateway . . . . . . . . . : \r\n").encode()


def _encoded_command(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        flag = arg.lower().lstrip("-/")
        # PowerShell takes any unambiguous prefix of -EncodedCommand, including -e and -ec.
        if arg[:1] in "-/" and flag and ("encodedcommand".startswith(flag) or flag == "ec") and i + 1 < len(args):
            return args[i + 1]
    return None


def _powershell(lab: t.Any, session: SessionInfo, args: list[str]) -> tuple[bytes, bytes, int]:
    encoded = _encoded_command(args)
    if encoded is None:
        return b"", NOT_RUNNER_TEXT.encode(), 1
    try:
        script = base64.b64decode(encoded, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return b"", b"Cannot process the command because the value specified with -EncodedCommand is not properly " \
                    b"encoded. The value must be Base64 encoded.\r\n", 1
    plan = plan_module()
    if not (script.startswith(plan.RUNNER_PREFIX) and script.endswith(plan.RUNNER_SUFFIX)):
        return b"", NOT_RUNNER_TEXT.encode(), 1
    literal = script[len(plan.RUNNER_PREFIX):len(script) - len(plan.RUNNER_SUFFIX)]
    if not _B64.match(literal):
        return b"", NOT_RUNNER_TEXT.encode(), 1
    document = plan.decode_plan(literal)
    return run_plan_document(lab, session, document), b"", 0


def _value(tagged: dict[str, t.Any]) -> t.Any:
    """The runner's ``D`` function: a tagged plan value as the cmdlet receives it."""
    kind, value = tagged.get("t"), tagged.get("v")
    if kind == "n":
        return None
    if kind == "s":
        return str(value)
    if kind in ("i", "l"):
        return int(value)
    if kind == "f":
        return float(value)
    if kind == "b":
        return bool(value)
    if kind == "x":
        return base64.b64decode(value)
    if kind == "k":
        return SecureString(str(value))
    if kind == "a":
        return [_value(v) for v in value or []]
    if kind == "h":
        return {str(e["k"]): _value(e["v"]) for e in value or []}
    raise ValueError(f"kind {kind}")


def convert(value: t.Any, depth: int) -> t.Any:
    """The runner's ``C`` function: an output object as the JSON the runner prints."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, LabEnum):
        return value.value
    if isinstance(value, SecureString):
        return "System.Security.SecureString"
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, dict):
        return {str(k): convert(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [convert(v, depth) for v in value]
    if isinstance(value, LabObject):
        if depth >= 2:
            return value.to_string if value.to_string is not None else value.type_names[0]
        return {k: convert(v, depth + 1) for k, v in value.properties.items()}
    return str(value)


def _error(err: t.Any, terminating: bool) -> dict[str, t.Any]:
    return {"m": err.message, "g": err.category, "f": err.error_id, "x": err.exception_type, "r": err.reason,
            "t": terminating}


def run_plan_document(lab: t.Any, session: SessionInfo, document: dict[str, t.Any]) -> bytes:
    plan = plan_module()
    allowed = re.compile(plan.ALLOWED_PATTERN.replace("\\z", "\\Z"), re.I)
    windows_session = dataclasses.replace(session, endpoint="windows")
    results: list[dict[str, t.Any]] = []
    stop = False
    for step in document.get("s") or []:
        name = str(step.get("c"))
        if stop:
            results.append({"c": name, "s": 1})
            continue
        errors: list[dict[str, t.Any]] = []
        output: list[t.Any] = []
        warnings: list[str] = []
        if not allowed.match(name):
            errors.append({"m": f"The cmdlet '{name}' is not allowed in a plan.", "g": "PermissionDenied",
                           "f": "CmdletNotAllowed", "t": 1})
        else:
            params = [(str(p["k"]), _value(p["v"])) for p in step.get("p") or []]
            result = lab.run_pipeline(windows_session, [CommandCall(name, params)])
            output = [convert(o, 0) for o in result.output]
            errors = [_error(e, False) for e in result.errors]
            if result.terminating_error is not None:
                errors.append(_error(result.terminating_error, True))
            warnings = list(result.warnings)
        if errors and document.get("x"):
            stop = True
        results.append({"c": name, "s": 0, "o": output, "e": errors, "w": warnings})
    text = json.dumps({"v": 1, "s": results}, separators=(",", ":"), ensure_ascii=False)
    return f"{plan.RESULT_MARKER}{base64.b64encode(text.encode('utf-8')).decode('ascii')}\r\n".encode("ascii")

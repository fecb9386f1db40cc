"""What a WinRS cmd shell on a lab host runs: a few canned commands and the collection's plan runner.

``powershell -EncodedCommand <base64 UTF-16LE>`` (any spelling PowerShell accepts, which includes
pywinrm's ``-encodedcommand``) is decoded; when the script is the runner the lab knows, each plan step runs
through ``lab.run_pipeline`` and the stdout is what the runner prints: one marker line with the base64 JSON
results. Any other script fails: the lab never pretends to run PowerShell.

The lab reads the runner and its plan on its own, from the documented format, never with the collection's code:

- the runner is recognised by its text with the plan literal taken out (``FromBase64String('<plan>')``): the
  SHA-256 of that template must be ``RUNNER_TEMPLATE_SHA256``, the runner the lab was checked against. A changed
  runner fails until someone checks what it does and pins its new digest here;
- the allow-list is the one in that runner (``-notmatch '<pattern>'``), as a real host applies it;
- the plan is base64 of raw-deflated (no zlib header) compact UTF-8 JSON ``{"v": 1, "x": stop_on_error,
  "s": [{"c": cmdlet, "p": [{"k": name, "v": tagged}]}]}``, values tagged ``{"t": kind, "v": value}`` with the
  kinds n, s, i, l, f, b, x (base64 bytes), k (SecureString), a (list), h (list of {k, v}); anything else is a
  plan the lab does not understand, reported as the runner's ``z`` error;
- the output is ``XPCR1:`` + base64 of the UTF-8 JSON ``{"v": 1, "s": [{"c", "s", "o", "e", "w"}], "z"?}``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
import re
import typing as t
import zlib

from .model import CommandCall, LabEnum, LabObject, SecureString, SessionInfo

MAX_COMMAND_LINE = 8191
RESULT_MARKER = "XPCR1:"
PLAN_VERSION = 1
PLAN_PLACEHOLDER = "__XPC_PLAN__"
# The runner the lab was checked against (windows_plan.RUNNER_SCRIPT with its plan literal as __XPC_PLAN__).
RUNNER_TEMPLATE_SHA256 = "56b4f5786326ce8cf16a1ea0f73ebc1d0d126e766ad1ccb476ce14996c745230"
_PLAN_LITERAL = re.compile(r"\[Convert\]::FromBase64String\('([A-Za-z0-9+/=]*)'\)")
_ALLOW = re.compile(r"-notmatch '([^']*)'")
_KINDS = frozenset("nsilfbxkah")
NOT_RUNNER_TEXT = ("The xphone.connect lab runs only the collection's Windows plan runner "
                   "(plugins/module_utils/windows_plan.py RUNNER_SCRIPT with a base64 plan); it never pretends "
                   "to run arbitrary PowerShell. The script sent was not the runner.\r\n")
_B64 = re.compile(r"^[A-Za-z0-9+/=]+$")


class PlanError(ValueError):
    """A plan the lab does not understand (the runner would fail on it the same way)."""


def runner_template(script: str) -> tuple[str, str] | None:
    """(template, plan literal) when ``script`` holds exactly one plan literal, else None."""
    found = _PLAN_LITERAL.findall(script)
    if len(found) != 1:
        return None
    return _PLAN_LITERAL.sub(f"[Convert]::FromBase64String('{PLAN_PLACEHOLDER}')", script), found[0]


def template_digest(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def decode_plan(literal: str) -> dict[str, t.Any]:
    """The plan document from its literal, by the documented format (raw deflate, compact JSON, version 1)."""
    try:
        document = json.loads(zlib.decompress(base64.b64decode(literal, validate=True), -15).decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as err:
        raise PlanError(f"the plan is not base64 of raw-deflated UTF-8 JSON: {err}") from None
    if not isinstance(document, dict) or document.get("v") != PLAN_VERSION or not isinstance(document.get("s"), list):
        raise PlanError(f"the plan is not a version {PLAN_VERSION} plan document")
    for step in document["s"]:
        if not isinstance(step, dict) or not isinstance(step.get("c"), str) or not isinstance(step.get("p", []), list):
            raise PlanError("a plan step is not {c: cmdlet, p: [parameters]}")
        for param in step.get("p") or []:
            if not isinstance(param, dict) or not isinstance(param.get("k"), str) or not isinstance(param.get("v"), dict):
                raise PlanError("a parameter is not {k: name, v: tagged value}")
            _check_tags(param["v"])
    return document


def _check_tags(tagged: t.Any) -> None:
    if not isinstance(tagged, dict) or tagged.get("t") not in _KINDS:
        kind = tagged.get("t") if isinstance(tagged, dict) else repr(tagged)
        raise PlanError(f"kind {kind}")    # the runner's own words: throw "kind $($t.t)"
    if tagged["t"] == "a":
        for item in tagged.get("v") or []:
            _check_tags(item)
    if tagged["t"] == "h":
        for entry in tagged.get("v") or []:
            _check_tags(entry.get("v") if isinstance(entry, dict) else None)


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
    parts = runner_template(script)
    if parts is None or template_digest(parts[0]) != RUNNER_TEMPLATE_SHA256:
        return b"", NOT_RUNNER_TEXT.encode(), 1
    template, literal = parts
    allow = _ALLOW.search(template)
    try:
        document = decode_plan(literal)
    except PlanError as err:
        return _result_line({"v": 1, "s": [], "z": {"m": str(err), "g": "InvalidData", "f": "PlanNotUnderstood",
                                                    "x": "System.Management.Automation.RuntimeException", "t": True}}), b"", 0
    return run_plan_document(lab, session, document, allow.group(1) if allow else "^$"), b"", 0


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


def run_plan_document(lab: t.Any, session: SessionInfo, document: dict[str, t.Any], allow_pattern: str) -> bytes:
    """Each step as the runner does it: refused unless its cmdlet matches the runner's allow pattern (.NET ``\\z`` is
    Python's ``\\Z``), stopping after a failed step when the plan says so."""
    allowed = re.compile(allow_pattern.replace("\\z", "\\Z"), re.I)
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
    return _result_line({"v": 1, "s": results})


def _result_line(document: dict[str, t.Any]) -> bytes:
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return f"{RESULT_MARKER}{base64.b64encode(text.encode('utf-8')).decode('ascii')}\r\n".encode("ascii")

# -*- coding: utf-8 -*-
# Copyright: (c) 2026, xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cmdlet plans for Windows hosts: what a plan is, how it travels, and the runner that executes it over WinRS.

A plan is a list of steps; a step is one allow-listed cmdlet with ordered, bound parameters. It is
run by ``windows_session.WindowsSession.run_plan`` over either wire, with the session's lifecycle,
retries, fault classification and deserialiser. Over PSRP each step is one pipeline built with
``add_cmdlet``/``add_parameter``. Over WinRS (pywinrm) the fixed ``RUNNER_SCRIPT`` carries the plan
as a base64 literal (letters, digits, ``+/=`` only), so no value can end the literal or become script
text; the runner decodes the plan, splats each step and prints one marker line with base64 JSON
results. This module holds only the plan, its encodings and the runner, so that the lab can load it
from its file (``tests/lab/lab/winrs_exec.py``) without Ansible.

Per-step result (both wires)::

    {"cmdlet": "Get-ItemProperty", "skipped": False,
     "output": [{...property: value...}, ...],
     "errors": [{"message", "category", "fqeid", "exception", "reason", "terminating"}],
     "warnings": ["..."]}
"""

from __future__ import annotations

import base64
import json
import re
import zlib

try:
    from ansible_collections.xphone.connect.plugins.module_utils.errors import XPhoneError as _ErrorBase
except ImportError:  # loaded from its file by the lab, without the collection on the path
    _ErrorBase = Exception


# The only cmdlets a plan may name; the runner checks the same list (it is embedded in it).
ALLOWED_CMDLETS = (
    "Copy-Item", "Get-ADGroupMember", "Get-ADPrincipalGroupMembership", "Get-ChildItem",
    "Get-CimInstance", "Get-Command", "Get-Content", "Get-Item", "Get-ItemProperty",
    "Get-NetIPAddress", "Get-Service", "Invoke-CimMethod", "Move-Item", "New-Item",
    "New-ItemProperty", "Remove-Item", "Remove-ItemProperty", "Rename-Item", "Restart-Service",
    "Set-CimInstance", "Set-Content", "Set-ItemProperty", "Set-Service", "Start-Service",
    "Stop-Service", "Test-NetConnection", "Test-Path",
)
# The same list as a .NET regular expression for the runner (shorter than the list, which matters
# under the command-line limit); the unit tests prove both accept the same names.
ALLOWED_PATTERN = (r"^((Copy|Move|Rename|Remove|New|Get)-Item|Get-ChildItem|(Get|Set|New|Remove)-ItemProperty|"
                   r"[GS]et-Content|Test-Path|(Get|Set|Start|Stop|Restart)-Service|[GS]et-CimInstance|"
                   r"Invoke-CimMethod|Get-AD(GroupMember|PrincipalGroupMembership)|Get-Command|Get-NetIPAddress|"
                   r"Test-NetConnection)\z")
_ALLOWED_BY_LOWER = dict((name.lower(), name) for name in ALLOWED_CMDLETS)

# cmd.exe refuses longer command lines ("The command line is too long."), and WinRS runs
# `powershell -encodedcommand <base64 of UTF-16LE>` through it; 8191 = 8192 minus the terminator.
MAX_COMMAND_LINE = 8191
_RUN_PS_PREFIX = "powershell -encodedcommand "

RESULT_MARKER = "XPCR1:"
PLAN_PLACEHOLDER = "__XPC_PLAN__"
_PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}\Z")
_INT32 = (-(2 ** 31), 2 ** 31 - 1)
_INT64 = (-(2 ** 63), 2 ** 63 - 1)

# Kept compact on purpose: every character of the runner costs 2.67 characters of the 8191 that
# cmd.exe allows, and what is left is the room for the plan.
RUNNER_SCRIPT = r"""Remove-TypeData System.Array -EA 0
function D($t){$v=$t.v
switch($t.t){
'n'{return $null}
's'{return [string]$v}
'i'{return [int]$v}
'l'{return [long]$v}
'f'{return [double]$v}
'b'{return [bool]$v}
'x'{return ,[Convert]::FromBase64String($v)}
'k'{return ConvertTo-SecureString $v -AsPlainText -Force}
'a'{return ,@(foreach($e in @($v)){,(D $e)})}
'h'{$r=@{};foreach($e in @($v)){$r[$e.k]=D $e.v};return $r}
}
throw "kind $($t.t)"}
function C($v,$d){if($null -eq $v){return $null}
if($v -is [string] -or $v -is [enum] -or $v -is [char] -or $v -is [guid]){return "$v"}
if($v -is [datetime]){return $v.ToString('o')}
if($v -is [ValueType] -and $v.GetType().IsPrimitive){return $v}
if($v -is [Collections.IDictionary]){$h=@{};foreach($k in $v.Keys){$h["$k"]=C $v[$k] ($d+1)};return $h}
if($v -is [Collections.IEnumerable]){return ,@(foreach($e in $v){,(C $e $d)})}
if($d -ge 2){return "$v"}
$h=@{};foreach($p in $v.PSObject.Properties){$h[$p.Name]=$null;try{$h[$p.Name]=C $p.Value ($d+1)}catch{}};$h}
function E($r,$t){@{m="$r";g="$($r.CategoryInfo.Category)";f=$r.FullyQualifiedErrorId;x=$r.Exception.GetType().FullName;r=$r.CategoryInfo.Reason;t=$t}}
$R=@();$S=0
try{$m=New-Object IO.MemoryStream(,[Convert]::FromBase64String('__XPC_PLAN__'))
$P=(New-Object IO.StreamReader((New-Object IO.Compression.DeflateStream($m,[IO.Compression.CompressionMode]'Decompress')))).ReadToEnd()|ConvertFrom-Json
foreach($s in @($P.s)){$c=$s.c;$o=@();$e=@();$w=@()
if($S){$R+=,@{c=$c;s=1};continue}
if($c -notmatch '__XPC_ALLOW__'){$e+=,@{m="The cmdlet '$c' is not allowed in a plan.";g='PermissionDenied';f='CmdletNotAllowed';t=1}}
else{try{$p=@{};foreach($q in @($s.p)){$p[$q.k]=D $q.v}
&$c @p 2>&1 3>&1|%{
if($_ -is [Management.Automation.ErrorRecord]){$e+=,(E $_ 0)}
elseif($_ -is [Management.Automation.WarningRecord]){$w+="$_"}
else{$o+=,(C $_ 0)}}}catch{$e+=,(E $_ 1)}}
if($e -and $P.x){$S=1}
$R+=,@{c=$c;s=0;o=$o;e=$e;w=$w}}
$J=@{v=1;s=$R}}catch{$J=@{v=1;s=$R;z=(E $_ 1)}}
[Console]::Out.Write('XPCR1:'+[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes((ConvertTo-Json $J -Depth 20 -Compress)))+"`r`n")
""".replace("__XPC_ALLOW__", ALLOWED_PATTERN)
RUNNER_PREFIX, RUNNER_SUFFIX = RUNNER_SCRIPT.split(PLAN_PLACEHOLDER)

# System.Management.Automation.ErrorCategory, by number, as PSRP sends it.
ERROR_CATEGORIES = (
    "NotSpecified", "OpenError", "CloseError", "DeviceError", "DeadlockDetected", "InvalidArgument",
    "InvalidData", "InvalidOperation", "InvalidResult", "InvalidType", "MetadataError",
    "NotImplemented", "NotInstalled", "ObjectNotFound", "OperationStopped", "OperationTimeout",
    "SyntaxError", "ParserError", "PermissionDenied", "ResourceBusy", "ResourceExists",
    "ResourceUnavailable", "ReadError", "WriteError", "FromStdErr", "SecurityError",
    "ProtocolError", "ConnectionError", "AuthenticationError", "LimitsExceeded", "QuotaExceeded",
    "NotEnabled",
)


class PlanError(_ErrorBase):
    """A plan that cannot be built or run (an error of the collection's family); ``str()`` is the user-facing message."""


class PlanTooLargeError(PlanError):
    """A step that does not fit into one WinRS command line even alone."""


class Secret(object):
    """A password or other secret value. Never shown by repr/str or the plan's debug form.

    As a parameter value it travels as a SecureString over PSRP (and is built into one by the
    runner); inside a hashtable or list (``Invoke-CimMethod -Arguments @{StartPassword=...}``) it
    travels as the plain string the method expects, inside the encrypted transport.
    """

    __slots__ = ("_value",)

    def __init__(self, value):
        self._value = "" if value is None else str(value)

    def reveal(self):
        return self._value

    def __repr__(self):
        return "Secret(********)"

    __str__ = __repr__


class Int64(object):
    """An integer that must arrive as System.Int64 (a registry QWord) even when it is small."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = int(value)

    def __repr__(self):
        return "Int64(%d)" % self.value


class PlanStep(object):
    __slots__ = ("cmdlet", "parameters")

    def __init__(self, cmdlet, parameters):
        self.cmdlet = cmdlet
        self.parameters = parameters


class Plan(object):
    """An ordered list of cmdlet calls. ``stop_on_error`` skips the steps after one that failed."""

    def __init__(self, stop_on_error=True):
        self.steps = []
        self.stop_on_error = stop_on_error

    def add(self, cmdlet, parameters=None, **kwargs):
        """Append a step; ``parameters`` is a list of (name, value) pairs or a dict, in call order.

        A switch is given as ``True`` (``-Force``) or ``False`` (``-Force:$false``).
        """
        canonical = _ALLOWED_BY_LOWER.get(str(cmdlet).lower())
        if canonical is None:
            raise PlanError("The cmdlet '%s' is not allowed in a Windows plan; allowed: %s."
                            % (cmdlet, ", ".join(ALLOWED_CMDLETS)))
        pairs = list(parameters.items()) if isinstance(parameters, dict) else list(parameters or [])
        pairs.extend(kwargs.items())
        seen = set()
        for name, value in pairs:
            if not isinstance(name, str) or not _PARAM_NAME.match(name):
                raise PlanError("Invalid parameter name %r for %s." % (name, canonical))
            if name.lower() in seen:
                raise PlanError("Parameter '%s' is given twice for %s." % (name, canonical))
            seen.add(name.lower())
            _check_value(value, "%s -%s" % (canonical, name))
        self.steps.append(PlanStep(canonical, pairs))
        return self

    def has_secrets(self):
        return any(_contains_secret(v) for step in self.steps for _n, v in step.parameters)

    def debug_form(self):
        """The plan as JSON-able data for logs and diffs, with every secret masked."""
        return [{"cmdlet": step.cmdlet,
                 "parameters": [[name, _debug_value(value)] for name, value in step.parameters]}
                for step in self.steps]


def wql_string(value):
    """``value`` as a quoted WQL string literal (for ``-Query``/``-Filter``): a name cannot end the literal."""
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def service_query(name):
    """The WQL query that selects one Win32_Service by name."""
    return "SELECT * FROM Win32_Service WHERE Name=%s" % wql_string(name)


def _check_value(value, where):
    if value is None or isinstance(value, (bool, str, float, Secret, Int64, bytes, bytearray)):
        return
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise PlanError("The integer for %s does not fit into 64 bits." % where)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_value(item, where)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PlanError("Hashtable keys for %s must be strings." % where)
            _check_value(item, where)
        return
    raise PlanError("A value of type %s cannot be sent for %s." % (type(value).__name__, where))


def _contains_secret(value):
    if isinstance(value, Secret):
        return True
    if isinstance(value, (list, tuple)):
        return any(_contains_secret(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_secret(v) for v in value.values())
    return False


def _debug_value(value):
    if isinstance(value, Secret):
        return "********"
    if isinstance(value, Int64):
        return value.value
    if isinstance(value, (bytes, bytearray)):
        return "<%d bytes>" % len(value)
    if isinstance(value, (list, tuple)):
        return [_debug_value(v) for v in value]
    if isinstance(value, dict):
        return dict((k, _debug_value(v)) for k, v in value.items())
    return value


def _tag(value, top):
    """The plan's tagged form of one value (the runner's ``D`` function reverses it)."""
    if value is None:
        return {"t": "n"}
    if isinstance(value, Secret):
        return {"t": "k" if top else "s", "v": value.reveal()}
    if isinstance(value, bool):
        return {"t": "b", "v": value}
    if isinstance(value, Int64):
        return {"t": "l", "v": value.value}
    if isinstance(value, int):
        return {"t": "i" if _INT32[0] <= value <= _INT32[1] else "l", "v": value}
    if isinstance(value, float):
        return {"t": "f", "v": value}
    if isinstance(value, (bytes, bytearray)):
        return {"t": "x", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return {"t": "a", "v": [_tag(v, False) for v in value]}
    if isinstance(value, dict):
        return {"t": "h", "v": [{"k": k, "v": _tag(v, False)} for k, v in value.items()]}
    return {"t": "s", "v": str(value)}


def _plan_document(plan, steps=None):
    return {"v": 1, "x": bool(plan.stop_on_error),
            "s": [{"c": step.cmdlet, "p": [{"k": n, "v": _tag(v, True)} for n, v in step.parameters]}
                  for step in (plan.steps if steps is None else steps)]}


def encode_plan(plan, steps=None):
    """The plan as base64 of raw-deflated compact UTF-8 JSON: only letters, digits and +/=.

    Deflate because cmd.exe's command-line limit is the room a WinRS plan has (config files
    compress well).
    """
    text = json.dumps(_plan_document(plan, steps), separators=(",", ":"), ensure_ascii=False)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(text.encode("utf-8")) + packer.flush()
    return base64.b64encode(packed).decode("ascii")


def decode_plan(encoded):
    """The plan document back from ``encode_plan`` (used by the lab and by tests)."""
    packed = base64.b64decode(encoded.encode("ascii"), validate=True)
    return json.loads(zlib.decompress(packed, -15).decode("utf-8"))


def runner_script(plan, steps=None):
    return RUNNER_PREFIX + encode_plan(plan, steps) + RUNNER_SUFFIX


def command_line_length(script):
    """Length of the command line pywinrm's ``run_ps`` sends for ``script``."""
    return len(_RUN_PS_PREFIX) + len(base64.b64encode(script.encode("utf-16-le")))


def split_for_winrs(plan):
    """The plan's steps in batches whose runner command lines fit into cmd.exe's limit."""
    batches, current = [], []
    for step in plan.steps:
        if command_line_length(runner_script(plan, current + [step])) <= MAX_COMMAND_LINE:
            current.append(step)
            continue
        if not current:
            raise PlanTooLargeError(
                "The %s step is too large for one WinRS command line (cmd.exe allows %d characters); "
                "use the psrp connection for this host." % (step.cmdlet, MAX_COMMAND_LINE))
        batches.append(current)
        current = []
        if command_line_length(runner_script(plan, [step])) > MAX_COMMAND_LINE:
            raise PlanTooLargeError(
                "The %s step is too large for one WinRS command line (cmd.exe allows %d characters); "
                "use the psrp connection for this host." % (step.cmdlet, MAX_COMMAND_LINE))
        current = [step]
    if current:
        batches.append(current)
    return batches


def runner_command(plan, steps=None):
    """The command line that runs ``steps`` of ``plan`` in a WinRS cmd shell (what pywinrm's ``run_ps`` would send)."""
    script = runner_script(plan, steps)
    return _RUN_PS_PREFIX + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def skipped_result(cmdlet):
    """The result of a step that did not run because an earlier one failed (``stop_on_error``)."""
    return {"cmdlet": cmdlet, "skipped": True, "output": [], "errors": [], "warnings": []}


def step_failed(result):
    return bool(result["errors"])


# -- the plan as JSON data, for the persistent connection's socket ------------------------------------------
# Lossless, unlike the runner's encoding (where a secret inside a hashtable is a plain string): a Secret stays a
# Secret at any depth, so that the other side binds it the same way and scrubs it from everything it returns.

def _wire_value(value):
    if isinstance(value, Secret):
        return {"t": "k", "v": value.reveal()}
    if isinstance(value, Int64):
        return {"t": "l", "v": value.value}
    if isinstance(value, (list, tuple)):
        return {"t": "a", "v": [_wire_value(v) for v in value]}
    if isinstance(value, dict):
        return {"t": "h", "v": [{"k": k, "v": _wire_value(v)} for k, v in value.items()]}
    return _tag(value, False)


def _from_wire(tagged):
    kind, value = tagged.get("t"), tagged.get("v")
    if kind == "n":
        return None
    if kind == "k":
        return Secret(value)
    if kind == "l":
        return Int64(value)
    if kind in ("s", "i", "f", "b"):
        return {"s": str, "i": int, "f": float, "b": bool}[kind](value)
    if kind == "x":
        return base64.b64decode(value)
    if kind == "a":
        return [_from_wire(v) for v in value or []]
    if kind == "h":
        return dict((str(e["k"]), _from_wire(e["v"])) for e in value or [])
    raise PlanError("A plan value of kind %r cannot be read." % (kind,))


def value_to_data(value):
    """One parameter value as JSON-able data, a Secret included (for the persistent connection's private socket)."""
    return _wire_value(value)


def value_from_data(data):
    """The value ``value_to_data`` described."""
    return _from_wire(data)


def plan_to_data(plan):
    """The plan as JSON-able data (secrets included: only for the persistent connection's private socket)."""
    return {"stop_on_error": bool(plan.stop_on_error),
            "steps": [{"cmdlet": step.cmdlet, "parameters": [[name, _wire_value(value)] for name, value in step.parameters]}
                      for step in plan.steps]}


def plan_from_data(data):
    """The plan ``plan_to_data`` described, checked again against the allow-list."""
    plan = Plan(stop_on_error=bool(data.get("stop_on_error", True)))
    for step in data.get("steps") or []:
        plan.add(step["cmdlet"], [(name, _from_wire(value)) for name, value in step.get("parameters") or []])
    return plan


def _secrets_in(value):
    if isinstance(value, Secret):
        return [value.reveal()] if value.reveal() else []
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _secrets_in(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _secrets_in(v)]
    return []


def plan_secrets(plan):
    """Every secret value of the plan, to be scrubbed from whatever comes back."""
    return [s for step in plan.steps for _n, v in step.parameters for s in _secrets_in(v)]


def parse_runner_output(stdout, stderr=b"", rc=0):
    """The per-step results from the runner's stdout; ``PlanError`` when it printed none."""
    text = stdout.decode("utf-8", "replace") if isinstance(stdout, bytes) else (stdout or "")
    idx = text.find(RESULT_MARKER)
    if idx < 0:
        err = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
        raise PlanError("The Windows plan runner printed no result (rc %s): %s"
                        % (rc, err.strip()[:2000] or "no error text"))
    match = re.match(r"[A-Za-z0-9+/=\r\n]*", text[idx + len(RESULT_MARKER):])
    payload = re.sub(r"\s", "", match.group(0))
    try:
        document = json.loads(base64.b64decode(payload, validate=True).decode("utf-8"))
    except (ValueError, TypeError) as e:
        raise PlanError("The Windows plan runner printed an unreadable result: %s" % e)
    if document.get("z"):
        raise PlanError("The Windows plan runner failed: %s" % _expand_error(document["z"])["message"])
    return [_expand_step(step) for step in _as_list(document.get("s"))]


def _as_list(value):
    # ConvertTo-Json writes an empty array as null and, for some types, one element as itself.
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _expand_error(err):
    return {"message": err.get("m") or "", "category": err.get("g") or "NotSpecified",
            "fqeid": err.get("f") or "", "exception": err.get("x") or "", "reason": err.get("r") or "",
            "terminating": bool(err.get("t"))}


def _expand_step(step):
    """The runner's short keys (kept short for the command-line limit) as the documented result."""
    return {"cmdlet": step.get("c"), "skipped": bool(step.get("s")),
            "output": _as_list(step.get("o")),
            "errors": [_expand_error(e) for e in _as_list(step.get("e"))],
            "warnings": [str(w) for w in _as_list(step.get("w"))]}

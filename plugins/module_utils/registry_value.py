# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows_registry_value: one registry value on a Windows host, over its /wsman with the plan runner.

Used for the Information Store's session limit (``Maximum Allowed Sessions Per User`` under
``HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem``, the vendor document's "Exchange Mailbox
Store Limits") and, later, the XPhone server's default mail client. The key is created when missing; the value is
compared with its type (a DWORD 128 and a string "128" differ) and written only when it differs.
"""

from __future__ import annotations

import base64
import re

from ansible_collections.xphone.connect.plugins.module_utils.connection import WINDOWS_CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import host_name
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

ENDPOINT = "windows"
TYPES = {"dword": "DWord", "qword": "QWord", "string": "String", "expandstring": "ExpandString",
         "multistring": "MultiString", "binary": "Binary"}
_PATH = re.compile(r"^(HKLM|HKCU):\\[^\x00]+$", re.IGNORECASE)

ARGUMENT_SPEC = dict(
    path=dict(type="str", required=True),
    name=dict(type="str", required=True),
    type=dict(type="str", default="dword", choices=sorted(TYPES)),
    data=dict(type="raw"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)
ARGUMENT_SPEC.update(WINDOWS_CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = [("state", "present", ("data",))]


def normalize_path(value):
    text = str(value or "").strip().replace("/", "\\").rstrip("\\")
    if not _PATH.match(text):
        raise InvalidInput("path", "%r is not a registry key path such as HKLM:\\SOFTWARE\\Clients\\Mail" % (value,))
    return text[:4].upper() + text[4:]


def wanted_data(kind, value):
    """The data as it is written and as Get-ItemProperty shows it, checked against the type."""
    if kind in ("dword", "qword"):
        bits = 32 if kind == "dword" else 64
        if isinstance(value, bool) or not re.match(r"^(0x[0-9a-fA-F]+|\d+)$", str(value).strip()):
            raise InvalidInput("data", "%r is not a number for a %s (decimal, or hexadecimal as 0x80)" % (value, kind.upper()))
        number = int(str(value).strip(), 0)
        if number >= 2 ** bits:
            raise InvalidInput("data", "%d does not fit a %s (0 to %d)" % (number, kind.upper(), 2 ** bits - 1))
        return number
    if kind == "multistring":
        items = value if isinstance(value, (list, tuple)) else [value]
        return [str(v) for v in items]
    if kind == "binary":
        if isinstance(value, (list, tuple)):
            if not all(isinstance(b, int) and 0 <= b <= 255 for b in value):
                raise InvalidInput("data", "a binary value is a list of bytes (0 to 255)")
            return bytes(value)
        text = str(value).replace(" ", "").replace(",", "")
        if not re.match(r"^([0-9a-fA-F]{2})*$", text):
            raise InvalidInput("data", "%r is not hexadecimal bytes such as 0a1b2c" % (value,))
        return bytes.fromhex(text)
    if isinstance(value, (list, dict)):
        raise InvalidInput("data", "a %s value is one string" % kind)
    return str(value)


def _unsigned(value, bits):
    return value + 2 ** bits if isinstance(value, int) and value < 0 else value


def _shown(kind, value):
    """What Get-ItemProperty returned, comparable with ``wanted_data`` (None when the type is another one)."""
    if value is None:
        return None
    if kind in ("dword", "qword"):
        return _unsigned(value, 32 if kind == "dword" else 64) if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "multistring":
        return [str(v) for v in value] if isinstance(value, list) else None
    if kind == "binary":
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, str):
            try:
                return base64.b64decode(value)
            except (ValueError, TypeError):
                return None
        return None
    return value if isinstance(value, str) else None


def _display(kind, value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return value


def _signed(kind, value):
    """A DWORD or QWORD above the signed range is written as the negative number with the same bits."""
    bits = 32 if kind == "dword" else 64
    return value - 2 ** bits if kind in ("dword", "qword") and value >= 2 ** (bits - 1) else value


def run(session, params, check_mode=False, diff_mode=False):
    path = normalize_path(params["path"])
    name = str(params["name"])
    kind = params.get("type") or "dword"
    absent = params.get("state") == "absent"
    wanted = None if absent else wanted_data(kind, params.get("data"))
    answer = session.invoke("Test-Path", [("Path", path)])
    key_exists = bool(answer and answer[0])
    # All of the key's values (-Name would make a missing value an error record): a key without values gives nothing.
    found = session.invoke("Get-ItemProperty", [("Path", path)], not_found_ok=True) if key_exists else []
    values = dict((str(k).lower(), v) for k, v in (found[0].items() if found else []))
    key_name = (name or "(default)").lower()
    present = key_name in values
    raw = values.get(key_name)
    current = _shown(kind, raw)
    label = 'registry value "%s\\%s" on %s' % (path, name, host_name(session))
    differences = []
    if absent:
        if present:
            differences.append(dict(option="state", parameter=None, before="present", after="absent"))
            if not check_mode:
                session.invoke("Remove-ItemProperty", [("Path", path), ("Name", name)])
    elif not present or current != wanted:
        differences.append(dict(option="data", parameter=TYPES[kind], before=_display(kind, raw) if present else None,
                                after=_display(kind, wanted)))
        if not check_mode:
            value = _signed(kind, wanted)
            if not key_exists:
                session.invoke("New-Item", [("Path", path), ("Force", True)])
            if present:
                session.invoke("Set-ItemProperty", [("Path", path), ("Name", name), ("Type", TYPES[kind]), ("Value", value)])
            else:
                session.invoke("New-ItemProperty", [("Path", path), ("Name", name), ("PropertyType", TYPES[kind]),
                                                    ("Value", value)])
    result = dict(changed=bool(differences), differences=differences, object=label, path=path, name=name, type=kind,
                  data=_display(kind, wanted if not absent else None),
                  key_created=bool(differences) and not key_exists and not absent)
    if diff_mode:
        result["diff"] = dict(before={name: _display(kind, raw) if present else None},
                              after={name: None if absent else _display(kind, wanted)},
                              before_header=label, after_header=label)
    if session.warnings:
        result["warnings"] = list(session.warnings)
    return result

"""The registry provider: HKLM keys and values, with the value kinds RegistryKey.SetValue knows.

State: ``hosts[H]["registry"][<lower key path>] = {"path": "HKEY_LOCAL_MACHINE\\SOFTWARE\\...",
"values": {<lower name>: {"name", "kind", "data"}}}``; the default value has the name ``""`` and is
shown as ``(default)``; Binary data is stored as base64. ``Wow6432Node`` is an ordinary key here,
as it is in the 64-bit view that a remote session sees.
"""

from __future__ import annotations

import base64
import re
import typing as t

from .. import registry
from ..model import CmdletError, LabObject
from . import common

PROVIDER = "Microsoft.PowerShell.Core\\Registry"
HIVES = {"hklm": "HKEY_LOCAL_MACHINE", "hkey_local_machine": "HKEY_LOCAL_MACHINE",
         "hkcu": "HKEY_CURRENT_USER", "hkey_current_user": "HKEY_CURRENT_USER"}
DRIVES = {"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU"}
KINDS = ("String", "ExpandString", "Binary", "DWord", "MultiString", "QWord")
ENVIRONMENT = {"systemroot": "C:\\Windows", "windir": "C:\\Windows", "systemdrive": "C:",
               "programfiles": "C:\\Program Files", "programfiles(x86)": "C:\\Program Files (x86)",
               "programdata": "C:\\ProgramData"}
CONVERT_TEXT = ("The type of the value object did not match the specified RegistryValueKind or the object could "
                "not be properly converted.")


def is_registry_path(path: str) -> bool:
    lowered = path.lower()
    return lowered.startswith(("hklm:", "hkcu:")) or "registry::" in lowered


def parse(path: str) -> str | None:
    """``HKLM:\\SOFTWARE\\X`` (or ``Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\X``) -> ``HKEY_LOCAL_MACHINE\\SOFTWARE\\X``."""
    text = path.replace("/", "\\")
    match = re.match(r"(?i)^(?:(?:Microsoft\.PowerShell\.Core\\)?Registry::)?(HKLM|HKCU|HKEY_LOCAL_MACHINE|HKEY_CURRENT_USER):?(.*)$",
                     text)
    if not match:
        return None
    hive = HIVES[match.group(1).lower()]
    parts = [p for p in match.group(2).split("\\") if p]
    return "\\".join([hive] + parts)


def shown(path: str) -> str:
    """The path as PowerShell repeats it in 'Cannot find path' errors (drive-qualified, backslashes)."""
    full = parse(path)
    if full is None:
        return path
    hive, rest = (full.split("\\", 1) + [""])[:2]
    return f"{DRIVES.get(hive, hive)}:\\{rest}"


def keys_of(host: dict[str, t.Any]) -> dict[str, t.Any]:
    return host.setdefault("registry", {})


def ensure_key(host: dict[str, t.Any], full: str) -> dict[str, t.Any]:
    """Create ``full`` and its parents (used by the seeder and by New-Item -Force)."""
    keys = keys_of(host)
    parts = full.split("\\")
    for i in range(1, len(parts) + 1):
        sub = "\\".join(parts[:i])
        keys.setdefault(sub.lower(), {"path": sub, "values": {}})
    return keys[full.lower()]


def set_value(key: dict[str, t.Any], name: str, kind: str, data: t.Any) -> None:
    stored = base64.b64encode(bytes(data)).decode("ascii") if kind == "Binary" else data
    key["values"][name.lower()] = {"name": name, "kind": kind, "data": stored}


def subkeys(host: dict[str, t.Any], full: str) -> list[dict[str, t.Any]]:
    prefix = full.lower() + "\\"
    return sorted((k for p, k in keys_of(host).items() if p.startswith(prefix) and "\\" not in p[len(prefix):]),
                  key=lambda k: k["path"].lower())


def ps_path(full: str) -> str:
    return f"{PROVIDER}::{full}"


def _expand(text: str) -> str:
    return re.sub(r"%([^%]+)%", lambda m: ENVIRONMENT.get(m.group(1).lower(), m.group(0)), text)


def value_out(entry: dict[str, t.Any]) -> t.Any:
    """The value as Get-ItemProperty returns it: DWord as Int32, QWord as Int64, Binary as byte[]."""
    kind, data = entry["kind"], entry["data"]
    if kind == "DWord":
        return data - (1 << 32) if data >= 1 << 31 else data
    if kind == "QWord":
        return data - (1 << 64) if data >= 1 << 63 else data
    if kind == "Binary":
        return list(base64.b64decode(data))
    if kind == "ExpandString":
        return _expand(data)
    if kind == "MultiString":
        return list(data)
    return data


def key_object(host: dict[str, t.Any], key: dict[str, t.Any]) -> LabObject:
    full = key["path"]
    parent, child = full.rsplit("\\", 1) if "\\" in full else ("", full)
    names = [v["name"] or "(default)" for v in key["values"].values()]
    return LabObject(["Microsoft.Win32.RegistryKey", "System.MarshalByRefObject", "System.Object"], {
        "Property": names, "PSPath": ps_path(full), "PSParentPath": ps_path(parent) if parent else "",
        "PSChildName": child, "PSDrive": DRIVES.get(full.split("\\")[0], ""), "PSProvider": PROVIDER,
        "PSIsContainer": True, "SubKeyCount": len(subkeys(host, full)), "View": "Default",
        "Handle": "Microsoft.Win32.SafeHandles.SafeRegistryHandle", "ValueCount": len(names), "Name": full,
    }, to_string=full)


def properties_object(key: dict[str, t.Any], names: list[str] | None = None) -> LabObject:
    full = key["path"]
    parent, child = full.rsplit("\\", 1) if "\\" in full else ("", full)
    props: dict[str, t.Any] = {}
    for entry in key["values"].values():
        label = entry["name"] or "(default)"
        if names is None or label.lower() in names:
            props[label] = value_out(entry)
    props.update({"PSPath": ps_path(full), "PSParentPath": ps_path(parent), "PSChildName": child,
                  "PSDrive": DRIVES.get(full.split("\\")[0], ""), "PSProvider": PROVIDER})
    return LabObject(["System.Management.Automation.PSCustomObject", "System.Object"], props)


def find_key(host: dict[str, t.Any], path: str) -> dict[str, t.Any] | None:
    full = parse(path)
    return keys_of(host).get(full.lower()) if full else None


def _value_name(name: t.Any) -> str:
    text = common.plain(name)
    return "" if text.lower() == "(default)" else text


def _int_of(value: t.Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = common.plain(value).strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def convert(inv: t.Any, kind: str, value: t.Any) -> t.Any:
    """``value`` as data of ``kind``; the ArgumentException of RegistryKey.SetValue when it does not fit."""
    if kind in ("String", "ExpandString"):
        return common.plain(value[0] if isinstance(value, list) and len(value) == 1 else value)
    if kind == "MultiString":
        return [common.plain(v) for v in common.as_list(value)]
    if kind in ("DWord", "QWord"):
        number = _int_of(value[0] if isinstance(value, list) and len(value) == 1 else value)
        bits = 32 if kind == "DWord" else 64
        if number is not None and -(1 << (bits - 1)) <= number < (1 << bits):
            return number & ((1 << bits) - 1)
    if kind == "Binary":
        items = list(value) if isinstance(value, (bytes, bytearray)) else common.as_list(value)
        numbers = [_int_of(v) for v in items]
        if all(n is not None and 0 <= n <= 255 for n in numbers):
            return numbers
    raise common.error(inv, CONVERT_TEXT, "InvalidArgument", "System.ArgumentException",
                       "System.ArgumentException")


def infer_kind(value: t.Any) -> str:
    """The kind RegistryKey.SetValue(name, object) picks: Int32 -> DWord, string[] -> MultiString..."""
    if isinstance(value, int) and not isinstance(value, bool) and -(1 << 31) <= value < (1 << 31):
        return "DWord"
    if isinstance(value, (bytes, bytearray)):
        return "Binary"
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "MultiString"
    return "String"


def _kind_param(inv: t.Any, name: str) -> str | None:
    text = common.enum_text(inv.params.get(name))
    if text is None or text.lower() == "unknown":
        return None
    return next(k for k in KINDS if k.lower() == text.lower())


def _key(inv: t.Any, host: dict[str, t.Any], path: str) -> dict[str, t.Any] | None:
    """The key at ``path``, or None after PowerShell's path-not-found error."""
    key = find_key(host, path)
    if key is None:
        inv.error(common.path_not_found(inv, shown(path)))
    return key


def _keys(inv: t.Any, host: dict[str, t.Any]) -> t.Iterator[dict[str, t.Any]]:
    """The key of each -Path in turn; a path without one gets its error when its turn comes."""
    for path, _literal in common.paths_of(inv):
        key = _key(inv, host, path)
        if key is not None:
            yield key


def _missing_property(inv: t.Any, name: str, key: dict[str, t.Any]) -> None:
    inv.error(common.error(inv, f"Property {name or '(default)'} does not exist at path {key['path']}.",
                           "InvalidArgument", common.PS_ARGUMENT_EXC, common.PS_ARGUMENT_EXC, target=name))


@registry.cmdlet("Get-ItemProperty", endpoint="windows", reference="windows")
def get_item_property(inv: t.Any) -> None:
    wanted = [_value_name(n) for n in common.as_list(inv.params.get("Name"))] or None
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for key in _keys(inv, host):
            if wanted is None:
                # A key without values gives no object at all, as the registry provider returns none.
                if key["values"]:
                    inv.write(properties_object(key))
                continue
            present = [n for n in wanted if n.lower() in key["values"]]
            for name in wanted:
                if name.lower() not in key["values"]:
                    _missing_property(inv, name, key)
            if present:
                inv.write(properties_object(key, [(n or "(default)").lower() for n in present]))


@registry.cmdlet("Set-ItemProperty", endpoint="windows", reference="windows")
def set_item_property(inv: t.Any) -> None:
    name = _value_name(inv.params.get("Name"))
    value = inv.params.get("Value")
    kind = _kind_param(inv, "Type")
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for key in _keys(inv, host):
            existing = key["values"].get(name.lower())
            use = kind or (existing["kind"] if existing else infer_kind(value))
            try:
                stored = _store_form(inv, use, value)
            except CmdletError as err:
                inv.error(err)
                continue
            if not inv.what_if:
                set_value(key, existing["name"] if existing else name, use, stored)
            if inv.params.get("PassThru"):
                inv.write(properties_object(key, [(name or "(default)").lower()]))


def _store_form(inv: t.Any, kind: str, value: t.Any) -> t.Any:
    converted = convert(inv, kind, value)
    return bytes(converted) if kind == "Binary" else converted


@registry.cmdlet("New-ItemProperty", endpoint="windows", reference="windows")
def new_item_property(inv: t.Any) -> None:
    name = _value_name(inv.params.get("Name"))
    value = inv.params.get("Value")
    kind = _kind_param(inv, "PropertyType") or infer_kind(value)
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for key in _keys(inv, host):
            if name.lower() in key["values"] and not inv.params.get("Force"):
                inv.error(common.error(inv, "The property already exists.", "ResourceExists", common.IO_EXC,
                                       common.IO_EXC, target=key["path"]))
                continue
            try:
                stored = _store_form(inv, kind, value)
            except CmdletError as err:
                inv.error(err)
                continue
            if inv.what_if:
                continue
            set_value(key, name, kind, stored)
            inv.write(properties_object(key, [(name or "(default)").lower()]))


@registry.cmdlet("Remove-ItemProperty", endpoint="windows", reference="windows")
def remove_item_property(inv: t.Any) -> None:
    names = [_value_name(n) for n in common.as_list(inv.params.get("Name"))]
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for key in _keys(inv, host):
            for name in names:
                if name.lower() not in key["values"]:
                    _missing_property(inv, name, key)
                elif not inv.what_if:
                    del key["values"][name.lower()]


# -- item operations, called by items.py for registry paths ---------------------------------------------

def get_item(inv: t.Any, host: dict[str, t.Any], path: str) -> None:
    key = _key(inv, host, path)
    if key is None:
        return
    inv.write(key_object(host, key))


def get_child_items(inv: t.Any, host: dict[str, t.Any], path: str) -> None:
    key = _key(inv, host, path)
    if key is None:
        return
    pending = subkeys(host, key["path"])
    while pending:
        child = pending.pop(0)
        if inv.params.get("Name"):
            inv.write(child["path"].rsplit("\\", 1)[-1])
        else:
            inv.write(key_object(host, child))
        if inv.params.get("Recurse"):
            pending[0:0] = subkeys(host, child["path"])


def test_path(host: dict[str, t.Any], path: str, path_type: str) -> bool:
    return find_key(host, path) is not None and path_type in ("Any", "Container")


def new_item(inv: t.Any, host: dict[str, t.Any], path: str) -> None:
    full = parse(path)
    keys = keys_of(host)
    parent = full.rpartition("\\")[0]
    if full.lower() in keys and not inv.params.get("Force"):
        inv.error(common.error(inv, "A key at this path already exists.", "ResourceExists", common.IO_EXC,
                               common.IO_EXC, target=shown(path)))
        return
    if parent.lower() not in keys and "\\" in parent and not inv.params.get("Force"):
        inv.error(common.path_not_found(inv, shown(parent)))
        return
    if inv.what_if:
        return
    # New-Item -Force on an existing key re-creates it: its values are gone afterwards (as on Windows).
    keys.pop(full.lower(), None)
    key = ensure_key(host, full)
    if inv.params.get("Value") is not None:
        set_value(key, "", "String", common.plain(inv.params["Value"]))
    inv.write(key_object(host, key))


def remove_item(inv: t.Any, host: dict[str, t.Any], path: str) -> None:
    key = _key(inv, host, path)
    if key is None:
        return
    if subkeys(host, key["path"]) and not inv.params.get("Recurse"):
        question = (f"The item at {shown(path)} has children and the Recurse parameter was not specified. If you "
                    "continue, all children will be removed with the item. Are you sure you want to continue?")
        inv.error(common.error(inv, common.PROMPT_TEXT.format(question), "NotImplemented",
                               "HostFunctionNotImplemented", "System.Management.Automation.Host.HostException"))
        return
    if inv.what_if:
        return
    prefix = key["path"].lower()
    for p in [p for p in keys_of(host) if p == prefix or p.startswith(prefix + "\\")]:
        del keys_of(host)[p]

"""The FileSystem provider on C:\\ paths: files kept as their bytes, so that encodings are real.

State: ``hosts[H]["files"][<lower path>] = {"path": "C:\\...", "type": "file"|"dir", "data": <base64>}``.
Paths compare case-insensitively, as on NTFS. Encodings follow Windows PowerShell 5.1: Set-Content
defaults to ``Default`` (the ANSI code page, 1252 here) whatever the file held before, ``UTF8`` writes
a BOM, ``Unicode`` is UTF-16LE with a BOM; Get-Content without -Encoding detects a BOM and otherwise
reads ANSI.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import typing as t

from .. import registry
from ..model import LabObject
from . import common

PROVIDER = "Microsoft.PowerShell.Core\\FileSystem"
ANSI = "cp1252"
OEM = "cp437"
BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# FileSystemCmdletProviderEncoding -> (codec, BOM written by Set-Content)
ENCODINGS = {"utf8": ("utf-8", b"\xef\xbb\xbf"), "unicode": ("utf-16-le", b"\xff\xfe"),
             "string": ("utf-16-le", b"\xff\xfe"), "unknown": ("utf-16-le", b"\xff\xfe"),
             "bigendianunicode": ("utf-16-be", b"\xfe\xff"), "utf32": ("utf-32-le", b"\xff\xfe\x00\x00"),
             "bigendianutf32": ("utf-32-be", b"\x00\x00\xfe\xff"), "utf7": ("utf-7", b""),
             "ascii": ("ascii", b""), "default": (ANSI, b""), "oem": (OEM, b"")}


def is_file_path(path: str) -> bool:
    return re.match(r"(?i)^((Microsoft\.PowerShell\.Core\\)?FileSystem::)?[a-z]:", path.replace("/", "\\")) is not None


def parse(path: str) -> str | None:
    text = re.sub(r"(?i)^(Microsoft\.PowerShell\.Core\\)?FileSystem::", "", path.replace("/", "\\"))
    match = re.match(r"(?i)^([a-z]):(.*)$", text)
    if not match:
        return None
    parts: list[str] = []
    for part in match.group(2).split("\\"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return match.group(1).upper() + ":\\" + "\\".join(parts)


def files_of(host: dict[str, t.Any]) -> dict[str, t.Any]:
    return host.setdefault("files", {})


def parent_of(full: str) -> str | None:
    if full.endswith(":\\"):
        return None
    parent = full.rpartition("\\")[0]
    return parent + "\\" if parent.endswith(":") else parent


def find(host: dict[str, t.Any], full: str) -> dict[str, t.Any] | None:
    if full.endswith(":\\"):
        return {"path": full, "type": "dir"}
    return files_of(host).get(full.lower())


def ensure_dir(host: dict[str, t.Any], full: str) -> None:
    while full and not full.endswith(":\\"):
        files_of(host).setdefault(full.lower(), {"path": full, "type": "dir"})
        full = parent_of(full) or ""


def write_file(host: dict[str, t.Any], full: str, content: bytes) -> None:
    """Store a file (the seeder and the cmdlets use it); creates missing folders."""
    ensure_dir(host, parent_of(full) or "")
    files_of(host)[full.lower()] = {"path": full, "type": "file", "data": base64.b64encode(content).decode("ascii")}


def read_bytes(entry: dict[str, t.Any]) -> bytes:
    return base64.b64decode(entry.get("data") or "")


def encode_text(text: str, encoding: str) -> bytes:
    codec, bom = ENCODINGS[encoding.lower()]
    return bom + text.encode(codec, errors="replace")


def decode_bytes(data: bytes, encoding: str | None) -> str:
    if encoding:
        codec, _bom = ENCODINGS[encoding.lower()]
        for bom, bom_codec in BOMS:
            if data.startswith(bom) and bom_codec == codec:
                data = data[len(bom):]
                break
        return data.decode(codec, errors="replace")
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(codec, errors="replace")
    return data.decode(ANSI, errors="replace")


def children(host: dict[str, t.Any], full: str) -> list[dict[str, t.Any]]:
    prefix = full.lower().rstrip("\\") + "\\"
    found = [e for p, e in files_of(host).items() if p.startswith(prefix) and "\\" not in p[len(prefix):]]
    # Get-ChildItem lists folders first, then files, each by name.
    return sorted(found, key=lambda e: (e["type"] != "dir", e["path"].lower()))


def item_object(entry: dict[str, t.Any]) -> LabObject:
    full = entry["path"]
    name = full.rstrip("\\").rpartition("\\")[2] or full
    parent = parent_of(full) or ""
    common_props = {"PSPath": f"{PROVIDER}::{full}", "PSParentPath": f"{PROVIDER}::{parent}" if parent else "",
                    "PSChildName": name, "PSDrive": full[0], "PSProvider": PROVIDER,
                    "PSIsContainer": entry["type"] == "dir", "Name": name, "FullName": full, "Exists": True}
    if entry["type"] == "dir":
        return LabObject(["System.IO.DirectoryInfo", "System.IO.FileSystemInfo", "System.MarshalByRefObject",
                          "System.Object"],
                         dict(common_props, Mode="d-----", Parent=parent.rstrip("\\").rpartition("\\")[2] or parent,
                              Root=full[:3], Attributes="Directory", Extension=""), to_string=name)
    ext = "." + name.rsplit(".", 1)[1] if "." in name else ""
    return LabObject(["System.IO.FileInfo", "System.IO.FileSystemInfo", "System.MarshalByRefObject", "System.Object"],
                     dict(common_props, Mode="-a----", Length=len(read_bytes(entry)), Extension=ext,
                          DirectoryName=parent.rstrip("\\") if not parent.endswith(":\\") else parent,
                          Directory=parent, IsReadOnly=False, Attributes="Archive"), to_string=full)


def _resolve(inv: t.Any, host: dict[str, t.Any], path: str, literal: bool) -> list[dict[str, t.Any]] | None:
    """Entries a -Path names (wildcards in the last segment), or None after writing PathNotFound."""
    full = parse(path)
    if full is None:
        inv.error(common.path_not_found(inv, path))
        return None
    if not literal and common.is_wildcard(full):
        parent, pattern = full.rsplit("\\", 1)
        parent = parent + "\\" if parent.endswith(":") else parent
        return [e for e in children(host, parent) if fnmatch.fnmatch(e["path"].rpartition("\\")[2].lower(),
                                                                     pattern.lower())]
    entry = find(host, full)
    if entry is None:
        inv.error(common.path_not_found(inv, full))
        return None
    return [entry]


@registry.cmdlet("Get-Content", endpoint="windows", reference="windows")
def get_content(inv: t.Any) -> None:
    encoding = common.enum_text(inv.params.get("Encoding"))
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for path, literal in common.paths_of(inv):
            for entry in _resolve(inv, host, path, literal) or []:
                if entry["type"] == "dir":
                    inv.error(common.error(inv, f"Access to the path '{entry['path']}' is denied.", "PermissionDenied",
                                           "GetContentReaderUnauthorizedAccessError",
                                           "System.UnauthorizedAccessException", target=entry["path"]))
                    continue
                raw = read_bytes(entry)
                if encoding and encoding.lower() == "byte":
                    for b in ([list(raw)] if inv.params.get("Raw") else list(raw)):
                        inv.write(b)
                    continue
                text = decode_bytes(raw, encoding)
                if inv.params.get("Raw"):
                    if text:
                        inv.write(text)
                    continue
                lines = re.split(r"\r\n|\n|\r", text)
                if lines and lines[-1] == "":
                    lines.pop()
                if inv.has("TotalCount") and inv.params["TotalCount"] >= 0:
                    lines = lines[:inv.params["TotalCount"]]
                if inv.has("Tail"):
                    lines = lines[-inv.params["Tail"]:] if inv.params["Tail"] > 0 else []
                for line in lines:
                    inv.write(line)


def _content_bytes(inv: t.Any) -> bytes:
    encoding = common.enum_text(inv.params.get("Encoding")) or "Default"
    values = common.as_list(inv.params.get("Value"))
    if encoding.lower() == "byte":
        # A byte[] binds to -Value (Object[]) element by element, as PowerShell's parameter binder does.
        flat = []
        for v in values:
            flat.extend(v if isinstance(v, (bytes, bytearray)) else [v])
        return bytes(int(v) & 0xFF for v in flat)
    if inv.params.get("NoNewline"):
        text = "".join(common.plain(v) for v in values)
    else:
        text = "".join(common.plain(v) + "\r\n" for v in values)
    return encode_text(text, encoding)


@registry.cmdlet("Set-Content", endpoint="windows", reference="windows")
def set_content(inv: t.Any) -> None:
    content = _content_bytes(inv)
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for path, _literal in common.paths_of(inv):
            full = parse(path)
            parent = find(host, parent_of(full) or "") if full else None
            if full is None or parent is None or parent["type"] != "dir":
                inv.error(common.error(inv, f"Could not find a part of the path '{full or path}'.", "ObjectNotFound",
                                       "GetContentWriterDirectoryNotFoundError", "System.IO.DirectoryNotFoundException",
                                       target=full or path))
                continue
            existing = find(host, full)
            if existing is not None and existing["type"] == "dir":
                inv.error(common.error(inv, f"Access to the path '{full}' is denied.", "PermissionDenied",
                                       "GetContentWriterUnauthorizedAccessError", "System.UnauthorizedAccessException",
                                       target=full))
                continue
            if not inv.what_if:
                write_file(host, existing["path"] if existing else full, content)


def _copy_tree(host: dict[str, t.Any], source: dict[str, t.Any], dest: str, recurse: bool) -> None:
    if source["type"] == "file":
        write_file(host, dest, read_bytes(source))
        return
    ensure_dir(host, dest)
    if recurse:
        for child in children(host, source["path"]):
            _copy_tree(host, child, dest + "\\" + child["path"].rpartition("\\")[2], True)


def _destination(host: dict[str, t.Any], source: dict[str, t.Any], dest: str) -> str:
    target = find(host, dest)
    if target is not None and target["type"] == "dir":
        return dest.rstrip("\\") + "\\" + source["path"].rpartition("\\")[2]
    return dest


def _remove_tree(host: dict[str, t.Any], full: str) -> None:
    prefix = full.lower()
    for p in [p for p in files_of(host) if p == prefix or p.startswith(prefix + "\\")]:
        del files_of(host)[p]


def _copy_or_move(inv: t.Any, move: bool) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        dest_full = parse(common.plain(inv.params.get("Destination")))
        for path, literal in common.paths_of(inv):
            for source in _resolve(inv, host, path, literal) or []:
                dest = _destination(host, source, dest_full)
                if find(host, parent_of(dest) or "") is None:
                    inv.error(common.error(inv, f"Could not find a part of the path '{dest}'.", "WriteError",
                                           "CopyFileInfoItemIOError" if not move else "MoveFileInfoItemIOError",
                                           "System.IO.DirectoryNotFoundException", target=dest))
                    continue
                if move and find(host, dest) is not None and not inv.params.get("Force"):
                    inv.error(common.error(inv, "Cannot create a file when that file already exists.", "WriteError",
                                           "MoveFileInfoItemIOError", common.IO_EXC, target=source["path"]))
                    continue
                if inv.what_if:
                    continue
                _copy_tree(host, source, dest, move or bool(inv.params.get("Recurse")))
                if move:
                    _remove_tree(host, source["path"])
                if inv.params.get("PassThru"):
                    inv.write(item_object(find(host, dest)))


@registry.cmdlet("Copy-Item", endpoint="windows", reference="windows")
def copy_item(inv: t.Any) -> None:
    _copy_or_move(inv, move=False)


@registry.cmdlet("Move-Item", endpoint="windows", reference="windows")
def move_item(inv: t.Any) -> None:
    _copy_or_move(inv, move=True)


@registry.cmdlet("Rename-Item", endpoint="windows", reference="windows")
def rename_item(inv: t.Any) -> None:
    path = inv.params.get("LiteralPath") or inv.params.get("Path")
    new_name = common.plain(inv.params.get("NewName"))
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        full = parse(path)
        source = find(host, full) if full else None
        if source is None:
            inv.error(common.path_not_found(inv, full or path))
            return
        if "\\" in new_name or "/" in new_name:
            inv.error(common.error(inv, "Cannot rename the specified target, because it represents a path or device "
                                   "name.", "InvalidArgument", "Argument", common.PS_ARGUMENT_EXC, target=new_name))
            return
        dest = (parent_of(full) or "").rstrip("\\") + "\\" + new_name
        if find(host, dest) is not None and dest.lower() != full.lower():
            inv.error(common.error(inv, "Cannot create a file when that file already exists.", "WriteError",
                                   "RenameItemIOError", common.IO_EXC, target=full))
            return
        if inv.what_if:
            return
        _copy_tree(host, source, dest, True)
        if dest.lower() != full.lower():
            _remove_tree(host, full)
        else:
            files_of(host)[dest.lower()]["path"] = dest
        if inv.params.get("PassThru"):
            inv.write(item_object(find(host, dest)))


# -- item operations, called by items.py for file system paths ------------------------------------------

def get_item(inv: t.Any, host: dict[str, t.Any], path: str, literal: bool) -> None:
    for entry in _resolve(inv, host, path, literal) or []:
        inv.write(item_object(entry))


def get_child_items(inv: t.Any, host: dict[str, t.Any], path: str, literal: bool) -> None:
    pattern = inv.params.get("Filter")
    for entry in _resolve(inv, host, path, literal) or []:
        pending = children(host, entry["path"]) if entry["type"] == "dir" else [entry]
        while pending:
            child = pending.pop(0)
            name = child["path"].rpartition("\\")[2]
            wanted = (not pattern or fnmatch.fnmatch(name.lower(), str(pattern).lower())) and not (
                inv.params.get("File") and child["type"] == "dir") and not (
                inv.params.get("Directory") and child["type"] == "file")
            if wanted:
                inv.write(name if inv.params.get("Name") else item_object(child))
            if inv.params.get("Recurse") and child["type"] == "dir":
                pending[0:0] = children(host, child["path"])


def test_path(host: dict[str, t.Any], path: str, path_type: str, literal: bool = False) -> bool:
    full = parse(path)
    if full is None:
        return False
    if not literal and common.is_wildcard(full):
        parent, pattern = full.rsplit("\\", 1)
        parent = parent + "\\" if parent.endswith(":") else parent
        entries = [e for e in children(host, parent) if fnmatch.fnmatch(e["path"].rsplit("\\", 1)[1].lower(),
                                                                        pattern.lower())]
    else:
        entries = [e for e in [find(host, full)] if e is not None]
    return any(path_type == "Any" or (path_type == "Leaf") == (e["type"] == "file") for e in entries)


def new_item(inv: t.Any, host: dict[str, t.Any], full: str) -> None:
    item_type = (common.plain(inv.params.get("ItemType")) or "File").lower()
    existing = find(host, full)
    force = inv.params.get("Force")
    if item_type == "directory":
        if existing is not None and not force:
            inv.error(common.error(inv, f"An item with the specified name {full} already exists.", "ResourceExists",
                                   "DirectoryExist", common.IO_EXC, target=full))
            return
        if not inv.what_if:
            ensure_dir(host, full)
        inv.write(item_object(find(host, full) or {"path": full, "type": "dir"}))
        return
    if item_type != "file":
        inv.error(common.error(inv, "The type is not a known type for the file system. Only \"file\",\"directory\" or "
                               "\"symboliclink\" can be specified.", "InvalidArgument", "Argument",
                               common.PS_ARGUMENT_EXC, target=full))
        return
    if existing is not None and not force:
        inv.error(common.error(inv, f"The file '{full}' already exists.", "WriteError", "NewItemIOError",
                               common.IO_EXC, target=full))
        return
    if find(host, parent_of(full) or "") is None and not force:
        inv.error(common.error(inv, f"Could not find a part of the path '{full}'.", "WriteError", "NewItemIOError",
                               "System.IO.DirectoryNotFoundException", target=full))
        return
    if inv.what_if:
        return
    value = inv.params.get("Value")
    write_file(host, full, b"" if value is None else common.plain(value).encode("utf-8"))
    inv.write(item_object(find(host, full)))


def remove_item(inv: t.Any, host: dict[str, t.Any], path: str, literal: bool) -> None:
    for entry in _resolve(inv, host, path, literal) or []:
        if entry["type"] == "dir" and children(host, entry["path"]) and not inv.params.get("Recurse"):
            question = (f"The item at {entry['path']} has children and the Recurse parameter was not specified. If "
                        "you continue, all children will be removed with the item. Are you sure you want to continue?")
            inv.error(common.error(inv, common.PROMPT_TEXT.format(question), "NotImplemented",
                                   "HostFunctionNotImplemented", "System.Management.Automation.Host.HostException"))
            continue
        if not inv.what_if:
            _remove_tree(host, entry["path"])

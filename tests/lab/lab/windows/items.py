"""Item cmdlets shared by the registry and file system providers, dispatched on the path's drive."""

from __future__ import annotations

import typing as t

from .. import registry
from . import common, files
from . import registry as reg


def _unsupported(inv: t.Any, path: str) -> None:
    inv.error(common.error(inv, f"Cannot find drive. A drive with the name '{path.split(':', 1)[0]}' does not exist.",
                           "ObjectNotFound", "DriveNotFound", "System.Management.Automation.DriveNotFoundException",
                           target=path))


def _on_each_path(inv: t.Any, host: dict[str, t.Any], paths: t.Iterable[tuple[str, bool]],
                  on_registry: t.Callable[..., None], on_files: t.Callable[..., None]) -> None:
    """Hand each path to its drive's provider: the registry's operation, the file system's (which also takes
    -LiteralPath's literal flag), or PowerShell's drive-not-found error."""
    for path, literal in paths:
        if reg.is_registry_path(path):
            on_registry(inv, host, path)
        elif files.is_file_path(path):
            on_files(inv, host, path, literal)
        else:
            _unsupported(inv, path)


@registry.cmdlet("Get-Item", endpoint="windows", reference="windows")
def get_item(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        _on_each_path(inv, host, common.paths_of(inv), reg.get_item, files.get_item)


@registry.cmdlet("Get-ChildItem", endpoint="windows", reference="windows")
def get_child_item(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        _on_each_path(inv, host, common.paths_of(inv) or [("C:\\", True)], reg.get_child_items, files.get_child_items)


@registry.cmdlet("Test-Path", endpoint="windows", reference="windows")
def test_path(inv: t.Any) -> None:
    path_type = common.enum_text(inv.params.get("PathType")) or "Any"
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for path, literal in common.paths_of(inv):
            if inv.params.get("IsValid"):
                inv.write(reg.is_registry_path(path) or files.is_file_path(path))
            elif reg.is_registry_path(path):
                inv.write(reg.test_path(host, path, path_type))
            else:
                inv.write(files.is_file_path(path) and files.test_path(host, path, path_type, literal))


@registry.cmdlet("New-Item", endpoint="windows", reference="windows")
def new_item(inv: t.Any) -> None:
    paths = common.as_list(inv.params.get("Path")) or ["C:\\"]
    name = inv.params.get("Name")
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for path in paths:
            target = path.rstrip("\\/") + "\\" + name if name else path
            if reg.is_registry_path(target):
                reg.new_item(inv, host, target)
            elif files.is_file_path(target):
                files.new_item(inv, host, files.parse(target))
            else:
                _unsupported(inv, target)


@registry.cmdlet("Remove-Item", endpoint="windows", reference="windows")
def remove_item(inv: t.Any) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        _on_each_path(inv, host, common.paths_of(inv), reg.remove_item, files.remove_item)

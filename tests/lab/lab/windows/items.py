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


@registry.cmdlet("Get-Item", endpoint="windows", reference="windows")
def get_item(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for path, literal in common.paths_of(inv):
            if reg.is_registry_path(path):
                reg.get_item(inv, host, path)
            elif files.is_file_path(path):
                files.get_item(inv, host, path, literal)
            else:
                _unsupported(inv, path)


@registry.cmdlet("Get-ChildItem", endpoint="windows", reference="windows")
def get_child_item(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for path, literal in common.paths_of(inv) or [("C:\\", True)]:
            if reg.is_registry_path(path):
                reg.get_child_items(inv, host, path)
            elif files.is_file_path(path):
                files.get_child_items(inv, host, path, literal)
            else:
                _unsupported(inv, path)


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
        for path, literal in common.paths_of(inv):
            if reg.is_registry_path(path):
                reg.remove_item(inv, host, path)
            elif files.is_file_path(path):
                files.remove_item(inv, host, path, literal)
            else:
                _unsupported(inv, path)

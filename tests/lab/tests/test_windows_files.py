"""File system cmdlets on C:\\ through Lab.run_pipeline: real bytes per encoding, case-insensitive paths, errors."""

from __future__ import annotations

import base64

import pytest

from lab.engine import Lab

from helpers import windows_runner

IMAP_CONFIG = ("C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\PopImap\\"
               "Microsoft.Exchange.Imap4.exe.config")
INSTALL = "C:\\Program Files\\C4B\\XPhone Connect Server"


run = windows_runner("XPHONE01")


def stored_bytes(lab: Lab, host: str, path: str) -> bytes:
    return base64.b64decode(lab.store.snapshot()["hosts"][host]["files"][path.lower()]["data"])


def test_imap4_config_is_utf8_with_bom_and_holds_the_documented_app_settings(lab: Lab) -> None:
    raw = stored_bytes(lab, "EX01", IMAP_CONFIG)
    assert raw.startswith(b"\xef\xbb\xbf<?xml")
    lines = run(lab, "Get-Content", host="EX01", Path=IMAP_CONFIG).output
    assert '    <add key="ProtocolLog" value="false" />' in lines
    assert not lines[0].startswith("\ufeff")
    assert run(lab, "Get-Content", host="XPHONE01", Path=IMAP_CONFIG).errors


def test_atlas_xml_has_the_roh_setting(lab: Lab) -> None:
    text = run(lab, "Get-Content", Path=INSTALL + "\\atlas.xml", Raw=True).output[0]
    assert "<Exchange>" in text and "<RoHFlagsUseRoH>on</RoHFlagsUseRoH>" in text


@pytest.mark.parametrize(("encoding", "expected"), [
    ("UTF8", b"\xef\xbb\xbf\xc3\xa4\r\n"),
    ("Unicode", b"\xff\xfe\xe4\x00\r\x00\n\x00"),
    ("ASCII", b"?\r\n"),
    ("Default", b"\xe4\r\n"),
])
def test_set_content_writes_the_bytes_of_windows_powershell(lab: Lab, encoding: str, expected: bytes) -> None:
    path = INSTALL + "\\enc.txt"
    assert not run(lab, "Set-Content", Path=path, Value="ä", Encoding=encoding).errors
    assert stored_bytes(lab, "XPHONE01", path) == expected


def test_set_content_without_encoding_is_ansi_even_over_a_utf8_file(lab: Lab) -> None:
    run(lab, "Set-Content", host="EX01", Path=IMAP_CONFIG, Value="ä")
    assert stored_bytes(lab, "EX01", IMAP_CONFIG) == b"\xe4\r\n"


def test_get_content_detects_the_bom_and_round_trips_lines(lab: Lab) -> None:
    path = INSTALL + "\\CalendarSyncExchange.config.xml"
    value = ['<?xml version="1.0" encoding="utf-8"?>', "<configuration>", '<advise Object="EwsStream"></advise>',
             "</configuration>"]
    run(lab, "Set-Content", Path=path, Value=value, Encoding="UTF8")
    assert run(lab, "Get-Content", Path=path).output == value
    assert run(lab, "Get-Content", Path=path, Raw=True).output == ["\r\n".join(value) + "\r\n"]
    assert run(lab, "Get-Content", Path=path, TotalCount=1).output == value[:1]


def test_no_newline_writes_the_value_alone(lab: Lab) -> None:
    run(lab, "Set-Content", Path=INSTALL + "\\n.txt", Value="abc", NoNewline=True, Encoding="ASCII")
    assert stored_bytes(lab, "XPHONE01", INSTALL + "\\n.txt") == b"abc"


def test_paths_are_case_insensitive(lab: Lab) -> None:
    assert run(lab, "Test-Path", Path=INSTALL.upper() + "\\ATLAS.XML").output == [True]
    assert run(lab, "Test-Path", Path=INSTALL.lower(), PathType="Container").output == [True]
    assert run(lab, "Test-Path", Path=INSTALL + "\\atlas.xml", PathType="Container").output == [False]


def test_missing_file_and_missing_folder_errors(lab: Lab) -> None:
    err = run(lab, "Get-Content", Path="C:\\nope.txt").errors[0]
    assert err.message == "Cannot find path 'C:\\nope.txt' because it does not exist."
    assert err.error_id == "PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand"
    err = run(lab, "Set-Content", Path="C:\\NoFolder\\x.txt", Value="x").errors[0]
    assert err.message == "Could not find a part of the path 'C:\\NoFolder\\x.txt'."
    assert (err.category, err.exception_type) == ("ObjectNotFound", "System.IO.DirectoryNotFoundException")


def test_new_item_copy_move_rename_remove(lab: Lab) -> None:
    assert not run(lab, "New-Item", Path="C:\\Work\\Sub", ItemType="Directory").errors
    made = run(lab, "New-Item", Path="C:\\Work\\Sub", Name="a.txt", ItemType="File", Value="hello")
    assert made.output[0]["FullName"] == "C:\\Work\\Sub\\a.txt" and made.output[0]["Length"] == 5
    assert run(lab, "New-Item", Path="C:\\Work\\Sub\\a.txt", ItemType="File").errors[0].message == \
        "The file 'C:\\Work\\Sub\\a.txt' already exists."
    assert not run(lab, "Copy-Item", Path="C:\\Work\\Sub\\a.txt", Destination="C:\\Work\\b.txt").errors
    assert not run(lab, "Move-Item", Path="C:\\Work\\b.txt", Destination="C:\\Work\\Sub").errors
    assert not run(lab, "Rename-Item", Path="C:\\Work\\Sub\\b.txt", NewName="c.txt").errors
    names = run(lab, "Get-ChildItem", Path="C:\\Work", Recurse=True, Name=True).output
    assert names == ["Sub", "a.txt", "c.txt"]
    refused = run(lab, "Remove-Item", Path="C:\\Work")
    assert "has children and the Recurse parameter was not specified" in refused.errors[0].message
    assert not run(lab, "Remove-Item", Path="C:\\Work", Recurse=True).errors
    assert run(lab, "Test-Path", Path="C:\\Work\\Sub\\a.txt").output == [False]


def test_get_item_gives_file_and_directory_objects(lab: Lab) -> None:
    item = run(lab, "Get-Item", Path=INSTALL + "\\atlas.xml").output[0]
    assert item.type_names[0] == "System.IO.FileInfo" and item["Name"] == "atlas.xml"
    folder = run(lab, "Get-Item", Path=INSTALL).output[0]
    assert folder.type_names[0] == "System.IO.DirectoryInfo" and folder["PSIsContainer"] is True


def test_a_value_with_commas_is_one_line(lab: Lab) -> None:
    run(lab, "Set-Content", Path=INSTALL + "\\c.txt", Value='<add key="a" value="x,y" />')
    assert run(lab, "Get-Content", Path=INSTALL + "\\c.txt").output == ['<add key="a" value="x,y" />']


def test_test_path_expands_wildcards_unless_literal(lab: Lab) -> None:
    assert run(lab, "Test-Path", Path=INSTALL + "\\*.xml").output == [True]
    assert run(lab, "Test-Path", Path=INSTALL + "\\*.ini").output == [False]
    assert run(lab, "Test-Path", LiteralPath=INSTALL + "\\*.xml").output == [False]

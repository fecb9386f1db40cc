"""Registry cmdlets on HKLM through Lab.run_pipeline: value kinds, (default), Wow6432Node, PowerShell's errors."""

from __future__ import annotations

import typing as t

import pytest

from lab.engine import Lab

from helpers import windows_runner

SESSIONS = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"
MAIL = "HKLM:\\SOFTWARE\\Clients\\Mail"
MAIL32 = "HKLM:\\SOFTWARE\\Wow6432Node\\Clients\\Mail"


run = windows_runner("XPHONE01")


def test_session_limit_value_is_absent_and_reported_as_powershell_does(lab: Lab) -> None:
    result = run(lab, "Get-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User")
    assert result.output == []
    err = result.errors[0]
    assert err.message == ("Property Maximum Allowed Sessions Per User does not exist at path "
                           "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem.")
    assert err.category == "InvalidArgument"
    assert err.error_id == ("System.Management.Automation.PSArgumentException,"
                            "Microsoft.PowerShell.Commands.GetItemPropertyCommand")


def test_missing_key_gives_path_not_found(lab: Lab) -> None:
    err = run(lab, "Get-ItemProperty", Path="HKLM:\\SOFTWARE\\NoSuchKey").errors[0]
    assert err.message == "Cannot find path 'HKLM:\\SOFTWARE\\NoSuchKey' because it does not exist."
    assert (err.category, err.exception_type) == ("ObjectNotFound", "System.Management.Automation.ItemNotFoundException")
    assert err.error_id == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"


def test_dword_set_and_read_back_on_one_server_only(lab: Lab) -> None:
    assert not run(lab, "Set-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User", Value=0x80,
                   Type="DWord").errors
    assert run(lab, "Get-ItemProperty", host="EX01", Path=SESSIONS).output[0]["Maximum Allowed Sessions Per User"] == 128
    assert run(lab, "Get-ItemProperty", host="EX02", Path=SESSIONS, Name="Maximum Allowed Sessions Per User").errors


@pytest.mark.parametrize(("kind", "value", "read_back"), [
    ("String", "Microsoft Outlook", "Microsoft Outlook"),
    ("ExpandString", "%SystemRoot%\\system32", "C:\\Windows\\system32"),
    ("DWord", 4294967295, -1),
    ("QWord", 2 ** 40, 2 ** 40),
    ("MultiString", ["a", "b,c"], ["a", "b,c"]),
    ("Binary", [0, 1, 255], [0, 1, 255]),
])
def test_value_kinds_read_back_as_windows_powershell_returns_them(lab: Lab, kind: str, value: t.Any, read_back: t.Any) -> None:
    created = run(lab, "New-ItemProperty", Path=MAIL, Name="Probe", PropertyType=kind, Value=value)
    assert not created.errors and created.output[0]["Probe"] == read_back
    assert run(lab, "Get-ItemProperty", Path=MAIL, Name="Probe").output[0]["Probe"] == read_back


def test_dword_out_of_range_is_refused(lab: Lab) -> None:
    err = run(lab, "Set-ItemProperty", Path=MAIL, Name="Big", Value=2 ** 33, Type="DWord").errors[0]
    assert err.message.startswith("The type of the value object did not match the specified RegistryValueKind")


def test_existing_kind_is_kept_when_no_type_is_given(lab: Lab) -> None:
    run(lab, "Set-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User", Value=32, Type="DWord")
    run(lab, "Set-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User", Value="0x80")
    assert run(lab, "Get-ItemProperty", host="EX01", Path=SESSIONS).output[0]["Maximum Allowed Sessions Per User"] == 128


def test_default_value_of_both_mail_client_views(lab: Lab) -> None:
    for path in (MAIL, MAIL32):
        assert run(lab, "Get-ItemProperty", host="XPHONE01", Path=path).output[0]["(default)"] == "Windows Mail"
        children = run(lab, "Get-ChildItem", host="XPHONE01", Path=path, Name=True).output
        assert "Microsoft Outlook" in children
    run(lab, "Set-ItemProperty", host="XPHONE01", Path=MAIL, Name="(default)", Value="Microsoft Outlook")
    assert run(lab, "Get-ItemProperty", host="XPHONE01", Path=MAIL).output[0]["(default)"] == "Microsoft Outlook"
    assert run(lab, "Get-ItemProperty", host="XPHONE01", Path=MAIL32).output[0]["(default)"] == "Windows Mail"


def test_new_item_property_refuses_an_existing_value_without_force(lab: Lab) -> None:
    run(lab, "New-ItemProperty", Path=MAIL, Name="X", Value="1")
    err = run(lab, "New-ItemProperty", Path=MAIL, Name="X", Value="2").errors[0]
    assert (err.message, err.category) == ("The property already exists.", "ResourceExists")
    assert not run(lab, "New-ItemProperty", Path=MAIL, Name="X", Value="3", Force=True).errors


def test_remove_item_property_and_its_error(lab: Lab) -> None:
    run(lab, "New-ItemProperty", Path=MAIL, Name="Gone", Value="1")
    assert not run(lab, "Remove-ItemProperty", Path=MAIL, Name="Gone").errors
    err = run(lab, "Remove-ItemProperty", Path=MAIL, Name="Gone").errors[0]
    assert err.error_id.endswith("RemoveItemPropertyCommand") and "Property Gone does not exist" in err.message


def test_keys_new_test_get_remove(lab: Lab) -> None:
    key = "HKLM:\\SOFTWARE\\XPhone\\Test"
    assert run(lab, "Test-Path", Path=key).output == [False]
    assert run(lab, "New-Item", Path=key).errors[0].message == "Cannot find path 'HKLM:\\SOFTWARE\\XPhone' because it does not exist."
    created = run(lab, "New-Item", Path=key, Force=True)
    assert created.output[0]["Name"] == "HKEY_LOCAL_MACHINE\\SOFTWARE\\XPhone\\Test"
    assert run(lab, "Test-Path", Path=key).output == [True]
    assert run(lab, "Test-Path", Path=key, PathType="Leaf").output == [False]
    assert run(lab, "New-Item", Path=key).errors[0].message == "A key at this path already exists."
    refused = run(lab, "Remove-Item", Path="HKLM:\\SOFTWARE\\XPhone").errors[0]
    assert "has children and the Recurse parameter was not specified" in refused.message
    assert not run(lab, "Remove-Item", Path="HKLM:\\SOFTWARE\\XPhone", Recurse=True).errors
    assert run(lab, "Test-Path", Path=key).output == [False]


def test_new_item_force_on_an_existing_key_drops_its_values(lab: Lab) -> None:
    run(lab, "New-ItemProperty", Path=MAIL, Name="Keep", Value="1")
    run(lab, "New-Item", Path=MAIL, Force=True)
    assert run(lab, "Get-ItemProperty", Path=MAIL, Name="Keep").errors


def test_registry_key_object_lists_its_values(lab: Lab) -> None:
    key = run(lab, "Get-Item", host="XPHONE01", Path=MAIL).output[0]
    assert key.type_names[0] == "Microsoft.Win32.RegistryKey"
    assert key["Property"] == ["(default)"] and key["SubKeyCount"] == 2


def test_what_if_changes_nothing(lab: Lab) -> None:
    run(lab, "Set-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User", Value=128, WhatIf=True)
    assert run(lab, "Get-ItemProperty", host="EX01", Path=SESSIONS, Name="Maximum Allowed Sessions Per User").errors


def test_hive_root_exists_and_a_key_without_values_gives_no_object(lab: Lab) -> None:
    assert run(lab, "Test-Path", Path="HKLM:\\").output == [True]
    outlook = run(lab, "Get-ItemProperty", Path=MAIL + "\\Microsoft Outlook")
    assert (outlook.output, outlook.errors) == ([], [])

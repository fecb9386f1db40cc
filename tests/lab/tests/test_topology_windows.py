"""A topology declares a host's own registry keys, files and services; the cmdlets then see them."""

from __future__ import annotations

import pytest

from helpers import windows_runner

from lab.engine import Lab

run = windows_runner("XPHONE01")


def _xphone(topo: dict) -> dict:
    return next(h for h in topo["hosts"] if h["name"] == "XPHONE01")


def test_declared_registry_file_and_service() -> None:
    topo = Lab.load().topology
    host = _xphone(topo)
    host["registry"] = [{"key": "HKLM:\\SOFTWARE\\C4B\\XPhone Connect", "values": [
        {"name": "InstallDir", "type": "String", "data": "D:\\XPhone"},
        {"name": "Build", "type": "DWord", "data": 9010}]}]
    host["files"] = [{"path": "D:\\XPhone\\CalendarSyncExchange.config.xml", "encoding": "Unicode",
                      "content": "<configuration>\n</configuration>\n"},
                     {"path": "D:\\XPhone\\Logs", "directory": True}]
    host["services"] = [{"name": "AtlasService", "display_name": "XPhone Connect Directory", "status": "Running",
                         "start_type": "Automatic"}]
    lab = Lab(topo)

    props = run(lab, "Get-ItemProperty", Path="HKLM:\\SOFTWARE\\C4B\\XPhone Connect").output[0]
    assert props["InstallDir"] == "D:\\XPhone" and props["Build"] == 9010
    content = run(lab, "Get-Content", Path="D:\\XPhone\\CalendarSyncExchange.config.xml").output
    assert content == ["<configuration>", "</configuration>"]
    assert run(lab, "Test-Path", Path="D:\\XPhone\\Logs", PathType="Container").output == [True]
    service = run(lab, "Get-Service", Name="AtlasService").output[0]
    assert str(service["Status"]) == "Running" and str(service["StartType"]) == "Automatic"
    # The built-in seed is still there beside what the topology declares.
    assert run(lab, "Get-Service", Name="XPhoneConnectServer").output


def test_declared_entries_override_the_builtin_seed() -> None:
    topo = Lab.load().topology
    _xphone(topo)["registry"] = [{"key": "HKLM:\\SOFTWARE\\Clients\\Mail",
                                  "values": [{"name": "", "type": "String", "data": "Microsoft Outlook"}]}]
    lab = Lab(topo)
    assert run(lab, "Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail").output[0]["(default)"] == "Microsoft Outlook"


def test_a_malformed_declared_path_is_refused_at_start() -> None:
    topo = Lab.load().topology
    _xphone(topo)["registry"] = [{"key": "SOFTWARE\\NoHive", "values": []}]
    with pytest.raises(ValueError, match="XPHONE01.*registry key"):
        Lab(topo)

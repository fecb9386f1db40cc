"""Get-Command, Get-NetIPAddress and Test-NetConnection through Lab.run_pipeline."""

from __future__ import annotations

from lab.engine import Lab

from helpers import windows_runner


run = windows_runner("XPHONE01")


def test_get_command_finds_lab_cmdlets_and_reports_unknown_ones(lab: Lab) -> None:
    found = run(lab, "Get-Command", Name="Get-ItemProperty").output[0]
    assert found["Name"] == "Get-ItemProperty" and found["Source"] == "Microsoft.PowerShell.Management"
    err = run(lab, "Get-Command", Name="Get-Mailbox").errors[0]
    assert err.message.startswith("The term 'Get-Mailbox' is not recognized as the name of a cmdlet")
    assert err.error_id == "CommandNotFoundException,Microsoft.PowerShell.Commands.GetCommandCommand"
    assert run(lab, "Get-Command", host="EX01", Name="Get-ADGroupMember").output[0]["Source"]


def test_get_net_ip_address_gives_the_host_address(lab: Lab) -> None:
    addresses = [o["IPAddress"] for o in run(lab, "Get-NetIPAddress").output]
    assert addresses == ["127.0.0.21", "127.0.0.1"]
    assert [o["IPAddress"] for o in run(lab, "Get-NetIPAddress", host="EX02", IPAddress="127.0.0.12").output] == \
        ["127.0.0.12"]


def test_test_net_connection_to_exchange_smtp_and_a_closed_port(lab: Lab) -> None:
    smtp = run(lab, "Test-NetConnection", ComputerName="EX01.alleo.intern", Port=25)
    assert smtp.output[0]["TcpTestSucceeded"] is True and smtp.output[0]["RemoteAddress"] == "127.0.0.11"
    closed = run(lab, "Test-NetConnection", ComputerName="EX01", Port=2500)
    assert closed.output[0]["TcpTestSucceeded"] is False
    assert closed.warnings == ["TCP connect to (127.0.0.11 : 2500) failed"]


def test_test_net_connection_to_an_unknown_name(lab: Lab) -> None:
    result = run(lab, "Test-NetConnection", ComputerName="nowhere.example", Port=25)
    assert result.warnings == ["Name resolution of nowhere.example failed"]
    assert result.output[0]["TcpTestSucceeded"] is False

"""winrs_exec: the WinRS cmd shell's canned commands and the plan runner, and nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from lab import winrs_exec
from lab.engine import Lab

from helpers import windows_session

wp = winrs_exec.plan_module()
SESSION = windows_session("EX01")


def encode(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def results(stdout: bytes) -> dict:
    assert stdout.startswith(wp.RESULT_MARKER.encode()) and stdout.endswith(b"\r\n")
    return json.loads(base64.b64decode(stdout[len(wp.RESULT_MARKER):].strip()).decode("utf-8"))


def test_canned_commands(lab: Lab) -> None:
    assert winrs_exec.execute(lab, SESSION, "whoami", []) == (b"alleo\\administrator\r\n", b"", 0)
    assert winrs_exec.execute(lab, SESSION, "hostname", [])[0] == b"EX01\r\n"
    assert b"127.0.0.11" in winrs_exec.execute(lab, SESSION, "ipconfig", [])[0]


def test_unknown_command_is_what_cmd_says(lab: Lab) -> None:
    assert winrs_exec.execute(lab, SESSION, "dir2", ["/s"]) == (
        b"", b"'dir2' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n", 1)


@pytest.mark.parametrize("flag", ["-EncodedCommand", "-encodedcommand", "-enc", "-e", "-EC", "/EncodedCommand"])
def test_every_spelling_of_encoded_command_runs_the_runner(lab: Lab, flag: str) -> None:
    script = wp.runner_script(wp.Plan().add("Get-Service", Name="WinRM"))
    out, err, rc = winrs_exec.execute(lab, SESSION, "powershell", ["-NoProfile", flag, encode(script)])
    assert (err, rc) == (b"", 0)
    document = results(out)
    assert document["s"][0]["c"] == "Get-Service" and document["s"][0]["o"][0]["Status"] == "Running"


@pytest.mark.parametrize("script", [
    "Get-Service WinRM",
    "Write-Output hi; " + wp.runner_script(wp.Plan().add("Get-Service", Name="WinRM")),
    wp.RUNNER_PREFIX + "not base64!" + wp.RUNNER_SUFFIX,
    wp.runner_script(wp.Plan().add("Get-Service", Name="WinRM")) + "\nRemove-Item C:\\ -Recurse",
])
def test_any_other_script_is_refused(lab: Lab, script: str) -> None:
    out, err, rc = winrs_exec.execute(lab, SESSION, "powershell -encodedcommand " + encode(script), [])
    assert (out, rc) == (b"", 1)
    assert b"never pretends to run arbitrary PowerShell" in err


def test_a_cmdlet_outside_the_allow_list_is_refused_by_the_runner(lab: Lab) -> None:
    plan = wp.Plan().add("Get-Service", Name="WinRM")
    document = wp.decode_plan(wp.encode_plan(plan))
    document["s"][0]["c"] = "Invoke-Expression"
    out = winrs_exec.run_plan_document(lab, SESSION, document)
    step = results(out)["s"][0]
    assert step["e"][0]["f"] == "CmdletNotAllowed" and step["o"] == []


def test_command_line_longer_than_cmd_allows(lab: Lab) -> None:
    assert winrs_exec.execute(lab, SESSION, "powershell -encodedcommand " + "A" * 8200, []) == (
        b"", b"The command line is too long.\r\n", 1)


def test_parameter_binding_errors_are_terminating_step_errors(lab: Lab) -> None:
    plan = wp.Plan().add("Get-Service", NoSuchParameter="x")
    out, _err, _rc = winrs_exec.execute(lab, SESSION, "powershell -encodedcommand " + encode(wp.runner_script(plan)), [])
    error = results(out)["s"][0]["e"][0]
    assert error["t"] is True and "NoSuchParameter" in error["m"]

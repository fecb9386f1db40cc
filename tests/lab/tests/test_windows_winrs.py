"""winrs_exec: the WinRS cmd shell's canned commands and the plan runner, and nothing else."""

from __future__ import annotations

import base64
import json

import pytest

from lab import winrs_exec
from lab.engine import Lab

from helpers import collection_plan_module, windows_session

wp = collection_plan_module()
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
    out = winrs_exec.run_plan_document(lab, SESSION, document, wp.ALLOWED_PATTERN)
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


# -- the lab reads plans with its own code, from the documented format ------------------------------------------------

def _run(lab: Lab, script: str) -> tuple[bytes, bytes, int]:
    return winrs_exec.execute(lab, SESSION, "powershell -encodedcommand " + encode(script), [])


def test_the_lab_does_not_import_the_collection() -> None:
    import inspect  # pylint: disable=import-outside-toplevel
    source = inspect.getsource(winrs_exec)
    assert "importlib" not in source and "spec_from_file_location" not in source and "ansible_collections" not in source


def test_the_pinned_runner_is_the_collections_runner() -> None:
    """When this fails, the collection's runner changed: check what the new one does, then pin its digest in
    lab/winrs_exec.py (RUNNER_TEMPLATE_SHA256)."""
    assert winrs_exec.template_digest(wp.RUNNER_SCRIPT) == winrs_exec.RUNNER_TEMPLATE_SHA256


def test_a_changed_runner_is_refused(lab: Lab) -> None:
    script = wp.runner_script(wp.Plan().add("Get-Service", Name="WinRM"))
    changed = script.replace("Remove-TypeData System.Array -EA 0", "Remove-TypeData System.Array -EA 0;Stop-Computer")
    assert _run(lab, changed)[2] == 1 and _run(lab, script)[2] == 0


@pytest.mark.parametrize("mangle, why", [
    (lambda text: json.dumps(dict(json.loads(text), v=2)), "version 1"),
    (lambda text: text.replace('"t":"s"', '"t":"q"'), "kind q"),
    (lambda text: json.dumps(dict(json.loads(text), s={"c": "Get-Service"})), "version 1"),
])
def test_a_plan_the_lab_does_not_understand_is_the_runners_error(lab: Lab, mangle, why) -> None:
    import zlib  # pylint: disable=import-outside-toplevel
    good = wp.encode_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    text = zlib.decompress(base64.b64decode(good), -15).decode("utf-8")
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    literal = base64.b64encode(packer.compress(mangle(text).encode("utf-8")) + packer.flush()).decode("ascii")
    out, _err, rc = _run(lab, wp.RUNNER_PREFIX + literal + wp.RUNNER_SUFFIX)
    document = results(out)
    assert rc == 0 and document["s"] == [] and why in document["z"]["m"]


def test_a_zlib_wrapped_plan_is_not_the_documented_format(lab: Lab) -> None:
    import zlib  # pylint: disable=import-outside-toplevel
    good = wp.encode_plan(wp.Plan().add("Get-Service", Name="WinRM"))
    text = zlib.decompress(base64.b64decode(good), -15)
    literal = base64.b64encode(zlib.compress(text)).decode("ascii")
    document = results(_run(lab, wp.RUNNER_PREFIX + literal + wp.RUNNER_SUFFIX)[0])
    assert "raw-deflated" in document["z"]["m"]


def test_the_lab_decodes_what_the_collection_encodes() -> None:
    plan = wp.Plan().add("Set-ItemProperty", Path="HKLM:\\SOFTWARE\\X", Name="N", Value=["a", 1, True, None, b"\x00\x01"])
    assert winrs_exec.decode_plan(wp.encode_plan(plan)) == wp.decode_plan(wp.encode_plan(plan))

"""The lab's WinRS side with the real pywinrm: only the collection's plan runner runs, plus canned commands.

That the same plan gives the same results over WinRS and over PSRP (and that secrets travel as
SecureString) is proven with the collection's own Windows session in
tests/integration/test_windows_session_lab.py.
"""

from __future__ import annotations

import typing as t

import winrm


def _winrm_session(lab_env: t.Any, host: str) -> winrm.Session:
    ep = lab_env.host(host)
    user, password = lab_env.credentials()
    return winrm.Session(f"http://{ep.address}:{ep.ports['wsman_http']}/wsman", auth=(user, password),
                         transport="ntlm")


def test_winrs_refuses_any_other_script(lab_env: t.Any) -> None:
    response = _winrm_session(lab_env, "EX01").run_ps("Get-Process")
    assert response.status_code == 1
    assert b"never pretends to run arbitrary PowerShell" in response.std_err


def test_winrs_canned_commands(lab_env: t.Any) -> None:
    session = _winrm_session(lab_env, "EX01")
    assert session.run_cmd("whoami").std_out == b"alleo\\administrator\r\n"
    unknown = session.run_cmd("frobnicate")
    assert unknown.status_code == 1 and b"'frobnicate' is not recognized" in unknown.std_err

"""The collection's Windows plan executors against the lab over the wire, with the real pywinrm and pypsrp.

The same plan runs through ``run_plan_winrm`` (WinRS, the runner script) and ``run_plan_psrp`` (one
pipeline per step) and must give the same per-step results.
"""

from __future__ import annotations

import typing as t

import winrm
from pypsrp.powershell import RunspacePool

from lab import winrs_exec

wp = winrs_exec.plan_module()
INSTALL = "C:\\Program Files\\C4B\\XPhone Connect Server"
HOSTILE = "it's \"quoted\" \u2018single\u2019 \u201cdouble\u201d $(Get-Date) `t ; & exit\r\nline two"


def _winrm_session(lab_env: t.Any, host: str) -> winrm.Session:
    ep = lab_env.host(host)
    user, password = lab_env.credentials()
    return winrm.Session(f"http://{ep.address}:{ep.ports['wsman_http']}/wsman", auth=(user, password),
                         transport="ntlm")


def _plan() -> t.Any:
    plan = wp.Plan(stop_on_error=False)
    plan.add("Set-Content", Path=INSTALL + "\\wire.txt", Value=[HOSTILE, "ä"], Encoding="UTF8")
    plan.add("Get-Content", Path=INSTALL + "\\wire.txt")
    plan.add("Set-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name="(default)", Value="Microsoft Outlook")
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Clients\\Mail", Name="(default)")
    plan.add("Get-ItemProperty", Path="HKLM:\\SOFTWARE\\Missing")
    plan.add("Get-Service", Name="XPhoneConnectServer")
    plan.add("Test-Path", Path=INSTALL + "\\atlas.xml")
    return plan


def _comparable(results: list[dict[str, t.Any]]) -> list[t.Any]:
    out = []
    for r in results:
        output = [{k: v for k, v in o.items() if k in ("(default)", "Name", "Status", "StartType")}
                  if isinstance(o, dict) else o for o in r["output"]]
        out.append((r["cmdlet"], output, [(e["message"], e["category"], e["fqeid"]) for e in r["errors"]]))
    return out


def test_winrm_and_psrp_give_the_same_results(lab_env: t.Any) -> None:
    over_winrs = wp.run_plan_winrm(_winrm_session(lab_env, "XPHONE01"), _plan())
    lab_env.reset()
    with RunspacePool(lab_env.wsman("XPHONE01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        over_psrp = wp.run_plan_psrp(pool, _plan())
    assert _comparable(over_winrs) == _comparable(over_psrp)
    assert over_winrs[1]["output"] == [HOSTILE.split("\r\n", maxsplit=1)[0], "line two", "ä"]
    assert over_winrs[3]["output"][0]["(default)"] == "Microsoft Outlook"
    assert over_winrs[4]["errors"][0]["fqeid"] == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
    assert over_winrs[5]["output"][0]["Status"] == "Running"
    assert over_winrs[6]["output"] == [True]


def test_secret_over_psrp_travels_as_securestring_and_is_not_stored(lab_env: t.Any) -> None:
    secret = "Wire-Secret-Pa55!"
    plan = wp.Plan().add("Invoke-CimMethod", Query="SELECT * FROM Win32_Service WHERE Name='XPhoneConnectServer'",
                         MethodName="Change",
                         Arguments={"StartName": "ALLEO\\jdoe", "StartPassword": wp.Secret(secret)})
    with RunspacePool(lab_env.wsman("XPHONE01", endpoint="windows"), configuration_name="Microsoft.PowerShell") as pool:
        results = wp.run_plan_psrp(pool, plan)
    assert results[0]["output"][0]["ReturnValue"] == 0
    assert secret not in repr(lab_env.state()) and secret not in repr(lab_env.audit())


def test_winrs_refuses_any_other_script(lab_env: t.Any) -> None:
    response = _winrm_session(lab_env, "EX01").run_ps("Get-Process")
    assert response.status_code == 1
    assert b"never pretends to run arbitrary PowerShell" in response.std_err


def test_winrs_canned_commands(lab_env: t.Any) -> None:
    session = _winrm_session(lab_env, "EX01")
    assert session.run_cmd("whoami").std_out == b"alleo\\administrator\r\n"
    unknown = session.run_cmd("frobnicate")
    assert unknown.status_code == 1 and b"'frobnicate' is not recognized" in unknown.std_err

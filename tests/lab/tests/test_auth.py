"""Authentication matrix with the real clients: NTLM/Negotiate (+encryption, +CBT), Basic, failures, lockout."""

from __future__ import annotations

import typing as t

import pytest
import winrm
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import PowerShell, RunspacePool

from lab import registry

WHO: list[t.Any] = []


def _whoami(inv: registry.Invocation) -> None:
    WHO.append(inv.session)
    inv.write(inv.session.user)


@pytest.fixture(scope="module", autouse=True)
def whoami_cmdlet() -> t.Iterator[None]:
    registry.cmdlet("Get-LabTestWhoAmI", endpoint="windows", extra_parameters={})(_whoami)
    yield
    registry.CMDLETS.pop("get-labtestwhoami", None)


def whoami(wsman: t.Any) -> str:
    with RunspacePool(wsman, configuration_name="Microsoft.PowerShell") as pool:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-LabTestWhoAmI")
        return ps.invoke()[0]


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_ntlm_and_negotiate_over_http_encrypt_every_message(lab_env, auth) -> None:
    wsman = lab_env.wsman("XPHONE01", endpoint="windows", auth=auth)
    assert whoami(wsman) == "ALLEO\\Administrator"
    # pypsrp's default for http is encryption="auto": every WS-Management message was sealed.
    assert wsman.transport.encryption is not None


@pytest.mark.parametrize("spelling", ["Administrator@alleo.intern", "ALLEO\\Administrator", "administrator@ALLEO",
                                      "alleo.intern\\ADMINISTRATOR", "Administrator"])
def test_every_spelling_of_an_account_maps_to_the_canonical_principal(lab_env, spelling) -> None:
    assert whoami(lab_env.wsman("EX01", endpoint="windows", username=spelling)) == "ALLEO\\Administrator"


def test_https_with_channel_binding_and_validated_certificate(lab_env) -> None:
    # pypsrp's own default: https + negotiate, CBT from the server certificate; validated with the lab's CA.
    wsman = lab_env.wsman("EX03", endpoint="windows", https=True, auth="negotiate")
    assert whoami(wsman) == "ALLEO\\Administrator"
    session = winrm.Session(lab_env.wsman_uri("EX03", https=True), auth=("ALLEO\\helpdesk", lab_env.credentials("helpdesk")[1]),
                            transport="ntlm", server_cert_validation="validate", ca_trust_path=lab_env.ca_file)
    assert session.protocol.open_shell()


def test_wrong_channel_binding_is_refused(lab_env) -> None:
    lab_env.server.tls.channel_binding = b"tls-server-end-point:" + b"\x00" * 32
    with pytest.raises(AuthenticationError):
        whoami(lab_env.wsman("EX01", endpoint="windows", https=True, auth="ntlm"))


def test_basic_over_https(lab_env) -> None:
    user, password = lab_env.credentials("jdoe")
    assert whoami(lab_env.wsman("EX02", endpoint="windows", https=True, auth="basic", username=user,
                                password=password)) == "ALLEO\\jdoe"


def test_basic_over_http_is_refused_unless_allowed(lab_factory) -> None:
    lab = lab_factory()
    with pytest.raises(AuthenticationError):
        whoami(lab.wsman("EX01", endpoint="windows", auth="basic", encryption="never"))
    session = winrm.Session(lab.wsman_uri("XPHONE01"), auth=(lab.admin_user, lab.admin_password), transport="basic")
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        session.run_cmd("hostname")
    # NTLM without message encryption over http is plaintext too: refused the same way.
    with pytest.raises(AuthenticationError):
        whoami(lab.wsman("EX01", endpoint="windows", auth="ntlm", encryption="never"))

    allowed = lab_factory("allowed", limits={"allow_unencrypted": True})
    assert whoami(allowed.wsman("EX01", endpoint="windows", auth="basic", encryption="never")) == "ALLEO\\Administrator"

    one_host = lab_factory("one-host", changes={"hosts": _hosts_with(lab, "XPHONE01", allow_unencrypted=True)})
    assert whoami(one_host.wsman("XPHONE01", endpoint="windows", auth="basic", encryption="never")) == "ALLEO\\Administrator"
    with pytest.raises(AuthenticationError):
        whoami(one_host.wsman("EX01", endpoint="windows", auth="basic", encryption="never"))


def _hosts_with(lab: t.Any, name: str, **changes: t.Any) -> list[dict[str, t.Any]]:
    hosts = [dict(h) for h in lab.lab.topology["hosts"]]
    for host in hosts:
        if host["name"] == name:
            host.update(changes)
    return hosts


@pytest.mark.parametrize("auth,https", [("ntlm", False), ("negotiate", True), ("basic", True)])
def test_wrong_password_is_401(lab_env, auth, https) -> None:
    with pytest.raises(AuthenticationError):
        whoami(lab_env.wsman("EX01", endpoint="windows", auth=auth, https=https, password="not-the-password"))
    with pytest.raises(AuthenticationError):
        whoami(lab_env.wsman("EX01", endpoint="windows", auth=auth, https=https, username="nobody@alleo.intern"))
    session = winrm.Session(lab_env.wsman_uri("XPHONE01"), auth=(lab_env.admin_user, "wrong"), transport="ntlm")
    with pytest.raises(winrm.exceptions.InvalidCredentialsError):
        session.run_cmd("hostname")
    assert lab_env.stats()["auth_failures"] >= 3


def test_lockout_after_consecutive_failures(lab_factory) -> None:
    lab = lab_factory(limits={"lockout_threshold": 3})
    user, password = lab.credentials("helpdesk")

    def attempt(pw: str, auth: str = "ntlm") -> bool:
        try:
            whoami(lab.wsman("EX01", endpoint="windows", auth=auth, https=auth == "basic", username=user, password=pw))
        except AuthenticationError:
            return False
        return True

    # A success in between starts the count again.
    assert not attempt("wrong1") and not attempt("wrong2", "basic")
    assert attempt(password)
    assert not attempt("wrong3") and not attempt("wrong4")
    assert attempt(password, "basic")
    # Three consecutive failures lock the account: even the right password is refused, with any method.
    assert not attempt("wrong5") and not attempt("wrong6", "basic") and not attempt("wrong7")
    assert not attempt(password) and not attempt(password, "basic")
    assert lab.stats()["locked_accounts"] == ["helpdesk"]
    # Other accounts are not affected.
    assert whoami(lab.wsman("EX01", endpoint="windows")) == "ALLEO\\Administrator"
    lab.reset()
    assert attempt(password)


def test_ntlm_user_file_holds_no_password(lab_env) -> None:
    with open(lab_env.server.user_file, encoding="utf-8") as f:
        text = f.read()
    for acc in lab_env.lab.topology["accounts"]:
        assert acc["password"] not in text
        assert f"ALLEO\\{acc['name']}:" in text and f"{acc['name']}@alleo.intern:" in text


def test_two_labs_in_one_process_keep_their_own_accounts(lab_factory) -> None:
    first = lab_factory("first")
    accounts = [dict(a) for a in first.lab.topology["accounts"]]
    accounts[0]["password"] = "Another-Admin-2024!"
    second = lab_factory("second", changes={"accounts": accounts})
    assert whoami(second.wsman("EX01", endpoint="windows")) == "ALLEO\\Administrator"
    assert whoami(first.wsman("EX01", endpoint="windows")) == "ALLEO\\Administrator"
    assert first.admin_password != second.admin_password
    with pytest.raises(AuthenticationError):
        whoami(first.wsman("EX01", endpoint="windows", password=second.admin_password))

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos with the real pypsrp client and a real MIT KDC (the lab's realm), through the collection's own session.

Every client runs in a process of its own (``kerberos_probe.py``), so that each case has its own krb5
environment: ticket cache, name resolution (nss_wrapper) and clock (libfaketime). The cases are the ones an
Exchange administrator meets: HTTP with Kerberos message encryption, HTTPS with channel binding, each SPN
service, by name and by IP address, a ticket-cache logon, and every mistake with its own message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from lab import kerberos as lab_kerberos

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBE = os.path.join(REPO, "tests", "integration", "kerberos_probe.py")
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

REASON = lab_kerberos.unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
NEEDS_NAMES = pytest.mark.skipif(lab_kerberos.nss_wrapper() is None,
                                 reason="connecting by name needs nss_wrapper (Debian libnss-wrapper) for the lab's host names")
NEEDS_FAKETIME = pytest.mark.skipif(lab_kerberos.faketime() is None, reason="a skewed clock needs libfaketime (Debian faketime)")

ADMIN = "Administrator@ALLEO.INTERN"
ADMIN_PASSWORD = "Lab-Admin-2019!"
FQDN = "ex01.alleo.intern"


@pytest.fixture(scope="module")
def krb(tmp_path_factory):
    """One Kerberos lab for the module (a realm per test would cost 0.2 s each; tests reset what they change)."""
    from lab.pytest_plugin import start_lab  # pylint: disable=import-outside-toplevel

    handle = start_lab(str(tmp_path_factory.mktemp("krb-lab")), kerberos=True)
    yield handle
    handle.stop()


@pytest.fixture
def lab(krb):
    krb.reset()
    krb.clear_faults()
    yield krb
    krb.reset()


def realm(handle):
    return handle.running.server.realm


def client_env(handle, ccache=None, by_name=False, clock=None):
    env = realm(handle).process_env(ccache, by_name=by_name)
    if clock:
        env["LD_PRELOAD"] = " ".join(p for p in (env.get("LD_PRELOAD"), lab_kerberos.faketime()) if p)
        env.update(FAKETIME=clock, FAKETIME_DONT_FAKE_MONOTONIC="1")
    return env


def probe(handle, params=None, *, ccache=None, by_name=False, clock=None, times=1, https=False, host="EX01",
          kind="exchange"):
    ep = handle.host(host)
    port_name = ("https" if https else "http") if kind == "exchange" else ("wsman_https" if https else "wsman_http")
    base = dict(connection_server=ep.address, protocol="https" if https else "http", auth="kerberos",
                connection_port=ep.ports[port_name],
                negotiate_hostname_override="%s.alleo.intern" % host.lower(), username=ADMIN, password=ADMIN_PASSWORD)
    if https:
        base["ca_cert"] = handle.ca_file
    base.update(params or {})
    base = dict((k, v) for k, v in base.items() if v is not None)
    proc = subprocess.run([sys.executable, PROBE, json.dumps({"params": base, "times": times, "kind": kind})],
                          env=client_env(handle, ccache, by_name, clock), capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def kdc_log(handle):
    with open(realm(handle).log_file, encoding="utf-8") as f:
        return f.read()


def kinit(handle, tmp_path, principal=ADMIN, password=ADMIN_PASSWORD, lifetime=None):
    cache = str(tmp_path / "ccache")
    realm(handle).kinit(principal, password, cache, lifetime=lifetime)
    return cache


def only(result):
    assert len(result["results"]) == 1, result
    return result["results"][0]


# -- it works ----------------------------------------------------------------------------------------------

def test_http_with_kerberos_message_encryption(lab):
    before = lab.host_stats("EX01")["logons"]
    result = probe(lab)
    assert only(result)["ok"], result
    assert result["negotiated"] == "kerberos" and result["warnings"] == []
    assert lab.host_stats("EX01")["logons"] == before + 1
    # The lab refuses plaintext SOAP over http: the cmdlet ran, so every message was sealed with the Kerberos key.
    assert lab.requests() and all(r["status"] != 401 for r in lab.requests() if r["host"] == "EX01")


def test_https_with_channel_binding(lab):
    result = probe(lab, https=True)
    assert only(result)["ok"], result
    assert result["negotiated"] == "kerberos"


def test_https_channel_binding_is_checked(lab):
    """The server compares the client's binding with its own certificate's: a relayed ticket (here: a server that
    expects another certificate's binding) is refused."""
    tls = lab.running.server.tls
    real = tls.channel_binding
    tls.channel_binding = b"tls-server-end-point:" + bytes(32)
    try:
        res = only(probe(lab, https=True))
    finally:
        tls.channel_binding = real
    assert res["type"] == "AuthenticationFailed", res
    assert only(probe(lab, https=True))["ok"]


def test_https_refuses_a_certificate_it_cannot_check(lab):
    result = probe(lab, {"ca_cert": None}, https=True)
    assert not only(result)["ok"] and only(result)["type"] == "Unreachable", result
    assert "TLS" in only(result)["message"] and "ansible_psrp_ca_cert" in only(result)["message"]


@pytest.mark.parametrize("service", ["WSMAN", "HTTP", "host"])
def test_each_spn_service_is_asked_for_as_given(lab, service):
    result = probe(lab, {"negotiate_service": service})
    assert only(result)["ok"], result
    assert "for %s/%s@ALLEO.INTERN" % (service, FQDN) in kdc_log(lab)


def test_without_a_service_pypsrp_asks_for_host(lab):
    marker = len(kdc_log(lab))
    assert only(probe(lab))["ok"]
    tgs = [line for line in kdc_log(lab)[marker:].splitlines() if "TGS_REQ" in line and "ISSUE" in line]
    assert tgs and all("for host/%s@ALLEO.INTERN" % FQDN in line for line in tgs), tgs


def test_a_service_the_server_does_not_have_is_named(lab):
    result = probe(lab, {"negotiate_service": "cifs"})
    res = only(result)
    assert res["type"] == "ConfigurationError", res
    assert "no service principal cifs/%s@ALLEO.INTERN" % FQDN in res["message"]
    assert "setspn -S cifs/%s" % FQDN in res["message"] and "negotiate_service" in res["message"]


@NEEDS_NAMES
def test_by_name_without_an_override(lab):
    result = probe(lab, {"connection_server": FQDN, "negotiate_hostname_override": None}, by_name=True)
    assert only(result)["ok"], result
    assert result["negotiated"] == "kerberos"


@NEEDS_NAMES
def test_https_by_name(lab):
    result = probe(lab, {"connection_server": FQDN, "negotiate_hostname_override": None}, by_name=True, https=True)
    assert only(result)["ok"], result


def test_by_ip_with_the_override(lab):
    result = probe(lab)
    assert only(result)["ok"] and result["negotiated"] == "kerberos"


def test_by_ip_without_the_override_fails_before_the_first_request(lab):
    lab.reset_stats()
    marker = len(kdc_log(lab))
    res = only(probe(lab, {"negotiate_hostname_override": None}))
    assert res["type"] == "ConfigurationError" and res["stage"] == "resolve", res
    assert "ansible_psrp_negotiate_hostname_override" in res["message"] and "IP address" in res["message"]
    assert lab.host_stats("EX01")["requests"] == 0 and lab.host_stats("EX01")["http_posts"] == 0
    assert kdc_log(lab)[marker:] == ""


def test_negotiate_falling_back_to_ntlm_is_a_warning_when_kerberos_was_asked_for(lab):
    result = probe(lab, {"auth": "negotiate", "negotiate_hostname_override": None})
    assert only(result)["ok"] and result["negotiated"] == "ntlm"
    assert len(result["warnings"]) == 1 and "fell back to NTLM" in result["warnings"][0]
    assert "ansible_psrp_negotiate_hostname_override" in result["warnings"][0]
    # The same fallback without any sign of Kerberos in the settings (a DOMAIN\user name) is plain NTLM: no warning.
    quiet = probe(lab, {"auth": "negotiate", "negotiate_hostname_override": None, "username": "ALLEO\\Administrator"})
    assert only(quiet)["ok"] and quiet["negotiated"] == "ntlm" and quiet["warnings"] == []
    # With the override, negotiate picks Kerberos and says nothing.
    fine = probe(lab, {"auth": "negotiate"})
    assert only(fine)["ok"] and fine["negotiated"] == "kerberos" and fine["warnings"] == []


@pytest.mark.parametrize("auth", ["kerberos", "negotiate"])
def test_ticket_cache_logon_without_a_user_name(lab, tmp_path, auth):
    cache = kinit(lab, tmp_path)
    result = probe(lab, {"username": None, "password": None, "auth": auth}, ccache=cache)
    assert only(result)["ok"], result
    assert result["negotiated"] == "kerberos"


def test_ticket_cache_logon_with_a_user_name_and_no_password(lab, tmp_path):
    cache = kinit(lab, tmp_path)
    result = probe(lab, {"password": None}, ccache=cache)
    assert only(result)["ok"], result


def test_windows_endpoint_over_psrp_with_kerberos(lab):
    result = probe(lab, {"negotiate_hostname_override": "xphone01.alleo.intern"}, host="XPHONE01", kind="windows")
    assert only(result)["ok"], result


# -- every mistake has its own message, and none is tried again ------------------------------------------------

def assert_not_retried(result, kind, *words):
    first, second = result["results"]
    assert first["type"] == kind and second["type"] == kind, result
    assert first["message"] == second["message"]
    for word in words:
        assert word in first["message"], (word, first["message"])
    assert "Cannot talk" not in first["message"] and "Unexpected failure" not in first["message"]
    return first


def test_wrong_password(lab):
    before = realm(lab).requests("PREAUTH_FAILED", "helpdesk@ALLEO.INTERN")
    res = assert_not_retried(probe(lab, {"username": "helpdesk@ALLEO.INTERN", "password": "not-it"}, times=2),
                             "AuthenticationFailed", "rejected the password of helpdesk@ALLEO.INTERN",
                             "Preauthentication failed", "not tried again")
    assert res["unreachable"] is True and "not-it" not in json.dumps(res)
    # One failed pre-authentication at the KDC, although the session was asked twice.
    assert realm(lab).requests("PREAUTH_FAILED", "helpdesk@ALLEO.INTERN") == before + 1


def test_unknown_user(lab):
    assert_not_retried(probe(lab, {"username": "nobody@ALLEO.INTERN"}, times=2), "AuthenticationFailed",
                       "does not know the user nobody@ALLEO.INTERN", "user@REALM")


def test_realm_in_lower_case(lab):
    assert_not_retried(probe(lab, {"username": "Administrator@alleo.intern"}, times=2), "ConfigurationError",
                       "realms are upper case", "Administrator@ALLEO.INTERN")


def test_domain_backslash_user_is_refused_before_anything_is_sent(lab):
    marker = len(kdc_log(lab))
    res = only(probe(lab, {"username": "ALLEO\\Administrator"}))
    assert res["type"] == "ConfigurationError" and res["stage"] == "resolve"
    assert "Administrator@ALLEO" in res["message"] and "not ALLEO\\Administrator" in res["message"]
    assert kdc_log(lab)[marker:] == ""


def test_no_credentials_and_no_cache(lab, tmp_path):
    res = assert_not_retried(probe(lab, {"username": None, "password": None}, ccache=str(tmp_path / "empty"), times=2),
                             "ConfigurationError", "kinit", "ansible_user")
    assert str(tmp_path / "empty") in res["message"]


def test_user_without_password_and_no_ticket_for_it(lab, tmp_path):
    assert_not_retried(probe(lab, {"password": None}, ccache=str(tmp_path / "empty"), times=2), "ConfigurationError",
                       "no ticket for Administrator@ALLEO.INTERN", "kinit Administrator@ALLEO.INTERN")


def test_expired_ticket(lab, tmp_path):
    cache = kinit(lab, tmp_path, lifetime="2s")
    time.sleep(3)
    assert_not_retried(probe(lab, {"username": None, "password": None}, ccache=cache, times=2), "AuthenticationFailed",
                       "has expired", "kinit")


@NEEDS_FAKETIME
def test_clock_skew_at_the_kdc(lab, tmp_path):
    # The ticket was cached with the right time; then the controller's clock went 3 hours ahead.
    cache = kinit(lab, tmp_path)
    assert_not_retried(probe(lab, {"username": None, "password": None}, ccache=cache, clock="+3h", times=2),
                       "ConfigurationError", "clock", "NTP")


@NEEDS_FAKETIME
def test_clock_skew_at_the_server_is_a_401_with_the_reason_in_the_lab_log(lab, tmp_path, caplog):
    # The controller and the KDC agree on a time one hour ahead of the server's: the server refuses the ticket.
    cache = kinit(lab, tmp_path)
    caplog.set_level("INFO", logger="lab.server")
    realm(lab).set_kdc_clock("+1h")
    try:
        res = assert_not_retried(probe(lab, {"username": None, "password": None}, ccache=cache, clock="+1h", times=2),
                                 "AuthenticationFailed", "refused the Kerberos ticket", "clock")
    finally:
        realm(lab).set_kdc_clock("+0")
    assert "host/%s" % FQDN in res["message"]
    # MIT's acceptor reads a ticket from an hour ahead as "not yet valid" (33) or its authenticator as skewed (37).
    assert "ap_tkt_nyv (33): Ticket not yet valid" in caplog.text or "ap_skew (37)" in caplog.text


def test_stale_keytab_is_a_401_with_the_reason_in_the_lab_log(lab, caplog):
    realm(lab).rekey_service("EX01", "WSMAN")
    caplog.set_level("INFO", logger="lab.server")
    try:
        res = assert_not_retried(probe(lab, {"negotiate_service": "WSMAN"}, times=2), "AuthenticationFailed",
                                 "refused the Kerberos ticket", "WSMAN/%s" % FQDN, "stale")
    finally:
        realm(lab).kadmin(["ktadd -k %s WSMAN/%s@ALLEO.INTERN" % (realm(lab).keytab, FQDN)])
    assert res["unreachable"] is True
    assert "ap_badkeyver (44): Specified version of key is not available" in caplog.text
    assert lab.host_stats("EX01")["failed_logons"] >= 1


def test_account_revoked_at_the_kdc(lab):
    realm(lab).kadmin(["modprinc -allow_tix jdoe@ALLEO.INTERN"])
    try:
        assert_not_retried(probe(lab, {"username": "jdoe@ALLEO.INTERN", "password": "Lab-User-2019!"}, times=2),
                           "AuthenticationFailed", "locked out or disabled", "revoked")
    finally:
        realm(lab).kadmin(["modprinc +allow_tix jdoe@ALLEO.INTERN"])


def test_lockout_after_the_threshold_reads_revoked_even_with_the_right_password(lab):
    threshold = realm(lab).lockout_threshold
    assert threshold == 5
    for _attempt in range(threshold):
        # MIT restarts the count for failures in the second of an administrator's unlock (the lab's reset).
        time.sleep(1.05)
        res = only(probe(lab, {"username": "helpdesk@ALLEO.INTERN", "password": "not-it"}))
        assert "rejected the password" in res["message"]
    assert realm(lab).failures("helpdesk") == threshold
    res = only(probe(lab, {"username": "helpdesk@ALLEO.INTERN", "password": "Lab-Helpdesk-2019!"}))
    assert res["type"] == "AuthenticationFailed" and "locked out or disabled" in res["message"], res
    lab.reset()     # the lab's reset unlocks the account at the KDC too
    # Logged on again: helpdesk holds no Exchange role, so the cmdlet itself is what is refused now.
    res = only(probe(lab, {"username": "helpdesk@ALLEO.INTERN", "password": "Lab-Helpdesk-2019!"}))
    assert res["type"] == "AuthorizationFailed" and "Get-OrganizationConfig" in res["message"], res


# -- the whole site.yml over Kerberos ---------------------------------------------------------------------------

@NEEDS_NAMES
def test_site_over_kerberos_then_nothing_to_do(lab, tmp_path):
    # The inventory gives Administrator@ALLEO.INTERN with its password: the collection gets the tickets itself.
    env = client_env(lab, str(tmp_path / "ccache"), by_name=True)
    demo_vars = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
    marker = len(kdc_log(lab))
    first = ansible_run.run_playbook("playbooks/site.yml", lab.inventory, str(tmp_path), extra_vars=(demo_vars,), env=env)
    assert first.rc == 0 and first.failed == 0, first.output
    assert first.hosts["ex01"]["changed"] >= 3, first.output
    again = ansible_run.run_playbook("playbooks/site.yml", lab.inventory, str(tmp_path), extra_vars=(demo_vars,), env=env)
    assert again.rc == 0 and again.changed == 0, again.output
    issued = kdc_log(lab)[marker:]
    # Every Exchange server was reached with Kerberos, by name, with the SPN ansible-core's psrp plugin asks for.
    for host in ("ex01", "ex02", "ex03"):
        assert "for WSMAN/%s.alleo.intern@ALLEO.INTERN" % host in issued, host
    assert lab.stats()["auth_failures"] == 0

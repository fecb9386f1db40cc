"""The lab's Kerberos realm: a real MIT KDC built from the topology, the lab's child, changing nothing global."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from pypsrp.exceptions import AuthenticationError
from pypsrp.powershell import RunspacePool

from lab import kerberos
from lab.model import SecureString

from helpers import invoke

REASON = kerberos.unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
LAB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def principals(realm):
    out = realm.kadmin(["listprincs"])
    return {line.strip() for line in out.splitlines() if "@" in line and not line.startswith("kadmin")}


def keytab(realm):
    out = subprocess.run([kerberos.tool("klist"), "-k", realm.keytab], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if "@" in line}


def kinit_ok(realm, principal, password, tmp_path):
    try:
        realm.kinit(principal, password, str(tmp_path / "cc"))
    except kerberos.KadminError as err:
        return str(err)
    return True


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def krb_lab(lab_factory):
    return lab_factory(kerberos=True)


def test_the_realm_is_built_from_the_topology(krb_lab):
    realm = krb_lab.running.server.realm
    assert realm.name == "ALLEO.INTERN"
    names = principals(realm)
    # Every account with its password, in its own spelling and in lower case (MIT matches case-sensitively, AD not).
    for account in ("Administrator", "administrator", "helpdesk", "jdoe"):
        assert f"{account}@ALLEO.INTERN" in names, account
    expected_spns = {f"{service}/{name}@ALLEO.INTERN" for host in ("ex01", "ex02", "ex03", "xphone01")
                     for service in ("host", "HTTP", "WSMAN") for name in (f"{host}.alleo.intern", host)}
    assert expected_spns <= names
    assert expected_spns <= keytab(realm)
    # Accounts are not in the keytab: it holds the servers' keys only.
    assert not any(p.startswith(("Administrator@", "jdoe@")) for p in keytab(realm))


def test_accounts_log_on_with_their_passwords_and_not_without(krb_lab, tmp_path):
    realm = krb_lab.running.server.realm
    assert kinit_ok(realm, "Administrator@ALLEO.INTERN", "Lab-Admin-2019!", tmp_path) is True
    assert kinit_ok(realm, "administrator@ALLEO.INTERN", "Lab-Admin-2019!", tmp_path) is True
    refused = kinit_ok(realm, "jdoe@ALLEO.INTERN", "Lab-Admin-2019!", tmp_path)
    assert "Password incorrect" in refused and "Lab-Admin-2019!" not in refused


def test_the_kdc_is_the_labs_child_and_stops_with_it(lab_factory):
    handle = lab_factory("short", kerberos=True)
    realm = handle.running.server.realm
    pid, port = realm.proc.pid, realm.port
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        assert int(f.read().split(") ", 1)[1].split()[1]) == os.getpid()
    assert port_open(port)
    # Loopback only: the KDC listens on 127.0.0.1, nowhere else.
    with open(realm.kdc_conf, encoding="utf-8") as f:
        assert f"kdc_tcp_listen = 127.0.0.1:{port}" in f.read()
    handle.stop()
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat", encoding="utf-8").read().split(") ", 1)[1][0] == "Z"
    assert not port_open(port)


def test_nothing_global_changes(lab_factory, tmp_path):
    def global_state():
        conf = "/etc/krb5.conf"
        return (os.path.exists(conf) and os.stat(conf).st_mtime_ns, os.environ.get("KRB5_CONFIG"),
                os.environ.get("KRB5_KTNAME"), os.environ.get("KRB5CCNAME"))

    before = global_state()
    handle = lab_factory("global", kerberos=True)
    realm = handle.running.server.realm
    # While it runs, the lab's own acceptor reads the lab's files through the environment of this process.
    assert os.environ["KRB5_CONFIG"] == realm.krb5_conf and os.environ["KRB5_KTNAME"] == "FILE:" + realm.keytab
    assert realm.krb5_conf.startswith(str(tmp_path)) and realm.keytab.startswith(str(tmp_path))
    env = realm.client_env()
    assert env["KRB5_CONFIG"] == realm.krb5_conf and env["KRB5CCNAME"].startswith("FILE:" + str(tmp_path))
    handle.stop()
    assert global_state() == before


def test_one_kerberos_lab_per_process(krb_lab, lab_factory):
    with pytest.raises(RuntimeError, match="another Kerberos lab runs in this process"):
        lab_factory("second", kerberos=True)


def test_an_account_a_cmdlet_creates_or_repasswords_gets_its_principal(krb_lab, tmp_path):
    realm = krb_lab.running.server.realm
    assert "MAPIAccount@ALLEO.INTERN" not in principals(realm)
    krb_lab.exchange("New-Mailbox", Name="MAPIAccount", Password=SecureString("Xphone-Mapi-2026!"),
                     UserPrincipalName="MAPIAccount@alleo.intern", Database="DB01")
    assert "MAPIAccount@ALLEO.INTERN" in principals(realm)
    assert kinit_ok(realm, "MAPIAccount@ALLEO.INTERN", "Xphone-Mapi-2026!", tmp_path) is True
    krb_lab.exchange("Set-Mailbox", Identity="MAPIAccount", Password=SecureString("Xphone-Mapi-2027!"))
    assert kinit_ok(realm, "MAPIAccount@ALLEO.INTERN", "Xphone-Mapi-2027!", tmp_path) is True
    assert "Password incorrect" in kinit_ok(realm, "MAPIAccount@ALLEO.INTERN", "Xphone-Mapi-2026!", tmp_path)
    # kadmin never saw the password on its command line, and the lab's log files do not hold it.
    for name in os.listdir(realm.dir):
        path = os.path.join(realm.dir, name)
        if os.path.isfile(path) and not name.startswith(("principal", "stash")):
            with open(path, "rb") as f:
                assert b"Xphone-Mapi-2027!" not in f.read(), name


def test_the_real_client_logs_on_with_kerberos_and_a_stale_keytab_is_a_401(krb_lab, caplog):
    caplog.set_level("INFO", logger="lab.server")
    wsman = krb_lab.wsman("EX01", auth="kerberos", username="Administrator@ALLEO.INTERN", password="Lab-Admin-2019!",
                          negotiate_hostname_override="ex01.alleo.intern")
    with RunspacePool(wsman, configuration_name="Microsoft.Exchange") as pool:
        assert invoke(pool, "Get-OrganizationConfig").output
    assert wsman.transport.session.auth.contexts[krb_lab.host("EX01").address].negotiated_protocol == "kerberos"
    failed = krb_lab.host_stats("EX01")["failed_logons"]
    krb_lab.running.server.realm.rekey_service("EX01", "host")
    wsman = krb_lab.wsman("EX01", auth="kerberos", username="Administrator@ALLEO.INTERN", password="Lab-Admin-2019!",
                          negotiate_hostname_override="ex01.alleo.intern")
    # Before the fix the lab dropped the connection (the client saw RemoteDisconnected); Windows answers 401.
    with pytest.raises(AuthenticationError):
        RunspacePool(wsman, configuration_name="Microsoft.Exchange").open()
    assert krb_lab.host_stats("EX01")["failed_logons"] == failed + 1
    assert "Kerberos authentication failed: ap_badkeyver (44)" in caplog.text


def test_lab_up_kerberos_prints_the_client_environment(tmp_path):
    directory = str(tmp_path / "cli")
    env = dict(os.environ, PYTHONPATH=LAB_ROOT)
    up = subprocess.run([sys.executable, "-m", "lab", "up", "--dir", directory, "--free-ports", "--kerberos"],
                        env=env, capture_output=True, text=True, timeout=60, check=False)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "realm ALLEO.INTERN" in up.stdout and "export KRB5_CONFIG=" in up.stdout
        with open(os.path.join(directory, "lab.json"), encoding="utf-8") as f:
            info = json.load(f)
        kdc_pid = info["kerberos"]["kdc_pid"]
        exports = subprocess.run([sys.executable, "-m", "lab", "env", "--dir", directory], env=env, capture_output=True,
                                 text=True, timeout=30, check=True).stdout
        assert f"export KRB5_CONFIG={directory}/kerberos/krb5.conf" in exports
        assert "export KRB5CCNAME=" in exports
        with open(info["inventory"], encoding="utf-8") as f:
            inventory = f.read()
        assert "ansible_psrp_auth: kerberos" in inventory and "Administrator@ALLEO.INTERN" in inventory
    finally:
        down = subprocess.run([sys.executable, "-m", "lab", "down", "--dir", directory], env=env, capture_output=True,
                              text=True, timeout=30, check=False)
    assert down.returncode == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.path.exists(f"/proc/{kdc_pid}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{kdc_pid}"), "the KDC outlived the lab"


def test_lab_env_without_kerberos_says_so(tmp_path):
    directory = str(tmp_path / "plain")
    env = dict(os.environ, PYTHONPATH=LAB_ROOT)
    subprocess.run([sys.executable, "-m", "lab", "up", "--dir", directory, "--free-ports"], env=env, check=True,
                   capture_output=True, timeout=60)
    try:
        out = subprocess.run([sys.executable, "-m", "lab", "env", "--dir", directory], env=env, capture_output=True,
                             text=True, timeout=30, check=False)
        assert out.returncode == 1 and "--kerberos" in out.stderr
    finally:
        subprocess.run([sys.executable, "-m", "lab", "down", "--dir", directory], env=env, check=False, timeout=30)


def test_the_kdc_ends_when_the_lab_is_killed(tmp_path):
    """A lab that dies without its stop() (SIGKILL of the serve process) must not leave a KDC behind."""
    directory = str(tmp_path / "killed")
    env = dict(os.environ, PYTHONPATH=LAB_ROOT)
    subprocess.run([sys.executable, "-m", "lab", "up", "--dir", directory, "--free-ports", "--kerberos"], env=env,
                   check=True, capture_output=True, timeout=60)
    with open(os.path.join(directory, "lab.json"), encoding="utf-8") as f:
        info = json.load(f)
    os.kill(info["pid"], signal.SIGKILL)
    kdc_pid = info["kerberos"]["kdc_pid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and os.path.exists(f"/proc/{kdc_pid}"):
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{kdc_pid}"), "the KDC outlived a killed lab"

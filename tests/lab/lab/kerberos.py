"""A real MIT Kerberos realm for the lab: ``krb5kdc`` on a free loopback port, the lab's child process.

``Realm(directory, topology).start()`` writes every file into ``directory`` and changes nothing global:

- ``krb5.conf``      the clients' and the acceptor's profile (``KRB5_CONFIG``): the realm, its KDC, no DNS;
- ``kdc-clock``      the KDC's clock offset when libfaketime is installed (``set_kdc_clock("+1h")``): a client and
                     a KDC that agree on a time 1 h ahead of the lab's server show what a server with a wrong
                     clock does (it refuses the ticket: a 401); a client alone ahead of the KDC is refused by the
                     KDC ("Clock skew too great");
- ``kdc.conf``       ``KRB5_KDC_PROFILE`` for krb5kdc, kdb5_util and kadmin.local (database, stash, ports);
- ``lab.keytab``     the acceptor's keys (``KRB5_KTNAME``): ``host/``, ``HTTP/`` and ``WSMAN/`` of every host,
                     by its FQDN and its short name;
- ``hosts``          host names to the lab's loopback addresses, for nss_wrapper (``NSS_WRAPPER_HOSTS``), so that a
                     client process may connect by name without touching /etc/hosts.

Accounts: each account of the lab gets its principal (``Name@REALM``, and ``name@REALM`` when the spelling differs:
MIT matches names case-sensitively, Active Directory does not) with its password and the ``lockout`` policy
(``maxfailure`` = the topology's ``lockout_threshold``), so that a KDC locks an account as AD does and answers
"Client's credentials have been revoked". Disabled accounts lose ``allow_tix``. ``sync`` is called again whenever
the lab's accounts change (New-Mailbox, Set-Mailbox -Password), so those accounts can log on with Kerberos too.

Every principal's pre-authentication is required (``+preauth``), so a wrong password reads "Preauthentication
failed" as with AD.
"""

from __future__ import annotations

import ctypes.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import typing as t

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
KDC_TOOLS = ("krb5kdc", "kdb5_util", "kadmin.local")
CLIENT_TOOLS = ("kinit", "kdestroy", "klist")
SERVICES = ("host", "HTTP", "WSMAN")
NSS_WRAPPER_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", "/usr/lib/aarch64-linux-gnu/libnss_wrapper.so",
                          "/usr/lib64/libnss_wrapper.so", "/usr/lib/libnss_wrapper.so")
FAKETIME_CANDIDATES = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1", "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                       "/usr/lib64/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1")
# Only one realm per process: the acceptor reads KRB5_CONFIG and KRB5_KTNAME from the process environment.
_ACTIVE: list["Realm"] = []
_ACTIVE_LOCK = threading.Lock()


def tool(name: str) -> str | None:
    """The path of an MIT tool (the KDC's live in /usr/sbin, often not on a non-root PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for directory in SBIN_DIRS:
        path = os.path.join(directory, name)
        if os.access(path, os.X_OK):
            return path
    return None


def _first_existing(paths: t.Iterable[str]) -> str | None:
    return next((p for p in paths if os.path.exists(p)), None)


def nss_wrapper() -> str | None:
    return _first_existing(NSS_WRAPPER_CANDIDATES) or ctypes.util.find_library("nss_wrapper")


def faketime() -> str | None:
    return _first_existing(FAKETIME_CANDIDATES)


def unavailable_reason() -> str | None:
    """Why a Kerberos lab cannot run here (None when it can)."""
    missing = [name for name in KDC_TOOLS + CLIENT_TOOLS if tool(name) is None]
    if missing:
        return ("MIT Kerberos tools missing (%s): install the Debian packages krb5-kdc krb5-admin-server krb5-user "
                "(tests/tools/install-kerberos does)" % ", ".join(missing))
    try:
        import gssapi  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        import krb5  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError as err:
        return ("the Kerberos extras of pyspnego (gssapi, krb5) are not installed (%s): they compile against "
                "libkrb5-dev; `make venv` installs them where that package is present" % err)
    return None


def _die_with_parent() -> None:
    """In the KDC's process before exec: end it when the lab's process ends, even by SIGKILL (Linux only)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KadminError(Exception):
    pass


class Realm:
    """One realm, its KDC process and its files in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str, topology: dict[str, t.Any], addresses: dict[str, str] | None = None) -> None:
        domain = topology.get("domain") or {}
        self.fqdn = str(domain.get("fqdn") or "lab.test").lower()
        self.name = self.fqdn.upper()
        self.dir = os.path.abspath(directory)
        self.hosts = [h["name"] for h in topology.get("hosts") or []]
        self.addresses = dict(addresses or {h["name"]: h["address"] for h in topology.get("hosts") or []})
        self.lockout_threshold = int((topology.get("limits") or {}).get("lockout_threshold") or 0)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.krb5_conf = os.path.join(self.dir, "krb5.conf")
        self.kdc_clock = os.path.join(self.dir, "kdc-clock")
        self.kdc_conf = os.path.join(self.dir, "kdc.conf")
        self.keytab = os.path.join(self.dir, "lab.keytab")
        self.ccache = os.path.join(self.dir, "ccache")
        self.hosts_file = os.path.join(self.dir, "hosts")
        self.log_file = os.path.join(self.dir, "krb5kdc.log")
        self._known: dict[str, tuple[str | None, bool]] = {}    # principal -> (password, enabled) as last set
        self._lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}

    # -- files ------------------------------------------------------------------------------------------
    def _profile(self) -> str:
        return (
            "[libdefaults]\n"
            f"    default_realm = {self.name}\n"
            "    dns_lookup_kdc = false\n"
            "    dns_lookup_realm = false\n"
            "    dns_canonicalize_hostname = false\n"
            "    rdns = false\n"
            "    udp_preference_limit = 1\n"
            "    forwardable = true\n"
            "[realms]\n"
            f"    {self.name} = {{\n"
            f"        kdc = 127.0.0.1:{self.port}\n"
            "    }\n"
            "[domain_realm]\n"
            f"    .{self.fqdn} = {self.name}\n"
            f"    {self.fqdn} = {self.name}\n"
        )

    def _write(self, path: str, text: str, mode: int = 0o644) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)

    def _write_files(self) -> None:
        # A realm is built fresh every time: the directory is the realm's alone.
        if os.path.isdir(self.dir):
            shutil.rmtree(self.dir)
        os.makedirs(self.dir, mode=0o700)
        self._write(self.krb5_conf, self._profile())
        self._write(self.kdc_clock, "+0\n")
        self._write(self.kdc_conf, (
            "[kdcdefaults]\n"
            f"    kdc_listen = 127.0.0.1:{self.port}\n"
            f"    kdc_tcp_listen = 127.0.0.1:{self.port}\n"
            "[realms]\n"
            f"    {self.name} = {{\n"
            f"        database_name = {os.path.join(self.dir, 'principal')}\n"
            f"        key_stash_file = {os.path.join(self.dir, 'stash')}\n"
            f"        acl_file = {os.path.join(self.dir, 'kadm5.acl')}\n"
            "        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal\n"
            "        default_principal_flags = +preauth\n"
            "        max_life = 10h 0m 0s\n"
            "        max_renewable_life = 7d 0h 0m 0s\n"
            "    }\n"
            "[logging]\n"
            f"    kdc = FILE:{self.log_file}\n"
        ))
        self._write(os.path.join(self.dir, "kadm5.acl"), "")
        lines = ["127.0.0.1 localhost"]
        for host in self.hosts:
            address = self.addresses.get(host)
            if address:
                lines.append(f"{address} {self.host_fqdn(host)} {host.lower()}")
        self._write(self.hosts_file, "\n".join(lines) + "\n")

    def host_fqdn(self, host: str) -> str:
        return f"{host.lower()}.{self.fqdn}"

    # -- environment --------------------------------------------------------------------------------------
    @staticmethod
    def _clean_env() -> dict[str, str]:
        """This process's environment without any Kerberos, preload, nss_wrapper or faketime setting."""
        return {k: v for k, v in os.environ.items()
                if not k.startswith(("KRB5", "LD_PRELOAD", "NSS_WRAPPER", "FAKETIME"))}

    def kdc_env(self) -> dict[str, str]:
        env = self._clean_env()
        env.update(KRB5_CONFIG=self.krb5_conf, KRB5_KDC_PROFILE=self.kdc_conf)
        return env

    def process_env(self, ccache: str | None = None, by_name: bool = True) -> dict[str, str]:
        """A whole environment for a client process of this realm (``client_env`` over a clean one)."""
        env = self._clean_env()
        env.update(self.client_env(ccache, by_name=by_name))
        return env

    def _kdc_process_env(self) -> dict[str, str]:
        env = self.kdc_env()
        fake = faketime()
        if fake:
            # The KDC's clock follows the kdc-clock file (read at every call), so a test can move it.
            env.update(LD_PRELOAD=fake, FAKETIME_TIMESTAMP_FILE=self.kdc_clock, FAKETIME_NO_CACHE="1",
                       FAKETIME_DONT_FAKE_MONOTONIC="1")
        return env

    def set_kdc_clock(self, offset: str = "+0") -> None:
        """Move the KDC's clock (libfaketime's offset syntax: ``+1h``, ``-10m``; ``+0`` is the real time)."""
        if not faketime():
            raise RuntimeError("moving the KDC's clock needs libfaketime (Debian faketime)")
        self._write(self.kdc_clock, offset + "\n")

    def client_env(self, ccache: str | None = None, by_name: bool = True) -> dict[str, str]:
        """What a client process needs: the profile, a credential cache and (by name) nss_wrapper's hosts file."""
        env = {"KRB5_CONFIG": self.krb5_conf, "KRB5CCNAME": "FILE:" + (ccache or self.ccache)}
        wrapper = nss_wrapper() if by_name else None
        if wrapper:
            env.update(LD_PRELOAD=wrapper, NSS_WRAPPER_HOSTS=self.hosts_file)
        return env

    def acceptor_env(self) -> dict[str, str]:
        return {"KRB5_CONFIG": self.krb5_conf, "KRB5_KTNAME": "FILE:" + self.keytab}

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self, accounts: t.Iterable[dict[str, t.Any]] = ()) -> "Realm":
        reason = unavailable_reason()
        if reason:
            raise RuntimeError("cannot start a Kerberos realm: " + reason)
        with _ACTIVE_LOCK:
            if _ACTIVE:
                raise RuntimeError("another Kerberos lab runs in this process (%s): the acceptor reads KRB5_CONFIG "
                                   "and KRB5_KTNAME from the environment, so one at a time" % _ACTIVE[0].dir)
            _ACTIVE.append(self)
        try:
            self.port = _free_port()
            self._write_files()
            master = secrets.token_urlsafe(24)
            self._run([tool("kdb5_util"), "create", "-s", "-r", self.name, "-P", master], secret=master)
            script = []
            if self.lockout_threshold:
                script.append(f"addpol -maxfailure {self.lockout_threshold} -failurecountinterval 0 "
                              f"-lockoutduration 0 lockout")
            spns = []
            for host in self.hosts:
                for service in SERVICES:
                    for name in (self.host_fqdn(host), host.lower()):
                        spns.append(f"{service}/{name}@{self.name}")
            for spn in spns:
                script.append(f"addprinc -randkey {spn}")
            script.append(f"ktadd -k {self.keytab} -norandkey " + " ".join(spns))
            self.kadmin(script)
            self.sync(accounts)
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [tool("krb5kdc"), "-n", "-r", self.name], env=self._kdc_process_env(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=open(self.log_file + ".stderr", "ab"),  # pylint: disable=consider-using-with
                close_fds=True, preexec_fn=_die_with_parent)  # pylint: disable=subprocess-popen-preexec-fn
            self._wait_listening()
            self._set_env()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"krb5kdc exited with {self.proc.returncode}; see {self.log_file}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"krb5kdc did not listen on 127.0.0.1:{self.port} within {timeout} s")

    def _set_env(self) -> None:
        for key, value in self.acceptor_env().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        with _ACTIVE_LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- administration ------------------------------------------------------------------------------------
    def _run(self, argv: list[t.Any], stdin: str | None = None, secret: str | None = None) -> str:
        proc = subprocess.run([str(a) for a in argv], input=stdin, env=self.kdc_env(), capture_output=True, text=True,
                              check=False, timeout=30)
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            if secret:
                out = out.replace(secret, "********")
            raise KadminError(f"{os.path.basename(str(argv[0]))} failed ({proc.returncode}): {out.strip()}")
        return out

    def kadmin(self, commands: list[str], secrets_in: t.Iterable[str] = ()) -> str:
        """Run kadmin.local commands (one process for all of them); passwords never reach an error message."""
        with self._lock:
            for attempt in range(4):
                try:
                    out = self._run([tool("kadmin.local"), "-r", self.name], stdin="\n".join(commands) + "\n")
                    break
                except KadminError as err:
                    # krb5kdc holds the database lock briefly while it records a logon (the lockout policy's counters);
                    # kadmin.local then fails to lock it. Under load that happens; wait and try again.
                    if attempt == 3 or "lock" not in str(err).lower():
                        raise
                    time.sleep(0.25 * (attempt + 1))
        for secret in secrets_in:
            out = out.replace(secret, "********")
        return out

    def principals(self, account: dict[str, t.Any]) -> list[str]:
        name = account["name"]
        names = [name] + ([name.lower()] if name.lower() != name else [])
        return [f"{n}@{self.name}" for n in names]

    def sync(self, accounts: t.Iterable[dict[str, t.Any]]) -> int:
        """Give every account with a known password its principals; returns how many principals were changed."""
        script: list[str] = []
        passwords: list[str] = []
        changed = 0
        policy = "-policy lockout " if self.lockout_threshold else ""
        for acc in accounts:
            password = acc.get("password")
            enabled = bool(acc.get("enabled", True))
            for principal in self.principals(acc):
                known = self._known.get(principal)
                if password is None:
                    continue
                if "\"" in password or "\n" in password:
                    continue     # kadmin's command line cannot carry it; such an account has no Kerberos logon
                if known is None:
                    script.append(f"addprinc {policy}-pw \"{password}\" {principal}")
                elif known[0] != password:
                    script.append(f"cpw -pw \"{password}\" {principal}")
                if known is None or known[1] != enabled:
                    script.append(f"modprinc {'+' if enabled else '-'}allow_tix {principal}")
                if known != (password, enabled):
                    changed += 1
                    passwords.append(password)
                    self._known[principal] = (password, enabled)
        if script:
            out = self.kadmin(script, passwords)
            if "error" in out.lower() or "unable" in out.lower():
                raise KadminError(out.strip())
        return changed

    def failures(self, account_name: str) -> int:
        """The KDC's count of failed pre-authentications for an account (all its spellings)."""
        total = 0
        for principal in self.principals({"name": account_name}):
            out = self.kadmin([f"getprinc {principal}"])
            for line in out.splitlines():
                if line.startswith("Failed password attempts:"):
                    total += int(line.split(":", 1)[1].strip())
        return total

    def requests(self, outcome: str, client: str) -> int:
        """How many requests for ``client`` (``name@REALM``) the KDC logged with ``outcome`` (``PREAUTH_FAILED``,
        ``ISSUE``, ``CLIENT_REVOKED``...): unlike the failure counter, which counts failures within one second
        once, every request counts."""
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return sum(1 for line in f if f": {outcome}: {client} for " in line)
        except OSError:
            return 0

    def unlock_all(self) -> None:
        """Clear every failure counter and lockout (the lab's reset)."""
        principals = list(self._known)
        if principals:
            self.kadmin([f"modprinc -unlock {p}" for p in principals])

    def rekey_service(self, host: str, service: str = "host") -> None:
        """Give a host's service principal a new key without updating the keytab: the acceptor's key is stale,
        as when a computer account's password changed and the server still holds the old one."""
        self.kadmin([f"cpw -randkey {service}/{self.host_fqdn(host)}@{self.name}"])

    def kinit(self, principal: str, password: str, ccache: str | None = None, lifetime: str | None = None,
              extra_env: dict[str, str] | None = None) -> None:
        """Put a TGT for ``principal`` into ``ccache`` (default: the realm's own), as an administrator's kinit does."""
        env = self.process_env(ccache, by_name=False)
        env.update(extra_env or {})
        argv = [tool("kinit")] + (["-l", lifetime] if lifetime else []) + [principal]
        proc = subprocess.run(argv, input=password + "\n", env=env, capture_output=True, text=True, check=False,
                              timeout=30)
        if proc.returncode != 0:
            raise KadminError(f"kinit {principal} failed: {(proc.stdout + proc.stderr).replace(password, '********').strip()}")

    def describe(self) -> dict[str, t.Any]:
        return {"realm": self.name, "kdc": f"127.0.0.1:{self.port}", "kdc_pid": self.proc.pid if self.proc else None,
                "krb5_config": self.krb5_conf,
                "keytab": self.keytab, "ccache": self.ccache, "hosts_file": self.hosts_file,
                "client_env": self.client_env(), "nss_wrapper": bool(nss_wrapper())}

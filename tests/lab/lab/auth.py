"""Authentication like a Windows WinRM listener: Basic and NTLM/Negotiate (pyspnego as acceptor).

pyspnego's NTLM acceptor reads the accounts from the file named by ``NTLM_USER_FILE`` each time a
context is created or an Authenticate message is checked. The file is written in smbpasswd form
(NT hashes, never a password) with one line per spelling a client may type, because pyspnego
matches the domain and user parts literally (case-insensitively).

Lockout: ``lockout_threshold`` consecutive failures lock an account; a locked account is refused even
with the right password until ``reset()``. A successful logon resets the account's counter.
Kerberos is accepted when the lab runs with a realm (``lab.kerberos``): the acceptor then finds its keys
through ``KRB5_KTNAME``; a handshake the acceptor cannot complete (stale keytab, clock skew, replay) is a
401 with the reason in the log, as Windows answers. CredSSP is not offered.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import typing as t

import spnego
from spnego.channel_bindings import GssChannelBindings
from spnego.exceptions import SpnegoError
from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1
from spnego._ntlm_raw.messages import Authenticate


class AuthFailed(Exception):
    """The request is refused with 401; ``account`` is the canonical name when it could be told."""

    def __init__(self, reason: str, account: str | None = None) -> None:
        super().__init__(reason)
        self.account = account


class Accounts:
    """The lab's accounts (from ``Lab.accounts()``) with every spelling a client may use."""

    def __init__(self, source: t.Callable[[], list[dict[str, t.Any]]], lockout_threshold: int = 0, *,
                 generation: t.Callable[[], int] | None = None,
                 check_hash: t.Callable[[t.Any, str], bool] | None = None) -> None:
        """``source`` returns the current accounts; it is read again whenever ``generation()`` changes
        (accounts created by cmdlets can log on), and the NTLM user file is rewritten then."""
        self._source = source
        self._generation = generation
        self._check_hash = check_hash
        self.lockout_threshold = lockout_threshold
        self.user_file: str | None = None
        # Called with the accounts whenever they change (the Kerberos realm gives new accounts their principal).
        self.listeners: list[t.Callable[[list[dict[str, t.Any]]], t.Any]] = []
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._accounts: list[dict[str, t.Any]] = []
        self._spellings: dict[str, dict[str, t.Any]] = {}
        self._seen_generation: int | None = None
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        gen = self._generation() if self._generation else 0
        if not force and gen == self._seen_generation:
            return
        accounts = self._source()
        spellings: dict[str, dict[str, t.Any]] = {}
        for acc in accounts:
            for spelling in self.spellings(acc):
                spellings.setdefault(spelling.lower(), acc)
        with self._lock:
            self._accounts, self._spellings, self._seen_generation = accounts, spellings, gen
        if self.user_file:
            self.write_user_file(self.user_file)
        for listener in self.listeners:
            listener(accounts)

    @staticmethod
    def spellings(acc: dict[str, t.Any]) -> list[str]:
        name, netbios, fqdn = acc["name"], acc.get("domain_netbios") or "", acc.get("domain_fqdn") or ""
        out = [name]
        for dom in (netbios, fqdn):
            if dom:
                out += [f"{dom}\\{name}", f"{name}@{dom}"]
        return out

    @staticmethod
    def canonical(acc: dict[str, t.Any]) -> str:
        netbios = acc.get("domain_netbios") or ""
        return f"{netbios}\\{acc['name']}" if netbios else acc["name"]

    def resolve(self, typed: str | None) -> dict[str, t.Any] | None:
        if not typed:
            return None
        with self._lock:
            return self._spellings.get(typed.strip().lower())

    def write_user_file(self, path: str) -> None:
        """Write the NTLM_USER_FILE (mode 0600): smbpasswd lines ``USER:UID:LM:NT:[U]:LCT-0``.

        Accounts known only by a salted hash (password set by a cmdlet before a restart) cannot use NTLM.
        """
        self.user_file = path
        lines = []
        for uid, acc in enumerate(self._accounts, start=1000):
            pw = acc.get("password")
            if pw is None:
                continue
            lm = base64.b16encode(lmowfv1(pw)).decode()
            nt = base64.b16encode(ntowfv1(pw)).decode()
            for spelling in self.spellings(acc):
                lines.append(f"{spelling}:{uid}:{lm}:{nt}:[U]:LCT-00000000")
        tmp = f"{path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)

    # -- lockout ---------------------------------------------------------------------------------
    def is_locked(self, acc: dict[str, t.Any]) -> bool:
        if self.lockout_threshold <= 0:
            return False
        with self._lock:
            return self._failures.get(acc["name"].lower(), 0) >= self.lockout_threshold

    def failure(self, acc: dict[str, t.Any] | None) -> None:
        if acc is None:
            return
        with self._lock:
            key = acc["name"].lower()
            self._failures[key] = self._failures.get(key, 0) + 1

    def success(self, acc: dict[str, t.Any]) -> str:
        """Check that a proven account may log on; return its canonical name or raise AuthFailed."""
        if not acc.get("enabled", True):
            raise AuthFailed("account disabled", self.canonical(acc))
        if self.is_locked(acc):
            raise AuthFailed("account locked out", self.canonical(acc))
        with self._lock:
            self._failures.pop(acc["name"].lower(), None)
        return self.canonical(acc)

    def locked_accounts(self) -> list[str]:
        with self._lock:
            return sorted(k for k, v in self._failures.items() if self.lockout_threshold and v >= self.lockout_threshold)

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()

    # -- Basic -------------------------------------------------------------------------------------
    def basic(self, token: str) -> str:
        self.refresh()
        try:
            user, _sep, password = base64.b64decode(token).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise AuthFailed("malformed Basic credentials") from None
        acc = self.resolve(user)
        if acc is None:
            raise AuthFailed("unknown user")
        if self.is_locked(acc):
            raise AuthFailed("account locked out", self.canonical(acc))
        if acc.get("password") is not None:
            good = password == acc["password"]
        else:
            good = bool(self._check_hash and acc.get("password_hash") and self._check_hash(acc["password_hash"], password))
        if not good:
            self.failure(acc)
            raise AuthFailed("wrong password", self.canonical(acc))
        return self.success(acc)


def _ntlm_user_of(token: bytes) -> str | None:
    """The ``DOMAIN\\user`` (or UPN) of an NTLM Authenticate message, raw or inside SPNEGO."""
    idx = token.find(b"NTLMSSP\x00\x03\x00\x00\x00")
    if idx < 0:
        return None
    try:
        msg = Authenticate.unpack(token[idx:])
    except Exception:  # pylint: disable=broad-exception-caught  # any garbage means "unknown user"
        return None
    if not msg.user_name:
        return None
    return f"{msg.domain_name}\\{msg.user_name}" if msg.domain_name else msg.user_name


# pyspnego reads NTLM_USER_FILE from the process environment; several labs in one process (pytest)
# each point it at their own file for the duration of a step.
_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _user_file(path: str | None) -> t.Iterator[None]:
    with _ENV_LOCK:
        if path:
            os.environ["NTLM_USER_FILE"] = path
        yield


class NegotiateSession:
    """One connection's NTLM/Negotiate acceptor; after completion it seals and unseals messages."""

    def __init__(self, accounts: Accounts, channel_binding: bytes | None) -> None:
        self.accounts = accounts
        accounts.refresh()
        cbt = GssChannelBindings(application_data=channel_binding) if channel_binding else None
        with _user_file(accounts.user_file):
            self.context = spnego.server(protocol="negotiate", channel_bindings=cbt)
        self.principal: str | None = None

    @property
    def complete(self) -> bool:
        return self.principal is not None

    def step(self, token: bytes) -> bytes | None:
        """Process one client token; returns the reply token. Sets ``principal`` when done."""
        typed = _ntlm_user_of(token)
        acc = self.accounts.resolve(typed) if typed else None
        if acc is not None and self.accounts.is_locked(acc):
            raise AuthFailed("account locked out", Accounts.canonical(acc))
        try:
            with _user_file(self.accounts.user_file):
                out = self.context.step(token)
        except SpnegoError as err:
            self.accounts.failure(acc)
            mech = "NTLM" if typed else "Kerberos"
            raise AuthFailed(f"{mech} authentication failed: {err.__class__.__name__}: {_first_line(err)}",
                             Accounts.canonical(acc) if acc else None) from None
        except Exception as err:  # pylint: disable=broad-exception-caught
            # python-gssapi hands back the acceptor's KRB-ERROR token instead of raising (stale keytab, clock
            # skew, replay), and pyspnego then fails reading the flags of a context that never started.
            raise AuthFailed("Kerberos authentication failed: " + _acceptor_failure(self.context, err)) from None
        if self.context.complete:
            acc = self.accounts.resolve(self.context.client_principal) or acc
            if acc is None:
                raise AuthFailed(f"unknown principal {self.context.client_principal}")
            self.principal = self.accounts.success(acc)
        return out


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [err.__class__.__name__])[0]


# RFC 4120 7.5.9 error codes an acceptor returns, with MIT's texts.
_KRB_AP_ERRORS = {
    31: "Decrypt integrity check failed",
    32: "Ticket expired",
    33: "Ticket not yet valid",
    34: "Request is a replay",
    37: "Clock skew too great",
    41: "Message stream modified",
    44: "Specified version of key is not available (the keytab is stale)",
    45: "Service key not available",
}


def _acceptor_failure(context: t.Any, err: BaseException) -> str:
    """The reason an acceptor could not complete a Kerberos handshake, for the lab's log.

    python-gssapi returned the acceptor's KRB-ERROR token (held in the failing frame's ``out_token``) instead of
    raising; its error code is the reason (KRB_AP_ERR_SKEW, KRB_AP_ERR_BADKEYVER, KRB_AP_ERR_REPEAT...).
    """
    del context
    tb = err.__traceback__
    token = None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "step" and "out_token" in tb.tb_frame.f_locals:
            token = tb.tb_frame.f_locals["out_token"] or token
        tb = tb.tb_next
    if token:
        try:
            from spnego._asn1 import unpack_asn1  # pylint: disable=import-outside-toplevel
            from spnego._kerberos import KerberosV5Msg  # pylint: disable=import-outside-toplevel
            from spnego._spnego import unpack_token  # pylint: disable=import-outside-toplevel

            inner = unpack_token(token, unwrap=True).inner_context_token     # InitialContextToken: 2-byte TOK_ID first
            msg = KerberosV5Msg.unpack(unpack_asn1(unpack_asn1(inner[2:])[0].b_data)[0])
            code = getattr(msg, "error_code", None)
            if code is not None:
                name = getattr(code, "name", str(code))
                text = getattr(msg, "e_text", None) or _KRB_AP_ERRORS.get(int(code))
                return f"{name} ({int(code)})" + (f": {text}" if text else "")
        except Exception:  # pylint: disable=broad-exception-caught  # any undecodable token: say what we know
            pass
    return f"{err.__class__.__name__}: {_first_line(err)}"

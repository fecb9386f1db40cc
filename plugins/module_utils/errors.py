# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one error family, and how raw failures are classified into it.

Every error the collection raises is an ``XPhoneError``; its ``str()`` is a message meant for the
person running the play. The runner turns them into results: ``unreachable`` errors end the host
(as an SSH authentication failure does), every other one fails the task.

Two kinds of raw failure are classified, and never mixed up:

- a cmdlet's **error record** (``classify_record``): not found, not permitted, or the cmdlet's own
  failure. It is never retried: an error record means the command ran and said no.
- a **transport fault** raised by pypsrp/pywinrm/requests (``classify_transport``): authentication,
  throttling (only WinRM's quota faults and Exchange's runspace-limit fault, by code or anchored
  text), a lost shell, or a transient HTTP/network failure. Only these may be retried, and only by
  the session, which knows whether a write could have reached the server.
"""

from __future__ import annotations

import re

from urllib.parse import quote, quote_plus

# WSManFault codes (wsmerror.h). The quota codes are the ones WinRM and Exchange raise for throttling:
# MAX_SHELLS_USER, MAX_OPERATIONS_USER, and their per-plugin-quota (_PPQ) variants, MAX_COMMANDS_PER_SHELL_PPQ.
SHELL_NOT_FOUND_CODE = 2150858843
RESOURCE_URI_NOT_FOUND_CODE = 2150858811
OPERATION_TIMEOUT_CODE = 2150858793
QUOTA_CODES = frozenset((2150859173, 2150859174, 2150859236, 2150859240, 2150859241))

SECRET_MASK = "********"


class XPhoneError(Exception):
    """Base of every error the collection raises; ``str()`` is the user-facing message."""

    #: the host cannot be used for the rest of the run (the runner reports it unreachable)
    unreachable = False

    def __init__(self, message, cmdlet=None):
        super(XPhoneError, self).__init__(message)
        self.message = message
        self.cmdlet = cmdlet

    def __str__(self):
        return self.message

    def as_dict(self):
        """What crosses the persistent connection's socket; ``from_dict`` rebuilds the same error."""
        data = dict(type=type(self).__name__, message=self.message, cmdlet=self.cmdlet)
        for attr in ("option", "reason"):
            if getattr(self, attr, None) is not None:
                data[attr] = getattr(self, attr)
        return data


class InvalidInput(XPhoneError):
    """A value that Exchange would refuse (or that a guard rail refuses), found before any write."""

    def __init__(self, option, reason, cmdlet=None):
        super(InvalidInput, self).__init__("%s: %s" % (option, reason), cmdlet)
        self.option = option
        self.reason = reason


class ConfigurationError(XPhoneError):
    """The connection settings cannot work as given (nothing was sent); the message says what to set."""


class NotFound(XPhoneError):
    """The object a cmdlet was pointed at does not exist (ManagementObjectNotFoundException)."""


class CmdletFailed(XPhoneError):
    """A cmdlet ran and reported an error of its own."""


class AuthorizationFailed(XPhoneError):
    """The account logged on but may not run the cmdlet or change the object (RBAC, AD rights)."""


class AuthenticationFailed(XPhoneError):
    """The server rejected the credentials. Never retried: every attempt is a failed logon."""

    unreachable = True


class Unreachable(XPhoneError):
    """The endpoint cannot be used: refused, unknown, TLS failure, or it never answered."""

    unreachable = True


class Transient(XPhoneError):
    """A fault that may pass (HTTP 5xx, a reset connection, a read timeout); reads and opens are retried."""


class NoAnswer(Transient):
    """The endpoint took the request but sent nothing back in time (a read timeout)."""


class Throttled(Transient):
    """WinRM or Exchange refused a shell or a command because of a quota; retried with backoff."""


class ShellLost(Transient):
    """The runspace pool vanished on the server (app-pool recycle, idle timeout); a new pool is opened."""


class ReplyLost(XPhoneError):
    """A write reached the server but its reply did not come back, so whether it took effect is unknown.

    The session never sends such a write again; the engine reads the object once more and writes only
    what still differs.
    """


_CLASSES = dict((cls.__name__, cls) for cls in (
    XPhoneError, ConfigurationError, NotFound, CmdletFailed, AuthorizationFailed, AuthenticationFailed,
    Unreachable, Transient, NoAnswer, Throttled, ShellLost, ReplyLost))


def from_dict(data):
    """The error ``XPhoneError.as_dict`` described (unknown types become ``XPhoneError``)."""
    if data.get("type") == "InvalidInput":
        return InvalidInput(data.get("option"), data.get("reason"), data.get("cmdlet"))
    cls = _CLASSES.get(data.get("type"), XPhoneError)
    return cls(data.get("message") or "unknown error", data.get("cmdlet"))


# -- cmdlet error records ------------------------------------------------------------------------------
_NOT_FOUND_TYPES = re.compile(r"\bManagementObjectNotFoundException\b|\bItemNotFoundException\b|"
                              r"\bObjectNotFound\b|\bPathNotFound\b|\bNoServiceFoundForGivenName\b")
_NOT_FOUND_TEXT = re.compile(r"couldn't be found on |could not be found on |was not found on |"
                             r"Cannot find path '|Cannot find any service with service name '")
_NOT_A_CMDLET = re.compile(r"\bCommandNotFoundException\b|is not recognized as the name of a cmdlet")
_ACCESS_DENIED = re.compile(r"\bINSUFF_ACCESS_RIGHTS\b|\bUnauthorizedAccessException\b|\bAccess is denied\b|"
                            r"\bPermissionDenied\b")


def classify_record(message, cmdlet=None, exception_type="", category=""):
    """A cmdlet's error record as NotFound, AuthorizationFailed or CmdletFailed (never retried)."""
    kinds = " ".join(p for p in (exception_type or "", category or "") if p)
    if _NOT_A_CMDLET.search(kinds) or _NOT_A_CMDLET.search(message):
        return AuthorizationFailed(
            "The account is not allowed to run %s: Exchange did not expose the cmdlet, which means the account lacks "
            "the RBAC management role that grants it (for connectors and remote domains: a member of "
            "'Organization Management', or a role group with the 'Remote and Accepted Domains' and 'Receive "
            "Connectors'/'Send Connectors' roles). Server said: %s" % (cmdlet or "the cmdlet", message), cmdlet)
    if _NOT_FOUND_TYPES.search(kinds) or _NOT_FOUND_TEXT.search(message):
        return NotFound(message, cmdlet)
    if _ACCESS_DENIED.search(kinds) or _ACCESS_DENIED.search(message):
        return AuthorizationFailed(
            "The account may run %s but Exchange or Active Directory denied the change (missing permission on the "
            "object or a role scope that excludes it). Server said: %s" % (cmdlet or "the cmdlet", message), cmdlet)
    return CmdletFailed(message if not cmdlet else "%s failed: %s" % (cmdlet, message), cmdlet)


# -- transport faults -------------------------------------------------------------------------------------
# Anchored texts of the quota faults, for servers that send them without one of the codes above:
# Exchange 2013+ AuthZ (PowerShellMaxConcurrency), the older "maximum of 18 concurrent shells", WinRM's
# shells/operations per user, and commands per shell (lab-fidelity-audit Q9).
_QUOTA_TEXT = re.compile(
    r"Fail to create a runspace because you have exceeded the maximum number of connections allowed\s*:\s*\d+ "
    r"for the policy party\s*:\s*MaxConcurrency"
    r"|This user is allowed a maximum (?:number )?of \d+ concurrent (?:shells|operations), which has been exceeded"
    r"|This user has exceeded the maximum number of concurrent operations"
    r"|The maximum number of concurrent shells for this user has been exceeded"
    r"|The maximum number of concurrent commands per shell has been exceeded")
_SHELL_GONE_TEXT = re.compile(r"failed because the shell was not found on the server|WSMan-InvalidShellID")


# Exception class names (anywhere in the cause chain) of a connection that was never made, and of one that was
# made and then dropped or left unanswered.
_NO_CONNECTION = frozenset(("ConnectTimeout", "NewConnectionError", "NameResolutionError", "ConnectionRefusedError",
                            "gaierror", "MaxRetryError"))
_DROPPED_OR_SLOW = frozenset(("RemoteDisconnected", "ConnectionResetError", "ProtocolError", "ReadTimeout",
                              "ReadTimeoutError"))


def _fault_code(err):
    # pywinrm keeps the HTTP status in ``code`` and the WSManFault code in ``wsman_fault_code``.
    code = getattr(err, "wsman_fault_code", None) or getattr(err, "code", None)
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _chain(err):
    """The exception and every cause/context below it (requests wraps urllib3, which wraps the socket error)."""
    seen = []
    while err is not None and err not in seen:
        seen.append(err)
        err = err.__cause__ or err.__context__ or (err.args[0] if err.args and isinstance(err.args[0], BaseException)
                                                   else None)
    reason = getattr(seen[-1], "reason", None) if seen else None
    if isinstance(reason, BaseException) and reason not in seen:
        seen.extend(_chain(reason))
    return seen


def _names(err):
    return set(type(e).__name__ for e in _chain(err))


_TLS_VERIFY = re.compile(r"certificate verify failed: (.+?)\s*(?:\(_ssl\.c|'\)|\"\)|\)\)|$)", re.IGNORECASE)


def tls_reason(text):
    """urllib3's SSLError text as what went wrong with the server's certificate (OpenSSL's reason kept), or the text."""
    match = _TLS_VERIFY.search(text)
    if not match:
        return text
    reason = match.group(1).strip().rstrip(".")
    if "mismatch" in reason.lower():
        return "the server's certificate was issued for another name (%s)" % reason
    return "the server's certificate is not trusted (%s)" % reason


def classify_transport(err, text, endpoint="the endpoint", tls_hint=""):
    """A pypsrp/pywinrm/requests exception as one error of the family (``text`` is its scrubbed message)."""
    names = _names(err)
    code = _fault_code(err)
    if "0x80090322" in text:
        return AuthenticationFailed(
            "Kerberos failed with an unknown security error (0x80090322) at %s: the SPN for this server is probably "
            "registered to another account; set negotiate_service or negotiate_hostname_override "
            "(ansible_psrp_negotiate_service, ansible_psrp_negotiate_hostname_override), or fix the SPN. "
            "Server said: %s" % (endpoint, text))
    if "AuthenticationError" in names or "InvalidCredentialsError" in names or code == 401:
        return AuthenticationFailed(text)
    if code in QUOTA_CODES or _QUOTA_TEXT.search(text):
        return Throttled(text)
    if code == SHELL_NOT_FOUND_CODE or _SHELL_GONE_TEXT.search(text):
        return ShellLost("The PowerShell session was lost on the server (%s)." % text)
    if code == RESOURCE_URI_NOT_FOUND_CODE or "resource URI" in text:
        return ConfigurationError("%s is not the expected PowerShell endpoint: %s" % (endpoint, text))
    if code == 404:
        return ConfigurationError("%s answered 404 Not Found: check the server, port and connection_uri "
                                  "(Exchange serves /PowerShell on 443 or 80, not on the WinRM port)." % endpoint)
    if "SSLError" in names or "CertificateError" in names:
        return Unreachable("The TLS connection to %s failed: %s.%s" % (endpoint, tls_reason(text), tls_hint))
    if names & _NO_CONNECTION and not names & _DROPPED_OR_SLOW:
        return Unreachable("Cannot connect to %s: %s" % (endpoint, text))
    if names & {"ReadTimeout", "ReadTimeoutError", "timeout", "TimeoutError"}:
        return NoAnswer("%s did not answer in time: %s" % (endpoint, text))
    if names & {"RemoteDisconnected", "ConnectionResetError", "ProtocolError", "ChunkedEncodingError",
                "ConnectionError", "BrokenPipeError", "IncompleteRead"}:
        return Transient("The connection to %s was dropped: %s" % (endpoint, text))
    if code is not None and 500 <= code < 600 or code == OPERATION_TIMEOUT_CODE:
        return Transient("%s answered with a server error: %s" % (endpoint, text))
    if "WSManFaultError" in names or "WinRMTransportError" in names:
        # Any other WSManFault (e.g. 2150858752 "internal error") arrives with HTTP 500.
        return Transient("%s answered with a fault: %s" % (endpoint, text))
    return XPhoneError("Unexpected failure talking to %s: %s" % (endpoint, text))


def scrub(text, secrets):
    """Remove every secret (and its URL encodings) from ``text``; empty secrets are ignored."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets or ():
        if not secret:
            continue
        secret = str(secret)
        for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
            if form:
                text = text.replace(form, SECRET_MASK)
    return text

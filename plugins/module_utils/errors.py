# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions raised by the Exchange session and the engine, and how raw failures are classified.

Every exception carries a message meant for the user. ``final`` tells the session not to retry.
"""

from __future__ import annotations

import re

from urllib.parse import quote, quote_plus

# The WSManFault code of "the shell was not found on the server" (app-pool recycle, idle timeout).
SHELL_NOT_FOUND_CODE = 2150858843


class ExchangeError(Exception):
    """Base class; ``str()`` is the user-facing message."""

    final = True

    def __init__(self, message, cmdlet=None):
        super(ExchangeError, self).__init__(message)
        self.message = message
        self.cmdlet = cmdlet


class InvalidInput(ExchangeError):
    """A value that Exchange would refuse (or that a guard rail refuses), found before any write."""

    def __init__(self, option, reason):
        super(InvalidInput, self).__init__("%s: %s" % (option, reason))
        self.option = option
        self.reason = reason


class NotFound(ExchangeError):
    """The object a cmdlet was pointed at does not exist (ManagementObjectNotFoundException)."""


class Throttled(ExchangeError):
    """Exchange or WinRM refused a shell or a command because of a quota; retryable with backoff."""

    final = False


class ShellLost(ExchangeError):
    """The runspace pool vanished on the server; a new pool may redo the whole step once."""

    final = False


class AuthenticationFailed(ExchangeError):
    """The credentials were rejected. Never retried: a retry loop could lock the account."""


class AuthorizationFailed(ExchangeError):
    """The account lacks the RBAC role that exposes a cmdlet."""


class CmdletFailed(ExchangeError):
    """Any other error a cmdlet reported."""


class ConnectionFailed(ExchangeError):
    """The endpoint could not be reached or answered with an unexpected transport error."""


_NOT_FOUND = re.compile(r"ManagementObjectNotFoundException|couldn't be found|could not be found|wasn't found", re.I)
_THROTTLED = re.compile(
    r"maximum (number )?(of )?\d* ?concurrent (shells|commands)|maximum number of concurrent commands per shell"
    r"|exceeded the maximum number of connections|MaxConcurrency|quota|Retry (the request )?later|throttl", re.I)
_SHELL_LOST = re.compile(r"shell was not found|InvalidShellID|%d" % SHELL_NOT_FOUND_CODE, re.I)
_NOT_A_CMDLET = re.compile(r"is not recognized as the name of a cmdlet|CommandNotFoundException", re.I)
_AUTH = re.compile(r"\b401\b|AuthenticationError|Logon failure|credentials were rejected|0x8009030e", re.I)
_ACCESS_DENIED = re.compile(r"Access is denied|INSUFF_ACCESS_RIGHTS|AccessDenied", re.I)
_SPN = re.compile(r"0x80090322|unknown security error", re.I)


def classify(text, cmdlet=None, exception_type="", code=None):
    """Turn an error text (and its exception type or WSMan code) into one of the exceptions above."""
    blob = " ".join(str(part) for part in (exception_type, text, code or "") if part)
    if code == SHELL_NOT_FOUND_CODE or _SHELL_LOST.search(blob):
        return ShellLost("The PowerShell session was lost on the server (%s)." % text, cmdlet)
    if _NOT_A_CMDLET.search(blob):
        return AuthorizationFailed(
            "The account is not allowed to run %s: Exchange did not expose the cmdlet, which means the account lacks "
            "the RBAC management role that grants it (for connectors and remote domains: a member of "
            "'Organization Management', or a role group with the 'Remote and Accepted Domains' and 'Receive "
            "Connectors'/'Send Connectors' roles). Server said: %s" % (cmdlet or "the cmdlet", text), cmdlet)
    if _NOT_FOUND.search(blob):
        return NotFound(text, cmdlet)
    if _THROTTLED.search(blob):
        return Throttled(text, cmdlet)
    if _SPN.search(blob):
        return AuthenticationFailed(
            "Kerberos failed with an unknown security error (0x80090322): the HTTP/<server> SPN is probably "
            "registered to another account; set negotiate_service or negotiate_hostname_override, or fix the SPN. "
            "Server said: %s" % text, cmdlet)
    if _ACCESS_DENIED.search(blob):
        return AuthorizationFailed(
            "The account may run %s but Exchange or Active Directory denied the change (missing permission on the "
            "object or a role scope that excludes it). Server said: %s" % (cmdlet or "the cmdlet", text), cmdlet)
    if _AUTH.search(blob):
        return AuthenticationFailed(
            "Authentication to the Exchange endpoint failed; check username (UPN or DOMAIN\\user), password and auth "
            "(Exchange on-premises expects kerberos or negotiate). Server said: %s" % text, cmdlet)
    return CmdletFailed(text if not cmdlet else "%s failed: %s" % (cmdlet, text), cmdlet)


def scrub(text, secrets):
    """Remove every secret (and its obvious encodings) from ``text``."""
    if text is None:
        return text
    text = str(text)
    for secret in secrets or ():
        if not secret:
            continue
        secret = str(secret)
        for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")):
            text = text.replace(form, "********")
    return text

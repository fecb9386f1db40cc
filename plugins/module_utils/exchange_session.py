# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one wrapper around pypsrp for Exchange's ``/PowerShell`` endpoint.

It owns the RunspacePool's lifecycle (one per task, always closed), runs cmdlets with bound
parameters only (Exchange's endpoint is NoLanguage, and a bound value can never become script
text), reads errors from ``streams.error`` (pypsrp leaves ``had_errors`` false for non-terminating
errors), returns Exchange's warnings, retries what is retryable and scrubs secrets from every message.
"""

from __future__ import annotations

import time

from ansible_collections.xphone.connect.plugins.module_utils.connection import CONFIGURATION_NAME
from ansible_collections.xphone.connect.plugins.module_utils.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    ExchangeError,
    NotFound,
    ShellLost,
    Throttled,
    classify,
    scrub,
)

try:
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
    HAS_PYPSRP = True
    PYPSRP_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - depends on the controller's packages
    HAS_PYPSRP = False
    PYPSRP_IMPORT_ERROR = import_error

# Backoff for throttling (PowerShellMaxConcurrency, commands per shell): capped, then a clear failure.
THROTTLE_DELAYS = (5, 10, 20, 30)
# WinRM refuses more than about 1000 commands per shell (MaxConcurrentCommandsPerShell); bulk callers get a
# fresh pool well before that.
RECYCLE_AFTER = 500
# Cmdlets that change something get -Confirm:$false: a prompt cannot be answered over PSRP without a host.
_WRITE_VERBS = ("new-", "set-", "remove-", "add-", "enable-", "disable-")


def to_plain(value, depth=0):
    """pypsrp's deserialized objects as JSON-friendly Python values.

    Nested objects with a display string (enums, ADObjectId, SmtpDomain, IPRange ...) become that
    string, which is how Exchange shows them and what the comparators parse.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple, set)):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return dict((str(k), to_plain(v, depth + 1)) for k, v in value.items())
    props = {}
    for attr in ("adapted_properties", "extended_properties"):
        props.update(getattr(value, attr, None) or {})
    to_string = getattr(value, "to_string", None)
    sets = getattr(value, "property_sets", None)
    if sets and len(sets) == 1 and isinstance(sets[0], (list, tuple)):
        # A MultiValuedProperty arrives as an object wrapping a <LST>, with a ToString such as "{a, b}".
        return to_plain(sets[0], depth + 1)
    if depth > 0 or not props:
        if props and not to_string and depth < 4:
            return dict((str(k), to_plain(v, depth + 1)) for k, v in props.items())
        if to_string is not None:
            return str(to_string)
        if sets:
            return to_plain(sets[0] if len(sets) == 1 else sets, depth + 1)
        return str(value)
    return dict((str(k), to_plain(v, depth + 1)) for k, v in props.items())


def _error_details(record):
    """(message, exception type) of a pypsrp ErrorRecord, whatever parts the server filled in."""
    exception = getattr(record, "exception", None)
    message = getattr(record, "details_message", None)
    exc_type = ""
    if exception is not None:
        props = {}
        for attr in ("adapted_properties", "extended_properties"):
            props.update(getattr(exception, attr, None) or {})
        message = message or props.get("Message")
        types = getattr(exception, "types", None) or []
        exc_type = str(types[0]).replace("Deserialized.", "") if types else ""
        if not message and getattr(exception, "to_string", None):
            message = str(exception.to_string)
    message = message or getattr(record, "message", None) or str(record)
    extra = " ".join(str(p) for p in (getattr(record, "fq_error", None), getattr(record, "reason", None)) if p)
    return str(message), "%s %s" % (exc_type, extra)


class PypsrpTransport(object):
    """The real wire: pypsrp WSMan + RunspacePool on the Microsoft.Exchange configuration."""

    def open_pool(self, settings):
        if not HAS_PYPSRP:
            raise ConnectionFailed("The pypsrp Python library is required on the controller: %s" % PYPSRP_IMPORT_ERROR)
        wsman = WSMan(**settings.wsman_kwargs())
        # pypsrp prefixes http://schemas.microsoft.com/powershell/ itself.
        pool = RunspacePool(wsman, configuration_name=CONFIGURATION_NAME)
        try:
            pool.open()
        except BaseException:
            try:
                wsman.close()
            except Exception:  # pylint: disable=broad-except
                pass
            raise
        return pool

    def new_pipeline(self, pool):
        return PowerShell(pool)

    def close_pool(self, pool):
        try:
            pool.close()
        finally:
            pool.connection.close()


def _transport_error(err, secrets, url=""):
    """Classify an exception raised by pypsrp/requests (not a cmdlet error record)."""
    text = scrub(str(err) or err.__class__.__name__, secrets)
    name = err.__class__.__name__
    code = getattr(err, "code", None)
    if name == "AuthenticationError" or code == 401:
        return AuthenticationFailed(
            "The Exchange endpoint rejected the credentials (%s). Check username (UPN user@DOMAIN or DOMAIN\\user), "
            "password and auth; Exchange on-premises expects kerberos or negotiate. Not retried, so the account "
            "is not locked out." % text)
    classified = classify(text, exception_type=name, code=code)
    if type(classified).__name__ == "CmdletFailed":
        hint = ""
        if code == 404 or "404" in text:
            hint = " The /PowerShell virtual directory was not found: check server, port and connection_uri."
        elif "resource URI" in text:
            hint = " The endpoint is not Exchange's /PowerShell (configuration Microsoft.Exchange)."
        return ConnectionFailed("Cannot talk to the Exchange endpoint %s: %s%s" % (url, text, hint))
    return classified


class ExchangeSession(object):
    """One RunspacePool for one task. Use as a context manager; ``invoke`` runs one cmdlet."""

    def __init__(self, settings, transport=None, sleep=time.sleep, throttle_delays=THROTTLE_DELAYS, recycle_after=RECYCLE_AFTER):
        self.settings = settings
        self.transport = transport or PypsrpTransport()
        self.sleep = sleep
        self.throttle_delays = tuple(throttle_delays)
        self.secrets = list(settings.secrets)
        self.warnings = []
        self.commands = []
        self.recycle_after = recycle_after
        self._pool = None
        self._pool_commands = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self):
        self.open()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def add_secret(self, value):
        if value:
            self.secrets.append(str(value))

    def open(self):
        if self._pool is not None:
            return
        self._pool = self._with_throttle_retry(self._open_once, "opening a session")
        self._pool_commands = 0

    def _open_once(self):
        try:
            return self.transport.open_pool(self.settings)
        except ExchangeError:
            raise
        except Exception as err:  # pylint: disable=broad-except
            raise _transport_error(err, self.secrets, self.settings.url)

    def close(self):
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            self.transport.close_pool(pool)
        except Exception:  # pylint: disable=broad-except
            # A pool broken by a timeout cannot be closed cleanly; the server reaps it.
            pass

    def reopen(self):
        self.close()
        self.open()

    # -- commands ---------------------------------------------------------------------------------
    def invoke(self, cmdlet, parameters=None, not_found_ok=False, domain_controller=True):
        """Run ``cmdlet`` with ``parameters`` (a dict or list of pairs) and return plain output objects.

        ``not_found_ok`` turns ManagementObjectNotFoundException into an empty result.
        """
        params = list(parameters.items()) if isinstance(parameters, dict) else list(parameters or [])
        names = set(name.lower() for name, _value in params)
        if domain_controller and self.settings.domain_controller and "domaincontroller" not in names:
            params.append(("DomainController", self.settings.domain_controller))
        if cmdlet.lower().startswith(_WRITE_VERBS) and "confirm" not in names:
            params.append(("Confirm", False))
        try:
            return self._with_throttle_retry(lambda: self._invoke_once(cmdlet, params), cmdlet)
        except NotFound:
            if not_found_ok:
                return []
            raise

    def _invoke_once(self, cmdlet, params):
        if self._pool is not None and self.recycle_after and self._pool_commands >= self.recycle_after:
            self.reopen()
        if self._pool is None:
            self.open()
        self._pool_commands += 1
        self.commands.append((cmdlet, params))
        ps = self.transport.new_pipeline(self._pool)
        try:
            ps.add_cmdlet(cmdlet)
            for name, value in params:
                ps.add_parameter(name, value)
            try:
                output = ps.invoke()
            except ExchangeError:
                raise
            except Exception as err:  # pylint: disable=broad-except
                raise _transport_error(err, self.secrets, self.settings.url)
            for record in getattr(ps.streams, "warning", None) or []:
                text = scrub(getattr(record, "message", None) or str(record), self.secrets)
                if text not in self.warnings:
                    self.warnings.append(text)
            errors = list(getattr(ps.streams, "error", None) or [])
            if errors:
                message, exc_type = _error_details(errors[0])
                raise classify(scrub(message, self.secrets), cmdlet, scrub(exc_type, self.secrets))
            return [to_plain(obj) for obj in output or []]
        finally:
            try:
                ps.close()
            except Exception:  # pylint: disable=broad-except
                pass

    def _with_throttle_retry(self, action, what):
        for delay in self.throttle_delays + (None,):
            try:
                return action()
            except Throttled as err:
                if delay is None:
                    raise Throttled(
                        "Exchange kept throttling %s after %d retries over %d seconds: %s. The account has too many "
                        "open PowerShell sessions or commands (throttling policy PowerShellMaxConcurrency, default 18 "
                        "shells per user; or MaxConcurrentCommandsPerShell). Close leaked sessions, lower forks, or "
                        "raise the quota." % (what, len(self.throttle_delays), sum(self.throttle_delays), err.message))
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def run_step(self, step):
        """Run ``step(session)``; if the shell was lost on the server, open a new pool and redo it once.

        Safe because every step reads before it writes: a half-done step is read again.
        """
        try:
            return step(self)
        except ShellLost:
            self.reopen()
            return step(self)

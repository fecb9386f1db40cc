# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One authenticated PowerShell Remoting session to one endpoint, kept open for many commands.

The same class serves Exchange's ``/PowerShell`` endpoint (configuration ``Microsoft.Exchange``,
cmdlets with bound parameters only) and a Windows host's ``/wsman`` endpoint. It owns:

- the RunspacePool's lifecycle: opened on first use, reused, reopened only when the server dropped
  it, closed by ``close()``; a pool that fails while opening deletes its shell on the server;
- faults, handled where it is safe: transient faults (HTTP 5xx, a dropped connection, a read
  timeout, WinRM/Exchange throttling, a lost shell) are retried with one bounded, jittered backoff
  (ansible-core's ``generate_jittered_backoff``) around the whole attempt, never nested. A write is
  never sent twice: when its reply is lost, ``ReplyLost`` tells the engine to read again;
- authentication: a rejected logon is remembered, and every later call fails at once with the same
  message, so a run costs one failed logon per host at most;
- the deserialiser (``to_plain``) and the scrubbing of secrets from every message.
"""

from __future__ import annotations

import time

from ansible.module_utils.api import generate_jittered_backoff

from ansible_collections.xphone.connect.plugins.module_utils.errors import (
    AuthenticationFailed,
    ConfigurationError,
    NoAnswer,
    NotFound,
    ReplyLost,
    ShellLost,
    Throttled,
    Transient,
    Unreachable,
    XPhoneError,
    classify_record,
    classify_transport,
    scrub,
)
from ansible_collections.xphone.connect.plugins.module_utils import kerberos
from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import Int64, Secret

INT32 = (-(2 ** 31), 2 ** 31 - 1)


def tagged(tag, value):
    """``value`` with an explicit CLIXML tag (pypsrp tags every int as I32 otherwise)."""
    # Imported here, like every client library: the action plugin's worker process never needs it.
    try:
        from pypsrp.serializer import TaggedValue  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - depends on the controller's packages
        raise ConfigurationError("The pypsrp Python library is required on the controller for transport psrp.")
    return TaggedValue(tag, value)


def wire_value(value):
    """A bound parameter as pypsrp should send it: an int outside Int32 as System.Int64 (pypsrp would write
    ``<I32>4294967295</I32>``, which no server can read back), lists item by item."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Secret):
        return tagged("SS", value.reveal())
    if isinstance(value, Int64):
        # What a large int becomes on its way through the persistent connection's socket (windows_plan.value_to_data).
        return tagged("I64", value.value)
    if isinstance(value, int) and not INT32[0] <= value <= INT32[1]:
        return tagged("I64", value)
    if isinstance(value, list):
        return [wire_value(v) for v in value]
    return value


# pypsrp's classes, imported on first use (load_pypsrp): only the persistent process talks to the server, so the
# action plugin (one fresh worker process per task) never pays for the import.
PowerShell = RunspacePool = WSMan = None


def load_pypsrp():
    global PowerShell, RunspacePool, WSMan  # pylint: disable=global-statement
    if WSMan is None or RunspacePool is None or PowerShell is None:
        try:
            from pypsrp import powershell, wsman  # pylint: disable=import-outside-toplevel
        except ImportError as err:  # pragma: no cover - depends on the controller's packages
            raise ConfigurationError("The pypsrp Python library is required on the controller: %s" % err)
        PowerShell = PowerShell or powershell.PowerShell
        RunspacePool = RunspacePool or powershell.RunspacePool
        WSMan = WSMan or wsman.WSMan


# One backoff for every retryable fault: up to RETRIES waits of full jitter, each at most
# DELAY_BASE * 2**n and at most DELAY_THRESHOLD seconds (worst case 5 + 10 + 20 + 30 = 65 s).
RETRIES = 4
DELAY_BASE = 5
DELAY_THRESHOLD = 30
# WinRM refuses more than about 1000 commands per shell (MaxConcurrentCommandsPerShell); a long-lived
# session gets a fresh pool well before that.
RECYCLE_AFTER = 500
# Cmdlets that change something: they get -Confirm:$false (a prompt cannot be answered without a host)
# and are never sent twice.
WRITE_VERBS = ("new-", "set-", "remove-", "add-", "enable-", "disable-", "start-", "stop-", "restart-",
               "move-", "rename-", "copy-", "invoke-", "update-", "clear-", "install-", "uninstall-", "mount-",
               "dismount-", "suspend-", "resume-", "grant-", "revoke-", "register-", "unregister-")
# Cmdlets that accept -DomainController (the Exchange endpoint only).
_NO_DOMAIN_CONTROLLER = ("get-exchangeserver",)


# pypsrp.complex_objects.PSInvocationState.FAILED: the pipeline ended with a terminating error (its last record).
PIPELINE_FAILED = 5


class PipelineRun(object):
    """What one pipeline returned: raw output objects, error records, warning texts, and whether it failed."""

    def __init__(self, output, errors, warnings, failed):
        self.output = output
        self.errors = errors
        self.warnings = warnings
        self.failed = failed


def is_write(cmdlet):
    return cmdlet.lower().startswith(WRITE_VERBS)


def to_plain(value, depth=0):
    """pypsrp's deserialized objects as JSON-friendly Python values.

    Nested objects with a display string (enums, ADObjectId, SmtpDomain, IPRange ...) become that
    string, which is how Exchange shows them and what the comparators parse.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        # A byte array (e.g. a REG_BINARY value) as its numbers, as PowerShell shows it.
        return list(value)
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


def error_details(record):
    """(message, exception type, category) of a pypsrp ErrorRecord, whatever parts the server filled in."""
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
    category = " ".join(str(p) for p in (getattr(record, "fq_error", None), getattr(record, "reason", None)) if p)
    return str(message), exc_type, category


class PypsrpTransport(object):
    """The real wire: a pypsrp WSMan + RunspacePool per session."""

    def open_pool(self, settings):
        load_pypsrp()
        wsman = WSMan(**settings.wsman_kwargs())
        # A server that accepts the connection but never answers must fail within connect_timeout, not after
        # pypsrp's read timeout and its own retries of the receive (which took 94 s).
        wsman.transport.read_timeout = settings.connection_timeout
        wsman.transport.reconnection_backoff = 0
        pool = RunspacePool(wsman, configuration_name=settings.configuration_name)
        try:
            pool.open()
        except BaseException as err:
            # Which protocol negotiate chose (or was choosing) tells a server's refusal of a Kerberos ticket from a
            # rejected NTLM password.
            try:
                err.xphone_negotiated = self.negotiated(pool)
            except AttributeError:
                pass
            # The shell may exist on the server already (the failure came after Create): delete it, so that a
            # failed open never holds one of the account's shells until the server's idle timeout.
            self.close_pool(pool, broken=True)
            raise
        wsman.transport.read_timeout = settings.read_timeout
        return pool

    @staticmethod
    def negotiated(pool):
        """The protocol the SPNEGO handshake settled on (``kerberos``/``ntlm``), None without one (Basic, TLS)."""
        session = getattr(getattr(getattr(pool, "connection", None), "transport", None), "session", None)
        contexts = getattr(getattr(session, "auth", None), "contexts", None) or {}
        for context in contexts.values():
            try:
                return context.negotiated_protocol
            except Exception:  # pylint: disable=broad-except  # a context that never started has none
                return None
        return None

    def new_pipeline(self, pool):
        load_pypsrp()
        return PowerShell(pool)

    def close_pool(self, pool, broken=False):
        """Delete the shell on the server; a failed Delete is tried once more over a fresh HTTP session."""
        transport = pool.connection.transport
        # Closing must not hang on a broken connection either.
        transport.read_timeout = min(transport.read_timeout, max(5, transport.connection_timeout))
        for fresh in ((True,) if broken else (False, True)):
            if fresh:
                # After a dropped connection the message-encryption context belongs to the old TCP connection:
                # without a fresh handshake the server answers 401 (a failed logon) and the shell stays behind.
                if transport.session is not None:
                    transport.session.close()
                transport.session = None
                transport.encryption = None
            try:
                pool.close()
                if pool.shell.opened:
                    # pypsrp's close() does nothing for a pool the server reported Broken; its shell still exists.
                    pool.shell.close()
                break
            except Exception:  # pylint: disable=broad-except
                # pypsrp marks nothing on failure, so the second attempt sends the Delete again.
                continue
        try:
            pool.connection.close()
        except Exception:  # pylint: disable=broad-except
            pass


class Session(object):
    """A session to one endpoint. ``invoke`` runs one cmdlet; ``close`` ends the session on the server."""

    def __init__(self, settings, transport=None, sleep=time.sleep, clock=time.monotonic, retries=RETRIES,
                 delay_base=DELAY_BASE, delay_threshold=DELAY_THRESHOLD, recycle_after=RECYCLE_AFTER):
        self.settings = settings
        self.transport = transport or PypsrpTransport()
        self.sleep = sleep
        self.clock = clock
        self.retries = retries
        self.delay_base = delay_base
        self.delay_threshold = delay_threshold
        self.recycle_after = recycle_after
        self.secrets = list(settings.secrets)
        self.warnings = []
        self.stats = dict(opened=0, closed=0, commands=0, retries=0, waited=0.0)
        self._pool = None
        self._pool_commands = 0
        self._answered = False        # the endpoint has answered at least once
        self._terminal = None         # an authentication/unreachable error: not tried again
        # Set once a parameter is a Secret (bound as a SecureString): from then on every pool exchanges the PSRP
        # session key as it opens.
        self._session_key = False

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    @property
    def is_open(self):
        return self._pool is not None

    @property
    def terminal_error(self):
        return self._terminal

    def add_secret(self, value):
        # A persistent session sees the same secrets in every task: keep each once.
        if value and str(value) not in self.secrets:
            self.secrets.append(str(value))

    def close(self, broken=False):
        pool, self._pool = self._pool, None
        if pool is None:
            return
        self.stats["closed"] += 1
        self.transport.close_pool(pool, broken=broken)

    def _open(self):
        if self._terminal is not None:
            raise self._terminal
        try:
            pool = self.transport.open_pool(self.settings)
        except XPhoneError:
            raise
        except Exception as err:  # pylint: disable=broad-except
            raise self._fault(err, opening=True)
        self._answered = True
        self._pool = pool
        self._pool_commands = 0
        self.stats["opened"] += 1
        negotiated = getattr(self.transport, "negotiated", None)
        protocol = negotiated(pool) if callable(negotiated) else None
        warning = kerberos.fallback_warning(self.settings, protocol)
        if warning and warning not in self.warnings:
            self.warnings.append(warning)
        self._opened()

    def _opened(self):
        """Called after a pool opened: a pool that will carry a SecureString gets its session key."""
        if self._session_key:
            self._exchange_keys()

    def _exchange_keys(self):
        """Give an already open pool a session key (a pool opened from now on gets one as it opens)."""
        if self._pool is None:
            return
        try:
            self._pool.exchange_keys()
        except XPhoneError:
            raise
        except Exception as err:  # pylint: disable=broad-except
            fault = self._fault(err)
            self._discard_pool()
            raise fault

    def _need_session_key(self, values):
        """Before a Secret is bound: remember it for scrubbing and make sure the pool has a session key."""
        secrets = [v for v in values if isinstance(v, Secret)]
        for secret in secrets:
            self.add_secret(secret.reveal())
        if secrets and not self._session_key:
            self._session_key = True
            self._retrying(self._exchange_keys, "the session key exchange")

    def _fault(self, err, opening=False):
        """Classify a transport exception; remember the ones that end the host."""
        text = scrub(str(err) or err.__class__.__name__, self.secrets)
        classified = None
        if self.settings.auth in ("kerberos", "negotiate"):
            classified = kerberos.classify(text, self.settings, getattr(err, "xphone_negotiated", None))
        if classified is None:
            classified = classify_transport(err, text, self.settings.url, self.settings.tls_hint())
        if isinstance(classified, AuthenticationFailed) and classified.message == text:
            classified = AuthenticationFailed(self.settings.rejected_logon_message(text))
        elif opening and not self._answered and isinstance(classified, NoAnswer):
            # Accepted the connection but never answered anything: unreachable at once, not after retries.
            classified = Unreachable("%s accepted the connection but did not answer within connect_timeout "
                                     "(%s s): %s" % (self.settings.url, self.settings.connection_timeout, text))
        if classified.unreachable or isinstance(classified, ConfigurationError):
            # Neither passes by trying again: a rejected logon would count against the account's lockout threshold.
            self._terminal = classified
        return classified

    def _discard_pool(self):
        """Drop a pool that a transport fault may have left inconsistent (deleting its shell if possible)."""
        self.close(broken=True)

    # -- commands ---------------------------------------------------------------------------------
    def parameters(self, cmdlet, parameters):
        params = list(parameters.items()) if isinstance(parameters, dict) else list(parameters or [])
        names = set(name.lower() for name, _value in params)
        if self.settings.domain_controller and "domaincontroller" not in names \
                and cmdlet.lower() not in _NO_DOMAIN_CONTROLLER:
            params.append(("DomainController", self.settings.domain_controller))
        if is_write(cmdlet) and "confirm" not in names and self.settings.confirm_writes:
            params.append(("Confirm", False))
        return params

    def invoke(self, cmdlet, parameters=None, not_found_ok=False, input_objects=None):
        """Run ``cmdlet`` with bound ``parameters`` (a dict or (name, value) pairs); return plain objects.

        ``not_found_ok`` turns a not-found error record into an empty result. ``input_objects`` are the
        pipeline's input (strings such as identities, bound by the cmdlet's pipeline parameter), so that one
        pipeline serves many objects: Exchange runs the cmdlet once per input object.
        """
        params = self.parameters(cmdlet, parameters)
        self._need_session_key([value for _name, value in params])
        inputs = list(input_objects) if input_objects is not None else None
        try:
            return self._retrying(lambda: self._attempt(cmdlet, params, inputs), cmdlet)
        except NotFound:
            if not_found_ok:
                return []
            raise

    def _retrying(self, attempt, what):
        delays = generate_jittered_backoff(self.retries, self.delay_base, self.delay_threshold)
        started = self.clock()
        tries = 0
        while True:
            tries += 1
            try:
                return attempt()
            except Transient as err:
                delay = next(delays, None)
                if delay is None:
                    raise type(err)(self._gave_up(err, what, tries, self.clock() - started))
                self.stats["retries"] += 1
                self.stats["waited"] += delay
                self.sleep(delay)

    def _gave_up(self, err, what, tries, elapsed):
        message = "%s: tried %d times over %.0f seconds, still failing: %s" % (what, tries, elapsed, err.message)
        if isinstance(err, Throttled):
            message += (" The account has too many open PowerShell sessions or commands (Exchange throttling policy "
                        "PowerShellMaxConcurrency, 18 sessions per user by default, or WinRM's shell and command "
                        "quotas): close leaked sessions, lower forks, or raise the quota.")
        return message

    def _attempt(self, cmdlet, params, inputs=None):
        """One try of a cmdlet: its output as plain objects, or its first error record raised as an error."""
        ran = self.run_pipeline(cmdlet, params, inputs)
        if ran.errors:
            message, exc_type, category = error_details(ran.errors[0])
            raise classify_record(scrub(message, self.secrets), cmdlet, scrub(exc_type, self.secrets),
                                  scrub(category, self.secrets))
        return [to_plain(obj) for obj in ran.output]

    def run_pipeline(self, cmdlet, params, inputs=None):
        """One try of one pipeline on the session's pool (opened if needed), under the rules for writes.

        Returns a ``PipelineRun`` with the raw output and error records (callers decide what a record means);
        warnings are collected in ``self.warnings``. Transport faults are raised classified; a write whose
        reply was lost raises ``ReplyLost``.
        """
        if self._pool is not None and self.recycle_after and self._pool_commands >= self.recycle_after:
            self.close()
        if self._pool is None:
            self._open()
        self._pool_commands += 1
        self.stats["commands"] += 1
        pool = self._pool
        ps = self.transport.new_pipeline(pool)
        write = is_write(cmdlet)
        sent = False
        try:
            ps.add_cmdlet(cmdlet)
            for name, value in params:
                ps.add_parameter(name, wire_value(value))
            try:
                if inputs is None:
                    ps.begin_invoke()
                else:
                    ps.begin_invoke(input=[wire_value(v) for v in inputs])
                sent = True
                output = ps.end_invoke()
            except XPhoneError:
                raise
            except Exception as err:  # pylint: disable=broad-except
                fault = self._fault(err)
                if not isinstance(fault, Throttled) or sent:
                    # Throttling refused at Command creation leaves the pool usable; anything else may not.
                    self._discard_pool()
                refused = not sent and isinstance(fault, (Throttled, ShellLost))
                if write and isinstance(fault, Transient) and not refused:
                    raise ReplyLost("%s was sent but its reply was lost (%s); it is not sent again: the object is "
                                    "read again to see whether it took effect." % (cmdlet, fault.message), cmdlet)
                raise fault
            warnings = [scrub(getattr(record, "message", None) or str(record), self.secrets)
                        for record in getattr(ps.streams, "warning", None) or []]
            for text in warnings:
                if text not in self.warnings:
                    self.warnings.append(text)
            return PipelineRun(list(output or []), list(getattr(ps.streams, "error", None) or []), warnings,
                               getattr(ps, "state", None) == PIPELINE_FAILED)
        finally:
            if self._pool is pool:
                # Each pipeline is closed (WinRM counts open commands per shell); a discarded pool took its own with it.
                try:
                    ps.close()
                except Exception:  # pylint: disable=broad-except
                    pass

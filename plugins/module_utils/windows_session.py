# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A session to a Windows host's ``/wsman`` that runs cmdlet plans, over psrp or winrm as the host's inventory says.

``WindowsSession`` is a ``session.Session`` and keeps everything that class owns: the lifecycle (opened
on first use, kept for many plans, closed by ``close()``), one jittered backoff around each whole
attempt (never nested), the classification of transport faults, the remembered rejected logon, the
deserialiser (``to_plain``) and the scrubbing of secrets. It adds ``run_plan(plan)`` for a
``windows_plan.Plan`` and answers ``invoke`` with a one-step plan, so that a module's core calls the
same two methods whatever the wire. The wire is ``settings.transport`` (``resolve_windows_settings``):

- ``psrp``: each step is one pipeline through ``Session.run_pipeline``, on the session's RunspacePool (its
  error records go into the step's result instead of being raised).
  Secrets given as parameter values are bound as SecureStrings (the pool exchanges a session key).
- ``winrm``: pywinrm's ``Protocol`` (one authenticated HTTP session, kept) runs the fixed runner once per
  chunk of the plan (``split_for_winrs``), each in a WinRS shell of its own that is always deleted: a
  shell is what ``stats["opened"]``/``stats["closed"]`` count on this wire. A chunk holding a write is
  never sent twice: a lost reply raises ``ReplyLost``.

Error records never raise: they are in the step results (``step_error`` classifies one like the
session's ``classify_record``), and ``stop_on_error`` skips the steps after a failed one. Results,
warnings and messages come back with every secret of the plan and of the settings scrubbed.
"""

from __future__ import annotations

import re

from ansible_collections.xphone.connect.plugins.module_utils.errors import (
    AuthenticationFailed,
    AuthorizationFailed,
    CmdletFailed,
    ConfigurationError,
    NotFound,
    ReplyLost,
    ShellLost,
    Throttled,
    Transient,
    XPhoneError,
    classify_record,
    scrub,
)
from ansible_collections.xphone.connect.plugins.module_utils.session import INT32 as _INT32
from ansible_collections.xphone.connect.plugins.module_utils.session import PypsrpTransport, Session, error_details, is_write, to_plain
from ansible_collections.xphone.connect.plugins.module_utils.session import tagged as _tagged
from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import (
    ERROR_CATEGORIES,
    Int64,
    Plan,
    PlanError,
    Secret,
    parse_runner_output,
    plan_secrets,
    runner_command,
    skipped_result,
    split_for_winrs,
    step_failed,
)

# pywinrm's WinRMError texts that mean the settings cannot work (transport.py build_session, encryption.py).
_PYWINRM_SETTINGS_REFUSED = re.compile(r"is not installed|unsupported auth method|not supported in pywinrm|"
                                       r"does not support it|^invalid ")


def host_name(session):
    """The Windows host a module core's session talks to, as messages and diffs name it."""
    return getattr(getattr(session, "settings", None), "server", None) or "the host"


# -- psrp: a plan step through the session's own attempt ---------------------------------------------------

def psrp_value(value, top=True):
    """A plan value as pypsrp binds it: a top-level Secret as a SecureString, Int64 (and large ints) as System.Int64.

    A Secret inside a hashtable or list (``Invoke-CimMethod -Arguments @{StartPassword=...}``) is the plain
    string the method expects, as over WinRS; the transport is encrypted either way.
    """
    if isinstance(value, Secret):
        return _tagged("SS", value.reveal()) if top else value.reveal()
    if isinstance(value, Int64):
        return _tagged("I64", value.value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _INT32[0] <= value <= _INT32[1] else _tagged("I64", value)
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, (list, tuple)):
        return [psrp_value(v, False) for v in value]
    if isinstance(value, dict):
        return dict((k, psrp_value(v, False)) for k, v in value.items())
    return value


# -- winrm: the runner through pywinrm's Protocol ----------------------------------------------------------

class WinrmTransport(object):
    """The real WinRS wire: one pywinrm ``Protocol`` per session (no request is sent until a shell is opened)."""

    def connect(self, settings):
        try:
            from winrm.exceptions import WinRMError  # pylint: disable=import-outside-toplevel
            from winrm.protocol import Protocol  # pylint: disable=import-outside-toplevel
        except ImportError as err:  # pragma: no cover - depends on the controller's packages
            raise ConfigurationError("The pywinrm Python library is required on the controller for transport winrm: %s" % err)
        try:
            return Protocol(**settings.winrm_kwargs())
        except (WinRMError, ValueError) as err:
            raise ConfigurationError("The winrm settings for %s cannot work: %s" % (settings.url, scrub(err, settings.secrets)))


def _drop_http_session(protocol):
    # After a fault the HTTP connection (and an NTLM/Kerberos message-encryption context tied to it) may be
    # unusable; the next request builds a new session with its own handshake.
    try:
        protocol.transport.close_session()
    except Exception:  # pylint: disable=broad-except
        pass


_CLIXML_ERROR = re.compile(br'<S S="Error">(.*?)</S>', re.S)


def _clixml_text(stderr):
    """PowerShell's CLIXML error stream as text (what pywinrm's ``run_ps`` does with it)."""
    if not stderr or not stderr.startswith(b"#< CLIXML"):
        return stderr
    text = b"".join(_CLIXML_ERROR.findall(stderr)).replace(b"_x000D__x000A_", b"\n")
    return text or stderr


# -- results ---------------------------------------------------------------------------------------------

def _scrubbed(value, secrets):
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list):
        return [_scrubbed(v, secrets) for v in value]
    if isinstance(value, dict):
        return dict((_scrubbed(k, secrets), _scrubbed(v, secrets)) for k, v in value.items())
    return value


_NOT_A_CMDLET = re.compile(r"\bCommandNotFoundException\b|is not recognized as the name of a cmdlet")


def step_error(result):
    """The first error of a step's result as an error of the family, or None when the step had none.

    Classified as the session classifies a cmdlet's error record (not found, denied, failed), with messages
    about Windows rather than Exchange's RBAC.
    """
    errors = result.get("errors") or []
    if not errors:
        return None
    error, cmdlet = errors[0], result.get("cmdlet")
    message = error.get("message") or "unknown error"
    kinds = " ".join(str(p) for p in (error.get("fqeid"), error.get("reason"), error.get("category")) if p)
    if _NOT_A_CMDLET.search(" ".join((kinds, str(error.get("exception") or ""), message))):
        return CmdletFailed("%s is not available on the Windows host (is its PowerShell module installed?): %s"
                            % (cmdlet, message), cmdlet)
    found = classify_record(message, cmdlet, error.get("exception") or "", kinds)
    if isinstance(found, AuthorizationFailed):
        return AuthorizationFailed("Windows denied %s to the account (it needs local administrator rights for "
                                   "registry, files and services): %s" % (cmdlet, message), cmdlet)
    return found


class WindowsSession(Session):
    """A session to a Windows host's ``/wsman``: ``run_plan(plan)`` and ``invoke``, over ``settings.transport``."""

    def __init__(self, settings, transport=None, winrm_transport=None, **kwargs):
        super(WindowsSession, self).__init__(settings, transport=transport or PypsrpTransport(), **kwargs)
        self.winrm_transport = winrm_transport or WinrmTransport()
        self._protocol = None

    @property
    def wire(self):
        return getattr(self.settings, "transport", None) or "psrp"

    @property
    def is_open(self):
        return self._pool is not None or self._protocol is not None

    def close(self, broken=False):
        super(WindowsSession, self).close(broken=broken)
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            _drop_http_session(protocol)

    def _fault(self, err, opening=False):
        if type(err).__name__ == "WinRMError" and _PYWINRM_SETTINGS_REFUSED.search(str(err)):
            # pywinrm's own refusal of the settings as it builds its HTTP session (e.g. kerberos without pykerberos).
            return ConfigurationError("The winrm settings for %s cannot work: %s" % (self.settings.url, scrub(err, self.secrets)))
        classified = super(WindowsSession, self)._fault(err, opening)
        if isinstance(classified, ConfigurationError) and getattr(err, "code", None) == 404:
            classified = ConfigurationError("%s answered 404 Not Found: check the server, the port (the host's WinRM port, "
                                            "5985 for http and 5986 for https) and connection_uri." % self.settings.url)
        return classified

    # -- the interface of the modules' cores ----------------------------------------------------------
    def invoke(self, cmdlet, parameters=None, not_found_ok=False, input_objects=None):
        """One allow-listed cmdlet as a one-step plan: its output, or its first error record raised.

        ``not_found_ok`` turns a not-found error record into an empty result. A plan step takes no pipeline input.
        """
        if input_objects is not None:
            raise ConfigurationError("A Windows plan step takes no pipeline input (%s)." % cmdlet)
        result = self.run_plan(Plan().add(cmdlet, parameters))[0]
        err = step_error(result)
        if err is None:
            return result["output"]
        if not_found_ok and isinstance(err, NotFound):
            return []
        raise err

    def run_plan(self, plan):
        """Run ``plan``; one result per step (see ``windows_plan``), with every secret scrubbed."""
        for secret in plan_secrets(plan):
            self.add_secret(secret)
        if self.wire == "winrm":
            results = self._run_winrs(plan)
        else:
            results = self._run_psrp(plan)
        return _scrubbed(results, self.secrets)

    # -- psrp --------------------------------------------------------------------------------------------
    def _run_psrp(self, plan):
        if any(isinstance(value, Secret) for step in plan.steps for _name, value in step.parameters):
            self._session_key = True
            self._retrying(self._exchange_keys, "the session key exchange")
        results, stop = [], False
        for step in plan.steps:
            if stop:
                results.append(skipped_result(step.cmdlet))
                continue
            params = [(name, psrp_value(value)) for name, value in step.parameters]
            result = self._retrying(lambda cmdlet=step.cmdlet, params=params: self._psrp_step(cmdlet, params), step.cmdlet)
            results.append(result)
            stop = plan.stop_on_error and step_failed(result)
        return results

    def _psrp_step(self, cmdlet, params):
        ran = self.run_pipeline(cmdlet, params)
        last = len(ran.errors) - 1
        return {"cmdlet": cmdlet, "skipped": False, "output": [to_plain(obj) for obj in ran.output],
                "errors": [self._psrp_error(record, ran.failed and i == last) for i, record in enumerate(ran.errors)],
                "warnings": ran.warnings}

    def _psrp_error(self, record, terminating):
        message, exception_type, _category = error_details(record)
        category = getattr(record, "category", 0) or 0
        if isinstance(category, int) and 0 <= category < len(ERROR_CATEGORIES):
            category = ERROR_CATEGORIES[category]
        return {"message": scrub(message, self.secrets), "category": str(category),
                "fqeid": str(getattr(record, "fq_error", "") or ""), "exception": exception_type,
                "reason": str(getattr(record, "reason", "") or ""), "terminating": bool(terminating)}

    # -- winrm -------------------------------------------------------------------------------------------
    def _run_winrs(self, plan):
        results, stop = [], False
        for batch in split_for_winrs(plan):
            if stop:
                results.extend(skipped_result(step.cmdlet) for step in batch)
                continue
            command = runner_command(plan, batch)
            write = any(is_write(step.cmdlet) for step in batch)
            what = ", ".join(sorted(set(step.cmdlet for step in batch)))
            batch_results = self._retrying(lambda command=command, write=write, what=what:
                                           self._winrs_attempt(command, write, what), what)
            if len(batch_results) != len(batch):
                raise PlanError("The Windows plan runner returned %d results for %d steps." % (len(batch_results), len(batch)))
            for result in batch_results:
                for warning in result["warnings"]:
                    text = scrub(warning, self.secrets)
                    if text not in self.warnings:
                        self.warnings.append(text)
            results.extend(batch_results)
            stop = plan.stop_on_error and any(step_failed(r) for r in batch_results)
        return results

    def _winrm_protocol(self):
        if self._protocol is None:
            self._protocol = self.winrm_transport.connect(self.settings)
        return self._protocol

    def _winrs_attempt(self, command, write, what):
        """Run the runner once in a new WinRS shell, and delete the shell whatever happens."""
        if self._terminal is not None:
            raise self._terminal
        protocol = self._winrm_protocol()
        shell_id = None
        sent = False
        try:
            shell_id = self._open_shell(protocol)
            self.stats["commands"] += 1
            command_id = protocol.run_command(shell_id, command)
            sent = True
            stdout, stderr, rc = protocol.get_command_output(shell_id, command_id)
        except XPhoneError:
            raise
        except Exception as err:  # pylint: disable=broad-except
            fault = self._fault(err, opening=shell_id is None)
            if shell_id is not None and not isinstance(fault, (ShellLost, AuthenticationFailed)):
                # A shell the server still has is deleted now rather than at its idle timeout (which would
                # hold one of the account's shells); never after a rejected logon, which would be another one.
                self._delete_shell(protocol, shell_id, broken=True)
            else:
                _drop_http_session(protocol)
            # Refused before the command existed: nothing ran, so even a write may be sent again.
            refused = not sent and isinstance(fault, (Throttled, ShellLost))
            if write and shell_id is not None and isinstance(fault, Transient) and not refused:
                raise ReplyLost("%s was sent but its reply was lost (%s); it is not sent again: the object is read "
                                "again to see whether it took effect." % (what, fault.message), what)
            raise fault
        else:
            try:
                protocol.cleanup_command(shell_id, command_id)
            except Exception:  # pylint: disable=broad-except
                pass  # deleting the shell ends the command as well
            self._delete_shell(protocol, shell_id, broken=False)
            try:
                return parse_runner_output(stdout, _clixml_text(stderr), rc)
            except PlanError as err:
                raise PlanError(scrub(str(err), self.secrets))

    def _open_shell(self, protocol):
        transport = protocol.transport
        saved = transport.read_timeout_sec
        # A server that accepts the connection but never answers must fail within connect_timeout.
        transport.read_timeout_sec = self.settings.connection_timeout
        try:
            shell_id = protocol.open_shell()
        finally:
            transport.read_timeout_sec = saved
        self._answered = True
        self.stats["opened"] += 1
        return shell_id

    def _delete_shell(self, protocol, shell_id, broken):
        transport = protocol.transport
        if broken:
            _drop_http_session(protocol)
        saved = transport.read_timeout_sec
        # Deleting must not hang on a broken connection either.
        transport.read_timeout_sec = min(saved, max(5, self.settings.connection_timeout))
        try:
            protocol.close_shell(shell_id, close_session=False)
            self.stats["closed"] += 1
        except Exception:  # pylint: disable=broad-except
            # The server ends it at its idle timeout; the next request starts on a new connection.
            _drop_http_session(protocol)
        finally:
            transport.read_timeout_sec = saved

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Both ends of the persistent session: the table of sessions in the ``ansible-connection`` process, and
the proxy the action plugins use in place of a local ``Session``.

A request is one JSON object::

    {"settings": {...ExchangeSettings.to_dict()...}, "task": "<task uuid>",
     "op": "invoke", "cmdlet": "Get-RemoteDomain", "parameters": [["Identity", "fax"]], "not_found_ok": false}

A Windows host's plan (``WindowsSession.run_plan``) is ``"op": "plan", "plan": {...windows_plan.plan_to_data()...}``;
its ``output`` is the list of step results.

The answer is ``{"output": [...], "warnings": [...], "stats": {...}}`` or
``{"error": {...XPhoneError.as_dict()...}, "repeat": bool, "warnings": [...]}``. ``repeat`` is true when
the error ended the host earlier in the same task (a later loop item): the runner then skips the item
instead of reporting the host unreachable once per item.
"""

from __future__ import annotations

import json
import time

from ansible.module_utils.connection import ConnectionError  # pylint: disable=redefined-builtin

from ansible_collections.xphone.connect.plugins.module_utils.connection import ExchangeSettings, is_windows_settings
from ansible_collections.xphone.connect.plugins.module_utils.errors import ConfigurationError, XPhoneError, from_dict, scrub
from ansible_collections.xphone.connect.plugins.module_utils.session import Session
from ansible_collections.xphone.connect.plugins.module_utils.windows_plan import (
    Secret, plan_from_data, plan_secrets, plan_to_data, value_from_data, value_to_data,
)
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession


class SessionTable(object):
    """The sessions of one inventory host, keyed by their settings (another user or password is another session)."""

    def __init__(self, session_class=Session, windows_session_class=WindowsSession):
        self.session_class = session_class
        # Settings of a Windows host's /wsman get a session that also runs plans.
        self.windows_session_class = windows_session_class
        self._sessions = {}
        self._ended_by = {}       # session key -> uuid of the task whose request ended the host

    def handle(self, request):
        settings = ExchangeSettings.from_dict(request["settings"])
        key = settings.session_key()
        session = self._sessions.get(key)
        if session is None:
            session_class = self.windows_session_class if is_windows_settings(settings) else self.session_class
            session = self._sessions[key] = session_class(settings)
        session.warnings = []
        task = request.get("task")
        ended = session.terminal_error
        try:
            if request.get("op") == "close":
                session.close()
                return dict(output=[], warnings=[])
            if request.get("op") == "plan":
                if not hasattr(session, "run_plan"):
                    raise ConfigurationError("A Windows plan needs the settings of a Windows host's /wsman endpoint.")
                output = session.run_plan(plan_from_data(request["plan"]))
                return dict(output=output, warnings=session.warnings, stats=dict(session.stats))
            params = [(name, value_from_data(value)) for name, value in request.get("parameters") or []]
            output = session.invoke(request["cmdlet"], params, not_found_ok=bool(request.get("not_found_ok")),
                                    input_objects=request.get("input"))
            return dict(output=output, warnings=session.warnings, stats=dict(session.stats))
        except XPhoneError as err:
            repeat = ended is not None and self._ended_by.get(key) == task
            if err.unreachable and ended is None:
                self._ended_by[key] = task
            return dict(error=err.as_dict(), repeat=repeat, warnings=session.warnings)

    def stats(self):
        return dict((key[:12], dict(s.stats, url=s.settings.url, open=s.is_open)) for key, s in self._sessions.items())

    def close_all(self):
        for session in self._sessions.values():
            try:
                session.close()
            except Exception:  # pylint: disable=broad-except
                pass


class RemoteSession(object):
    """What the modules' cores see in an action plugin: ``Session``'s interface, served by ``ansible-connection``."""

    def __init__(self, connection, settings, task_uuid):
        self._connection = connection
        self.settings = settings
        self.task_uuid = task_uuid
        self.secrets = list(settings.secrets)
        self.warnings = []
        self.sleep = time.sleep

    def add_secret(self, value):
        if value:
            self.secrets.append(str(value))

    def invoke(self, cmdlet, parameters=None, not_found_ok=False, input_objects=None):
        params = list(parameters.items()) if isinstance(parameters, dict) else list(parameters or [])
        for _name, value in params:
            if isinstance(value, Secret):
                self.add_secret(value.reveal())
        request = dict(op="invoke", cmdlet=cmdlet, parameters=[[name, value_to_data(value)] for name, value in params],
                       not_found_ok=not_found_ok)
        if input_objects is not None:
            request["input"] = list(input_objects)
        return self._request(request)

    def run_plan(self, plan):
        """``WindowsSession.run_plan`` in the persistent process; the plan's secrets cross the private socket only."""
        for secret in plan_secrets(plan):
            self.add_secret(secret)
        return self._request(dict(op="plan", plan=plan_to_data(plan)))

    def _request(self, request):
        request.update(settings=self.settings.to_dict(), task=self.task_uuid)
        try:
            answer = json.loads(self._connection.session_request(json.dumps(request)))
        except ConnectionError as err:
            # The persistent process ended (killed, or its command timeout fired): nothing more is known.
            raise XPhoneError("The session process for %s ended during the request: %s"
                              % (self.settings.url, scrub(str(err), self.secrets)))
        for warning in answer.get("warnings") or []:
            warning = scrub(warning, self.secrets)
            if warning not in self.warnings:
                self.warnings.append(warning)
        if "error" in answer:
            err = from_dict(answer["error"])
            # The other side scrubbed it already; this side knows the same secrets and checks again.
            err.message = scrub(err.message, self.secrets)
            err.repeat = bool(answer.get("repeat"))
            raise err
        return answer["output"]

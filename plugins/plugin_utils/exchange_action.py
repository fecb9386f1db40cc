# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared base of the Exchange action plugins: validate, resolve settings, run in-process, report.

It lives in plugin_utils rather than plugins/action because every file in plugins/action must be an
action plugin with a matching module (ansible-test's action-plugin-docs check).
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.xphone.connect.plugins.module_utils.connection import (
    CONNECTION_OPTIONS,
    from_host_connection,
    from_task_vars,
    resolve_settings,
)
from ansible_collections.xphone.connect.plugins.module_utils.errors import ExchangeError, scrub
from ansible_collections.xphone.connect.plugins.module_utils.exchange_session import ExchangeSession


class ExchangeActionBase(ActionBase):
    """Subclasses set ``CORE``: a module_utils module with ARGUMENT_SPEC, REQUIRED_IF and run()."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    CORE = None

    def _host_settings(self):
        connection = getattr(self, "_connection", None)
        load_name = getattr(connection, "_load_name", "") or ""
        if not load_name.endswith(("psrp", "winrm")):
            return {}
        return from_host_connection(load_name, self.get_connection_option)

    def _template(self, value):
        try:
            return self._templar.template(value)
        except Exception:  # pylint: disable=broad-except
            return value

    def run(self, tmp=None, task_vars=None):
        result = super(ExchangeActionBase, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        core = self.CORE
        _validation, params = self.validate_argument_spec(argument_spec=core.ARGUMENT_SPEC, required_if=core.REQUIRED_IF)
        secrets = [params.get("password")]
        try:
            host = self._host_settings()
            secrets.append(host.get("password"))
            inventory = from_task_vars(task_vars, self._template)
            secrets.append(inventory.get("password"))
            options = dict((k, params.get(k)) for k in CONNECTION_OPTIONS)
            settings, warnings = resolve_settings(options, os.environ, host, inventory)
            secrets.append(settings.password)
            session = ExchangeSession(settings)
            try:
                outcome = core.run(session, params, check_mode=bool(self._task.check_mode),
                                   diff_mode=bool(self._task.diff))
            finally:
                session.close()
        except ExchangeError as err:
            result.update(failed=True, msg=scrub(err.message, secrets))
            if getattr(err, "option", None):
                result["option"] = err.option
            return result
        warnings = list(warnings) + [w for w in outcome.pop("warnings", []) if w not in warnings]
        result.update(outcome)
        if warnings:
            result["warnings"] = [scrub(w, secrets) for w in warnings]
        return result

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one runner behind every xphone.connect module: settings, session, the module's core, scrubbing, result.

The action plugins (``plugin_utils/action.py``) call it with the host's connection settings and the
persistent session of the play; the module files' ``main()`` (``run_module``) call it with the options
and environment only and a session of their own, closed at the end.

A module core is a module_utils module with ``ARGUMENT_SPEC``, ``REQUIRED_IF`` and
``run(session, params, check_mode, diff_mode)``, which returns the result and raises ``XPhoneError``;
``ENDPOINT = "windows"`` makes it a core for a Windows host's ``/wsman`` (default: Exchange's ``/PowerShell``).
"""

from __future__ import annotations

import os

from ansible_collections.xphone.connect.plugins.module_utils import connection
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, XPhoneError, scrub
from ansible_collections.xphone.connect.plugins.module_utils.session import Session
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession


class Endpoint(object):
    """Where a core's settings come from and which session serves it."""

    def __init__(self, options, resolve, from_host, from_vars, session_class):
        self.options = options
        self.resolve = resolve
        self.from_host = from_host
        self.from_vars = from_vars
        self.session_class = session_class

    def connection_options(self, params):
        return dict((k, params.get(k)) for k in self.options)


ENDPOINTS = dict(
    exchange=Endpoint(connection.CONNECTION_OPTIONS, connection.resolve_settings, connection.from_host_connection,
                      connection.from_task_vars, Session),
    windows=Endpoint(connection.WINDOWS_CONNECTION_OPTIONS, connection.resolve_windows_settings,
                     connection.from_windows_host_connection, connection.from_windows_task_vars, WindowsSession),
)


def endpoint(core):
    return ENDPOINTS[getattr(core, "ENDPOINT", "exchange")]


def failure(err, secrets, host=None):
    """The result for an error of the family: unreachable ones end the host, the others fail the task."""
    if getattr(err, "repeat", False):
        return dict(skipped=True, changed=False,
                    skip_reason="%s was reported unreachable by an earlier item of this task; not tried again"
                    % (host or "the host"))
    if err.unreachable:
        # As for an SSH logon that fails: the host is out of the rest of the run, and nothing is retried.
        return dict(unreachable=True, changed=False, msg=scrub(err.message, secrets))
    result = dict(failed=True, changed=False, msg=scrub(err.message, secrets))
    if isinstance(err, InvalidInput):
        result["option"] = err.option
    return result


def execute(core, params, settings, session, check_mode=False, diff_mode=False, warnings=(), host=None):
    """Run ``core`` on ``session``; returns the module result (``failed`` set on an error of the family)."""
    secrets = ([params.get(name) for name, spec in core.ARGUMENT_SPEC.items() if spec.get("no_log")] + [settings.password]
               + list(getattr(session, "secrets", [])))
    try:
        result = core.run(session, params, check_mode=check_mode, diff_mode=diff_mode)
    except XPhoneError as err:
        return failure(err, secrets, host)
    messages = list(warnings) + [w for w in result.pop("warnings", []) if w not in warnings]
    if messages:
        result["warnings"] = [scrub(w, secrets) for w in messages]
    return result


def run_module(core):
    """``main()`` of a module file: the same runner, with the options and environment as the only settings."""
    from ansible.module_utils.basic import AnsibleModule  # pylint: disable=import-outside-toplevel

    module = AnsibleModule(argument_spec=core.ARGUMENT_SPEC, required_if=core.REQUIRED_IF, supports_check_mode=True)
    params = module.params
    where = endpoint(core)
    try:
        settings, warnings = where.resolve(where.connection_options(params), os.environ)
    except XPhoneError as err:
        module.fail_json(**failure(err, [params.get("password")]))
    with where.session_class(settings) as session:
        result = execute(core, params, settings, session, module.check_mode, module._diff, warnings)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**dict((k, v) for k, v in result.items() if k != "failed"))
    module.exit_json(**result)

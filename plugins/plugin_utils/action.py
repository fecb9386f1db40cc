# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared base of the xphone.connect action plugins: validate, resolve settings, run on the play's session, report.

The module's logic runs in-process on the controller. Its session lives in an ``ansible-connection``
process started through ansible-core's persistent-connection machinery (``start_connection``, as
network_cli and httpapi do), one per inventory host, serving the connection plugin
``xphone.connect.remoting``. Every xphone.connect task and loop item on the host reuses it, so the
play opens one authenticated session per host and endpoint; the strategy closes it when the play ends
(it finds the socket in the task's ``_ansible_socket`` argument, as for network modules).

It lives in plugin_utils rather than plugins/action because every file in plugins/action must be an
action plugin with a matching module (ansible-test's action-plugin-docs check).
"""

from __future__ import annotations

import json
import os
import re
import socket

from ansible.errors import AnsibleActionFail
from ansible.executor.task_executor import start_connection
from ansible.module_utils.connection import Connection
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import connection_loader

from ansible_collections.xphone.connect.plugins.module_utils import runner
from ansible_collections.xphone.connect.plugins.module_utils.errors import XPhoneError
from ansible_collections.xphone.connect.plugins.module_utils.remote_session import RemoteSession

PERSISTENT_CONNECTION = "xphone.connect.remoting"
# A role's task may set this variable to a mapping of module option -> the role variable that fed it; errors about
# that option then name the variable the user set (issue: "module errors raised inside a role name the role
# variable"). Only the task that sets it is affected.
OPTION_VARIABLES = "xphone_connect_option_variables"
_PERSISTENT_VARS = ("ansible_connect_timeout", "ansible_command_timeout")


def _answers(socket_path):
    """Whether a process listens on the socket (one killed outright leaves its socket file behind)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(socket_path)
        return True
    except OSError:
        try:
            os.unlink(socket_path)
        except OSError:
            pass
        return False
    finally:
        probe.close()


def canonical_choices(argument_spec, args):
    """``args`` with each string of a choices option written as the choice (Exchange binds enum names in any case)."""
    out = dict(args)
    for option, spec in argument_spec.items():
        value = out.get(option)
        choices = spec.get("choices")
        if not choices or not isinstance(value, str) or value in choices:
            continue
        match = [c for c in choices if isinstance(c, str) and c.lower() == value.lower()]
        if len(match) == 1:
            out[option] = match[0]
    return out


def in_role_words(result, message, variables, args):
    """The failure ``result`` with ``message`` told in the role's variables: the variable that fed the failing option
    first, with its value, and advice such as ``allow_wide_remote_ip_ranges: true`` naming the role's variable."""
    option = result.get("option")
    if option is None:
        # An argument spec error has no option of its own; it names the option in its text.
        mentioned = [o for o in variables if re.search(r"\b%s\b" % re.escape(o), message)]
        option = mentioned[0] if mentioned else None
    if option in variables and message.startswith(option + ": "):
        # The option's own "option: " prefix; the variable takes its place in front.
        message = message[len(option) + 2:]
    for name, variable in variables.items():
        message = re.sub(r"\b%s(?=: )" % re.escape(name), str(variable), message)
    if option in variables:
        value = args.get(option)
        message = "%s (given to %s as %s = %s): %s" % (
            variables[option], result.get("action", "the module"), option, _show(value), message)
        result["variable"] = variables[option]
    result["msg"] = message
    return result


def _show(value):
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


class XPhoneAction(ActionBase):
    """Subclasses set ``CORE``: a module_utils module with ARGUMENT_SPEC, REQUIRED_IF and run()."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    CORE = None

    def _host_settings(self, where):
        connection = getattr(self, "_connection", None)
        load_name = getattr(connection, "_load_name", "") or ""
        if not load_name.endswith(("psrp", "winrm")):
            return {}
        return where.from_host(load_name, self.get_connection_option)

    def _template(self, value):
        try:
            return self._templar.template(value)
        except Exception:  # pylint: disable=broad-except
            return value

    def _session_socket(self, task_vars):
        """The host's persistent ``ansible-connection`` process (started on first use), as a socket path."""
        play_context = self._play_context.copy()
        play_context.connection = PERSISTENT_CONNECTION
        # One process per inventory host and play, whatever address the host's own connection uses: the socket
        # path is derived from these fields and the ansible-playbook pid. The play is part of it so that a new play
        # never meets the socket of the previous play's process while that one is still shutting down.
        play = self._task.get_play()
        play_context.remote_addr = task_vars.get("inventory_hostname") or play_context.remote_addr
        play_context.port = None
        play_context.remote_user = "play-%s" % (getattr(play, "_uuid", None) or "")
        # The plugin finds the socket of the process already running for this host and play (as ansible-connection
        # derives the path). Starting ansible-connection for every task or item would cost a Python start each time.
        plugin = connection_loader.get(PERSISTENT_CONNECTION, play_context, os.devnull, ansible_playbook_pid=os.getppid())
        socket_path = plugin.socket_path if plugin.socket_path and _answers(plugin.socket_path) else None
        if socket_path is None:
            plugin.set_options(var_options=dict((name, self._template(task_vars[name])) for name in _PERSISTENT_VARS
                                                if name in task_vars))
            socket_path = start_connection(play_context, plugin.get_options(), self._task._uuid)
        self._register_socket(socket_path)
        return socket_path

    def _register_socket(self, socket_path):
        """Tell the strategy about the process, so that it closes the session when the play ends.

        The strategy reads ``_ansible_socket`` from the arguments of the task it queued. A loop item runs on a
        copy of that task, so the socket is also set on the original (found in its block by its uuid).
        """
        self._task.args["_ansible_socket"] = socket_path
        parent = getattr(self._task, "_parent", None)
        for task in getattr(parent, "block", None) or []:
            if getattr(task, "_uuid", None) == self._task._uuid and task is not self._task:
                task.args["_ansible_socket"] = socket_path

    def run(self, tmp=None, task_vars=None):
        result = super(XPhoneAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        core = self.CORE
        self._task.args.pop("_ansible_socket", None)
        self._task.args = canonical_choices(core.ARGUMENT_SPEC, self._task.args)
        variables = self._template(task_vars.get(OPTION_VARIABLES)) or {}
        variables = variables if isinstance(variables, dict) else {}
        try:
            _validation, params = self.validate_argument_spec(argument_spec=core.ARGUMENT_SPEC, required_if=core.REQUIRED_IF)
        except AnsibleActionFail as err:
            if not variables:
                raise
            result.update(in_role_words(dict(failed=True, changed=False, action=self._task.action), err.message,
                                        variables, self._task.args))
            result.pop("action", None)
            return result
        # Every no_log option is a secret to scrub (the connection's password, a service account's password).
        secrets = [params.get(name) for name, spec in core.ARGUMENT_SPEC.items() if spec.get("no_log")]
        warnings = []
        if self._task.become:
            warnings.append("become has no effect on %s: it runs on the controller and acts on the server as the "
                            "account it connects with" % self._task.action)
        where = runner.endpoint(core)
        try:
            host = self._host_settings(where)
            inventory = where.from_vars(task_vars, self._template)
            secrets += [host.get("password"), inventory.get("password")]
            settings, setting_warnings = where.resolve(where.connection_options(params), os.environ, host, inventory)
            secrets.append(settings.password)
            session = RemoteSession(Connection(self._session_socket(task_vars)), settings, self._task._uuid)
        except XPhoneError as err:
            result.update(runner.failure(err, secrets, task_vars.get("inventory_hostname")))
            return result
        outcome = runner.execute(core, params, settings, session, bool(self._task.check_mode), bool(self._task.diff),
                                 warnings + setting_warnings, task_vars.get("inventory_hostname"))
        if outcome.get("failed") and variables:
            outcome = in_role_words(dict(outcome, action=self._task.action), outcome.get("msg", ""), variables, params)
            outcome.pop("action", None)
        result.update(outcome)
        return result

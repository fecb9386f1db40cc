# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: remoting
short_description: Holds the xphone.connect PowerShell sessions of one host for a whole play
description:
  - The xphone.connect action plugins start this connection through Ansible's persistent-connection
    process (C(ansible-connection)), one per inventory host, whatever the host's own C(ansible_connection)
    (C(psrp), C(winrm)) is. It keeps one authenticated PowerShell Remoting session per endpoint (Exchange's
    C(/PowerShell), the host's C(/wsman)) open for every xphone.connect task and loop item on that host,
    reopens it only when the server dropped it, and closes it when the play ends (or on a C(reset_connection) meta task).
  - A rejected logon is remembered for the rest of the play, so a wrong password costs one failed logon per
    host, not one per task or item.
  - Do not set it as C(ansible_connection); it is not a general-purpose connection.
author: xphone.connect contributors (@xphone-connect)
version_added: 0.1.0
options:
  persistent_connect_timeout:
    description:
      - Seconds the session may stay idle (no xphone.connect task on the host) before the persistent process
        closes it. The next task opens a new one.
    type: int
    default: 300
    ini:
      - section: persistent_connection
        key: connect_timeout
    env:
      - name: ANSIBLE_PERSISTENT_CONNECT_TIMEOUT
    vars:
      - name: ansible_connect_timeout
  persistent_command_timeout:
    description:
      - Seconds one request to the session may take, retries and their backoff included, before the
        persistent process gives up and closes the session. It must exceed the longest backoff (65 seconds)
        plus the connect and operation timeouts.
    type: int
    default: 600
    ini:
      - section: persistent_connection
        key: command_timeout
    env:
      - name: ANSIBLE_PERSISTENT_COMMAND_TIMEOUT
    vars:
      - name: ansible_command_timeout
  persistent_log_messages:
    description:
      - Always false and not settable. The requests carry the hosts' passwords, so they are never logged.
    type: bool
    default: false
"""

import json
import os
import threading
import time

from ansible.plugins.connection import NetworkConnectionBase

from ansible_collections.xphone.connect.plugins.module_utils import remote_session


class Connection(NetworkConnectionBase):
    """The sessions of one inventory host, served to the action plugins over the persistent socket."""

    transport = "xphone.connect.remoting"
    has_pipelining = False

    def __init__(self, play_context, *args, **kwargs):
        super(Connection, self).__init__(play_context, *args, **kwargs)
        self._sessions = remote_session.SessionTable()
        self._watching = False

    def _connect(self):
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        raise NotImplementedError("xphone.connect.remoting runs PowerShell sessions only; it is not a host connection")

    def set_options(self, task_keys=None, var_options=None, direct=None):
        super(Connection, self).set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        # Never log the requests, whatever a configuration file says: they carry passwords.
        self._options["persistent_log_messages"] = False
        self._watch_playbook()

    def _watch_playbook(self):
        """End the process with the ansible-playbook run that started it (after Ctrl-C or a crash too)."""
        pid = self._ansible_playbook_pid
        if self._watching or not pid:
            return
        self._watching = True

        def watch():
            while True:
                time.sleep(1)
                try:
                    os.kill(int(pid), 0)
                except (OSError, ValueError):
                    self._sessions.close_all()
                    # ansible-connection shuts down (and removes its socket) on SIGTERM.
                    os.kill(os.getpid(), 15)
                    return

        threading.Thread(target=watch, name="xphone-playbook-watch", daemon=True).start()

    def session_request(self, request):
        """One request from an action plugin (JSON text in, JSON text out; see module_utils/remote_session)."""
        return json.dumps(self._sessions.handle(json.loads(request)))

    def session_stats(self):
        return json.dumps(self._sessions.stats())

    def close(self):
        self._sessions.close_all()
        super(Connection, self).close()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: windows_service
short_description: Start mode, status and restart of a Windows service, over the host's WS-Management endpoint
version_added: 0.2.0
description:
  - Sets a service's start mode and whether it runs with C(Set-Service), after reading both with C(Get-Service), and
    restarts it with C(Restart-Service) when O(restart=true). Only what differs is written.
  - Used by the roles for Exchange's IMAP4 services (C(MSExchangeIMAP4), C(MSExchangeIMAP4BE)), which Exchange installs
    with start mode C(Manual) and stopped.
  - Runs on the controller and reaches the host's C(/wsman) over psrp or winrm, as the host's inventory says, with
    the collection's fixed plan runner (no script text is ever sent).
  - The service must exist; it is never installed or removed.
options:
  name:
    description:
      - The service name (not the display name), such as V(MSExchangeIMAP4). Any case.
    type: str
    required: true
  start_mode:
    description:
      - The start mode. Any case.
    type: str
    choices: [Automatic, Manual, Disabled]
  state:
    description:
      - V(started) starts a stopped service, V(stopped) stops a running one. Unset leaves the status as it is.
    type: str
    choices: [started, stopped]
  restart:
    description:
      - Restart the service, once. A service that this task has just started is not restarted again.
      - Cannot be combined with O(state=stopped).
    type: bool
    default: false
extends_documentation_fragment:
  - xphone.connect.windows.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.windows
seealso:
  - module: xphone.connect.exchange_imap_settings
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Both IMAP4 services automatic and running (vendor procedure, "IMAP4 access")
  xphone.connect.windows_service:
    name: "{{ item }}"
    start_mode: Automatic
    state: started
  loop: [MSExchangeIMAP4, MSExchangeIMAP4BE]

- name: Restart them after the IMAP4 settings changed
  xphone.connect.windows_service:
    name: "{{ item }}"
    state: started
    restart: true
  loop: [MSExchangeIMAP4, MSExchangeIMAP4BE]
  when: imap.restart_required
'''

RETURN = r'''
service:
  description: The service as C(Get-Service) showed it (before a restart). In check mode, the service as it was.
  returned: always
  type: dict
  sample: {"Name": "MSExchangeIMAP4", "Status": "Running", "StartType": "Automatic"}
object:
  description: The service as messages and diffs name it.
  returned: always
  type: str
  sample: service "MSExchangeIMAP4" on ex01.alleo.intern
restarted:
  description: Whether the service was restarted (in check mode, would be).
  returned: always
  type: bool
differences:
  description: Every setting that differed, with the option name, the parameter, and the values before and after.
  returned: always
  type: list
  elements: dict
  sample: [{"option": "start_mode", "parameter": "StartupType", "before": "Manual", "after": "Automatic"}]
'''

from ansible_collections.xphone.connect.plugins.module_utils import windows_service
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(windows_service)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: windows_registry_value
short_description: One registry value on a Windows host, over its WS-Management endpoint
version_added: 0.2.0
description:
  - Reads the value (C(Get-ItemProperty)) and writes it only when it is missing or differs, type included (a DWORD
    V(128) and a string V(128) differ); the key is created when missing (C(New-Item -Force)).
  - Used for the Information Store's session limit, the vendor document's C(Maximum Allowed Sessions Per User) under
    C(HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem), which takes effect only after the
    Information Store restarts.
  - Runs on the controller and reaches the host's C(/wsman) over psrp or winrm, as the host's inventory says, with
    the collection's fixed plan runner.
options:
  path:
    description:
      - The key, such as V(HKLM:\\SOFTWARE\\Clients\\Mail). Only C(HKLM:) and C(HKCU:) paths.
    type: str
    required: true
  name:
    description:
      - The value's name; an empty string is the key's default value.
    type: str
    required: true
  type:
    description:
      - The value's type.
    type: str
    choices: [binary, dword, expandstring, multistring, qword, string]
    default: dword
  data:
    description:
      - The data. A number (decimal, or hexadecimal as V(0x80)) for V(dword) and V(qword); a list of strings for
        V(multistring); hexadecimal bytes or a list of bytes for V(binary).
      - Required with O(state=present).
    type: raw
  state:
    description:
      - V(present) writes the value; V(absent) removes it (the key stays).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - xphone.connect.windows.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.windows
seealso:
  - module: xphone.connect.windows_service
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: 128 MAPI sessions per user (vendor document, "Exchange Mailbox Store Limits")
  xphone.connect.windows_registry_value:
    path: HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeIS\ParametersSystem
    name: Maximum Allowed Sessions Per User
    type: dword
    data: 128
'''

RETURN = r'''
path:
  description: The key, as written.
  returned: always
  type: str
name:
  description: The value's name.
  returned: always
  type: str
type:
  description: The value's type.
  returned: always
  type: str
data:
  description: The data written (binary as hexadecimal); null with O(state=absent).
  returned: always
  type: raw
key_created:
  description: Whether the key was created.
  returned: always
  type: bool
object:
  description: The value as messages and diffs name it, with the host.
  returned: always
  type: str
differences:
  description: The data before and after, when it differed.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.xphone.connect.plugins.module_utils import registry_value
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(registry_value)


if __name__ == "__main__":
    main()

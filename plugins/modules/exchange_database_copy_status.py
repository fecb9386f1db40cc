#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_database_copy_status
short_description: Whether an Exchange server's mailbox database copies are healthy
version_added: 0.2.0
description:
  - Reads C(Get-MailboxDatabaseCopyStatus -Server) and says whether every copy on the server is C(Mounted) (active) or
    C(Healthy) (passive) with copy and replay queues no longer than O(max_queue_length).
  - The role C(xphone.connect.mapi_account) waits for it, with C(until), after restarting the Information Store on one
    DAG member and before the next.
  - Never changes anything.
options:
  server:
    description:
      - The Exchange server, by name or FQDN.
    type: str
    required: true
  max_queue_length:
    description:
      - The longest copy queue plus replay queue that still counts as healthy.
    type: int
    default: 10
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
notes:
  - Check mode and diff mode change nothing about it; it only reads.
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Wait until the copies on EX01 are healthy again
  xphone.connect.exchange_database_copy_status:
    server: EX01
  register: copies
  until: copies.healthy
  retries: 30
  delay: 10
'''

RETURN = r'''
server:
  description: The server's name.
  returned: always
  type: str
healthy:
  description: Whether every copy on the server is Mounted or Healthy with short queues.
  returned: always
  type: bool
unhealthy:
  description: The copies that are not.
  returned: always
  type: list
  elements: str
copies:
  description: Each copy with its status and queue lengths.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "DB01\\EX01", "status": "Mounted", "copy_queue_length": 0, "replay_queue_length": 0, "healthy": true}]
object:
  description: What was read.
  returned: always
  type: str
'''

from ansible_collections.xphone.connect.plugins.module_utils import database_copies
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(database_copies)


if __name__ == "__main__":
    main()

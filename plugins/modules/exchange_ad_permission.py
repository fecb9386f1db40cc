#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_ad_permission
short_description: Grant or remove extended rights (Receive-As, Send-As) of one account on Exchange mailbox databases
version_added: 0.2.0
description:
  - The vendor document's "MAPIAccount" step - C(Get-MailboxDatabase | Add-ADPermission -User MAPIAccount -AccessRights
    ExtendedRight -ExtendedRights Receive-As, Send-As) - done only where a right is missing, and taken back with
    C(Remove-ADPermission).
  - Reads the account's entries on every database in one pipeline (C(Get-ADPermission -User), which matches the
    account's exact SID, so a similar name such as C(MAPIAccount2) never counts), and writes one pipeline per set of
    missing rights, whatever the number of databases.
  - Only explicit allow entries count; an inherited entry (for example from the organisation container) does not,
    as in Exchange.
  - Optionally checks, as the vendor document does with C(Get-MailboxPermission), that a sample mailbox shows the
    account's FullAccess inherited from its database. Receive-As on a database is FullAccess on its mailboxes; a
    member of an administrative group never gets it (their inherited Deny wins).
options:
  user:
    description:
      - The account (name, alias, UPN or C(DOMAIN\name)), such as V(MAPIAccount).
    type: str
    required: true
  extended_rights:
    description:
      - The extended rights, by their names. V(Receive-As) and V(Send-As) are written as Exchange names them, in any case.
    type: list
    elements: str
    default: [Receive-As, Send-As]
  databases:
    description:
      - Mailbox databases by name. Left out, every mailbox database of the organisation, as C(Get-MailboxDatabase)
        lists them (databases of every server and DAG).
      - A name that is no mailbox database of the organisation is refused, naming the known ones, before anything is
        written.
    type: list
    elements: str
  state:
    description:
      - V(present) grants the rights where they are missing; V(absent) removes the account's explicit entries for
        them.
    type: str
    choices: [present, absent]
    default: present
  full_access_mailbox:
    description:
      - A mailbox on one of the databases; after granting V(Receive-As), check that it shows FullAccess for the account,
        inherited, and warn when it does not. The result is RV(full_access).
    type: str
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
seealso:
  - module: xphone.connect.exchange_throttling
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Receive-As and Send-As for the service account on every mailbox database (vendor procedure)
  xphone.connect.exchange_ad_permission:
    user: MAPIAccount
    full_access_mailbox: jdoe

- name: Take them back
  xphone.connect.exchange_ad_permission:
    user: MAPIAccount
    state: absent
'''

RETURN = r'''
user:
  description: The account's name as Exchange shows it.
  returned: always
  type: str
  sample: MAPIAccount
databases:
  description: The databases acted on.
  returned: always
  type: list
  elements: str
  sample: [DB01, DB02]
servers:
  description: The mailbox servers that hold a copy of those databases (every DAG member included).
  returned: always
  type: list
  elements: str
  sample: [EX01, EX02, EX03]
extended_rights:
  description: The extended rights, as written.
  returned: always
  type: list
  elements: str
  sample: [Receive-As, Send-As]
pipelines:
  description: The write pipelines sent (one per set of missing rights); 0 when nothing changed.
  returned: always
  type: int
full_access:
  description: Whether O(full_access_mailbox) showed FullAccess for the account, inherited.
  returned: when full_access_mailbox is given, state is present and not in check mode
  type: bool
object:
  description: What was acted on, as messages and diffs name it.
  returned: always
  type: str
differences:
  description: Each database whose rights changed, with the rights before and after.
  returned: always
  type: list
  elements: dict
  sample: [{"option": "databases", "parameter": "DB01: ExtendedRights", "before": [], "after": ["Receive-As", "Send-As"]}]
'''

from ansible_collections.xphone.connect.plugins.module_utils import ad_permission
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(ad_permission)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_service_account
short_description: The XPhone service account (MAPIAccount) with its mailbox, never an administrator
version_added: 0.2.0
description:
  - Creates the account and its mailbox with C(New-Mailbox) when it does not exist, the password bound as a
    SecureString (never logged, never in a result or diff). An existing account without a mailbox gets one with
    C(Enable-Mailbox). The password of an existing account is set again only with O(update_password=always).
  - Refuses, before anything is written, an account that is a member - directly or through nested groups - of an
    administrative group (O(admin_groups)), and names the group path. The organisation gives those groups an
    inherited Deny Receive-As and Send-As, which outranks the permissions the integration grants, so the account would
    silently get no access to the mailboxes; and a service account must not be an administrator.
  - Exchange's own error for a password the domain's policy refuses is shown without the password.
options:
  name:
    description:
      - The account's name, such as V(MAPIAccount) (the vendor document's name). It must be a valid Active Directory
        account name.
    type: str
    required: true
  account_password:
    description:
      - The account's password; required to create it.
    type: str
  update_password:
    description:
      - V(on_create) sets the password only when the account is created; V(always) sets it on every run (and reports a
        change, since a password cannot be read back to compare).
    type: str
    choices: [on_create, always]
    default: on_create
  user_principal_name:
    description:
      - The UPN, such as V(MAPIAccount@alleo.intern); required to create the account.
    type: str
  alias:
    description:
      - The mailbox alias. Exchange derives one from the name when it is not given.
    type: str
  display_name:
    description:
      - The display name of a new account.
    type: str
  organizational_unit:
    description:
      - The organisational unit of a new account, such as V(alleo.intern/Service Accounts).
    type: str
  database:
    description:
      - The mailbox database of a new mailbox. Exchange picks one when it is not given.
    type: str
  admin_groups:
    description:
      - The groups the account must not belong to, directly or through nested groups. A group the organisation does
        not have (such as C(Exchange Organization Administrators), which Exchange 2010 and later no longer create) is
        skipped.
    type: list
    elements: str
    default: [Domain Admins, Enterprise Admins, Organization Management, Exchange Servers, Exchange Trusted Subsystem,
              Exchange Organization Administrators]
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
seealso:
  - module: xphone.connect.exchange_ad_permission
  - module: xphone.connect.exchange_throttling
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: The service account of the vendor procedure
  xphone.connect.exchange_service_account:
    name: MAPIAccount
    user_principal_name: MAPIAccount@alleo.intern
    account_password: "{{ xphone_mapi_account_password }}"
  no_log: false  # the password option is no_log already
'''

RETURN = r'''
account:
  description: The account as C(Get-Mailbox) shows it (name, UPN, primary address, database, DN, SID). Never the password.
  returned: always
  type: dict
  sample: {"Name": "MAPIAccount", "UserPrincipalName": "MAPIAccount@alleo.intern", "Database": "DB01"}
admin_groups_checked:
  description: The administrative groups the account was checked against.
  returned: always
  type: list
  elements: str
object:
  description: The account as messages and diffs name it.
  returned: always
  type: str
  sample: service account "MAPIAccount"
differences:
  description: What was created or set (C(state), C(mailbox), C(account_password) without its value).
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.xphone.connect.plugins.module_utils import service_account
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(service_account)


if __name__ == "__main__":
    main()

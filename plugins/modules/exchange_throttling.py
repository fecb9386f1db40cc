#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_throttling
short_description: Manage a Regular Exchange throttling policy and the users associated with it
version_added: 0.2.0
description:
  - Creates, changes or removes a throttling policy with C(New-ThrottlingPolicy), C(Set-ThrottlingPolicy) and
    C(Remove-ThrottlingPolicy), and associates the given users with it (C(Set-ThrottlingPolicyAssociation)), as the
    vendor document's "Exchange Mailbox Store Limits" step does for the XPhone service account.
  - Reads the policy first, compares every given setting the way Exchange stores it, and writes only the
    differences. A setting that is not set on a Regular policy is inherited from the global policy; that is not the
    same as V(Unlimited), and the module tells the two apart.
  - Only Regular policies are managed. The global policy (changed only with C(-ForceSettingGlobal) and reset by
    every cumulative update) and an organisation policy (which applies to every user) are refused by name.
  - Users are only ever associated with this policy, never taken away from another one unless listed in O(users).
options:
  name:
    description:
      - Name of the policy, such as V(NoThrottlingPolicy) (the vendor document's name).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the policy and associates O(users) with it.
      - V(absent) first resets the association of those O(users) that use this policy (Exchange refuses to remove a
        policy that users are associated with), then removes the policy. A policy that other users still use is
        kept, with a warning naming them.
    type: str
    choices: [present, absent]
    default: present
  settings:
    description:
      - The policy's settings by their Exchange parameter names (any case), each a number or V(Unlimited); see the
        examples.
      - Every C(Set-ThrottlingPolicy) setting of Exchange 2016 and 2019 is accepted (112 of them, for example
        C(EwsCutoffBalance), C(PowerShellMaxConcurrency), C(OWAMaxConcurrency)); an unknown name is refused with the
        nearest known ones. Settings that are not given are left as they are.
      - The vendor document sets seven to V(Unlimited) - C(RCAMaxConcurrency), C(EWSMaxConcurrency),
        C(EWSMaxSubscriptions), C(CPAMaxConcurrency), C(EwsCutoffBalance), C(EwsMaxBurst), C(EwsRechargeRate).
    type: dict
    default: {}
  is_service_account:
    description:
      - Sets C(-IsServiceAccount) (the policy's users are service accounts; Exchange applies the limits per
        application rather than per user).
    type: bool
  users:
    description:
      - Users (name, alias or UPN) associated with this policy, such as the service account V(MAPIAccount). Users not
        listed are never touched.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
seealso:
  - name: Set-ThrottlingPolicy
    description: Microsoft's reference of the settings.
    link: https://learn.microsoft.com/en-us/powershell/module/exchange/set-throttlingpolicy
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: The vendor document's NoThrottlingPolicy for the service account only
  xphone.connect.exchange_throttling:
    name: NoThrottlingPolicy
    settings:
      RCAMaxConcurrency: Unlimited
      EWSMaxConcurrency: Unlimited
      EWSMaxSubscriptions: Unlimited
      CPAMaxConcurrency: Unlimited
      EwsCutoffBalance: Unlimited
      EwsMaxBurst: Unlimited
      EwsRechargeRate: Unlimited
    users: [MAPIAccount]

- name: Take it back
  xphone.connect.exchange_throttling:
    name: NoThrottlingPolicy
    users: [MAPIAccount]
    state: absent
'''

RETURN = r'''
throttling_policy:
  description:
    - The policy as C(Get-ThrottlingPolicy) returns it after the change, with Exchange's property names. In check mode,
      as it was (or only its name when it would be created). Null when it is absent.
  returned: always
  type: dict
  sample: {"Name": "NoThrottlingPolicy", "ThrottlingPolicyScope": "Regular", "RCAMaxConcurrency": "Unlimited"}
object:
  description: The policy as messages and diffs name it.
  returned: always
  type: str
  sample: throttling policy "NoThrottlingPolicy"
users:
  description: The users given in O(users).
  returned: when state is present
  type: list
  elements: str
kept:
  description: With O(state=absent), whether the policy was kept because other users are still associated with it.
  returned: when state is absent
  type: bool
differences:
  description:
    - Every setting that differed (the option is the setting's name), and each user whose policy changed (option
      C(users)), with the values before and after.
  returned: always
  type: list
  elements: dict
  sample: [{"option": "RCAMaxConcurrency", "parameter": "RCAMaxConcurrency", "before": null, "after": "unlimited"}]
'''

from ansible_collections.xphone.connect.plugins.module_utils import throttling
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(throttling)


if __name__ == "__main__":
    main()

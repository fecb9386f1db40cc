# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: mapi_session_demand
short_description: The MAPI sessions the XPhone service account needs, N x 5 x (O + P)
version_added: 0.2.0
description:
  - The vendor document's estimate ("Exchange Mailbox Store Limits") of the simultaneous MAPI sessions the service
    account (MAPIAccount) opens on an Exchange mailbox server, N x 5 x (O + P).
  - N is the number of XPhone Connect servers running under the account at the same time, O the number of public
    Outlook data sources and P the number of private Outlook data sources in the XPhone Connect Directory (usually
    1 or 0).
  - Exchange allows 32 MAPI sessions per user and mailbox server by default (Managed Store limits); with 6 public
    and 1 private data source one XPhone server already needs 35.
positional: _input
options:
  _input:
    description: N, the XPhone Connect servers running under the account at the same time (1 or more).
    type: int
    required: true
  public_sources:
    description: O, the public Outlook data sources (0 or more).
    type: int
    required: true
  private_sources:
    description: P, the private Outlook data sources (0 or more, usually 1 or 0).
    type: int
    default: 1
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: The vendor document's example, 1 x 5 x (6 + 1) = 35
  ansible.builtin.debug:
    msg: "{{ 1 | xphone.connect.mapi_session_demand(6, 1) }}"

- name: Two XPhone servers, three public data sources, no private one
  ansible.builtin.debug:
    msg: "{{ 2 | xphone.connect.mapi_session_demand(public_sources=3, private_sources=0) }}"
'''

RETURN = r'''
_value:
  description: The number of MAPI sessions, N x 5 x (O + P).
  type: int
'''

from ansible.errors import AnsibleFilterError

SESSIONS_PER_SOURCE = 5


def _count(name, value, minimum):
    if isinstance(value, bool) or not str(value).strip().lstrip("+").isdigit():
        raise AnsibleFilterError("mapi_session_demand: %s must be a whole number of %d or more, got %r" % (name, minimum, value))
    number = int(str(value).strip())
    if number < minimum:
        raise AnsibleFilterError("mapi_session_demand: %s must be %d or more, got %d" % (name, minimum, number))
    return number


def mapi_session_demand(xphone_servers, public_sources, private_sources=1):
    """N x 5 x (O + P), each argument checked (N >= 1, O and P >= 0)."""
    n = _count("the number of XPhone servers (N)", xphone_servers, 1)
    o = _count("public_sources (O)", public_sources, 0)
    p = _count("private_sources (P)", private_sources, 0)
    return n * SESSIONS_PER_SOURCE * (o + p)


class FilterModule(object):
    def filters(self):
        return {"mapi_session_demand": mapi_session_demand}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: mail_flow_plan
short_description: Check the mail_flow role's variables and plan its objects, before anything is written
version_added: 0.2.0
description:
  - The first step of the role C(xphone.connect.mail_flow), usable alone. It checks every value the role writes and
    derives the objects it manages, so that a bad value fails before any task changes Exchange.
  - Checks the XPhone server's address with Python's C(ipaddress) (a fully qualified host name is accepted for the smart
    host), the UM domain, the UM service names (case-insensitive, as Exchange compares names; each must be a DNS
    label), and every port.
  - Warns about a UM service without an entry in O(smart_host_ports), which then gets O(smart_host_port).
  - Reads the send connectors and remote domains (C(Get-SendConnector), C(Get-RemoteDomain)) and finds the ones set up
    for UM services that are no longer listed - a send connector whose one address space is
    C(<service>.<um_domain>) and which is named with O(send_connector_prefix) or routes to O(server_address) - with
    the remote domain that covers that domain. They are returned in RV(unlisted) (O(unlisted=remove)) or
    RV(kept_unlisted) with a warning (O(unlisted=keep)).
  - Says whether the relay receive connector is still needed (RV(relay_needed)), so that removing some services
    never removes what the other services share.
  - Never writes anything.
options:
  server_address:
    description:
      - The XPhone Connect server, an IPv4 or IPv6 address or a fully qualified host name.
    type: str
    required: true
  um_domain:
    description:
      - The UM mail domain, such as V(alleo.intern); service V(fax) receives mail for C(fax.alleo.intern).
    type: str
    required: true
  um_services:
    description:
      - The UM services, such as V([fax, sms]); written in any case, returned in lower case, each once.
    type: list
    elements: raw
    required: true
  smart_host_ports:
    description:
      - The port each UM service listens on at the XPhone server, by service name (any case).
    type: dict
    default: {}
  smart_host_port:
    description:
      - The port for a UM service without an entry in O(smart_host_ports), 1-65535.
    type: raw
    default: 25
  receive_connector_port:
    description:
      - The port of the relay receive connector, 1-65535.
    type: raw
    default: 2500
  send_connector_prefix:
    description:
      - Send connectors are named this prefix followed by the service.
    type: str
    default: "XPhone "
  remote_domain_prefix:
    description:
      - Remote domains are named this prefix followed by the service.
    type: str
    default: ""
  unlisted:
    description:
      - What becomes of a service set up earlier and no longer listed. V(keep) leaves its objects and warns; V(remove)
        returns them in RV(unlisted) for removal.
    type: str
    choices: [keep, remove]
    default: keep
  state:
    description:
      - V(absent) plans the removal of the listed services; the relay stays needed while other services remain.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
notes:
  - Check mode and diff mode change nothing about it; it only reads.
seealso:
  - module: xphone.connect.exchange_connector
  - module: xphone.connect.exchange_remote_domain
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Plan the mail flow of the vendor procedure's organisation
  xphone.connect.mail_flow_plan:
    server_address: 192.168.10.25
    um_domain: alleo.intern
    um_services: [fax, sms]
    smart_host_ports: {fax: 2533, sms: 2544}
  register: plan

- name: Show the send connectors the role would manage
  ansible.builtin.debug:
    msg: "{{ plan.services | map(attribute='send_connector') | list }}"
'''

RETURN = r'''
address:
  description: The XPhone server's address as given, without brackets.
  returned: always
  type: str
  sample: 192.168.10.25
address_kind:
  description: V(ipv4), V(ipv6) or V(fqdn).
  returned: always
  type: str
  sample: ipv4
domain:
  description: The UM domain in lower case.
  returned: always
  type: str
  sample: alleo.intern
services:
  description: One entry per listed service, with its mail domain, port, send connector and remote domain names.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "fax", "domain": "fax.alleo.intern", "port": 2533, "send_connector": "XPhone fax", "remote_domain": "fax"}]
bindings:
  description: The relay receive connector's binding, all IPv4 addresses or (for an IPv6 XPhone address) all IPv6 ones.
  returned: always
  type: list
  elements: str
  sample: ["0.0.0.0:2500"]
remote_ip_ranges:
  description: The XPhone server's address when it is an IP address; empty for a host name.
  returned: always
  type: list
  elements: str
  sample: ["192.168.10.25"]
unlisted:
  description: Services set up earlier and no longer listed, to remove (O(unlisted=remove)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "voice", "domain": "voice.alleo.intern", "send_connector": "XPhone voice", "remote_domain": "voice"}]
kept_unlisted:
  description: Services set up earlier and no longer listed, left as they are (O(unlisted=keep)).
  returned: always
  type: list
  elements: dict
remaining_services:
  description: The services that use the relay receive connector after this run.
  returned: always
  type: list
  elements: str
  sample: [fax, sms]
relay_needed:
  description: Whether any service still needs the relay receive connector after this run.
  returned: always
  type: bool
'''

from ansible_collections.xphone.connect.plugins.module_utils import mail_flow
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(mail_flow)


if __name__ == "__main__":
    main()

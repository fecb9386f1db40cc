#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: windows_xml_file
short_description: Set one attribute or text in an XML file on a Windows host, keeping the rest of the file as it is
version_added: 0.2.0
description:
  - Reads the file over the host's WS-Management endpoint, finds the element with lxml, and changes only that
    attribute value or element text in the file's own text, so that comments, layout, quoting, the XML declaration,
    the encoding (a UTF-8 byte order mark included) and line ends stay exactly as they were.
  - Writes only when the value differs. A backup copy is made first (O(backup)); the new content goes to a temporary
    file next to the original, which is then moved over it, so that a reader never sees half a file.
  - A missing element whose parent exists is added as the parent's last child, on a line of its own, when O(create)
    is true (for example a new C(<add key=... />) in C(appSettings)).
  - A file that is not well-formed XML is reported and left untouched.
  - Used for the vendor document's C(ProtocolLog) key in C(Microsoft.Exchange.Imap4.exe.config); note that an
    Exchange cumulative update replaces that file, so prefer C(xphone.connect.exchange_imap_settings) with
    C(protocol_log_enabled).
requirements:
  - lxml on the controller
options:
  path:
    description:
      - The file's absolute path on the host.
    type: str
    required: true
  xpath:
    description:
      - An XPath that selects exactly one element, such as V(/configuration/appSettings/add[@key='ProtocolLog']).
    type: str
    required: true
  attribute:
    description:
      - The attribute to set. Without it, the element's text is set.
    type: str
  value:
    description:
      - The value.
    type: str
    required: true
  create:
    description:
      - Add the element when O(xpath) selects nothing and its parent exists (a path of plain steps with
        C([@name='value']) predicates only).
    type: bool
    default: true
  backup:
    description:
      - Copy the file to C(<path>.<date-time>.bak) before changing it.
    type: bool
    default: true
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
- name: IMAP4 protocol logging the vendor document's way (a cumulative update undoes it)
  xphone.connect.windows_xml_file:
    path: C:\Program Files\Microsoft\Exchange Server\V15\ClientAccess\PopImap\Microsoft.Exchange.Imap4.exe.config
    xpath: /configuration/appSettings/add[@key='ProtocolLog']
    attribute: value
    value: "true"
'''

RETURN = r'''
path:
  description: The file.
  returned: always
  type: str
before:
  description: The value before (null when the element or attribute was missing).
  returned: always
  type: str
backup_file:
  description: The backup copy, when one was made.
  returned: changed and backup
  type: str
object:
  description: What was changed, as messages name it.
  returned: always
  type: str
differences:
  description: The value before and after, when it differed.
  returned: always
  type: list
  elements: dict
'''

from ansible_collections.xphone.connect.plugins.module_utils import xml_file
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(xml_file)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_remote_domain
short_description: Manage an Exchange remote domain (message format settings for a destination domain)
version_added: 0.1.0
description:
  - Creates, changes or removes a remote domain with C(New-RemoteDomain), C(Set-RemoteDomain) and C(Remove-RemoteDomain).
  - Reads the remote domain first, compares every given option the way Exchange stores it, and calls
    C(Set-RemoteDomain) once with only the differing parameters. All differences are reported, not only the first.
  - C(New-RemoteDomain) takes only the name and the domain, so the other options of a new remote domain are applied
    by a C(Set-RemoteDomain) call right after it.
  - The built-in C(Default) remote domain (C(*)) can be changed but never removed or moved to another domain.
  - Options that are not given are left as they are.
options:
  name:
    description:
      - Name (identity) of the remote domain, such as V(fax).
    type: str
    required: true
  domain_name:
    description:
      - SMTP domain the remote domain applies to, such as V(fax.alleo.intern) or V(*.alleo.intern).
      - Required when the remote domain is created. Exchange cannot change it later; a different value for an
        existing remote domain is an error unless O(recreate=true).
    type: str
  state:
    description:
      - V(present) creates or updates the remote domain, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  adopt_by:
    description:
      - How to find the remote domain when none is named O(name) yet. With V(domain_name), the remote domain that
        covers O(domain_name) is renamed to O(name) (Exchange allows one remote domain per domain).
      - Unset, a remote domain that covers O(domain_name) under another name is reported and nothing is written.
      - Only with O(state=present).
    type: str
    choices: [domain_name]
  recreate:
    description:
      - Exchange cannot change the domain of an existing remote domain. With V(true), a remote domain named O(name)
        that covers another domain than O(domain_name) is removed and created again with every given option;
        the diff shows the domain before and after. With V(false), that is refused and nothing is written.
      - Should the creation fail after the removal (the server drops), the remote domain is absent and the next run
        creates it.
    type: bool
    default: false
  allowed_oof_type:
    choices:
    - External
    - ExternalLegacy
    - InternalLegacy
    - None
    description:
    - Sets C(-AllowedOOFType) of C(Set-RemoteDomain).
    type: str
  auto_forward_enabled:
    description:
    - Sets C(-AutoForwardEnabled) of C(Set-RemoteDomain).
    type: bool
  auto_reply_enabled:
    description:
    - Sets C(-AutoReplyEnabled) of C(Set-RemoteDomain).
    type: bool
  byte_encoder_type_for_7bit_charsets:
    choices:
    - Use7Bit
    - UseQP
    - UseBase64
    - UseQPHtmlDetectTextPlain
    - UseBase64HtmlDetectTextPlain
    - UseQPHtml7BitTextPlain
    - UseBase64Html7BitTextPlain
    - Undefined
    description:
    - Sets C(-ByteEncoderTypeFor7BitCharsets) of C(Set-RemoteDomain).
    type: str
  character_set:
    choices:
    - big5
    - din_66003
    - euc-jp
    - euc-kr
    - gb18030
    - gb2312
    - hz-gb-2312
    - iso-2022-jp
    - iso-2022-kr
    - iso-8859-1
    - iso-8859-13
    - iso-8859-15
    - iso-8859-2
    - iso-8859-3
    - iso-8859-4
    - iso-8859-5
    - iso-8859-6
    - iso-8859-7
    - iso-8859-8
    - iso-8859-9
    - koi8-r
    - koi8-u
    - ks_c_5601-1987
    - ns_4551-1
    - sen_850200_b
    - shift_jis
    - utf-7
    - utf-8
    - windows-1250
    - windows-1251
    - windows-1252
    - windows-1253
    - windows-1254
    - windows-1255
    - windows-1256
    - windows-1257
    - windows-1258
    - windows-874
    description:
    - MIME character set (C(-CharacterSet)); the XPhone UM services expect V(iso-8859-1).
    type: str
  content_type:
    choices:
    - MimeHtmlText
    - MimeText
    - MimeHtml
    description:
    - Outbound message format (C(-ContentType)); V(MimeText) sends plain text, as the XPhone UM services expect.
    type: str
  delivery_report_enabled:
    description:
    - Sets C(-DeliveryReportEnabled) of C(Set-RemoteDomain).
    type: bool
  display_sender_name:
    description:
    - Sets C(-DisplaySenderName) of C(Set-RemoteDomain).
    type: bool
  is_internal:
    description:
    - Sets C(-IsInternal) of C(Set-RemoteDomain).
    type: bool
  line_wrap_size:
    description:
    - Line length after which text is wrapped, V(0) to V(132), or V(unlimited).
    type: str
  meeting_forward_notification_enabled:
    description:
    - Sets C(-MeetingForwardNotificationEnabled) of C(Set-RemoteDomain).
    type: bool
  message_count_threshold:
    description:
    - Sets C(-MessageCountThreshold) of C(Set-RemoteDomain).
    - Range V(0) to V(2147483647).
    type: int
  ndr_diagnostic_info_enabled:
    description:
    - Sets C(-NDRDiagnosticInfoEnabled) of C(Set-RemoteDomain).
    type: bool
  ndr_enabled:
    description:
    - Sets C(-NDREnabled) of C(Set-RemoteDomain).
    type: bool
  non_mime_character_set:
    choices:
    - big5
    - din_66003
    - euc-jp
    - euc-kr
    - gb18030
    - gb2312
    - hz-gb-2312
    - iso-2022-jp
    - iso-2022-kr
    - iso-8859-1
    - iso-8859-13
    - iso-8859-15
    - iso-8859-2
    - iso-8859-3
    - iso-8859-4
    - iso-8859-5
    - iso-8859-6
    - iso-8859-7
    - iso-8859-8
    - iso-8859-9
    - koi8-r
    - koi8-u
    - ks_c_5601-1987
    - ns_4551-1
    - sen_850200_b
    - shift_jis
    - utf-7
    - utf-8
    - windows-1250
    - windows-1251
    - windows-1252
    - windows-1253
    - windows-1254
    - windows-1255
    - windows-1256
    - windows-1257
    - windows-1258
    - windows-874
    description:
    - Character set of non-MIME messages (C(-NonMimeCharacterSet)).
    type: str
  preferred_internet_code_page_for_shift_jis:
    choices:
    - '50220'
    - '50221'
    - '50222'
    - Undefined
    description:
    - Sets C(-PreferredInternetCodePageForShiftJis) of C(Set-RemoteDomain).
    type: str
  required_charset_coverage:
    description:
    - Sets C(-RequiredCharsetCoverage) of C(Set-RemoteDomain).
    - Range V(0) to V(100).
    type: int
  target_delivery_domain:
    description:
    - Sets C(-TargetDeliveryDomain) of C(Set-RemoteDomain).
    type: bool
  tnef_enabled:
    description:
    - Whether TNEF (winmail.dat) is used for messages to the domain.
    - V(unset) ($null) follows the sender's format; the XPhone UM services need V(false).
    type: raw
  trusted_mail_inbound_enabled:
    description:
    - Sets C(-TrustedMailInboundEnabled) of C(Set-RemoteDomain).
    type: bool
  trusted_mail_outbound_enabled:
    description:
    - Sets C(-TrustedMailOutboundEnabled) of C(Set-RemoteDomain).
    type: bool
  use_simple_display_name:
    description:
    - Sets C(-UseSimpleDisplayName) of C(Set-RemoteDomain).
    type: bool

extends_documentation_fragment:
  # The support levels first: the first fragment to set a field wins.
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
seealso:
  - module: xphone.connect.exchange_connector
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Plain-text remote domain for the XPhone fax service (vendor procedure, "Message formats"), as the role does it
  xphone.connect.exchange_remote_domain:
    name: fax
    domain_name: fax.alleo.intern
    adopt_by: domain_name  # a remote domain for fax.alleo.intern made by hand under another name is renamed
    recreate: true  # a remote domain "fax" for another domain is replaced (Exchange cannot move it)
    character_set: iso-8859-1
    non_mime_character_set: iso-8859-1
    allowed_oof_type: None
    auto_reply_enabled: false
    delivery_report_enabled: false
    ndr_enabled: false
    content_type: MimeText
    tnef_enabled: false

- name: Connection settings for every Exchange task of a play
  module_defaults:
    group/xphone.connect.exchange:
      connection_server: ex01.alleo.intern
      auth: kerberos
      domain_controller: dc01.alleo.intern
  block:
    - name: Remove a remote domain
      xphone.connect.exchange_remote_domain:
        name: sms
        state: absent
'''

RETURN = r'''
remote_domain:
  description:
    - The remote domain as C(Get-RemoteDomain) returns it after the change, with Exchange's property names.
    - In check mode, the object as it was (or only C(Name) and C(DomainName) when it would be created).
    - Null when the remote domain is absent.
  returned: always
  type: dict
  sample: {"Name": "fax", "DomainName": "fax.alleo.intern", "ContentType": "MimeText", "TNEFEnabled": false}
object:
  description:
    - The remote domain as messages and diffs name it.
  returned: always
  type: str
  sample: remote domain "fax"
differences:
  description:
    - Every property that differed, with the option name, the Exchange parameter, and the values before and after.
    - A remote domain found through O(adopt_by) shows the rename as a difference of C(name); one created again
      (O(recreate)) shows the change of C(domain_name).
  returned: always
  type: list
  elements: dict
  sample: [{"option": "content_type", "parameter": "ContentType", "before": "MimeHtmlText", "after": "MimeText"}]
warnings:
  description: Warnings written by Exchange's cmdlets, and connection warnings.
  returned: when there are any
  type: list
  elements: str
'''

from ansible_collections.xphone.connect.plugins.module_utils import remote_domain
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(remote_domain)


if __name__ == "__main__":
    main()

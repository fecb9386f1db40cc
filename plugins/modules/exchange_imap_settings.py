#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_imap_settings
short_description: Manage the IMAP4 settings of an Exchange server
version_added: 0.2.0
description:
  - Changes one server's IMAP4 settings with C(Set-ImapSettings -Server), as the vendor procedure's "IMAP4 access" step
    does by hand (C(LoginType PlainTextLogin), C(MessageRetrievalMimeFormat TextOnly)), and any other setting that
    Exchange 2016, 2019 and SE offer.
  - Reads the settings first (C(Get-ImapSettings -Server)), compares every given option the way Exchange stores it,
    and calls C(Set-ImapSettings) once with only the differing parameters.
  - Exchange applies the change only after both IMAP4 services (C(MSExchangeIMAP4), C(MSExchangeIMAP4BE)) restart,
    and says so with a warning; the module returns RV(restart_required) and does not restart anything itself (the
    role C(xphone.connect.imap) restarts them, one server at a time).
  - The settings always exist; they cannot be created or removed.
  - Options that are not given are left as they are.
options:
  server:
    description:
      - The Exchange server, by name or FQDN, such as V(EX01).
    type: str
    required: true
  state:
    description:
      - Only V(present); the IMAP4 settings of a server always exist.
    type: str
    choices: [present]
    default: present
  login_type:
    description:
      - How IMAP clients may log on. V(PlainTextLogin) (the vendor procedure's setting, so that the XPhone server can log on
        with the service account) lets clients send the password unencrypted on port 143; the module then warns.
        Exchange's default is V(SecureLogin).
    type: str
    choices: [PlainTextLogin, PlainTextAuthentication, SecureLogin]
  message_retrieval_mime_format:
    description:
      - The format of messages fetched over IMAP4; the vendor procedure uses V(TextOnly).
    type: str
    choices: [TextOnly, HtmlOnly, HtmlAndTextAlternative, TextEnrichedOnly, TextEnrichedAndTextAlternative, BestBodyFormat, Tnef]
  protocol_log_enabled:
    description:
      - Protocol logging of the IMAP4 services, the supported way since Exchange 2013 (stored in Active Directory,
        kept across cumulative updates). The logs go to O(log_file_location).
    type: bool
  log_file_location:
    description:
      - Folder of the IMAP4 protocol logs, by default C(<Exchange>\\Logging\\Imap4) on the server.
    type: str
  log_file_roll_over_settings:
    description:
      - How often a new protocol log file is started.
    type: str
    choices: [Hourly, Daily, Weekly, Monthly]
  log_per_file_size_quota:
    description:
      - Largest size of one protocol log file, in bytes or with a unit (V(10MB)), V(0) or V(unlimited) for no limit.
    type: str
  authenticated_connection_timeout:
    description:
      - Idle time before an authenticated connection is closed, from 00:00:30 to 01:00:00.
    type: str
  pre_authenticated_connection_timeout:
    description:
      - Idle time before a connection that has not logged on is closed, from 00:00:30 to 01:00:00.
    type: str
  banner:
    description:
      - Sets C(-Banner) of C(Set-ImapSettings).
    type: str
  calendar_item_retrieval_option:
    description:
      - Sets C(-CalendarItemRetrievalOption) of C(Set-ImapSettings).
    type: str
    choices: [iCalendar, IntranetUrl, InternetUrl, Custom]
  enable_exact_rfc822_size:
    description:
      - Sets C(-EnableExactRFC822Size) of C(Set-ImapSettings).
    type: bool
  enable_gssapi_and_ntlm_auth:
    description:
      - Sets C(-EnableGSSAPIAndNTLMAuth) of C(Set-ImapSettings).
    type: bool
  enforce_certificate_errors:
    description:
      - Sets C(-EnforceCertificateErrors) of C(Set-ImapSettings).
    type: bool
  extended_protection_policy:
    description:
      - Sets C(-ExtendedProtectionPolicy) of C(Set-ImapSettings).
    type: str
    choices: [None, Allow, Require]
  external_connection_settings:
    description:
      - Sets C(-ExternalConnectionSettings) of C(Set-ImapSettings).
      - A list sets the whole property; a dictionary with C(add), C(remove) or C(set) changes it partially.
    type: raw
  internal_connection_settings:
    description:
      - Sets C(-InternalConnectionSettings) of C(Set-ImapSettings).
      - A list sets the whole property; a dictionary with C(add), C(remove) or C(set) changes it partially.
    type: raw
  max_command_size:
    description:
      - Largest IMAP4 command, from 1024 to 16384 bytes.
    type: int
  max_connection_from_single_ip:
    description:
      - Sets C(-MaxConnectionFromSingleIP) of C(Set-ImapSettings).
      - From 1 to 2147483647.
    type: int
  max_connections:
    description:
      - Sets C(-MaxConnections) of C(Set-ImapSettings).
      - From 1 to 2147483647.
    type: int
  max_connections_per_user:
    description:
      - Sets C(-MaxConnectionsPerUser) of C(Set-ImapSettings).
      - From 1 to 2147483647.
    type: int
  owa_server_url:
    description:
      - The Outlook on the web URL for calendar items (O(calendar_item_retrieval_option=Custom)), an http(s) URL.
    type: str
  proxy_target_port:
    description:
      - Port of the back-end IMAP4 service that the front end proxies to, 0 to 65535.
    type: int
  ssl_bindings:
    description:
      - Addresses and ports for IMAP4 over SSL, such as V([::]:993) and V(0.0.0.0:993).
      - A list sets the whole property; a dictionary with C(add), C(remove) or C(set) changes it partially.
    type: raw
  show_hidden_folders_enabled:
    description:
      - Sets C(-ShowHiddenFoldersEnabled) of C(Set-ImapSettings).
    type: bool
  suppress_read_receipt:
    description:
      - Sets C(-SuppressReadReceipt) of C(Set-ImapSettings).
    type: bool
  unencrypted_or_tls_bindings:
    description:
      - Addresses and ports for unencrypted or STARTTLS IMAP4, such as V([::]:143) and V(0.0.0.0:143).
      - A list sets the whole property; a dictionary with C(add), C(remove) or C(set) changes it partially.
    type: raw
  x509_certificate_name:
    description:
      - Sets C(-X509CertificateName) of C(Set-ImapSettings).
    type: str
extends_documentation_fragment:
  - xphone.connect.exchange.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.actiongroups
  - xphone.connect.exchange
notes:
  - The vendor document enables protocol logging by editing C(Microsoft.Exchange.Imap4.exe.config); Microsoft's
    supported way since Exchange 2013 is O(protocol_log_enabled) with O(log_file_location), which a cumulative update
    does not undo.
seealso:
  - module: xphone.connect.exchange_connector
  - name: Set-ImapSettings
    description: Microsoft's reference of the cmdlet and its parameters.
    link: https://learn.microsoft.com/en-us/powershell/module/exchange/set-imapsettings
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: IMAP4 for the XPhone server as the vendor procedure sets it
  xphone.connect.exchange_imap_settings:
    server: EX01
    login_type: PlainTextLogin
    message_retrieval_mime_format: TextOnly
  register: imap

- name: Restart both IMAP4 services when Exchange says so
  ansible.windows.win_service:
    name: "{{ item }}"
    state: restarted
  loop: "{{ imap.services }}"
  when: imap.restart_required

- name: Protocol logging, the supported way
  xphone.connect.exchange_imap_settings:
    server: EX01
    protocol_log_enabled: true
    log_file_location: D:\Logs\Imap4
    log_file_roll_over_settings: Daily
    log_per_file_size_quota: 10MB
'''

RETURN = r'''
imap_settings:
  description:
    - The settings as C(Get-ImapSettings) returns them after the change, with Exchange's property names. In check mode,
      the settings as they were.
  returned: always
  type: dict
  sample: {"Identity": "EX01\\1", "LoginType": "PlainTextLogin", "MessageRetrievalMimeFormat": "TextOnly"}
object:
  description: The settings as messages and diffs name them.
  returned: always
  type: str
  sample: IMAP4 settings on EX01
restart_required:
  description:
    - Whether the IMAP4 services must restart for the change to take effect (Exchange's warning said so; in check
      mode, whether anything would change).
  returned: always
  type: bool
services:
  description: The Windows services to restart when RV(restart_required) is true.
  returned: always
  type: list
  elements: str
  sample: [MSExchangeIMAP4, MSExchangeIMAP4BE]
differences:
  description:
    - Every setting that differed, with the option name, the Exchange parameter, and the values before and after.
  returned: always
  type: list
  elements: dict
  sample: [{"option": "login_type", "parameter": "LoginType", "before": "SecureLogin", "after": "PlainTextLogin"}]
'''

from ansible_collections.xphone.connect.plugins.module_utils import imap
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(imap)


if __name__ == "__main__":
    main()

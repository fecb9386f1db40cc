#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: exchange_connector
short_description: Manage an Exchange send or receive connector, including the anonymous-relay right
version_added: 0.1.0
description:
  - Creates, changes or removes a send connector (C(New-/Set-/Remove-SendConnector)) or a receive connector
    (C(New-/Set-/Remove-ReceiveConnector)) on one Exchange server.
  - Reads the connector first, compares every given option the way Exchange stores it (address spaces, bindings
    and IP ranges are parsed, names compared case-insensitively, lists as sets), and calls the C(Set-) cmdlet once
    with only the differing parameters. All differences are reported.
  - For receive connectors, O(anonymous_relay) grants or removes the extended right
    C(ms-Exch-SMTP-Accept-Any-Recipient) for ANONYMOUS LOGON (well-known SID C(S-1-5-7), so localized account
    names do not matter) on that connector only.
  - Guard rails refuse, before anything is written, remote IP ranges wider than 256 addresses, the
    C(ExternalAuthoritative) mechanism, unknown servers and bindings that collide with another receive connector.
  - Options that are not given are left as they are; the documented creation defaults apply only when a connector
    is created.
options:
  type:
    description:
      - V(send) for a send connector (organisation-wide), V(receive) for a receive connector on O(server).
    type: str
    required: true
    choices: [send, receive]
  name:
    description:
      - Name of the connector, such as V(XPhone fax) or V(Relay XPhone). At most 64 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the connector, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  server:
    description:
      - Exchange server (name or FQDN) that hosts the receive connector. Required for O(type=receive).
      - An unknown server is an error.
    type: str
  anonymous_relay:
    description:
      - V(true) grants ANONYMOUS LOGON (C(S-1-5-7)) the C(ms-Exch-SMTP-Accept-Any-Recipient) right on this receive
        connector, so that the hosts in O(remote_ip_ranges) may relay to any domain; V(false) removes that grant.
        Not given leaves it as it is.
      - Relay needs O(permission_groups) to include V(AnonymousUsers); a warning says so when it does not.
      - The connector's remote IP ranges must not be wider than 256 addresses.
      - Only for O(type=receive).
    type: bool
  allow_wide_remote_ip_ranges:
    description:
      - Accept O(remote_ip_ranges) entries of more than 256 addresses.
    type: bool
    default: false
  adopt_by:
    description:
      - How to find the connector when none is named O(name) yet. With V(address_spaces), the one send connector whose
        address spaces equal O(address_spaces) is renamed to O(name) (and then changed like any other), so that a new
        name never creates a second connector for the same domains. Two such connectors are refused, naming both.
      - Unset, a connector named otherwise is never touched and a new one is created.
      - Only for O(type=send), and only with O(state=present).
    type: str
    choices: [address_spaces]
  allow_external_authoritative:
    description:
      - Accept V(ExternalAuthoritative) in O(auth_mechanism) or O(smart_host_auth_mechanism), which makes Exchange
        treat every message from those hosts as internal and bypass anti-spam and anti-spoofing checks.
    type: bool
    default: false
  address_spaces:
    description:
    - Address spaces the connector routes, such as V(fax.alleo.intern), which is normalised to V(SMTP:fax.alleo.intern;1).
    - Write V(SMTP:fax.alleo.intern;5) for another cost (1-100).
    - A list sets the whole property; a dictionary with C(add), C(remove) or C(set) changes it partially.
    - Required to create a send connector.
    - Only for O(type=send).
    type: raw
  advertise_client_settings:
    description:
    - Sets C(-AdvertiseClientSettings) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  auth_mechanism:
    description:
    - Authentication mechanisms (a list or a comma-separated string) such as V(Tls) or V(None). Compared as a set.
    - V(ExternalAuthoritative) is refused unless O(allow_external_authoritative=true).
    - Only for O(type=receive).
    type: raw
  auth_tarpit_interval:
    description:
    - Sets C(-AuthTarpitInterval) of C(Set-ReceiveConnector).
    - A time span as V(hh:mm:ss), V(d.hh:mm:ss) or a number of seconds.
    - Only for O(type=receive).
    type: str
  banner:
    description:
    - SMTP banner. An empty string restores Exchange's default banner.
    - Only for O(type=receive).
    type: str
  bare_linefeed_rejection_enabled:
    description:
    - Sets C(-BareLinefeedRejectionEnabled) of C(Set-ReceiveConnector).
    - Applied with C(Set-ReceiveConnector) after the object is created.
    - Only for O(type=receive).
    type: bool
  binary_mime_enabled:
    description:
    - Sets C(-BinaryMimeEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  bindings:
    description:
    - Local IP address and port pairs the receive connector listens on, such as V(0.0.0.0:2500) (the default when created)
      or V([::]:25).
    - Refused before any change when another receive connector on the server listens on the same port and address in another
      transport service, or in the same service with the same or partly overlapping O(remote_ip_ranges). Ranges strictly
      inside the other connector's ranges are accepted, as Exchange uses the most specific match (a relay connector for one
      host next to C(Default Frontend) on port 25).
    - List semantics as for O(address_spaces).
    - Only for O(type=receive).
    type: raw
  chunking_enabled:
    description:
    - Sets C(-ChunkingEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  cloud_services_mail_enabled:
    description:
    - Sets C(-CloudServicesMailEnabled) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  comment:
    description:
    - Free text comment. An empty string removes it.
    type: str
  connection_inactivity_timeout:
    description:
    - Sets C(-ConnectionInactivityTimeout) of C(Set-SendConnector/Set-ReceiveConnector).
    - A time span as V(hh:mm:ss), V(d.hh:mm:ss) or a number of seconds.
    type: str
  connection_timeout:
    description:
    - Sets C(-ConnectionTimeout) of C(Set-ReceiveConnector).
    - A time span as V(hh:mm:ss), V(d.hh:mm:ss) or a number of seconds.
    - Only for O(type=receive).
    type: str
  connector_type:
    choices:
    - Default
    - XPremises
    description:
    - Sets C(-ConnectorType) of C(Set-SendConnector).
    - Only for O(type=send).
    type: str
  default_domain:
    description:
    - Sets C(-DefaultDomain) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  delivery_status_notification_enabled:
    description:
    - Sets C(-DeliveryStatusNotificationEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  dns_routing_enabled:
    description:
    - Route by DNS MX lookup instead of smart hosts. V(false) when a connector is created, which requires O(smart_hosts).
    - Only for O(type=send).
    type: bool
  domain_secure_enabled:
    description:
    - Sets C(-DomainSecureEnabled) of C(Set-SendConnector/Set-ReceiveConnector).
    type: bool
  eight_bit_mime_enabled:
    description:
    - Sets C(-EightBitMimeEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  enable_auth_gssapi:
    description:
    - Sets C(-EnableAuthGSSAPI) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  enabled:
    description:
    - Sets C(-Enabled) of C(Set-SendConnector/Set-ReceiveConnector).
    type: bool
  enhanced_status_codes_enabled:
    description:
    - Sets C(-EnhancedStatusCodesEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  error_policies:
    choices:
    - Default
    - DowngradeDnsFailures
    - DowngradeCustomFailures
    - UpgradeCustomFailures
    description:
    - Sets C(-ErrorPolicies) of C(Set-SendConnector).
    - Only for O(type=send).
    type: str
  extended_protection_policy:
    choices:
    - None
    - Allow
    - Require
    description:
    - Sets C(-ExtendedProtectionPolicy) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  force_helo:
    description:
    - Sets C(-ForceHELO) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  fqdn:
    description:
    - Sets C(-Fqdn) of C(Set-SendConnector/Set-ReceiveConnector).
    type: str
  frontend_proxy_enabled:
    description:
    - Sets C(-FrontendProxyEnabled) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  ignore_starttls:
    description:
    - Sets C(-IgnoreSTARTTLS) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  is_scoped_connector:
    description:
    - Sets C(-IsScopedConnector) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  long_addresses_enabled:
    description:
    - Sets C(-LongAddressesEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  max_acknowledgement_delay:
    description:
    - Sets C(-MaxAcknowledgementDelay) of C(Set-ReceiveConnector).
    - A time span as V(hh:mm:ss), V(d.hh:mm:ss) or a number of seconds.
    - Only for O(type=receive).
    type: str
  max_header_size:
    description:
    - Sets C(-MaxHeaderSize) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  max_hop_count:
    description:
    - Sets C(-MaxHopCount) of C(Set-ReceiveConnector).
    - Range V(1) to V(500).
    - Only for O(type=receive).
    type: int
  max_inbound_connection:
    description:
    - Sets C(-MaxInboundConnection) of C(Set-ReceiveConnector).
    - A number or V(unlimited).
    - Only for O(type=receive).
    type: str
  max_inbound_connection_per_source:
    description:
    - Sets C(-MaxInboundConnectionPerSource) of C(Set-ReceiveConnector).
    - A number or V(unlimited).
    - Only for O(type=receive).
    type: str
  max_inbound_connection_percentage_per_source:
    description:
    - Sets C(-MaxInboundConnectionPercentagePerSource) of C(Set-ReceiveConnector).
    - Range V(1) to V(100).
    - Only for O(type=receive).
    type: int
  max_local_hop_count:
    description:
    - Sets C(-MaxLocalHopCount) of C(Set-ReceiveConnector).
    - Range V(0) to V(50).
    - Only for O(type=receive).
    type: int
  max_logon_failures:
    description:
    - Sets C(-MaxLogonFailures) of C(Set-ReceiveConnector).
    - Range V(0) to V(10).
    - Only for O(type=receive).
    type: int
  max_message_size:
    description:
    - Largest message accepted, in bytes (V(26214400)) or with a unit (V(25MB)); V(unlimited) for send connectors only.
    - Receive connectors accept 65536 bytes or more.
    type: str
  max_protocol_errors:
    description:
    - Sets C(-MaxProtocolErrors) of C(Set-ReceiveConnector).
    - A number or V(unlimited).
    - Only for O(type=receive).
    type: str
  max_recipients_per_message:
    description:
    - Sets C(-MaxRecipientsPerMessage) of C(Set-ReceiveConnector).
    - Range V(1) to V(512000).
    - Only for O(type=receive).
    type: int
  message_rate_limit:
    description:
    - Sets C(-MessageRateLimit) of C(Set-ReceiveConnector).
    - A number or V(unlimited).
    - Only for O(type=receive).
    type: str
  message_rate_source:
    choices:
    - None
    - IPAddress
    - User
    - All
    description:
    - Sets C(-MessageRateSource) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  orar_enabled:
    description:
    - Sets C(-OrarEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  permission_groups:
    description:
    - Permission groups (a list or a comma-separated string) such as V(AnonymousUsers) or V(ExchangeServers). Compared as
      a set.
    - Only for O(type=receive).
    type: raw
  pipelining_enabled:
    description:
    - Sets C(-PipeliningEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  port:
    description:
    - TCP port of the smart hosts (C(-Port)). V(25) when a connector is created; the XPhone fax service listens on V(2533).
    - Range V(0) to V(65535).
    - Only for O(type=send).
    type: int
  protocol_logging_level:
    choices:
    - None
    - Verbose
    description:
    - Sets C(-ProtocolLoggingLevel) of C(Set-SendConnector/Set-ReceiveConnector).
    type: str
  reject_reserved_second_level_recipient_domains:
    description:
    - Sets C(-RejectReservedSecondLevelRecipientDomains) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  reject_reserved_top_level_recipient_domains:
    description:
    - Sets C(-RejectReservedTopLevelRecipientDomains) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  reject_single_label_recipient_domains:
    description:
    - Sets C(-RejectSingleLabelRecipientDomains) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  remote_ip_ranges:
    description:
    - 'Remote IP addresses the receive connector accepts: single addresses (V(192.168.10.25)), CIDR blocks (V(192.168.10.0/28))
      or ranges (V(192.168.10.20-192.168.10.29)).'
    - Required to create a receive connector. Ranges of more than 256 addresses are refused unless O(allow_wide_remote_ip_ranges=true).
    - List semantics as for O(address_spaces).
    - Only for O(type=receive).
    type: raw
  require_ehlo_domain:
    description:
    - Sets C(-RequireEHLODomain) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  require_oorg:
    description:
    - Sets C(-RequireOorg) of C(Set-SendConnector).
    - Only for O(type=send).
    type: bool
  require_tls:
    description:
    - Sets C(-RequireTLS) of C(Set-SendConnector/Set-ReceiveConnector).
    type: bool
  service_discovery_fqdn:
    description:
    - Sets C(-ServiceDiscoveryFqdn) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  size_enabled:
    choices:
    - Enabled
    - Disabled
    - EnabledwithoutValue
    description:
    - Sets C(-SizeEnabled) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: str
  smart_host_auth_mechanism:
    choices:
    - None
    - BasicAuth
    - BasicAuthRequireTLS
    - ExchangeServer
    - ExternalAuthoritative
    description:
    - Authentication towards the smart hosts. V(None) when a connector is created.
    - V(ExternalAuthoritative) is refused unless O(allow_external_authoritative=true).
    - V(BasicAuth) and V(BasicAuthRequireTLS) need credentials, which this module does not manage.
    - Only for O(type=send).
    type: str
  smart_hosts:
    description:
    - Smart hosts (IP addresses or host names) the connector routes through, such as the XPhone Connect server.
    - List semantics as for O(address_spaces).
    - Only for O(type=send).
    type: raw
  smtp_max_messages_per_connection:
    description:
    - Sets C(-SmtpMaxMessagesPerConnection) of C(Set-SendConnector).
    - Range V(1) to V(2147483647).
    - Only for O(type=send).
    type: int
  smtp_utf8_enabled:
    description:
    - Sets C(-SmtpUtf8Enabled) of C(Set-ReceiveConnector).
    - Applied with C(Set-ReceiveConnector) after the object is created.
    - Only for O(type=receive).
    type: bool
  source_ip_address:
    description:
    - Sets C(-SourceIPAddress) of C(Set-SendConnector).
    - Only for O(type=send).
    type: str
  source_transport_servers:
    description:
    - Mailbox servers that send through this connector. When a send connector is created without it, every Mailbox server
      of the organisation.
    - Unknown server names are refused. List semantics as for O(address_spaces).
    - Only for O(type=send).
    type: raw
  suppress_xanonymous_tls:
    description:
    - Sets C(-SuppressXAnonymousTls) of C(Set-ReceiveConnector).
    - Only for O(type=receive).
    type: bool
  tarpit_interval:
    description:
    - Sets C(-TarpitInterval) of C(Set-ReceiveConnector).
    - A time span as V(hh:mm:ss), V(d.hh:mm:ss) or a number of seconds.
    - Only for O(type=receive).
    type: str
  tls_auth_level:
    choices:
    - EncryptionOnly
    - CertificateValidation
    - DomainValidation
    description:
    - Sets C(-TlsAuthLevel) of C(Set-SendConnector).
    - Only for O(type=send).
    type: str
  tls_certificate_name:
    description:
    - Sets C(-TlsCertificateName) of C(Set-SendConnector/Set-ReceiveConnector).
    type: str
  tls_domain:
    description:
    - Sets C(-TlsDomain) of C(Set-SendConnector).
    - Only for O(type=send).
    type: str
  tls_domain_capabilities:
    description:
    - Value of C(-TlsDomainCapabilities), as a list of C(domain:capability) entries. List semantics as for O(address_spaces).
    - Only for O(type=receive).
    type: raw
  transport_role:
    choices:
    - HubTransport
    - FrontendTransport
    description:
    - Transport service the receive connector runs in. V(HubTransport) when a connector is created.
    - Only for O(type=receive).
    type: str
  usage:
    choices:
    - Client
    - Custom
    - Internal
    - Internet
    - Partner
    description:
    - Usage type given to C(New-SendConnector)/C(New-ReceiveConnector) (V(Custom) when created). Exchange cannot change
      it later, so it is ignored for existing connectors.
    - V(Client) applies only to receive connectors.
    type: str
  use_external_dns_servers_enabled:
    description:
    - Sets C(-UseExternalDNSServersEnabled) of C(Set-SendConnector).
    - Only for O(type=send).
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
  - module: xphone.connect.exchange_remote_domain
author:
  - xphone.connect contributors (@xphone-connect)
'''

EXAMPLES = r'''
- name: Send connector routing the fax domain to the XPhone Connect server (vendor procedure, "Forwarding e-mails")
  xphone.connect.exchange_connector:
    type: send
    name: XPhone fax
    adopt_by: address_spaces  # a connector for fax.alleo.intern made under another name is renamed, not duplicated
    address_spaces: [fax.alleo.intern]
    smart_hosts: [192.168.10.25]
    port: 2533
    smart_host_auth_mechanism: None
    dns_routing_enabled: false
    usage: Custom

- name: Add one more source server without touching the others
  xphone.connect.exchange_connector:
    type: send
    name: XPhone fax
    source_transport_servers:
      add: [EX02]

- name: Relay receive connector for the XPhone server only (vendor procedure, "Relay settings")
  xphone.connect.exchange_connector:
    type: receive
    server: EX01
    name: Relay XPhone
    transport_role: HubTransport
    usage: Custom
    bindings: ["0.0.0.0:2500"]
    remote_ip_ranges: [192.168.10.25]
    permission_groups: [AnonymousUsers]
    anonymous_relay: true

- name: Remove the relay connector
  xphone.connect.exchange_connector:
    type: receive
    server: EX01
    name: Relay XPhone
    state: absent
'''

RETURN = r'''
connector:
  description:
    - The connector as C(Get-SendConnector) or C(Get-ReceiveConnector) returns it after the change, with Exchange's
      property names. In check mode, the connector as it was (or only its name when it would be created).
    - Null when the connector is absent.
  returned: always
  type: dict
  sample: {"Name": "XPhone fax", "AddressSpaces": ["SMTP:fax.alleo.intern;1"], "SmartHosts": ["192.168.10.25"], "Port": 2533}
object:
  description:
    - The connector as messages and diffs name it, with its server for a receive connector.
  returned: always
  type: str
  sample: receive connector "EX02\\Relay XPhone"
differences:
  description:
    - Every property that differed, with the option name, the Exchange parameter, and the values before and after.
    - A connector found through O(adopt_by) shows the rename as a difference of C(name).
  returned: always
  type: list
  elements: dict
  sample: [{"option": "port", "parameter": "Port", "before": 25, "after": 2533}]
warnings:
  description: Warnings written by Exchange's cmdlets, guard-rail warnings and connection warnings.
  returned: when there are any
  type: list
  elements: str
'''

from ansible_collections.xphone.connect.plugins.module_utils import connector
from ansible_collections.xphone.connect.plugins.module_utils.runner import run_module


def main():
    run_module(connector)


if __name__ == "__main__":
    main()

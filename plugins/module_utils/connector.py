# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_connector: send and receive connector tables, guard rails and the anonymous-relay right."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

P = engine.Prop
ACCEPT_ANY_RECIPIENT = "ms-Exch-SMTP-Accept-Any-Recipient"
ANONYMOUS_LOGON_SID = "S-1-5-7"
# Remote IP ranges wider than this many addresses are refused unless allow_wide_remote_ip_ranges.
MAX_REMOTE_RANGE_SIZE = 256
LOGGING = ["None", "Verbose"]

SEND_TABLE = [
    P("address_spaces", "AddressSpaces", c.address_spaces()),
    P("smart_hosts", "SmartHosts", c.smart_hosts()),
    P("port", "Port", c.Int(minimum=0, maximum=65535)),
    P("smart_host_auth_mechanism", "SmartHostAuthMechanism",
      c.Choice(["None", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer", "ExternalAuthoritative"])),
    P("dns_routing_enabled", "DNSRoutingEnabled", c.Bool()),
    P("usage", "Usage", c.Choice(["Custom", "Internal", "Internet", "Partner"]), set=False),
    P("source_transport_servers", "SourceTransportServers", c.names()),
    P("max_message_size", "MaxMessageSize", c.Size(unlimited=True, minimum=0, maximum=2147483647)),
    P("enabled", "Enabled", c.Bool()),
    P("fqdn", "Fqdn", c.Fqdn()),
    P("comment", "Comment", c.NullableText()),
    P("require_tls", "RequireTLS", c.Bool()),
    P("tls_auth_level", "TlsAuthLevel", c.Choice(["EncryptionOnly", "CertificateValidation", "DomainValidation"])),
    P("tls_domain", "TlsDomain", c.Domain()),
    P("tls_certificate_name", "TlsCertificateName", c.NullableText()),
    P("ignore_starttls", "IgnoreSTARTTLS", c.Bool()),
    P("force_helo", "ForceHELO", c.Bool()),
    P("error_policies", "ErrorPolicies",
      c.Choice(["Default", "DowngradeDnsFailures", "DowngradeCustomFailures", "UpgradeCustomFailures"])),
    P("protocol_logging_level", "ProtocolLoggingLevel", c.Choice(LOGGING)),
    P("connection_inactivity_timeout", "ConnectionInactivityTimeOut", c.TimeSpan(minimum=1, maximum=86400)),
    P("domain_secure_enabled", "DomainSecureEnabled", c.Bool()),
    P("frontend_proxy_enabled", "FrontendProxyEnabled", c.Bool()),
    P("is_scoped_connector", "IsScopedConnector", c.Bool()),
    P("smtp_max_messages_per_connection", "SmtpMaxMessagesPerConnection", c.Int(minimum=1, maximum=2147483647)),
    P("source_ip_address", "SourceIPAddress", c.IPAddress()),
    P("use_external_dns_servers_enabled", "UseExternalDNSServersEnabled", c.Bool()),
    P("cloud_services_mail_enabled", "CloudServicesMailEnabled", c.Bool()),
    P("require_oorg", "RequireOorg", c.Bool()),
    P("connector_type", "ConnectorType", c.Choice(["Default", "XPremises"])),
]

RECEIVE_TABLE = [
    P("transport_role", "TransportRole", c.Choice(["HubTransport", "FrontendTransport"])),
    P("usage", "Usage", c.Choice(["Client", "Custom", "Internal", "Internet", "Partner"]), set=False),
    P("bindings", "Bindings", c.bindings()),
    P("remote_ip_ranges", "RemoteIPRanges", c.ip_ranges()),
    P("permission_groups", "PermissionGroups", c.Flags(
        ["None", "AnonymousUsers", "ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers", "Partners", "Custom"])),
    P("auth_mechanism", "AuthMechanism", c.Flags(
        ["None", "Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer", "ExternalAuthoritative"])),
    P("advertise_client_settings", "AdvertiseClientSettings", c.Bool()),
    P("auth_tarpit_interval", "AuthTarpitInterval", c.TimeSpan(minimum=0, maximum=86400)),
    P("banner", "Banner", c.NullableText()),
    P("bare_linefeed_rejection_enabled", "BareLinefeedRejectionEnabled", c.Bool(), new=False),
    P("binary_mime_enabled", "BinaryMimeEnabled", c.Bool()),
    P("chunking_enabled", "ChunkingEnabled", c.Bool()),
    P("comment", "Comment", c.NullableText()),
    P("connection_inactivity_timeout", "ConnectionInactivityTimeout", c.TimeSpan(minimum=1, maximum=86400)),
    P("connection_timeout", "ConnectionTimeout", c.TimeSpan(minimum=1, maximum=86400)),
    P("default_domain", "DefaultDomain", c.IText()),
    P("delivery_status_notification_enabled", "DeliveryStatusNotificationEnabled", c.Bool()),
    P("domain_secure_enabled", "DomainSecureEnabled", c.Bool()),
    P("eight_bit_mime_enabled", "EightBitMimeEnabled", c.Bool()),
    P("enable_auth_gssapi", "EnableAuthGSSAPI", c.Bool()),
    P("enabled", "Enabled", c.Bool()),
    P("enhanced_status_codes_enabled", "EnhancedStatusCodesEnabled", c.Bool()),
    P("extended_protection_policy", "ExtendedProtectionPolicy", c.Choice(["None", "Allow", "Require"])),
    P("fqdn", "Fqdn", c.Fqdn()),
    P("long_addresses_enabled", "LongAddressesEnabled", c.Bool()),
    P("max_acknowledgement_delay", "MaxAcknowledgementDelay", c.TimeSpan(minimum=0, maximum=600)),
    P("max_header_size", "MaxHeaderSize", c.Size(unlimited=False, minimum=1, maximum=2147483647)),
    P("max_hop_count", "MaxHopCount", c.Int(minimum=1, maximum=500)),
    P("max_inbound_connection", "MaxInboundConnection", c.Unlimited(minimum=1, maximum=2147483647)),
    P("max_inbound_connection_per_source", "MaxInboundConnectionPerSource", c.Unlimited(minimum=1, maximum=10000)),
    P("max_inbound_connection_percentage_per_source", "MaxInboundConnectionPercentagePerSource", c.Int(minimum=1, maximum=100)),
    P("max_local_hop_count", "MaxLocalHopCount", c.Int(minimum=0, maximum=50)),
    P("max_logon_failures", "MaxLogonFailures", c.Int(minimum=0, maximum=10)),
    P("max_message_size", "MaxMessageSize", c.Size(unlimited=False, minimum=65536, maximum=2147483647)),
    P("max_protocol_errors", "MaxProtocolErrors", c.Unlimited(minimum=0, maximum=2147483647)),
    P("max_recipients_per_message", "MaxRecipientsPerMessage", c.Int(minimum=1, maximum=512000)),
    P("message_rate_limit", "MessageRateLimit", c.Unlimited(minimum=1, maximum=2147483647)),
    P("message_rate_source", "MessageRateSource", c.Choice(["None", "IPAddress", "User", "All"])),
    P("orar_enabled", "OrarEnabled", c.Bool()),
    P("pipelining_enabled", "PipeliningEnabled", c.Bool()),
    P("protocol_logging_level", "ProtocolLoggingLevel", c.Choice(LOGGING)),
    P("reject_reserved_second_level_recipient_domains", "RejectReservedSecondLevelRecipientDomains", c.Bool()),
    P("reject_reserved_top_level_recipient_domains", "RejectReservedTopLevelRecipientDomains", c.Bool()),
    P("reject_single_label_recipient_domains", "RejectSingleLabelRecipientDomains", c.Bool()),
    P("require_ehlo_domain", "RequireEHLODomain", c.Bool()),
    P("require_tls", "RequireTLS", c.Bool()),
    P("service_discovery_fqdn", "ServiceDiscoveryFqdn", c.Fqdn()),
    P("size_enabled", "SizeEnabled", c.Choice(["Enabled", "Disabled", "EnabledwithoutValue"])),
    P("smtp_utf8_enabled", "SmtpUtf8Enabled", c.Bool(), new=False),
    P("suppress_xanonymous_tls", "SuppressXAnonymousTls", c.Bool()),
    P("tarpit_interval", "TarpitInterval", c.TimeSpan(minimum=0, maximum=600)),
    P("tls_certificate_name", "TlsCertificateName", c.NullableText()),
    P("tls_domain_capabilities", "TlsDomainCapabilities", c.MultiValued()),
]


def _same(left, right):
    return str(left or "").strip().lower() == str(right or "").strip().lower()


def _explicit_allow(entry):
    # An inherited or Deny entry does not grant the right on this connector.
    return not (entry.get("Deny") in (True, "True", "true") or entry.get("IsInherited") in (True, "True", "true"))


# The right that lets anonymous clients relay; -User filters by the SID on the server, because the account's
# display name is localized.
ANONYMOUS_RELAY = engine.Membership(
    "anonymous_relay", get="Get-ADPermission", add="Add-ADPermission", remove="Remove-ADPermission",
    member="ExtendedRights", read_as="ExtendedRights", fixed=[("User", ANONYMOUS_LOGON_SID)], keep=_explicit_allow,
    switch=ACCEPT_ANY_RECIPIENT)

SEND_ONLY = (set(p.option for p in SEND_TABLE) - set(p.option for p in RECEIVE_TABLE)) | {"adopt_by"}
RECEIVE_ONLY = (set(p.option for p in RECEIVE_TABLE) - set(p.option for p in SEND_TABLE)) | {"server", "anonymous_relay"}


def _validate(params):
    kind = params["type"]
    foreign = RECEIVE_ONLY if kind == "send" else SEND_ONLY
    given = sorted(o for o in foreign if params.get(o) is not None)
    if given:
        raise InvalidInput(given[0], "applies only to %s connectors, not to type=%s" % (
            "receive" if kind == "send" else "send", kind))
    if kind == "receive":
        c.validate_name("server", params["server"], max_length=255)
    smart_hosts = params.get("smart_hosts")
    if isinstance(smart_hosts, dict):
        smart_hosts = smart_hosts.get("set") or smart_hosts.get("add")
    if kind == "send" and params.get("dns_routing_enabled") is True and smart_hosts:
        # Exchange: "You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used."
        raise InvalidInput("dns_routing_enabled", "true routes mail by DNS, so smart_hosts must be empty or omitted "
                                                  "(Exchange refuses smart hosts on a DNS-routed connector)")
    if not params.get("allow_external_authoritative"):
        for option in ("smart_host_auth_mechanism", "auth_mechanism"):
            value = params.get(option)
            values = value if isinstance(value, (list, tuple)) else str(value or "").split(",")
            if any(str(v).strip().lower() == "externalauthoritative" for v in values):
                raise InvalidInput(option, "ExternalAuthoritative marks every message from these hosts as internal and "
                                           "trusted (no anti-spam, no spoofing checks); set allow_external_authoritative: "
                                           "true if that is really wanted")


def check_remote_ranges(ranges, allow_wide, option="remote_ip_ranges"):
    for item in ranges or []:
        size = c.ip_range_size(item)
        if size > MAX_REMOTE_RANGE_SIZE and not allow_wide:
            raise InvalidInput(option, "%s covers %d addresses; a relay or custom connector should accept only the "
                                       "XPhone server(s). Ranges wider than %d addresses (an IPv4 /24) need "
                                       "allow_wide_remote_ip_ranges: true" % (item, size, MAX_REMOTE_RANGE_SIZE))


def _items(value):
    if value is None:
        return []
    return value if isinstance(value, (list, tuple)) else [value]


def _ambiguous(mine, theirs, identical_binding):
    """Exchange's rule (ReceiveConnectorNoMappingConflictCondition): on an identical binding an equal or partially
    overlapping range conflicts; on a wildcard overlap only a partial overlap does; containment never conflicts."""
    if not c.ranges_overlap(mine, theirs):
        return False
    inside = theirs[1] <= mine[1] and mine[2] <= theirs[2]
    around = mine[1] <= theirs[1] and theirs[2] <= mine[2]
    return identical_binding and mine == theirs or not (inside or around)


def find_conflict(name, role, bindings, ranges, others):
    """The first other receive connector whose bindings and remote ranges collide with these, or None.

    Two connectors collide when they listen on the same port on overlapping addresses and either run in
    different transport services (a port can be bound only once) or, in the same service, accept
    overlapping remote IP ranges that Exchange cannot tell apart: ranges that overlap without one containing
    the other, or (on the very same address and port) the same range. A range inside the other connector's
    range is not a conflict: Exchange picks the most specific match, which is how a relay connector for one
    host sits next to "Default Frontend" on port 25.
    """
    mine = [c.parse_binding("bindings", b) for b in bindings]
    my_ranges = [c.parse_ip_range("remote_ip_ranges", r) for r in ranges]
    for other in others:
        if _same(other.get("Name"), name):
            continue
        try:
            theirs = [c.parse_binding("bindings", b) for b in _items(other.get("Bindings"))]
            their_ranges = [c.parse_ip_range("remote_ip_ranges", r) for r in _items(other.get("RemoteIPRanges"))]
        except InvalidInput:
            continue
        for address, port in mine:
            for other_address, other_port in theirs:
                if port != other_port or address.version != other_address.version:
                    continue
                if not (address.is_unspecified or other_address.is_unspecified or address == other_address):
                    continue
                bound = c.format_binding(other_address, other_port)
                if not _same(other.get("TransportRole") or "HubTransport", role):
                    return other, "%s is already bound by the %s service" % (bound, other.get("TransportRole"))
                identical = address == other_address
                if any(_ambiguous(a, b, identical) for a in my_ranges for b in their_ranges):
                    return other, ("it also binds %s and accepts %s remote IP ranges" % (
                        bound, "the same or partly overlapping" if identical else "partly overlapping"))
    return None, None


def resolve_server(servers, wanted, option):
    for server in servers:
        names = [server.get("Name"), server.get("Fqdn"), server.get("Identity")]
        if any(_same(n, wanted) for n in names if n):
            return str(server.get("Name") or wanted)
    known = ", ".join(sorted(str(s.get("Name")) for s in servers)) or "none"
    raise InvalidInput(option, "Exchange server %r was not found in the organisation (known: %s)" % (wanted, known))


def _server_names(servers, spec, option):
    """The list option with each server written as Exchange shows it (its name), so an FQDN never drifts.

    Servers to add or set must exist; a server to remove that is no longer known is left as written.
    """
    if not isinstance(spec, dict):
        return [resolve_server(servers, item, option) for item in _items(spec)]
    names = {}
    for key, items in spec.items():
        resolved = []
        for item in _items(items):
            try:
                resolved.append(resolve_server(servers, item, option))
            except InvalidInput:
                if key != "remove":
                    raise
                resolved.append(item)
        names[key] = resolved
    return names


def _is_mailbox_server(server):
    role = server.get("ServerRole")
    if server.get("IsMailboxServer") is not None:
        return bool(server.get("IsMailboxServer"))
    if role is None:
        return True
    return "mailbox" in str(role).lower()


def _prepare_send(step):
    """Source servers as Exchange names them; a new connector is sourced on every Mailbox server by default.

    Smart hosts given for a connector that routes by DNS mean routing through them, as on creation: Set-SendConnector
    refuses ``-SmartHosts`` alone there ("You must not set the DNSRoutingEnabled parameter to $true if smart hosts are
    used"), because DNSRoutingEnabled keeps its current value unless it is given too.
    """
    params = step.params
    if (not step.creating and not step.absent and params.get("smart_hosts") and params.get("dns_routing_enabled") is None
            and step.current.get("DNSRoutingEnabled") is True):
        params["dns_routing_enabled"] = False
    wanted = params.get("source_transport_servers")
    if wanted is None and not step.creating:
        return
    servers = step.session.invoke("Get-ExchangeServer")
    if wanted is not None:
        params["source_transport_servers"] = _server_names(servers, wanted, "source_transport_servers")
    else:
        params["source_transport_servers"] = [str(s.get("Name")) for s in servers if _is_mailbox_server(s)]
    if step.creating and not params["dns_routing_enabled"] and not params.get("smart_hosts"):
        raise InvalidInput("smart_hosts", "is required when dns_routing_enabled is false (route through smart hosts)")


def _server(session, params):
    return resolve_server(session.invoke("Get-ExchangeServer"), params["server"], "server")


def _check_receive(step):
    """Guard rails on the values the connector will have: narrow relay ranges, no colliding bindings."""
    if step.absent:
        return
    params = step.params
    changing = set(d.prop.option for d in step.differences)
    ranges = _items(step.final("remote_ip_ranges"))
    if "remote_ip_ranges" in changing or params.get("anonymous_relay"):
        check_remote_ranges(ranges, params.get("allow_wide_remote_ip_ranges"))
    if changing & {"bindings", "remote_ip_ranges", "transport_role"}:
        other, why = find_conflict(params["name"], step.final("transport_role") or "HubTransport",
                                   _items(step.final("bindings")), ranges, step.found)
        if other is not None:
            raise InvalidInput("bindings", "conflicts with receive connector %r on %s: %s" % (
                other.get("Name"), step.scope["Server"], why))
    groups = step.final("permission_groups")
    if params.get("anonymous_relay") and "anonymoususers" not in c.Flags(["AnonymousUsers"]).key(groups):
        step.warn("anonymous_relay is true but permission_groups does not include AnonymousUsers: anonymous clients "
                  "cannot submit mail to %s\\%s, so the relay right has no effect" % (step.scope["Server"], params["name"]))


SEND_CONNECTOR = engine.ObjectType(
    "connector", "send connector", SEND_TABLE,
    get="Get-SendConnector", new="New-SendConnector", set="Set-SendConnector", remove="Remove-SendConnector",
    create_defaults=dict(port=25, smart_host_auth_mechanism="None", dns_routing_enabled=False, usage="Custom"),
    required_to_create=("address_spaces",), validate=_validate, prepare=_prepare_send, adoptable=("address_spaces",))

RECEIVE_CONNECTOR = engine.ObjectType(
    "connector", "receive connector", RECEIVE_TABLE,
    get="Get-ReceiveConnector", new="New-ReceiveConnector", set="Set-ReceiveConnector", remove="Remove-ReceiveConnector",
    scope={"Server": _server}, identity=lambda scope, name: "%s\\%s" % (scope["Server"], name), memberships=[ANONYMOUS_RELAY],
    create_defaults=dict(transport_role="HubTransport", usage="Custom", bindings=["0.0.0.0:2500"]),
    required_to_create=("remote_ip_ranges",), validate=_validate, check=_check_receive)


def _union_spec():
    spec = {}
    for option, entry in list(SEND_CONNECTOR.argument_spec().items()) + list(RECEIVE_CONNECTOR.argument_spec().items()):
        if option in spec and "choices" in entry:
            merged = list(spec[option].get("choices", []))
            merged += [x for x in entry["choices"] if x not in merged]
            entry["choices"] = merged
        spec[option] = entry
    return spec


ARGUMENT_SPEC = dict(
    type=dict(type="str", required=True, choices=["send", "receive"]),
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    server=dict(type="str"),
    allow_wide_remote_ip_ranges=dict(type="bool", default=False),
    allow_external_authoritative=dict(type="bool", default=False),
    adopt_by=dict(type="str", choices=["address_spaces"]),
)
ARGUMENT_SPEC.update(_union_spec())
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = [("type", "receive", ("server",))]


def run(session, params, check_mode=False, diff_mode=False):
    connector = SEND_CONNECTOR if params["type"] == "send" else RECEIVE_CONNECTOR
    return connector.run(session, params, check_mode=check_mode, diff_mode=diff_mode)

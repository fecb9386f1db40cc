# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_connector: send and receive connector tables, guard rails and the anonymous-relay right."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound

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

SEND_ONLY = set(p.option for p in SEND_TABLE) - set(p.option for p in RECEIVE_TABLE)
RECEIVE_ONLY = (set(p.option for p in RECEIVE_TABLE) - set(p.option for p in SEND_TABLE)) | {"server", "anonymous_relay"}


def _union_spec():
    spec = {}
    for prop in SEND_TABLE + RECEIVE_TABLE:
        entry = prop.spec
        if prop.option in spec and "choices" in entry:
            merged = list(spec[prop.option].get("choices", []))
            merged += [x for x in entry["choices"] if x not in merged]
            entry["choices"] = merged
        spec[prop.option] = entry
    return spec


ARGUMENT_SPEC = dict(
    type=dict(type="str", required=True, choices=["send", "receive"]),
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    server=dict(type="str"),
    anonymous_relay=dict(type="bool"),
    allow_wide_remote_ip_ranges=dict(type="bool", default=False),
    allow_external_authoritative=dict(type="bool", default=False),
)
ARGUMENT_SPEC.update(_union_spec())
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = [("type", "receive", ("server",))]

SEND_DEFAULTS = dict(port=25, smart_host_auth_mechanism="None", dns_routing_enabled=False, usage="Custom")
RECEIVE_DEFAULTS = dict(transport_role="HubTransport", usage="Custom", bindings=["0.0.0.0:2500"])


def _same(left, right):
    return str(left or "").strip().lower() == str(right or "").strip().lower()


def validate(params):
    kind = params["type"]
    c.validate_name("name", params["name"])
    foreign = RECEIVE_ONLY if kind == "send" else SEND_ONLY
    given = sorted(o for o in foreign if params.get(o) is not None)
    if given:
        raise InvalidInput(given[0], "applies only to %s connectors, not to type=%s" % (
            "receive" if kind == "send" else "send", kind))
    engine.validate(SEND_TABLE if kind == "send" else RECEIVE_TABLE, params)
    if kind == "receive":
        c.validate_name("server", params["server"], max_length=255)
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


def _ambiguous(mine, theirs):
    if not c.ranges_overlap(mine, theirs):
        return False
    inside = theirs[1] <= mine[1] and mine[2] <= theirs[2]
    around = mine[1] <= theirs[1] and theirs[2] <= mine[2]
    return mine == theirs or not (inside or around)


def find_conflict(name, role, bindings, ranges, others):
    """The first other receive connector whose bindings and remote ranges collide with these, or None.

    Two connectors collide when they listen on the same port on overlapping addresses and either run in
    different transport services (a port can be bound only once) or, in the same service, accept
    overlapping remote IP ranges that Exchange cannot tell apart: the same range, or ranges that overlap
    without one containing the other. A range strictly inside the other connector's range is not a
    conflict: Exchange picks the most specific match, which is how a relay connector for one host sits
    next to "Default Frontend" on port 25.
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
                if any(_ambiguous(a, b) for a in my_ranges for b in their_ranges):
                    return other, "it also binds %s and accepts the same or partly overlapping remote IP ranges" % bound
    return None, None


def _resolve_server(servers, wanted, option):
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
        return [_resolve_server(servers, item, option) for item in _items(spec)]
    names = {}
    for key, items in spec.items():
        resolved = []
        for item in _items(items):
            try:
                resolved.append(_resolve_server(servers, item, option))
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


def _has_relay_right(session, identity):
    # -User filters by the SID on the server; the account's display name is localized, so it is not compared.
    entries = session.invoke("Get-ADPermission", [("Identity", identity), ("User", ANONYMOUS_LOGON_SID)])
    for entry in entries:
        if entry.get("Deny") in (True, "True", "true") or entry.get("IsInherited") in (True, "True", "true"):
            continue
        rights = entry.get("ExtendedRights")
        rights = rights if isinstance(rights, (list, tuple)) else str(rights or "").split(",")
        if any(_same(r, ACCEPT_ANY_RECIPIENT) for r in rights):
            return True
    return False


def _relay_params(identity):
    return [("Identity", identity), ("User", ANONYMOUS_LOGON_SID), ("ExtendedRights", ACCEPT_ANY_RECIPIENT)]


def run(session, params, check_mode=False, diff_mode=False, sleep=None):
    validate(params)
    outcome = engine.Outcome("connector")
    if params["type"] == "send":
        step = _send_step(params, outcome, check_mode)
    else:
        step = _receive_step(params, outcome, check_mode, sleep)
    session.run_step(step)
    return outcome.result(diff_mode=diff_mode, warnings=session.warnings)


def _with_defaults(params, defaults):
    merged = dict(params)
    for option, value in defaults.items():
        if merged.get(option) is None:
            merged[option] = value
    return merged


def _send_step(params, outcome, check_mode):
    name = params["name"]

    def find(sess):
        for obj in sess.invoke("Get-SendConnector"):
            if _same(obj.get("Name"), name):
                return obj
        return None

    def step(sess):
        outcome.reset()
        current = find(sess)
        outcome.before = engine.snapshot(SEND_TABLE, current)
        if params["state"] == "absent":
            if current is not None:
                outcome.add([dict(option="state", parameter=None, before="present", after="absent")])
                if not check_mode:
                    outcome.write(sess, "Remove-SendConnector", [("Identity", current.get("Identity") or name)])
            return

        wanted = dict(params)
        servers = None
        if params.get("source_transport_servers") is not None or current is None:
            servers = sess.invoke("Get-ExchangeServer")
        spec = params.get("source_transport_servers")
        if spec is not None:
            wanted["source_transport_servers"] = _server_names(servers, spec, "source_transport_servers")
        if current is None:
            wanted = _with_defaults(wanted, SEND_DEFAULTS)
            if wanted.get("source_transport_servers") is None:
                wanted["source_transport_servers"] = [str(s.get("Name")) for s in servers if _is_mailbox_server(s)]
            if not wanted.get("address_spaces"):
                raise InvalidInput("address_spaces", "is required to create send connector %r" % name)
            if not wanted["dns_routing_enabled"] and not wanted.get("smart_hosts"):
                raise InvalidInput("smart_hosts", "is required when dns_routing_enabled is false (route through smart hosts)")
        differences = engine.compute(SEND_TABLE, wanted, current)
        outcome.add(([dict(option="state", parameter=None, before="absent", after="present")] if current is None else [])
                    + differences)
        outcome.after = engine.predict(SEND_TABLE, current, differences)
        if check_mode or (not differences and current is not None):
            outcome.obj = current if current is not None else dict(Name=name)
            return
        if current is None:
            outcome.write(sess, "New-SendConnector", [("Name", name)] + engine.set_parameters(differences, on_create=True))
            leftover = engine.set_parameters(engine.leftover_after_create(differences))
            if leftover:
                outcome.write(sess, "Set-SendConnector", [("Identity", name)] + leftover)
        else:
            outcome.write(sess, "Set-SendConnector", [("Identity", current.get("Identity") or name)]
                          + engine.set_parameters(differences))
        outcome.obj = find(sess)

    return step


def _receive_step(params, outcome, check_mode, sleep):
    name = params["name"]

    def step(sess):
        outcome.reset()
        servers = sess.invoke("Get-ExchangeServer")
        server = _resolve_server(servers, params["server"], "server")
        identity = "%s\\%s" % (server, name)
        connectors = sess.invoke("Get-ReceiveConnector", [("Server", server)])
        current = None
        for obj in connectors:
            if _same(obj.get("Name"), name):
                current = obj
        outcome.before = engine.snapshot(RECEIVE_TABLE, current)
        relay_before = None
        if current is not None and params.get("anonymous_relay") is not None:
            relay_before = _has_relay_right(sess, identity)
            outcome.before["anonymous_relay"] = relay_before

        if params["state"] == "absent":
            if current is not None:
                outcome.add([dict(option="state", parameter=None, before="present", after="absent")])
                if not check_mode:
                    outcome.write(sess, "Remove-ReceiveConnector", [("Identity", identity)])
            return

        wanted = dict(params)
        if current is None:
            wanted = _with_defaults(params, RECEIVE_DEFAULTS)
            if not wanted.get("remote_ip_ranges"):
                raise InvalidInput("remote_ip_ranges", "is required to create receive connector %r" % name)
        differences = engine.compute(RECEIVE_TABLE, wanted, current)
        final = dict((d.prop.option, d.value) for d in differences)

        def final_value(option, parameter):
            if option in final:
                return final[option]
            return None if current is None else current.get(parameter)

        ranges = _items(final_value("remote_ip_ranges", "RemoteIPRanges"))
        if "remote_ip_ranges" in final or params.get("anonymous_relay"):
            check_remote_ranges(ranges, params.get("allow_wide_remote_ip_ranges"))
        if "bindings" in final or "remote_ip_ranges" in final or "transport_role" in final:
            other, why = find_conflict(name, final_value("transport_role", "TransportRole") or "HubTransport",
                                       _items(final_value("bindings", "Bindings")), ranges, connectors)
            if other is not None:
                raise InvalidInput("bindings", "conflicts with receive connector %r on %s: %s" % (other.get("Name"), server, why))

        outcome.add(([dict(option="state", parameter=None, before="absent", after="present")] if current is None else [])
                    + differences)
        outcome.after = engine.predict(RECEIVE_TABLE, current, differences)
        relay_change = None
        if params.get("anonymous_relay") is not None:
            have = bool(relay_before)
            outcome.after["anonymous_relay"] = params["anonymous_relay"]
            if have != params["anonymous_relay"]:
                relay_change = params["anonymous_relay"]
                outcome.add([dict(option="anonymous_relay", parameter="ExtendedRights " + ACCEPT_ANY_RECIPIENT,
                                  before=have, after=params["anonymous_relay"])])
            groups = final_value("permission_groups", "PermissionGroups")
            if params["anonymous_relay"] and "anonymoususers" not in c.Flags(["AnonymousUsers"]).key(groups):
                sess.warnings.append("anonymous_relay is true but permission_groups does not include AnonymousUsers: "
                                     "anonymous clients cannot submit mail to %s, so the relay right has no effect" % identity)

        if check_mode:
            outcome.obj = current if current is not None else dict(Name=name, Server=server, Identity=identity)
            return
        if current is None:
            outcome.write(sess, "New-ReceiveConnector", [("Name", name), ("Server", server)]
                          + engine.set_parameters(differences, on_create=True))
            leftover = engine.set_parameters(engine.leftover_after_create(differences))
            if leftover:
                outcome.write(sess, "Set-ReceiveConnector", [("Identity", identity)] + leftover)
        elif differences:
            outcome.write(sess, "Set-ReceiveConnector", [("Identity", identity)] + engine.set_parameters(differences))
        if relay_change is True:
            _grant_relay(sess, outcome, identity, fresh=current is None, sleep=sleep)
        elif relay_change is False:
            outcome.write(sess, "Remove-ADPermission", _relay_params(identity))
        if differences or current is None:
            current = None
            for obj in sess.invoke("Get-ReceiveConnector", [("Server", server)]):
                if _same(obj.get("Name"), name):
                    current = obj
        outcome.obj = current

    return step


def _grant_relay(sess, outcome, identity, fresh, sleep=None):
    """Add-ADPermission; a connector created a moment ago may not have replicated to the DC yet."""
    delays = (2, 4, 8) if fresh else ()
    for delay in delays + (None,):
        try:
            outcome.write(sess, "Add-ADPermission", _relay_params(identity))
            return
        except NotFound:
            if delay is None:
                raise
            if sleep is not None:
                sleep(delay)
            else:
                sess.sleep(delay)

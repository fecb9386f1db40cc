# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every option of exchange_remote_domain and exchange_connector, run through Ansible against the lab.

Each option (one test per option and connector type) goes through: create with a value Exchange would
not give a new object anyway, read it back as Exchange shows it, apply again (nothing changed, nothing
written), change it to a second value (changed, landed), apply that again, absent (gone). The module
runs come from pytest-ansible's ``ansible_adhoc`` fixture (in-process ad-hoc plays against the lab's
inventory). Check mode goes through ``ansible-playbook --check``, because pytest-ansible 26.10 drops
its check flag before the play is built (notes/tooling.md section 3): one playbook per module type
creates and changes a representative option of every value kind, and the lab's whole state must be
the same afterwards.

The tables below are checked against the modules' ARGUMENT_SPEC: an option without an entry fails
``test_every_option_has_a_case``, so a new option cannot go untested.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import sys
import typing as t

import pytest
import yaml

from ansible_collections.xphone.connect.plugins.module_utils import connector, remote_domain
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from lab.model import LabEnum

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

# pytest-ansible 26.10 marks its whole host manager deprecated, and initialises the collection finder that
# conftest.py has already initialised (to work around its first-call bug): both warnings are expected.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Host management is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:AnsibleCollectionFinder has already been configured:UserWarning"),
]

SAME = object()
WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")
ANONYMOUS_LOGON_SID = "S-1-5-7"
ACCEPT_ANY_RECIPIENT = "ms-Exch-SMTP-Accept-Any-Recipient"
# Options that are not properties of the Exchange object: identity, state, type, and how to connect (those
# are tested by test_exchange_modules.py and the session tests). Listed by name, so that an option added to
# the connection spec is a conscious decision here too.
CONNECTION_OPTIONS = frozenset([
    "connection_uri", "connection_server", "connection_port", "protocol", "username", "password", "auth",
    "validate_certs", "ca_cert", "certificate_pem", "certificate_key_pem", "negotiate_service",
    "negotiate_hostname_override", "connect_timeout", "operation_timeout", "domain_controller",
])
# adopt_by and recreate choose how the object is found or replaced, not a value it holds: their own tests are
# test_adopt_by_* and test_recreate_* below (and the mail_flow role's matrix in test_role_mail_flow_changes.py).
NOT_OBJECT_OPTIONS = frozenset(["name", "state", "type", "adopt_by", "recreate"]) | CONNECTION_OPTIONS


@dataclasses.dataclass(frozen=True)
class Case:
    """One option: the two values it is set to, and how Exchange shows each of them.

    ``prop`` is the property read back from Get-*, written out here rather than taken from the module's
    table so that a wrong mapping fails. ``mode``: ``cycle`` (the normal case); ``create_only`` (Exchange
    cannot change it later: the second value leaves it as it is); ``fixed`` (a different second value is
    an error); ``guard`` (a safety switch: ``extra`` lands with it true, ``second_extra`` is refused with
    it false). ``compare``: ``exact``, ``set`` (a multi-valued property, order ignored) or ``flags``
    (a [Flags] enum shown as "A, B").
    """

    option: str
    prop: str
    first: t.Any
    second: t.Any
    shown_first: t.Any = SAME
    shown_second: t.Any = SAME
    extra: tuple = ()
    second_extra: tuple = ()
    mode: str = "cycle"
    compare: str = "exact"

    @property
    def expected_first(self):
        return self.first if self.shown_first is SAME else self.shown_first

    @property
    def expected_second(self):
        return self.second if self.shown_second is SAME else self.shown_second


def C(option, prop, first, second, shown_first=SAME, shown_second=SAME, **kwargs):  # pylint: disable=invalid-name
    for key in ("extra", "second_extra"):
        if key in kwargs:
            kwargs[key] = tuple(sorted(kwargs[key].items()))
    return Case(option, prop, first, second, shown_first, shown_second, **kwargs)


def B(option, prop, first=True):  # pylint: disable=invalid-name
    """A boolean option: first the value a new object does not have, then the other one."""
    return C(option, prop, first, not first)


REMOTE_DOMAIN_CASES = [
    C("domain_name", "DomainName", "*.fax.alleo.intern", "mail.alleo.intern", mode="fixed"),
    C("allowed_oof_type", "AllowedOOFType", "None", "InternalLegacy"),
    B("auto_forward_enabled", "AutoForwardEnabled", False),
    B("auto_reply_enabled", "AutoReplyEnabled", False),
    C("byte_encoder_type_for_7bit_charsets", "ByteEncoderTypeFor7BitCharsets", "UseQP", "UseBase64"),
    C("character_set", "CharacterSet", "iso-8859-1", "utf-8"),
    C("content_type", "ContentType", "MimeText", "MimeHtml"),
    B("delivery_report_enabled", "DeliveryReportEnabled", False),
    B("display_sender_name", "DisplaySenderName", False),
    B("is_internal", "IsInternal"),
    C("line_wrap_size", "LineWrapSize", 78, "unlimited", SAME, "Unlimited"),
    B("meeting_forward_notification_enabled", "MeetingForwardNotificationEnabled", False),
    C("message_count_threshold", "MessageCountThreshold", 100, 2500),
    B("ndr_diagnostic_info_enabled", "NDRDiagnosticInfoEnabled", False),
    B("ndr_enabled", "NDREnabled", False),
    C("non_mime_character_set", "NonMimeCharacterSet", "iso-8859-15", "windows-1252"),
    C("preferred_internet_code_page_for_shift_jis", "PreferredInternetCodePageForShiftJis", "50220", "50222"),
    C("required_charset_coverage", "RequiredCharsetCoverage", 80, 95),
    B("target_delivery_domain", "TargetDeliveryDomain"),
    C("tnef_enabled", "TNEFEnabled", True, "unset", True, None),
    B("trusted_mail_inbound_enabled", "TrustedMailInboundEnabled"),
    B("trusted_mail_outbound_enabled", "TrustedMailOutboundEnabled"),
    B("use_simple_display_name", "UseSimpleDisplayName"),
]

CERT_A = "<I>CN=Alleo CA<S>CN=mail.alleo.intern"
CERT_B = "<I>CN=Alleo CA<S>CN=relay.alleo.intern"

SEND_CASES = [
    C("address_spaces", "AddressSpaces", ["fax.alleo.intern", "SMTP:*.fax.alleo.intern;5"],
      {"add": ["fax2.alleo.intern"], "remove": ["*.fax.alleo.intern;5"]},
      ["SMTP:fax.alleo.intern;1", "SMTP:*.fax.alleo.intern;5"], ["SMTP:fax.alleo.intern;1", "SMTP:fax2.alleo.intern;1"],
      compare="set"),
    # Exchange shows an IP smart host in brackets (RoutingHost), a name as typed.
    C("smart_hosts", "SmartHosts", ["127.0.0.21", "xphone01.alleo.intern"], ["127.0.0.22"],
      ["[127.0.0.21]", "xphone01.alleo.intern"], ["[127.0.0.22]"], compare="set"),
    C("port", "Port", 2533, 2534),
    C("smart_host_auth_mechanism", "SmartHostAuthMechanism", "ExchangeServer", "None"),
    # DNS routing and smart hosts exclude each other (Exchange refuses both): first DNS, then back to the smart host.
    C("dns_routing_enabled", "DNSRoutingEnabled", True, False, extra={"smart_hosts": []},
      second_extra={"smart_hosts": ["127.0.0.21"]}),
    C("usage", "Usage", "Internal", "Partner", "Internal", "Internal", mode="create_only"),
    C("source_transport_servers", "SourceTransportServers", ["EX02"], {"add": ["EX03"]}, SAME, ["EX02", "EX03"],
      compare="set"),
    C("max_message_size", "MaxMessageSize", "30MB", "unlimited", "30 MB (31,457,280 bytes)", "Unlimited"),
    B("enabled", "Enabled", False),
    C("fqdn", "Fqdn", "mail.alleo.intern", "relay.alleo.intern"),
    C("comment", "Comment", "XPhone fax relay", "", SAME, None),
    B("require_tls", "RequireTLS"),
    C("tls_auth_level", "TlsAuthLevel", "EncryptionOnly", "CertificateValidation", extra={"require_tls": True}),
    C("tls_domain", "TlsDomain", "alleo.intern", "*.alleo.intern",
      extra={"require_tls": True, "tls_auth_level": "DomainValidation"}),
    C("tls_certificate_name", "TlsCertificateName", CERT_A, CERT_B),
    B("ignore_starttls", "IgnoreSTARTTLS"),
    B("force_helo", "ForceHELO"),
    C("error_policies", "ErrorPolicies", "DowngradeDnsFailures", "Default"),
    C("protocol_logging_level", "ProtocolLoggingLevel", "Verbose", "None"),
    C("connection_inactivity_timeout", "ConnectionInactivityTimeOut", "00:05:00", 900, SAME, "00:15:00"),
    C("domain_secure_enabled", "DomainSecureEnabled", True, False, extra={"dns_routing_enabled": True, "smart_hosts": []}),
    B("frontend_proxy_enabled", "FrontendProxyEnabled"),
    B("is_scoped_connector", "IsScopedConnector"),
    C("smtp_max_messages_per_connection", "SmtpMaxMessagesPerConnection", 50, 100),
    C("source_ip_address", "SourceIPAddress", "127.0.0.11", "127.0.0.12"),
    B("use_external_dns_servers_enabled", "UseExternalDNSServersEnabled"),
    B("cloud_services_mail_enabled", "CloudServicesMailEnabled"),
    B("require_oorg", "RequireOorg"),
    C("connector_type", "ConnectorType", "XPremises", "Default"),
    C("allow_external_authoritative", "SmartHostAuthMechanism", True, False, "ExternalAuthoritative", mode="guard",
      extra={"smart_host_auth_mechanism": "ExternalAuthoritative"}),
]

RECEIVE_CASES = [
    C("server", "Name", "EX02", "EX03", "Relay XPhone", "Relay XPhone"),
    C("transport_role", "TransportRole", "FrontendTransport", "HubTransport"),
    # Receive connectors have no Usage property: the usage type only picks New-ReceiveConnector's defaults.
    C("usage", "PermissionGroups", "Internet", "Partner", "AnonymousUsers", "AnonymousUsers", mode="create_only"),
    C("bindings", "Bindings", ["0.0.0.0:2501", "[::]:2501"], {"set": ["0.0.0.0:2502"]}, SAME, ["0.0.0.0:2502"],
      compare="set"),
    C("remote_ip_ranges", "RemoteIPRanges", ["127.0.0.21", "127.0.0.32/28"], ["127.0.0.40-127.0.0.49"], compare="set"),
    C("permission_groups", "PermissionGroups", ["AnonymousUsers", "ExchangeServers"], "Partners",
      "AnonymousUsers, ExchangeServers", SAME, compare="flags"),
    C("auth_mechanism", "AuthMechanism", ["Tls", "Integrated"], "Tls, BasicAuth, BasicAuthRequireTLS",
      "Tls, Integrated", SAME, compare="flags"),
    B("advertise_client_settings", "AdvertiseClientSettings"),
    C("auth_tarpit_interval", "AuthTarpitInterval", "00:00:10", "00:00:20"),
    C("banner", "Banner", "220 XPhone relay", "", SAME, None),
    B("bare_linefeed_rejection_enabled", "BareLinefeedRejectionEnabled"),
    B("binary_mime_enabled", "BinaryMimeEnabled", False),
    B("chunking_enabled", "ChunkingEnabled", False),
    C("comment", "Comment", "Relay for XPhone", "Relay for the XPhone server"),
    C("connection_inactivity_timeout", "ConnectionInactivityTimeout", "00:02:00", "180", SAME, "00:03:00"),
    C("connection_timeout", "ConnectionTimeout", "00:20:00", "1.00:00:00"),
    C("default_domain", "DefaultDomain", "alleo.intern", "fax.alleo.intern"),
    B("delivery_status_notification_enabled", "DeliveryStatusNotificationEnabled", False),
    B("domain_secure_enabled", "DomainSecureEnabled"),
    B("eight_bit_mime_enabled", "EightBitMimeEnabled", False),
    B("enable_auth_gssapi", "EnableAuthGSSAPI"),
    B("enabled", "Enabled", False),
    B("enhanced_status_codes_enabled", "EnhancedStatusCodesEnabled", False),
    C("extended_protection_policy", "ExtendedProtectionPolicy", "Allow", "Require"),
    C("fqdn", "Fqdn", "relay.alleo.intern", "mail.alleo.intern"),
    B("long_addresses_enabled", "LongAddressesEnabled"),
    C("max_acknowledgement_delay", "MaxAcknowledgementDelay", "00:00:10", 0, SAME, "00:00:00"),
    C("max_header_size", "MaxHeaderSize", "128KB", 524288, "128 KB (131,072 bytes)", "512 KB (524,288 bytes)"),
    C("max_hop_count", "MaxHopCount", 40, 60),
    C("max_inbound_connection", "MaxInboundConnection", 1000, "unlimited", SAME, "Unlimited"),
    C("max_inbound_connection_per_source", "MaxInboundConnectionPerSource", 50, "Unlimited"),
    C("max_inbound_connection_percentage_per_source", "MaxInboundConnectionPercentagePerSource", 5, 10),
    C("max_local_hop_count", "MaxLocalHopCount", 4, 0),
    C("max_logon_failures", "MaxLogonFailures", 5, 0),
    C("max_message_size", "MaxMessageSize", "50MB", "20 MB", "50 MB (52,428,800 bytes)", "20 MB (20,971,520 bytes)"),
    C("max_protocol_errors", "MaxProtocolErrors", 10, "unlimited", SAME, "Unlimited"),
    C("max_recipients_per_message", "MaxRecipientsPerMessage", 500, 1000),
    C("message_rate_limit", "MessageRateLimit", 600, "unlimited", SAME, "Unlimited"),
    C("message_rate_source", "MessageRateSource", "All", "User"),
    B("orar_enabled", "OrarEnabled"),
    B("pipelining_enabled", "PipeliningEnabled", False),
    C("protocol_logging_level", "ProtocolLoggingLevel", "Verbose", "None"),
    B("reject_reserved_second_level_recipient_domains", "RejectReservedSecondLevelRecipientDomains"),
    B("reject_reserved_top_level_recipient_domains", "RejectReservedTopLevelRecipientDomains"),
    B("reject_single_label_recipient_domains", "RejectSingleLabelRecipientDomains"),
    B("require_ehlo_domain", "RequireEHLODomain"),
    B("require_tls", "RequireTLS"),
    C("service_discovery_fqdn", "ServiceDiscoveryFqdn", "mail.alleo.intern", "smtp.alleo.intern"),
    C("size_enabled", "SizeEnabled", "Disabled", "EnabledwithoutValue"),
    B("smtp_utf8_enabled", "SmtpUtf8Enabled"),
    B("suppress_xanonymous_tls", "SuppressXAnonymousTls"),
    C("tarpit_interval", "TarpitInterval", "00:00:10", "00:01:00"),
    C("tls_certificate_name", "TlsCertificateName", CERT_B, CERT_A),
    C("tls_domain_capabilities", "TlsDomainCapabilities", ["contoso.com:AcceptCloudServicesMail"],
      ["mail.protection.outlook.com:AcceptOorgProtocol"], compare="set"),
    C("anonymous_relay", "@relay", True, False, extra={"permission_groups": ["AnonymousUsers"]}),
    C("allow_wide_remote_ip_ranges", "RemoteIPRanges", True, False, ["10.0.0.0/16"], mode="guard", compare="set",
      extra={"remote_ip_ranges": ["10.0.0.0/16"]}, second_extra={"remote_ip_ranges": ["10.1.0.0/16"]}),
    C("allow_external_authoritative", "AuthMechanism", True, False, "Tls, ExternalAuthoritative", mode="guard",
      compare="flags", extra={"auth_mechanism": ["Tls", "ExternalAuthoritative"]}),
]


@dataclasses.dataclass(frozen=True)
class Kind:
    module: str
    base: dict
    identity: tuple
    cases: list
    table: list


KINDS = {
    "remote_domain": Kind("exchange_remote_domain", {"name": "XPhone fax", "domain_name": "fax.alleo.intern"},
                          ("name",), REMOTE_DOMAIN_CASES, remote_domain.TABLE),
    "send": Kind("exchange_connector", {"type": "send", "name": "XPhone fax", "address_spaces": ["fax.alleo.intern"],
                                        "smart_hosts": ["127.0.0.21"]},
                 ("type", "name"), SEND_CASES, connector.SEND_TABLE),
    "receive": Kind("exchange_connector", {"type": "receive", "server": "EX01", "name": "Relay XPhone",
                                           "remote_ip_ranges": ["127.0.0.21"]},
                    ("type", "server", "name"), RECEIVE_CASES, connector.RECEIVE_TABLE),
}

# Check mode, one option of each value kind: tri-state, enum, unlimited, int, size, list, time span, bool,
# [Flags] enum and the relay right (an AD permission rather than a connector property).
CHECK_MODE_OPTIONS = {
    "remote_domain": ["tnef_enabled", "content_type", "line_wrap_size", "message_count_threshold"],
    "send": ["max_message_size", "smart_hosts", "connection_inactivity_timeout", "require_tls"],
    "receive": ["permission_groups", "remote_ip_ranges", "tarpit_interval", "max_header_size",
                "max_inbound_connection", "anonymous_relay"],
}


def case_id(kind, case):
    return "%s-%s" % (kind, case.option)


ALL_CASES = [(kind, case) for kind, spec in KINDS.items() for case in spec.cases]


# --- reading the lab -------------------------------------------------------------------------------------

def exchange(handle, cmdlet, **params):
    return [o.properties for o in handle.exchange(cmdlet, **params)]


def read(handle, kind, args):
    """The object ``args`` names as Get-* shows it, or None."""
    if kind == "remote_domain":
        objects = exchange(handle, "Get-RemoteDomain")
    elif kind == "send":
        objects = exchange(handle, "Get-SendConnector")
    else:
        objects = exchange(handle, "Get-ReceiveConnector", Server=args["server"])
    found = [o for o in objects if str(o["Name"]).lower() == args["name"].lower()]
    assert len(found) <= 1, found
    return found[0] if found else None


def relay_granted(handle, args):
    entries = exchange(handle, "Get-ADPermission", Identity="%s\\%s" % (args["server"], args["name"]),
                       User=ANONYMOUS_LOGON_SID)
    return any(ACCEPT_ANY_RECIPIENT in [str(r) for r in (e.get("ExtendedRights") or [])] for e in entries)


def observe(handle, kind, case, args):
    obj = read(handle, kind, args)
    assert obj is not None, "%s %r does not exist" % (kind, args["name"])
    if case.prop == "@relay":
        return relay_granted(handle, args)
    assert case.prop in obj, "Get-* shows no %s property" % case.prop
    return obj[case.prop]


def plain(value):
    """A value read from the lab as plain Python: enums by name, lists item by item."""
    if isinstance(value, LabEnum):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def same(actual, expected, compare):
    actual = plain(actual)
    if compare == "set":
        return sorted(str(v).lower() for v in (actual or [])) == sorted(str(v).lower() for v in expected)
    if compare == "flags":
        def names(value):
            items = value if isinstance(value, (list, tuple)) else str(value).split(",")
            return set(str(i).strip().lower() for i in items if str(i).strip())
        return names(actual) == names(expected)
    return actual == expected


def writes(handle):
    return [a["cmdlet"] for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def arguments(kind, case, value, extra):
    args = dict(KINDS[kind].base)
    args.update(dict(extra))
    args[case.option] = value
    return args


def absent_args(kind, args):
    out = dict((key, args[key]) for key in KINDS[kind].identity)
    out["state"] = "absent"
    return out


# --- the option table is complete -----------------------------------------------------------------------

def test_every_option_has_a_case():
    """Every option of both argument specs has a test case; no case names an option that does not exist."""
    assert set(CONNECTION_ARGUMENT_SPEC) == CONNECTION_OPTIONS
    rd_options = set(remote_domain.ARGUMENT_SPEC) - NOT_OBJECT_OPTIONS
    assert rd_options == set(c.option for c in REMOTE_DOMAIN_CASES)

    conn_options = set(connector.ARGUMENT_SPEC) - NOT_OBJECT_OPTIONS
    assert conn_options == set(c.option for c in SEND_CASES) | set(c.option for c in RECEIVE_CASES)
    # Options of one connector type must be tested with that type, not only with the other one.
    assert set(p.option for p in connector.SEND_TABLE) <= set(c.option for c in SEND_CASES)
    assert set(p.option for p in connector.RECEIVE_TABLE) <= set(c.option for c in RECEIVE_CASES)
    assert connector.RECEIVE_ONLY - set(p.option for p in connector.RECEIVE_TABLE) <= set(c.option for c in RECEIVE_CASES)

    for kind, spec in KINDS.items():
        options = [c.option for c in spec.cases]
        assert len(options) == len(set(options)), "%s: an option has two cases" % kind
        for option in CHECK_MODE_OPTIONS[kind]:
            assert option in options


def test_check_mode_subset_covers_every_value_kind():
    kinds = set()
    for kind, spec in KINDS.items():
        table = dict((p.option, p.kind.name) for p in spec.table)
        kinds.update(table.get(option, "relay") for option in CHECK_MODE_OPTIONS[kind])
    assert kinds >= {"bool", "enum", "int", "list", "timespan", "size", "unlimited", "tristate", "flags"}


# --- one option at a time ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def baselines():
    """Per kind: the object the module creates from the base arguments alone (cached for the test module)."""
    return {}


def baseline(kind, handle, run, cache):
    if kind not in cache:
        base = dict(KINDS[kind].base)
        result = run(**base)
        assert result.get("changed") and not result.get("failed"), result
        obj = dict(read(handle, kind, base))
        if kind == "receive":
            obj["@relay"] = relay_granted(handle, base)
        assert run(**absent_args(kind, base)).get("changed")
        cache[kind] = obj
        handle.reset()
    return cache[kind]


def check_change(case, result):
    assert result.get("changed") is True and not result.get("failed"), result
    if case.mode == "cycle" and case.option != "server":
        # Options whose second_extra changes something else too (back from DNS routing to a smart host) list both.
        extra = sorted(key for key, value in case.second_extra if dict(case.extra).get(key) != value)
        assert sorted(d["option"] for d in result["differences"]) == sorted([case.option] + extra), result["differences"]


@pytest.mark.parametrize("kind,case", ALL_CASES, ids=[case_id(k, c) for k, c in ALL_CASES])
def test_option(kind, case, shared_labs, module_runner, baselines):  # pylint: disable=redefined-outer-name
    handle = shared_labs(kind)
    handle.reset()
    run = module_runner(handle, KINDS[kind].module)
    base = baseline(kind, handle, run, baselines)
    handle.reset()

    first = arguments(kind, case, case.first, case.extra)
    if case.mode != "guard" and case.option != "server":
        assert not same(base.get(case.prop), case.expected_first, case.compare), \
            "the first value of %s is what a new object has anyway: it would prove nothing" % case.option

    created = run(**first)
    assert created.get("changed") is True and not created.get("failed"), created
    assert same(observe(handle, kind, case, first), case.expected_first, case.compare), \
        (plain(observe(handle, kind, case, first)), case.expected_first)

    before = len(writes(handle))
    again = run(**first)
    assert again.get("changed") is False and not again.get("failed"), again
    assert again["differences"] == [] and writes(handle)[before:] == []

    second = arguments(kind, case, case.second, case.second_extra or case.extra)
    before = len(writes(handle))
    changed = run(**second)
    if case.mode in ("fixed", "guard"):
        # Refused before anything is written; the first value stays.
        assert changed.get("failed") and case.option in "%s %s" % (changed.get("msg"), changed.get("option")), changed
        assert writes(handle)[before:] == []
        assert same(observe(handle, kind, case, first), case.expected_first, case.compare)
        final = first
    elif case.mode == "create_only":
        assert changed.get("changed") is False and not changed.get("failed"), changed
        assert writes(handle)[before:] == []
        assert same(observe(handle, kind, case, second), case.expected_second, case.compare)
        final = second
    else:
        check_change(case, changed)
        assert writes(handle)[before:], "changed without a write"
        assert same(observe(handle, kind, case, second), case.expected_second, case.compare), \
            (plain(observe(handle, kind, case, second)), case.expected_second)
        before = len(writes(handle))
        again = run(**second)
        assert again.get("changed") is False and not again.get("failed"), again
        assert writes(handle)[before:] == []
        final = second

    gone = run(**absent_args(kind, final))
    assert gone.get("changed") is True and not gone.get("failed"), gone
    assert read(handle, kind, final) is None
    assert run(**absent_args(kind, final)).get("changed") is False


# --- check mode ------------------------------------------------------------------------------------------

def numbered(kind, args, index):
    """``args`` for the index-th object of a kind, kept apart from the others (name, domain, port, range)."""
    out = dict(args)
    out["name"] = "%s %d" % (args["name"], index)
    base = KINDS[kind].base
    if kind == "remote_domain" and out.get("domain_name") == base["domain_name"]:
        out["domain_name"] = "fax%d.alleo.intern" % index
    if kind == "receive":
        if "bindings" not in out:
            out["bindings"] = ["0.0.0.0:%d" % (2600 + index)]
        if out.get("remote_ip_ranges") == base["remote_ip_ranges"]:
            out["remote_ip_ranges"] = ["127.0.0.%d" % (100 + index)]
    return out


def check_playbook(kind, tasks, path):
    """A playbook of ``tasks`` [(label, args)], each result printed base64-encoded JSON after its label."""
    steps = []
    for number, (label, args) in enumerate(tasks):
        steps.append({"name": label, "xphone.connect." + KINDS[kind].module: args, "register": "r%d" % number,
                      "ignore_errors": True})
        steps.append({"name": "Result of " + label,
                      "ansible.builtin.debug": {"msg": "RESULT %d {{ r%d | to_json | b64encode }}" % (number, number)}})
    playbook = [{"name": "Check mode against the lab", "hosts": "ex01", "gather_facts": False,
                 "module_defaults": {"group/xphone.connect.exchange": {"connection_uri": "{{ lab_exchange_uri }}"}},
                 "tasks": steps}]
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(playbook, f, sort_keys=False)


@pytest.mark.parametrize("kind", list(KINDS))
def test_check_mode_reports_changes_and_writes_nothing(kind, shared_labs, module_runner, tmp_path):
    handle = shared_labs(kind)
    handle.reset()
    run = module_runner(handle, KINDS[kind].module)
    cases = dict((c.option, c) for c in KINDS[kind].cases)
    tasks = []
    for index, option in enumerate(CHECK_MODE_OPTIONS[kind]):
        case = cases[option]
        existing = numbered(kind, arguments(kind, case, case.first, case.extra), index)
        created = run(**existing)
        assert created.get("changed") and not created.get("failed"), created
        new = numbered(kind, arguments(kind, case, case.first, case.extra), index + 50)
        tasks.append(("create %s" % option, new))
        tasks.append(("change %s" % option, numbered(kind, arguments(kind, case, case.second, case.extra), index)))

    state = handle.state()
    before = len(writes(handle))
    check_playbook(kind, tasks, str(tmp_path / "check.yml"))
    played = ansible_run.run_playbook(str(tmp_path / "check.yml"), handle.inventory, str(tmp_path), args=["--check"])
    assert played.rc == 0, played.output

    results = dict((int(n), json.loads(base64.b64decode(blob)))
                   for n, blob in re.findall(r"RESULT (\d+) ([A-Za-z0-9+/=]+)", played.output))
    assert sorted(results) == list(range(len(tasks))), played.output
    wrong = [(label, results[n]) for n, (label, _args) in enumerate(tasks)
             if results[n].get("changed") is not True or results[n].get("failed")]
    assert wrong == []
    for n, (label, _args) in enumerate(tasks):
        if label.startswith("change "):
            assert [d["option"] for d in results[n]["differences"]] == [label.split(" ", 1)[1]], results[n]
    assert writes(handle)[before:] == []
    assert handle.state() == state


# --- how the object is found or replaced ---------------------------------------------------------------------

def test_adopt_by_renames_what_routes_or_covers_the_domain(shared_labs, module_runner):
    handle = shared_labs("adopt")
    handle.reset()
    send = module_runner(handle, "exchange_connector")
    domain = module_runner(handle, "exchange_remote_domain")
    assert not send(type="send", name="Fax by hand", address_spaces=["fax.alleo.intern"], smart_hosts=["127.0.0.21"]).get("failed")
    assert not domain(name="Fax by hand", domain_name="fax.alleo.intern").get("failed")

    renamed = send(type="send", name="XPhone fax", adopt_by="address_spaces", address_spaces=["fax.alleo.intern"],
                   smart_hosts=["127.0.0.21"], port=2533)
    assert renamed["changed"] and renamed["object"] == 'send connector "XPhone fax"', renamed
    assert {"option": "name", "parameter": "Name", "before": "Fax by hand", "after": "XPhone fax"} in renamed["differences"]
    names = [str(o["Name"]) for o in exchange(handle, "Get-SendConnector")]
    assert "XPhone fax" in names and "Fax by hand" not in names
    assert read(handle, "send", {"name": "XPhone fax"})["Port"] == 2533

    refused = domain(name="fax", domain_name="fax.alleo.intern")
    assert refused.get("failed") and "Fax by hand" in refused["msg"] and "adopt_by: domain_name" in refused["msg"]
    adopted = domain(name="fax", domain_name="fax.alleo.intern", adopt_by="domain_name", content_type="MimeText")
    assert adopted["changed"] and str(read(handle, "remote_domain", {"name": "fax"})["ContentType"]) == "MimeText"
    assert read(handle, "remote_domain", {"name": "Fax by hand"}) is None
    assert not domain(name="fax", domain_name="fax.alleo.intern", adopt_by="domain_name", content_type="MimeText")["changed"]


def test_recreate_moves_a_remote_domain_to_another_domain(shared_labs, module_runner):
    handle = shared_labs("adopt")
    handle.reset()
    domain = module_runner(handle, "exchange_remote_domain")
    assert not domain(name="fax", domain_name="fax.alleo.intern", content_type="MimeText", tnef_enabled=False).get("failed")
    refused = domain(name="fax", domain_name="fax.um.alleo.intern", content_type="MimeText")
    assert refused.get("failed") and "recreate: true" in refused["msg"]
    assert read(handle, "remote_domain", {"name": "fax"})["DomainName"] == "fax.alleo.intern"

    moved = domain(name="fax", domain_name="fax.um.alleo.intern", content_type="MimeText", tnef_enabled=False, recreate=True)
    assert moved["changed"], moved
    assert {"option": "domain_name", "parameter": "DomainName", "before": "fax.alleo.intern",
            "after": "fax.um.alleo.intern"} in moved["differences"]
    now = read(handle, "remote_domain", {"name": "fax"})
    assert now["DomainName"] == "fax.um.alleo.intern" and str(now["ContentType"]) == "MimeText" and now["TNEFEnabled"] is False
    assert writes(handle)[-3:] == ["Remove-RemoteDomain", "New-RemoteDomain", "Set-RemoteDomain"]

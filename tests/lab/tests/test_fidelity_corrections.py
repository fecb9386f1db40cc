"""The lab's corrections from the fidelity audit (/work/shared/notes/lab-fidelity-audit.md), each seen through the real
pypsrp client over PSRP, as the collection sees them. Every test here failed against the lab before its correction."""

from __future__ import annotations

import typing as t

import pytest
from pypsrp.powershell import PowerShell, RunspacePool

from helpers import invoke


@pytest.fixture
def pool(lab_env: t.Any) -> t.Iterator[RunspacePool]:
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as opened:
        yield opened


def ok(ps: PowerShell) -> list[t.Any]:
    assert not ps.had_errors, [str(e) for e in ps.streams.error]
    return ps.output


def error(ps: PowerShell) -> tuple[str, list[str], str]:
    """The first error record: (message, the exception's .NET type names, the category reason)."""
    assert ps.streams.error, "expected an error"
    record = ps.streams.error[0]
    exception = record.exception
    types = list(getattr(exception, "types", None) or [])
    message = str(getattr(exception, "adapted_properties", {}).get("Message") or record)
    return message, types, str(record.reason or "")


def prop(obj: t.Any, name: str) -> t.Any:
    value = obj.adapted_properties.get(name, obj.extended_properties.get(name)) if hasattr(obj, "adapted_properties") \
        else obj[name]
    return value


def text(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return [text(v) for v in value]
    return None if value is None else str(value)


# -- send connector (audit Q1; must-change 1-3) ---------------------------------------------------------------------

SMART_HOST_NOT_SET = "You must specify a smart host if you are not using DNS to route mails."
DNS_WITH_SMART_HOSTS = "You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used."


def send(pool: RunspacePool, name: str = "fax") -> t.Any:
    return ok(invoke(pool, "Get-SendConnector", Identity=name))[0]


def test_smart_hosts_given_as_ip_show_in_brackets(pool):
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
              SmartHosts=["10.0.0.7", "[10.0.0.8]", "relay.alleo.intern"], Confirm=False))
    conn = send(pool)
    assert text(prop(conn, "SmartHosts")) == ["[10.0.0.7]", "[10.0.0.8]", "relay.alleo.intern"]
    assert text(prop(conn, "SmartHostsString")) == "[10.0.0.7],[10.0.0.8],relay.alleo.intern"


def test_address_space_type_is_kept_as_typed_and_defaults_to_lower_case(pool):
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern", "SMTP:sms.alleo.intern;5"],
              SmartHosts=["10.0.0.7"], Confirm=False))
    assert text(prop(send(pool), "AddressSpaces")) == ["smtp:fax.alleo.intern;1", "SMTP:sms.alleo.intern;5"]


def test_dns_routing_and_smart_hosts_rules(pool):
    message, types, reason = error(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
                                          DNSRoutingEnabled=False, Confirm=False))
    assert message == SMART_HOST_NOT_SET and "Microsoft.Exchange.Data.DataValidationException" in types
    message, _types, _reason = error(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
                                            DNSRoutingEnabled=True, SmartHosts=["10.0.0.7"], Confirm=False))
    assert message == DNS_WITH_SMART_HOSTS
    # A DNS-routed connector: -SmartHosts alone is refused, with -DNSRoutingEnabled $false it is taken.
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"], Confirm=False))
    assert prop(send(pool), "DNSRoutingEnabled") is True
    assert error(invoke(pool, "Set-SendConnector", Identity="fax", SmartHosts=["10.0.0.7"], Confirm=False))[0] == \
        DNS_WITH_SMART_HOSTS
    ok(invoke(pool, "Set-SendConnector", Identity="fax", SmartHosts=["10.0.0.7"], DNSRoutingEnabled=False, Confirm=False))
    assert prop(send(pool), "DNSRoutingEnabled") is False
    # -DNSRoutingEnabled $true clears the smart hosts.
    ok(invoke(pool, "Set-SendConnector", Identity="fax", DNSRoutingEnabled=True, Confirm=False))
    assert text(prop(send(pool), "SmartHosts")) == [] and prop(send(pool), "DNSRoutingEnabled") is True


# -- receive connector (audit Q2; must-change 4-6, 8) ------------------------------------------------------------------

MAPPING_CONFLICT = ("The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the "
                    "settings on Receive connector \"EX01\\{0}\". A Receive connector must have a unique combination of "
                    "a local IP address & port bindings and remote IP address ranges. Change at least one of these values.")


def receive(pool: RunspacePool, name: str, **params: t.Any) -> PowerShell:
    params.setdefault("Server", "EX01")
    params.setdefault("Confirm", False)
    return invoke(pool, "New-ReceiveConnector", Name=name, **params)


@pytest.mark.parametrize("first, second, conflicts", [
    # identical binding: equal or partially overlapping ranges conflict, a range inside the other does not
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.0/24"), True),
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.128-10.0.1.10"), True),
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.7"), False),
    (("10.0.0.1:2500", "10.0.0.7"), ("10.0.0.1:2500", "10.0.0.0/24"), False),
    # wildcard overlap: only a partial overlap conflicts, an equal range does not
    (("0.0.0.0:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.0/24"), False),
    (("0.0.0.0:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.128-10.0.1.10"), True),
    (("0.0.0.0:2500", "10.0.0.0/16"), ("10.0.0.1:2500", "10.0.3.0/24"), False),
    # no overlap of the bindings at all
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.2:2500", "10.0.0.0/24"), False),
])
def test_receive_connector_conflict_rule(pool, first, second, conflicts):
    ok(receive(pool, "first", Bindings=[first[0]], RemoteIPRanges=[first[1]]))
    ps = receive(pool, "second", Bindings=[second[0]], RemoteIPRanges=[second[1]])
    if not conflicts:
        ok(ps)
        return
    message, types, reason = error(ps)
    assert message == MAPPING_CONFLICT.format("first")
    assert "Microsoft.Exchange.Management.SystemConfigurationTasks.ConnectorMappingConflictException" in types
    assert "ConnectorMappingConflictException" in reason or reason == "", reason


def groups(obj: t.Any) -> str:
    return str(prop(obj, "PermissionGroups"))


def test_new_receive_connector_defaults_by_usage(pool):
    default = ok(receive(pool, "plain", Bindings=["0.0.0.0:2501"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(default) == "ExchangeUsers, ExchangeServers, ExchangeLegacyServers"
    assert str(prop(default, "AuthMechanism")) == "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"
    custom = ok(receive(pool, "custom", Custom=True, Bindings=["0.0.0.0:2502"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(custom) == "None" and str(prop(custom, "AuthMechanism")) == "Tls"
    internal = ok(receive(pool, "internal", Internal=True, Bindings=["0.0.0.0:2503"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(internal) == "ExchangeServers, ExchangeLegacyServers"


@pytest.mark.parametrize("params", [{"Usage": "Custom", "Bindings": ["0.0.0.0:2501"]},
                                    {"Usage": "Custom", "RemoteIPRanges": ["10.0.0.7"]}])
def test_custom_usage_needs_bindings_and_remote_ranges(pool, params):
    # -Usage is the one parameter set where the binder does not already demand both (the Custom set does).
    message, _types, _reason = error(receive(pool, "half", **params))
    assert message == "Provide values for the Bindings and RemoteIPRanges parameters."


def test_outbound_proxy_frontend_permission_groups(pool):
    conn = ok(invoke(pool, "Get-ReceiveConnector", Identity="EX01\\Outbound Proxy Frontend EX01"))[0]
    assert groups(conn) == "ExchangeServers"


def test_remote_ip_ranges_display(pool):
    conn = ok(receive(pool, "ranges", Bindings=["0.0.0.0:2501"],
                      RemoteIPRanges=["10.0.0.7/24", "10.1.0.9/32", "10.2.0.1-10.2.0.9", "FE80::1/128", "10.3.0.5"]))[0]
    assert text(prop(conn, "RemoteIPRanges")) == ["10.0.0.0/24", "10.1.0.9", "10.2.0.1-10.2.0.9", "fe80::1", "10.3.0.5"]

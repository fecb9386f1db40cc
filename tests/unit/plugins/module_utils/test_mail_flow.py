# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mail_flow_plan: every role variable checked before anything is written; what the role set up earlier found again."""

from __future__ import annotations

import pytest

from fake_exchange import merged, run_core

from ansible_collections.xphone.connect.plugins.module_utils import mail_flow
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

VARS = dict(server_address="192.168.10.25", um_domain="alleo.intern", um_services=["fax", "sms"],
            smart_host_ports={"fax": 2533, "sms": 2544}, smart_host_port=25, receive_connector_port=2500,
            send_connector_prefix="XPhone ", remote_domain_prefix="", unlisted="keep")


def run(fx, **options):
    return run_core(mail_flow, fx, **merged(VARS, **options))


def connector(name, domain, smart_host="192.168.10.25"):
    return dict(Name=name, Identity=name, AddressSpaces=["SMTP:%s;1" % domain], SmartHosts=[smart_host])


@pytest.mark.parametrize("value, kind", [
    ("192.168.10.25", "ipv4"), ("2001:db8::25", "ipv6"), ("[2001:db8::25]", "ipv6"), ("xphone01.alleo.intern", "fqdn"),
    ("XPHONE01.Alleo.Intern.", "fqdn"), ("300.1.1.1", "invalid"), ("192.168.10", "invalid"), ("xphone01", "invalid"),
    ("", "invalid"), ("xphone 01.alleo.intern", "invalid"), ("-x.alleo.intern", "invalid"), ("1.2.3.4/32", "invalid"),
])
def test_address_kind(value, kind):
    assert mail_flow.address_kind(value) == kind


def test_the_plan_of_the_vendor_procedure(fx):
    result = run(fx)
    assert result["changed"] is False and fx.writes() == []
    assert result["services"] == [
        dict(name="fax", domain="fax.alleo.intern", port=2533, send_connector="XPhone fax", remote_domain="fax"),
        dict(name="sms", domain="sms.alleo.intern", port=2544, send_connector="XPhone sms", remote_domain="sms")]
    assert result["bindings"] == ["0.0.0.0:2500"] and result["remote_ip_ranges"] == ["192.168.10.25"]
    assert result["relay_needed"] is True and result["unlisted"] == [] and "warnings" not in result


def test_service_names_and_port_keys_in_any_case(fx):
    result = run(fx, um_services=["FAX", "Sms", "fax"], smart_host_ports={"Fax": "2533", "SMS": 2544})
    assert [(s["name"], s["port"], s["send_connector"]) for s in result["services"]] == [
        ("fax", 2533, "XPhone fax"), ("sms", 2544, "XPhone sms")]
    with pytest.raises(InvalidInput) as err:
        run(fx, smart_host_ports={"fax": 2533, "FAX": 2600})
    assert err.value.option == "smart_host_ports" and "fax, FAX" in err.value.message.replace("FAX, fax", "fax, FAX")


def test_a_service_without_a_port_entry_is_warned_about(fx):
    result = run(fx, um_services=["fax", "voice"], smart_host_port=2525)
    assert result["services"][1]["port"] == 2525
    (warning,) = [w for w in result["warnings"] if "voice" in w]
    assert "mail_flow_smart_host_ports" in warning and "2525" in warning and "voice: <port>" in warning
    assert not any("fax" in w and "no entry" in w for w in result["warnings"])


def test_an_ipv6_address_gets_an_ipv6_binding(fx):
    result = run(fx, server_address="2001:db8::25", receive_connector_port=2600)
    assert result["bindings"] == ["[::]:2600"] and result["remote_ip_ranges"] == ["2001:db8::25"]
    assert result["address_kind"] == "ipv6"


def test_a_host_name_has_no_relay_range(fx):
    result = run(fx, server_address="xphone01.alleo.intern")
    assert result["remote_ip_ranges"] == [] and result["bindings"] == ["0.0.0.0:2500"]


@pytest.mark.parametrize("option, value, words", [
    ("server_address", "300.1.1.1", "'300.1.1.1' is neither an IP address nor"),
    ("server_address", "", "neither an IP address"),
    ("um_domain", "intern", "'intern' is not a DNS domain"),
    ("um_services", [], "non-empty list"),
    ("um_services", "fax", "non-empty list"),
    ("um_services", ["fax", "voice mail"], "'voice mail' is not a DNS label"),
    ("smart_host_ports", {"fax": 0}, "0 is not a TCP port"),
    ("smart_host_ports", {"fax": 65536}, "65536 is not a TCP port"),
    ("smart_host_ports", {"fax": "x25"}, "'x25' is not a TCP port"),
    ("smart_host_ports", {"fax": True}, "True is not a TCP port"),
    ("smart_host_port", 65536, "65536 is not a TCP port"),
    ("receive_connector_port", 0, "0 is not a TCP port"),
])
def test_bad_values_are_refused_before_anything_is_read(fx, option, value, words):
    with pytest.raises(InvalidInput) as err:
        run(fx, **{option: value})
    assert err.value.option == option and words in err.value.message
    assert fx.cmdlets() == []


@pytest.mark.parametrize("port", [1, 65535])
def test_ports_at_their_bounds_are_accepted(fx, port):
    result = run(fx, smart_host_ports={"fax": port, "sms": 2544}, receive_connector_port=port)
    assert result["services"][0]["port"] == port and result["bindings"] == ["0.0.0.0:%d" % port]


def test_a_service_dropped_from_the_list_is_found(fx):
    fx.send_connectors += [connector("XPhone fax", "fax.alleo.intern"), connector("XPhone voice", "voice.alleo.intern"),
                           connector("Fax by hand", "fax2.alleo.intern"),
                           connector("Internet", "*", smart_host="10.0.0.1"),
                           connector("Partner", "partner.alleo.intern", smart_host="10.0.0.1")]
    fx.remote_domains.append(dict(Name="voice", Identity="voice", DomainName="voice.alleo.intern"))
    kept = run(fx, um_services=["fax"])
    found = dict(name="voice", domain="voice.alleo.intern", send_connector="XPhone voice", remote_domain="voice")
    # "Fax by hand" routes to the XPhone server too: a service the role did not list, found by what it routes.
    hand = dict(name="fax2", domain="fax2.alleo.intern", send_connector="Fax by hand", remote_domain=None)
    assert kept["unlisted"] == [] and kept["kept_unlisted"] == [hand, found]
    assert any("mail_flow_unlisted_services: remove" in w and "XPhone voice" in w for w in kept["warnings"])
    removed = run(fx, um_services=["fax"], unlisted="remove")
    assert removed["unlisted"] == [hand, found] and removed["kept_unlisted"] == []
    assert fx.writes() == []


def test_the_relay_stays_needed_while_other_services_remain(fx):
    fx.send_connectors += [connector("XPhone fax", "fax.alleo.intern"), connector("XPhone sms", "sms.alleo.intern")]
    one = run(fx, state="absent", um_services=["sms"])
    assert one["relay_needed"] is True and one["remaining_services"] == ["fax"]
    both = run(fx, state="absent", um_services=["SMS", "fax"])
    assert both["relay_needed"] is False and both["remaining_services"] == []
    # Another organisation's connectors (other domain, other smart host, no prefix) never keep the relay.
    fx.send_connectors = [connector("Other", "fax.example.org", smart_host="10.0.0.1")]
    assert run(fx, state="absent")["relay_needed"] is False


def test_a_connector_of_another_host_and_prefix_is_not_the_integrations(fx):
    fx.send_connectors += [connector("Fax gateway", "fax.alleo.intern", smart_host="10.0.0.9"),
                           connector("XPhone two", "a.b.alleo.intern")]
    result = run(fx, um_services=["sms"])
    assert result["kept_unlisted"] == []

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from fake_exchange import merged, run_core

from ansible_collections.xphone.connect.plugins.module_utils import connection, connector
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

FAX = dict(type="send", name="XPhone fax", address_spaces=["fax.alleo.intern"], smart_hosts=["192.168.10.25"], port=2533)
RELAY = dict(type="receive", server="EX01", name="Relay XPhone", remote_ip_ranges=["192.168.10.25"],
             permission_groups=["AnonymousUsers"], anonymous_relay=True)


def run(fx, check_mode=False, diff_mode=False, **options):
    return run_core(connector, fx, check_mode, diff_mode,
                    defaults=dict(allow_wide_remote_ip_ranges=False, allow_external_authoritative=False), **options)


def send(fx, name="XPhone fax"):
    return [c for c in fx.send_connectors if c["Name"] == name]


def relay(fx):
    return [c for c in fx.receive_connectors if c["Name"] == "Relay XPhone"]


class TestSend(object):
    def test_adopt_by_address_spaces_renames_the_connector_that_routes_the_domain(self, fx):
        run(fx, **merged(FAX, name="Fax to XPhone"))
        fx.recorded.clear()
        planned = run(fx, check_mode=True, diff_mode=True, **merged(FAX, adopt_by="address_spaces"))
        assert planned["changed"] is True and fx.writes() == []
        assert planned["differences"] == [dict(option="name", parameter="Name", before="Fax to XPhone", after="XPhone fax")]
        assert planned["object"] == 'send connector "XPhone fax"'

        result = run(fx, **merged(FAX, adopt_by="address_spaces"))
        assert fx.writes() == ["Set-SendConnector"] and result["changed"] is True
        assert fx.call("Set-SendConnector")[0].params[:2] == [("Identity", "Fax to XPhone"), ("Name", "XPhone fax")]
        assert [c["Name"] for c in fx.send_connectors] == ["XPhone fax"]
        fx.recorded.clear()
        assert run(fx, **merged(FAX, adopt_by="address_spaces"))["changed"] is False and fx.writes() == []

    def test_adopt_by_address_spaces_needs_the_same_address_spaces(self, fx):
        run(fx, **merged(FAX, name="Fax to XPhone", address_spaces=["fax.alleo.intern", "fax2.alleo.intern"]))
        fx.recorded.clear()
        run(fx, **merged(FAX, adopt_by="address_spaces"))
        assert fx.writes() == ["New-SendConnector"]
        assert sorted(c["Name"] for c in fx.send_connectors) == ["Fax to XPhone", "XPhone fax"]

    def test_adopt_by_refuses_two_candidates(self, fx):
        run(fx, **merged(FAX, name="Fax A"))
        run(fx, **merged(FAX, name="Fax B"))
        fx.recorded.clear()
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, adopt_by="address_spaces"))
        assert err.value.option == "adopt_by" and "Fax A, Fax B" in err.value.message and fx.writes() == []

    def test_adopt_by_is_for_send_connectors(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, adopt_by="address_spaces"))
        assert err.value.option == "adopt_by" and fx.cmdlets() == []

    def test_check_mode_writes_nothing(self, fx):
        result = run(fx, check_mode=True, diff_mode=True, **FAX)
        assert result["changed"] and fx.writes() == [] and send(fx) == []
        assert result["diff"]["after"]["address_spaces"] == ["SMTP:fax.alleo.intern;1"]

    def test_create_with_seed_defaults(self, fx):
        result = run(fx, **FAX)
        assert result["changed"] and fx.writes() == ["New-SendConnector"]
        params = dict(fx.call("New-SendConnector")[0].params)
        assert params["AddressSpaces"] == ["SMTP:fax.alleo.intern;1"]
        assert params["SmartHostAuthMechanism"] == "None" and params["DNSRoutingEnabled"] is False
        assert params["Usage"] == "Custom" and params["Port"] == 2533
        # Every Mailbox server, not the Edge server.
        assert params["SourceTransportServers"] == ["EX01", "EX02"]
        assert result["connector"]["Name"] == "XPhone fax"

    def test_reapply_in_exchange_spelling_is_not_a_change(self, fx):
        run(fx, **FAX)
        fx.recorded.clear()
        result = run(fx, **merged(FAX, address_spaces=["SMTP:FAX.ALLEO.INTERN;1"], smart_hosts=["[192.168.10.25]"],
                                  source_transport_servers=["ex01", "EX02"]))
        assert result["changed"] is False and fx.writes() == []

    def test_smart_hosts_for_a_dns_routed_connector_also_turn_dns_routing_off(self, fx):
        # A connector created elsewhere that routes by DNS; Exchange refuses -SmartHosts alone on it.
        fx.send_connectors.append(dict(Name="XPhone fax", Identity="XPhone fax", DNSRoutingEnabled=True, SmartHosts=[],
                                       AddressSpaces=["smtp:fax.alleo.intern;1"], Port=2533, SmartHostAuthMechanism="None"))
        result = run(fx, **merged(FAX, source_transport_servers=None))
        assert result["changed"] and fx.writes() == ["Set-SendConnector"]
        params = dict(fx.call("Set-SendConnector")[0].params)
        assert params["SmartHosts"] == ["192.168.10.25"] and params["DNSRoutingEnabled"] is False
        assert "AddressSpaces" not in params     # lower-case smtp: as Exchange keeps it is the same address space

    def test_smart_hosts_for_a_smart_host_connector_leave_dns_routing_alone(self, fx):
        fx.send_connectors.append(dict(Name="XPhone fax", Identity="XPhone fax", DNSRoutingEnabled=False,
                                       SmartHosts=["[10.0.0.1]"], AddressSpaces=["SMTP:fax.alleo.intern;1"], Port=2533,
                                       SmartHostAuthMechanism="None"))
        run(fx, **merged(FAX, source_transport_servers=None))
        params = dict(fx.call("Set-SendConnector")[0].params)
        assert params["SmartHosts"] == ["192.168.10.25"] and "DNSRoutingEnabled" not in params

    @pytest.mark.parametrize("smart_hosts", [["10.0.0.1"], {"add": ["10.0.0.1"]}, {"set": ["10.0.0.1"]}])
    def test_dns_routing_with_smart_hosts_is_refused_before_anything_is_written(self, fx, smart_hosts):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, dns_routing_enabled=True, smart_hosts=smart_hosts))
        assert err.value.option == "dns_routing_enabled" and "smart_hosts" in err.value.reason
        assert fx.recorded == []

    def test_dns_routing_without_smart_hosts_is_accepted(self, fx):
        run(fx, **merged(FAX, dns_routing_enabled=True, smart_hosts=[]))
        assert dict(fx.call("New-SendConnector")[0].params)["DNSRoutingEnabled"] is True

    def test_exchanges_own_forms_read_back_are_no_change(self, fx):
        """Exchange shows an IP smart host in brackets and keeps a lower-case smtp: prefix (audit Q1)."""
        fx.send_connectors.append(dict(Name="XPhone fax", Identity="XPhone fax", DNSRoutingEnabled=False,
                                       SmartHosts=["[192.168.10.25]"], SmartHostsString="[192.168.10.25]",
                                       AddressSpaces=["smtp:fax.alleo.intern;1"], Port=2533,
                                       SmartHostAuthMechanism="None", SourceTransportServers=["EX01", "EX02"]))
        result = run(fx, **FAX)
        assert result["changed"] is False and fx.writes() == []

    def test_only_differences_are_set(self, fx):
        run(fx, **FAX)
        fx.recorded.clear()
        result = run(fx, **merged(FAX, port=25, address_spaces={"add": ["sms.alleo.intern"]}))
        assert sorted(d["option"] for d in result["differences"]) == ["address_spaces", "port"]
        (set_call,) = fx.call("Set-SendConnector")
        params = dict(set_call.params)
        assert set(params) == {"Identity", "Port", "AddressSpaces", "Confirm"}
        assert params["AddressSpaces"] == ["SMTP:fax.alleo.intern;1", "SMTP:sms.alleo.intern;1"]

    def test_remove_from_list(self, fx):
        run(fx, **merged(FAX, address_spaces=["fax.alleo.intern", "sms.alleo.intern"]))
        run(fx, type="send", name="XPhone fax", address_spaces={"remove": ["SMTP:sms.alleo.intern;1"]})
        assert send(fx)[0]["AddressSpaces"] == ["SMTP:fax.alleo.intern;1"]

    def test_source_servers_by_fqdn_are_sent_and_compared_by_name(self, fx):
        run(fx, **merged(FAX, source_transport_servers=["ex01.alleo.intern", "EX02.ALLEO.INTERN"]))
        (new_call,) = fx.call("New-SendConnector")
        assert dict(new_call.params)["SourceTransportServers"] == ["EX01", "EX02"]
        fx.recorded.clear()
        result = run(fx, **merged(FAX, source_transport_servers=["ex02.alleo.intern", "ex01.alleo.intern"]))
        assert result["changed"] is False and fx.writes() == []
        result = run(fx, **merged(FAX, source_transport_servers={"remove": ["ex02.alleo.intern", "EX07"]}))
        assert result["changed"] is True and send(fx)[0]["SourceTransportServers"] == ["EX01"]

    def test_unknown_source_server_refused(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, source_transport_servers=["EX09"]))
        assert err.value.option == "source_transport_servers" and "EX09" in err.value.message
        assert fx.writes() == []

    def test_smart_hosts_required_without_dns_routing(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, type="send", name="x", address_spaces=["fax.alleo.intern"])
        assert err.value.option == "smart_hosts"

    def test_external_authoritative_refused_unless_allowed(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, smart_host_auth_mechanism="ExternalAuthoritative"))
        assert err.value.option == "smart_host_auth_mechanism" and fx.recorded == []
        assert run(fx, **merged(FAX, smart_host_auth_mechanism="ExternalAuthoritative", allow_external_authoritative=True))["changed"]

    def test_receive_options_refused_for_send(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, bindings=["0.0.0.0:25"]))
        assert err.value.option == "bindings"

    def test_absent(self, fx):
        run(fx, **FAX)
        assert run(fx, type="send", name="XPhone fax", state="absent")["changed"] and send(fx) == []
        assert run(fx, type="send", name="XPhone fax", state="absent")["changed"] is False

    @pytest.mark.parametrize("option, value", [
        ("address_spaces", ["fax..alleo.intern"]), ("smart_hosts", ["not a host"]), ("port", 70000),
        ("max_message_size", "huge"), ("connection_inactivity_timeout", "2.00:00:00"), ("name", "a/b"),
    ])
    def test_bad_input_before_anything_runs(self, fx, option, value):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(FAX, **{option: value}))
        assert err.value.option == option and fx.recorded == []


class TestReceive(object):
    def test_check_mode_writes_nothing(self, fx):
        result = run(fx, check_mode=True, **RELAY)
        assert result["changed"] and fx.writes() == [] and relay(fx) == []
        assert "anonymous_relay" in [d["option"] for d in result["differences"]]

    def test_create_with_relay_right_then_idempotent(self, fx):
        result = run(fx, **RELAY)
        assert result["changed"] and fx.writes() == ["New-ReceiveConnector", "Add-ADPermission"]
        new = dict(fx.call("New-ReceiveConnector")[0].params)
        assert new["Server"] == "EX01" and new["Bindings"] == ["0.0.0.0:2500"] and new["TransportRole"] == "HubTransport"
        assert new["Usage"] == "Custom" and new["RemoteIPRanges"] == ["192.168.10.25"]
        add = dict(fx.call("Add-ADPermission")[0].params)
        assert add == {"Identity": "EX01\\Relay XPhone", "User": "S-1-5-7",
                       "ExtendedRights": "ms-Exch-SMTP-Accept-Any-Recipient", "Confirm": False}
        fx.recorded.clear()
        again = run(fx, **merged(RELAY, server="ex01.alleo.intern", remote_ip_ranges=["192.168.10.25/32"],
                                 bindings=["0.0.0.0:2500"], permission_groups="anonymoususers"))
        assert again["changed"] is False and fx.writes() == []

    def test_relay_right_removed(self, fx):
        run(fx, **RELAY)
        result = run(fx, **merged(RELAY, anonymous_relay=False))
        assert result["changed"] and fx.writes()[-1] == "Remove-ADPermission"
        assert run(fx, **merged(RELAY, anonymous_relay=False))["changed"] is False

    def test_relay_without_anonymous_users_warns(self, fx):
        result = run(fx, **merged(RELAY, permission_groups=["ExchangeServers"]))
        assert any("AnonymousUsers" in w for w in result["warnings"])

    def test_unknown_server(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, server="EX99"))
        assert err.value.option == "server" and "EX99" in err.value.message and fx.writes() == []

    def test_wide_ranges_refused(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, remote_ip_ranges=["192.168.0.0/16"], anonymous_relay=None))
        assert err.value.option == "remote_ip_ranges" and fx.writes() == []
        assert run(fx, **merged(RELAY, remote_ip_ranges=["192.168.0.0/16"], anonymous_relay=None,
                                allow_wide_remote_ip_ranges=True))["changed"]

    def test_relay_refused_on_existing_wide_connector(self, fx):
        run(fx, **merged(RELAY, remote_ip_ranges=["10.0.0.0/16"], anonymous_relay=None, allow_wide_remote_ip_ranges=True))
        fx.recorded.clear()
        with pytest.raises(InvalidInput):
            run(fx, type="receive", server="EX01", name="Relay XPhone", anonymous_relay=True)
        assert fx.writes() == []

    def test_a_24_is_still_accepted(self, fx):
        assert run(fx, **merged(RELAY, remote_ip_ranges=["192.168.10.0/24"]))["changed"]

    def test_external_authoritative_refused(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, auth_mechanism=["Tls", "ExternalAuthoritative"]))
        assert err.value.option == "auth_mechanism"

    def test_binding_conflict_names_the_other_connector(self, fx):
        run(fx, **RELAY)
        fx.recorded.clear()
        with pytest.raises(InvalidInput) as err:
            run(fx, type="receive", server="EX01", name="Second relay", remote_ip_ranges=["192.168.10.25/32"])
        assert "Relay XPhone" in err.value.message and fx.writes() == []

    def test_same_binding_with_partly_overlapping_ranges_conflicts(self, fx):
        run(fx, **merged(RELAY, remote_ip_ranges=["192.168.10.20-192.168.10.29"]))
        with pytest.raises(InvalidInput) as err:
            run(fx, type="receive", server="EX01", name="Second relay", remote_ip_ranges=["192.168.10.25-192.168.10.35"])
        assert "Relay XPhone" in err.value.message

    def test_wildcard_overlap_with_the_same_range_is_not_a_conflict(self, fx):
        # 0.0.0.0:2500 and 192.168.10.1:2500 overlap only through the wildcard: Exchange tells the connectors apart
        # by the more specific binding, so the same remote range is allowed; a partial overlap still is not.
        run(fx, **RELAY)
        assert run(fx, type="receive", server="EX01", name="Specific relay", bindings=["192.168.10.1:2500"],
                   remote_ip_ranges=["192.168.10.25"])["changed"]
        # A range that contains the relay's one address is a containment, also fine; one that cuts across another
        # connector's range is not.
        assert run(fx, type="receive", server="EX01", name="Around relay", bindings=["192.168.10.2:2500"],
                   remote_ip_ranges=["192.168.10.20-192.168.10.30"])["changed"]
        with pytest.raises(InvalidInput) as err:
            run(fx, type="receive", server="EX01", name="Partial relay", bindings=["0.0.0.0:2500"],
                remote_ip_ranges=["192.168.10.28-192.168.10.40"])
        assert "partly overlapping" in err.value.message and "Around relay" in err.value.message

    def test_same_binding_with_the_same_range_conflicts(self, fx):
        run(fx, **merged(RELAY, bindings=["192.168.10.1:2500"]))
        with pytest.raises(InvalidInput) as err:
            run(fx, type="receive", server="EX01", name="Twin relay", bindings=["192.168.10.1:2500"],
                remote_ip_ranges=["192.168.10.25"])
        assert "the same or partly overlapping" in err.value.message

    def test_frontend_relay_next_to_default_frontend(self, fx):
        """Microsoft's relay pattern: port 25 in the front end, restricted ranges inside the default's 0.0.0.0/0."""
        result = run(fx, **merged(RELAY, transport_role="FrontendTransport", bindings=["0.0.0.0:25"]))
        assert result["changed"] and relay(fx)

    @pytest.mark.parametrize("shown, given", [("192.168.10.0/24", "192.168.10.7/24"), ("192.168.10.25", "192.168.10.25/32"),
                                              ("fe80::1", "FE80::1/128")])
    def test_ranges_as_exchange_shows_them_are_no_change(self, fx, shown, given):
        """IPRange masks a CIDR start and shows a /32 or /128 as the bare address (audit Q2)."""
        run(fx, **merged(RELAY, remote_ip_ranges=[given], allow_wide_remote_ip_ranges=True))
        relay(fx)[0]["RemoteIPRanges"] = [shown]
        fx.recorded.clear()
        result = run(fx, **merged(RELAY, remote_ip_ranges=[given], allow_wide_remote_ip_ranges=True))
        assert result["changed"] is False and fx.writes() == []

    def test_same_binding_with_disjoint_ranges_is_fine(self, fx):
        run(fx, **RELAY)
        assert run(fx, type="receive", server="EX01", name="Other relay", remote_ip_ranges=["192.168.20.5"])["changed"]

    def test_port_of_another_service_conflicts(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, bindings=["192.168.10.1:25"]))
        assert "Default Frontend EX01" in err.value.message

    def test_send_options_refused_for_receive(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, smart_hosts=["10.0.0.1"]))
        assert err.value.option == "smart_hosts"

    def test_remote_ip_ranges_required_to_create(self, fx):
        with pytest.raises(InvalidInput) as err:
            run(fx, type="receive", server="EX01", name="x")
        assert err.value.option == "remote_ip_ranges"

    def test_update_only_differences(self, fx):
        run(fx, **RELAY)
        fx.recorded.clear()
        result = run(fx, **merged(RELAY, max_message_size="36MB", comment="XPhone UM relay", banner=""))
        assert [d["option"] for d in result["differences"]] == ["comment"]
        (set_call,) = fx.call("Set-ReceiveConnector")
        assert set(dict(set_call.params)) == {"Identity", "Comment", "Confirm"}

    def test_absent(self, fx):
        run(fx, **RELAY)
        assert run(fx, type="receive", server="EX01", name="Relay XPhone", state="absent")["changed"]
        assert relay(fx) == []

    @pytest.mark.parametrize("option, value", [
        ("bindings", ["0.0.0.0"]), ("bindings", ["[::]:99999"]), ("remote_ip_ranges", ["10.0.0.300"]),
        ("remote_ip_ranges", ["10.0.0.9-10.0.0.1"]), ("permission_groups", ["Everyone"]), ("transport_role", "Edge"),
        ("max_message_size", "1KB"),
    ])
    def test_bad_input_before_anything_runs(self, fx, option, value):
        with pytest.raises(InvalidInput) as err:
            run(fx, **merged(RELAY, **{option: value}))
        assert err.value.option == option and fx.recorded == []


def test_module_options_never_shadow_connection_options():
    from ansible_collections.xphone.connect.plugins.module_utils import remote_domain
    for table in (connector.SEND_TABLE, connector.RECEIVE_TABLE, remote_domain.TABLE):
        clash = set(p.option for p in table) & set(connection.CONNECTION_ARGUMENT_SPEC)
        assert clash == set()
    assert connector.ARGUMENT_SPEC["connection_timeout"]["type"] == "str"
    assert connector.ARGUMENT_SPEC["server"]["type"] == "str" and connector.ARGUMENT_SPEC["port"]["type"] == "int"

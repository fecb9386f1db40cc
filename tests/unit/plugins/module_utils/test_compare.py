# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput


@pytest.mark.parametrize("given, expected", [
    ("fax.alleo.intern", "SMTP:fax.alleo.intern;1"),
    ("SMTP:fax.alleo.intern;1", "SMTP:fax.alleo.intern;1"),
    ("smtp:fax.alleo.intern;5", "SMTP:fax.alleo.intern;5"),
    ("*.alleo.intern", "SMTP:*.alleo.intern;1"),
    ("SMTP:*;10", "SMTP:*;10"),
])
def test_address_space_normalised(given, expected):
    assert c.normalize_address_space("address_spaces", given) == expected


@pytest.mark.parametrize("bad", ["fax..alleo.intern", "fax alleo", "SMTP:fax.alleo.intern;0", "fax.alleo.intern;101",
                                 "-fax.alleo.intern", "SMTP:;1", ""])
def test_address_space_rejected_names_option(bad):
    with pytest.raises(InvalidInput) as err:
        c.normalize_address_space("address_spaces", bad)
    assert err.value.option == "address_spaces"


def test_address_spaces_equal_as_exchange_shows_them():
    kind = c.address_spaces()
    assert kind.key(["fax.alleo.intern"]) == kind.key(["SMTP:FAX.alleo.intern;1"])
    assert kind.key(["fax.alleo.intern"]) != kind.key(["SMTP:fax.alleo.intern;2"])


@pytest.mark.parametrize("given, expected", [
    ("0.0.0.0:2500", "0.0.0.0:2500"),
    ("[::]:25", "[::]:25"),
    ("[0:0:0:0:0:0:0:0]:25", "[::]:25"),
    ("192.168.010.5:25", None),
])
def test_bindings(given, expected):
    if expected is None:
        with pytest.raises(InvalidInput):
            c.normalize_binding("bindings", given)
    else:
        assert c.normalize_binding("bindings", given) == expected


@pytest.mark.parametrize("bad", ["0.0.0.0", "0.0.0.0:0", "0.0.0.0:65536", "ex01:25", "::25", "1.2.3.4:x"])
def test_bindings_rejected(bad):
    with pytest.raises(InvalidInput) as err:
        c.normalize_binding("bindings", bad)
    assert "bindings" in str(err.value)


def test_ip_ranges_equivalent_forms_compare_equal():
    kind = c.ip_ranges()
    assert kind.key(["192.168.10.0/30"]) == kind.key(["192.168.10.0-192.168.10.3"])
    assert kind.key(["192.168.10.25"]) == kind.key(["192.168.10.25/32"])
    assert kind.key(["192.168.10.25"]) != kind.key(["192.168.10.26"])


@pytest.mark.parametrize("given, expected", [
    ("192.168.10.25", "192.168.10.25"),
    ("192.168.10.7/24", "192.168.10.0/24"),
    ("192.168.10.1-192.168.10.9", "192.168.10.1-192.168.10.9"),
    ("192.168.10.0-192.168.10.255", "192.168.10.0/24"),
    ("fe80::1", "fe80::1"),
])
def test_ip_range_normalised(given, expected):
    assert c.normalize_ip_range("remote_ip_ranges", given) == expected


@pytest.mark.parametrize("bad", ["192.168.10.300", "192.168.10.9-192.168.10.1", "10.0.0.1-fe80::1", "10.0.0.0/33", "any"])
def test_ip_range_rejected(bad):
    with pytest.raises(InvalidInput):
        c.parse_ip_range("remote_ip_ranges", bad)


def test_ip_range_size():
    assert c.ip_range_size("10.0.0.0/24") == 256
    assert c.ip_range_size("10.0.0.0/23") == 512
    assert c.ip_range_size("10.0.0.5") == 1


def test_unlimited():
    kind = c.Unlimited(minimum=0, maximum=132)
    assert kind.to_param("line_wrap_size", "UNLIMITED") == "Unlimited"
    assert kind.key("Unlimited") == kind.key("unlimited") == kind.key(None)
    assert kind.key("78") == kind.key(78)
    assert kind.key(78) != kind.key("Unlimited")
    with pytest.raises(InvalidInput):
        kind.to_param("line_wrap_size", 133)
    with pytest.raises(InvalidInput):
        kind.to_param("line_wrap_size", "lots")


def test_size_parses_exchange_display_form():
    kind = c.Size(unlimited=True)
    assert kind.key("25 MB (26,214,400 bytes)") == kind.key("25MB") == kind.key(26214400) == 26214400
    assert kind.to_param("max_message_size", "25 MB") == 26214400
    assert kind.to_param("max_message_size", "unlimited") == "Unlimited"
    assert c.Size(unlimited=False, minimum=65536).key("36 MB (37,748,736 bytes)") == 37748736
    with pytest.raises(InvalidInput):
        c.Size(unlimited=False).to_param("max_message_size", "unlimited")


def test_timespan():
    kind = c.TimeSpan(minimum=1, maximum=86400)
    assert kind.to_param("connection_inactivity_timeout", 600) == "00:10:00"
    assert kind.key("00:10:00") == kind.key(600) == kind.key("600")
    assert kind.to_param("connection_inactivity_timeout", "1.00:00:00") == "1.00:00:00"
    with pytest.raises(InvalidInput):
        kind.to_param("connection_inactivity_timeout", "1.00:00:01")
    with pytest.raises(InvalidInput):
        kind.to_param("connection_inactivity_timeout", "ten minutes")


def test_choice_is_case_insensitive_and_canonical():
    kind = c.Choice(["MimeHtmlText", "MimeText", "MimeHtml"])
    assert kind.to_param("content_type", "mimetext") == "MimeText"
    assert kind.key("MIMETEXT") == kind.key("MimeText")
    with pytest.raises(InvalidInput) as err:
        kind.to_param("content_type", "Text")
    assert "MimeText" in str(err.value)


def test_flags_compare_as_sets():
    kind = c.Flags(["None", "AnonymousUsers", "ExchangeUsers", "ExchangeServers"])
    assert kind.key("ExchangeServers, AnonymousUsers") == kind.key(["anonymoususers", "exchangeservers"])
    assert kind.key(None) == kind.key("None")
    assert kind.to_param("permission_groups", ["AnonymousUsers", "None"]) == "AnonymousUsers"


def test_tristate():
    kind = c.TriState()
    assert kind.to_param("tnef_enabled", False) is False
    assert kind.to_param("tnef_enabled", "unset") is None
    assert kind.key(None) != kind.key(False)
    assert kind.show(None) == "unset"
    with pytest.raises(InvalidInput):
        kind.to_param("tnef_enabled", "maybe")


class TestListSemantics(object):
    kind = c.smart_hosts()

    def test_plain_list_sets(self):
        assert self.kind.resolve("smart_hosts", ["10.0.0.1"], ["10.0.0.2"]) == ["10.0.0.1"]

    def test_add_keeps_existing_and_skips_duplicates(self):
        assert self.kind.resolve("smart_hosts", {"add": ["10.0.0.1", "[10.0.0.2]"]}, ["10.0.0.2"]) == ["10.0.0.2", "10.0.0.1"]

    def test_remove(self):
        assert self.kind.resolve("smart_hosts", {"remove": ["XPHONE01.alleo.intern"]},
                                 ["xphone01.alleo.intern", "10.0.0.2"]) == ["10.0.0.2"]

    def test_set_excludes_add(self):
        with pytest.raises(InvalidInput):
            self.kind.resolve("smart_hosts", {"set": ["10.0.0.1"], "add": ["10.0.0.2"]}, [])

    def test_unknown_key(self):
        with pytest.raises(InvalidInput) as err:
            self.kind.resolve("smart_hosts", {"append": ["10.0.0.1"]}, [])
        assert "append" in str(err.value)

    def test_items_validated(self):
        with pytest.raises(InvalidInput):
            self.kind.resolve("smart_hosts", {"add": ["bad host"]}, [])


@pytest.mark.parametrize("bad", ["", " fax", "a" * 65, "fax\\sms", "fa*x", "x\ny"])
def test_names_exchange_would_refuse(bad):
    with pytest.raises(InvalidInput):
        c.validate_name("name", bad)


@pytest.mark.parametrize("good", ["fax", "Relay XPhone", "O'Brien's relay", "relay; $(calc) `n"])
def test_names_with_shell_characters_are_plain_names(good):
    assert c.validate_name("name", good) == good


@pytest.mark.parametrize("kind, shown, given", [
    (c.TimeSpan(), "5 seconds", "00:00:05"),
    (c.TimeSpan(), "30 seconds", 30),
    (c.TimeSpan(), "1 day", "1.00:00:00"),
    (c.Size(unlimited=False), "256 kilobytes", "256KB"),
    (c.Size(unlimited=False), "256 KB (262,144 bytes)", 262144),
    (c.Int(minimum=1, maximum=100), "2 percent", 2),
    (c.Int(), "2,147,483,647", 2147483647),
])
def test_exchange_display_forms_match_user_values(kind, shown, given):
    assert kind.key(shown) == kind.key(kind.to_param("option", given))


def test_int_key_does_not_confuse_bools():
    assert c.Int().key(True) != c.Int().key(1)

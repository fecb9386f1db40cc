# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins' handling of the task's arguments before the module's core sees them."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import remote_domain
from ansible_collections.xphone.connect.plugins.plugin_utils.action import canonical_choices, in_role_words


def test_choices_are_taken_in_any_case_and_sent_as_written_in_the_spec():
    args = dict(name="fax", allowed_oof_type="none", character_set="ISO-8859-1", content_type="MIMETEXT", state="Present")
    out = canonical_choices(remote_domain.ARGUMENT_SPEC, args)
    assert out == dict(name="fax", allowed_oof_type="None", character_set="iso-8859-1", content_type="MimeText",
                       state="present")
    # The task's own arguments are not changed in place, and names that are no choice stay as written (refused later).
    assert args["allowed_oof_type"] == "none"
    assert canonical_choices(remote_domain.ARGUMENT_SPEC, dict(allowed_oof_type="nobody")) == dict(allowed_oof_type="nobody")
    assert canonical_choices(remote_domain.ARGUMENT_SPEC, dict(name="NONE")) == dict(name="NONE")


VARIABLES = dict(smart_hosts="xphone_server_address", allow_wide_remote_ip_ranges="mail_flow_allow_wide_remote_ip_ranges",
                 port="mail_flow_smart_host_ports")


def test_a_failed_option_is_told_as_the_role_variable_with_its_value():
    result = in_role_words(dict(failed=True, option="smart_hosts", action="xphone.connect.exchange_connector"),
                           "'300.1.1.1' is not an IP address or host name", VARIABLES, dict(smart_hosts=["300.1.1.1"]))
    assert result["msg"].startswith('xphone_server_address (given to xphone.connect.exchange_connector as '
                                    'smart_hosts = ["300.1.1.1"]): ')
    assert result["variable"] == "xphone_server_address" and result["failed"] is True


def test_advice_names_the_role_variable_and_a_prose_word_is_left_alone():
    message = "covers 65536 addresses; ranges wider than 256 need allow_wide_remote_ip_ranges: true on port 2500"
    result = in_role_words(dict(failed=True, option="remote_ip_ranges"), message, VARIABLES, {})
    assert result["msg"] == message.replace("allow_wide_remote_ip_ranges: true", "mail_flow_allow_wide_remote_ip_ranges: true")
    assert "variable" not in result


def test_an_argument_spec_error_is_matched_by_the_option_it_names():
    message = "argument 'port' is of type <class 'str'> and we were unable to convert to int: 'x2533' cannot be converted"
    result = in_role_words(dict(failed=True), message, VARIABLES, dict(port="x2533"))
    assert result["variable"] == "mail_flow_smart_host_ports"
    assert result["msg"].startswith('mail_flow_smart_host_ports (given to the module as port = "x2533"): argument')


def test_without_a_mapping_the_message_is_unchanged():
    result = in_role_words(dict(failed=True, option="name"), "bad name", {}, dict(name="x"))
    assert result == dict(failed=True, option="name", msg="bad name")


def test_the_options_own_prefix_gives_way_to_the_variable():
    result = in_role_words(dict(failed=True, option="smart_hosts"), "smart_hosts: '300.1.1.1' is not an IP address",
                           VARIABLES, dict(smart_hosts=["300.1.1.1"]))
    assert result["msg"] == ('xphone_server_address (given to the module as smart_hosts = ["300.1.1.1"]): '
                             "'300.1.1.1' is not an IP address")

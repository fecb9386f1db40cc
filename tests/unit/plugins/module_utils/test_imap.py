# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_imap_settings: the vendor document's IMAP4 settings, restart_required, the plain-text warning."""

from __future__ import annotations

import pytest

from fake_exchange import run_core

from ansible_collections.xphone.connect.plugins.module_utils import imap
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

VENDOR = dict(server="EX01", login_type="PlainTextLogin", message_retrieval_mime_format="TextOnly")


def run(fx, check_mode=False, diff_mode=False, **options):
    return run_core(imap, fx, check_mode, diff_mode, **options)


def test_the_vendor_settings_then_no_change(fx):
    first = run(fx, diff_mode=True, **VENDOR)
    assert first["changed"] is True and first["restart_required"] is True
    assert fx.writes() == ["Set-ImapSettings"]
    (call,) = fx.call("Set-ImapSettings")
    assert call.params[0] == ("Server", "EX01")
    assert ("LoginType", "PlainTextLogin") in call.params and ("MessageRetrievalMimeFormat", "TextOnly") in call.params
    assert first["diff"]["before"]["login_type"] == "SecureLogin" and first["diff"]["after"]["login_type"] == "PlainTextLogin"
    assert first["object"] == "IMAP4 settings on EX01"
    assert any("unencrypted on port 143 of EX01" in w for w in first["warnings"])
    fx.recorded.clear()
    again = run(fx, server="ex01.alleo.intern", login_type="plaintextlogin", message_retrieval_mime_format="textonly")
    assert again["changed"] is False and again["restart_required"] is False and fx.writes() == []
    assert not any("unencrypted" in w for w in again.get("warnings", []))


def test_check_mode_says_a_restart_would_be_needed_and_writes_nothing(fx):
    result = run(fx, check_mode=True, **VENDOR)
    assert result["changed"] is True and result["restart_required"] is True and fx.writes() == []
    assert fx.imap_settings["EX01"]["LoginType"] == "SecureLogin"


def test_protocol_logging_the_supported_way(fx):
    result = run(fx, server="EX01", protocol_log_enabled=True, log_file_location="D:\\Logs\\Imap4",
                 log_file_roll_over_settings="daily", log_per_file_size_quota="10MB")
    assert result["changed"] and result["restart_required"]
    settings = fx.imap_settings["EX01"]
    assert settings["ProtocolLogEnabled"] is True and settings["LogFileLocation"] == "D:\\Logs\\Imap4"
    assert settings["LogFileRollOverSettings"] == "Daily" and settings["LogPerFileSizeQuota"] == 10 * 1024 * 1024


def test_unknown_server_is_refused_naming_the_known_ones(fx):
    with pytest.raises(InvalidInput) as err:
        run(fx, server="EX09", login_type="SecureLogin")
    assert err.value.option == "server" and "EX01" in err.value.message and fx.writes() == []


@pytest.mark.parametrize("option, bad, edge", [
    ("max_command_size", 1023, 1024), ("max_command_size", 16385, 16384),
    ("max_connections_per_user", 0, 1), ("proxy_target_port", 65536, 65535),
    ("authenticated_connection_timeout", "00:00:29", "00:00:30"), ("authenticated_connection_timeout", "01:00:01", "01:00:00"),
])
def test_bounds(fx, option, bad, edge):
    with pytest.raises(InvalidInput) as err:
        run(fx, server="EX01", **{option: bad})
    assert err.value.option == option and fx.cmdlets() == []
    assert run(fx, server="EX01", **{option: edge})["changed"] is True


def test_owa_server_url_must_be_a_url(fx):
    with pytest.raises(InvalidInput) as err:
        run(fx, server="EX01", owa_server_url="mail.alleo.intern/owa")
    assert err.value.option == "owa_server_url"
    assert run(fx, server="EX01", owa_server_url="https://mail.alleo.intern/owa")["changed"] is True
    assert run(fx, server="EX01", owa_server_url="HTTPS://mail.alleo.intern/owa/")["changed"] is False

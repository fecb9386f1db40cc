"""exchange_imap_settings against the lab with the real client: every option set, read back as Exchange shows it,
idempotent, changed again; Exchange's restart warning turned into restart_required; check mode writes nothing."""

from __future__ import annotations

import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")

# option, Exchange property, first value, second value, how Get-ImapSettings shows them (None: as given).
CASES = [
    ("login_type", "LoginType", "PlainTextLogin", "PlainTextAuthentication", None, None),
    ("message_retrieval_mime_format", "MessageRetrievalMimeFormat", "TextOnly", "HtmlOnly", None, None),
    ("protocol_log_enabled", "ProtocolLogEnabled", True, False, None, None),
    ("log_file_location", "LogFileLocation", "D:\\Logs\\Imap4", "E:\\Imap4", None, None),
    ("log_file_roll_over_settings", "LogFileRollOverSettings", "Weekly", "Monthly", None, None),
    ("authenticated_connection_timeout", "AuthenticatedConnectionTimeout", "00:10:00", "01:00:00", None, None),
    ("pre_authenticated_connection_timeout", "PreAuthenticatedConnectionTimeout", "00:00:30", "00:02:00", None, None),
    ("banner", "Banner", "XPhone IMAP", "IMAP ready", None, None),
    ("calendar_item_retrieval_option", "CalendarItemRetrievalOption", "InternetUrl", "Custom", None, None),
    ("enable_exact_rfc822_size", "EnableExactRFC822Size", True, False, None, None),
    ("enable_gssapi_and_ntlm_auth", "EnableGSSAPIAndNTLMAuth", False, True, None, None),
    ("enforce_certificate_errors", "EnforceCertificateErrors", True, False, None, None),
    ("extended_protection_policy", "ExtendedProtectionPolicy", "Allow", "Require", None, None),
    ("max_command_size", "MaxCommandSize", 1024, 16384, None, None),
    ("max_connection_from_single_ip", "MaxConnectionFromSingleIP", 1, 500, None, None),
    ("max_connections", "MaxConnections", 1, 2000, None, None),
    ("max_connections_per_user", "MaxConnectionsPerUser", 2147483647, 20, None, None),
    ("owa_server_url", "OwaServerUrl", "https://mail.alleo.intern/owa", "https://owa.alleo.intern/owa", None, None),
    ("proxy_target_port", "ProxyTargetPort", 0, 65535, None, None),
    ("show_hidden_folders_enabled", "ShowHiddenFoldersEnabled", True, False, None, None),
    ("suppress_read_receipt", "SuppressReadReceipt", True, False, None, None),
    ("x509_certificate_name", "X509CertificateName", "mail.alleo.intern", "imap.alleo.intern", None, None),
    ("ssl_bindings", "SSLBindings", ["0.0.0.0:993"], ["[::]:993", "0.0.0.0:994"], None, None),
    ("unencrypted_or_tls_bindings", "UnencryptedOrTLSBindings", ["0.0.0.0:143"], ["[::]:143", "0.0.0.0:1143"], None, None),
    ("internal_connection_settings", "InternalConnectionSettings", ["ex01.alleo.intern:993:SSL"],
     ["ex01.alleo.intern:143:TLS"], None, None),
    ("external_connection_settings", "ExternalConnectionSettings", ["mail.alleo.intern:993:SSL"],
     ["mail.alleo.intern:143:TLS"], None, None),
]


def writes(handle):
    return [a["cmdlet"] for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def shown(handle, prop):
    (settings,) = handle.exchange("Get-ImapSettings", Server="EX01")
    value = settings.properties[prop]
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value if isinstance(value, (bool, int)) or value is None else str(value)


def expect(value):
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value


def test_every_table_option_has_a_case():
    from ansible_collections.xphone.connect.plugins.module_utils import imap  # pylint: disable=import-outside-toplevel
    # log_per_file_size_quota: a size, tested on its own below.
    assert set(p.option for p in imap.TABLE) == set(c[0] for c in CASES) | {"log_per_file_size_quota"}


@pytest.mark.parametrize("option, prop, first, second, _shown_first, _shown_second", CASES, ids=[c[0] for c in CASES])
def test_option(shared_labs, module_runner, option, prop, first, second, _shown_first, _shown_second):
    handle = shared_labs("imap")
    handle.reset()
    run = module_runner(handle, "exchange_imap_settings")
    assert shown(handle, prop) != expect(first), "the first value is the default: it would prove nothing"

    set_first = run(server="EX01", **{option: first})
    assert set_first["changed"] is True and set_first["restart_required"] is True, set_first
    assert shown(handle, prop) == expect(first)
    assert any("restarted on server EX01" in w for w in set_first.get("warnings", []))

    count = len(writes(handle))
    again = run(server="ex01.alleo.intern", **{option: first})
    assert again["changed"] is False and again["restart_required"] is False and writes(handle)[count:] == [], again

    set_second = run(server="EX01", **{option: second})
    assert set_second["changed"] is True and shown(handle, prop) == expect(second), set_second


def test_log_size_quota_in_bytes_and_units(shared_labs, module_runner):
    handle = shared_labs("imap")
    handle.reset()
    run = module_runner(handle, "exchange_imap_settings")
    assert run(server="EX01", log_per_file_size_quota="10MB")["changed"] is True
    assert run(server="EX01", log_per_file_size_quota=10485760)["changed"] is False
    assert run(server="EX01", log_per_file_size_quota="unlimited")["changed"] is True


def test_plain_text_login_warns_and_a_bad_value_changes_nothing(shared_labs, module_runner):
    handle = shared_labs("imap")
    handle.reset()
    run = module_runner(handle, "exchange_imap_settings")
    refused = run(server="EX01", login_type="PlainTextLogin", max_command_size=16385)
    assert refused.get("failed") and "max_command_size" in refused["msg"] and writes(handle) == []
    unknown = run(server="EX09", login_type="PlainTextLogin")
    assert unknown.get("failed") and "EX09" in unknown["msg"] and "EX01" in unknown["msg"] and writes(handle) == []
    done = run(server="EX01", login_type="plaintextlogin", message_retrieval_mime_format="textonly")
    assert done["changed"] and any("unencrypted on port 143" in w for w in done["warnings"]), done


PLAY = """
- hosts: ex01
  gather_facts: false
  tasks:
    - xphone.connect.exchange_imap_settings:
        server: EX01
        login_type: PlainTextLogin
        message_retrieval_mime_format: TextOnly
        connection_uri: "{{ lab_exchange_uri }}"
      register: imap
    - ansible.builtin.debug:
        msg: "RESULT {{ imap | to_json }}"
"""


def test_check_mode_reports_the_change_and_the_restart_and_writes_nothing(shared_labs, tmp_path):
    handle = shared_labs("imap")
    handle.reset()
    state = handle.state()
    (tmp_path / "imap.yml").write_text(PLAY)
    played = ansible_run.run_playbook(str(tmp_path / "imap.yml"), handle.inventory, str(tmp_path), args=["--check", "--diff"])
    assert played.rc == 0, played.output
    result = json.loads(played.output.split('"msg": "RESULT ', 1)[1].split('"\n', 1)[0].encode().decode("unicode_escape"))
    assert result["changed"] is True and result["restart_required"] is True
    assert sorted(d["option"] for d in result["differences"]) == ["login_type", "message_retrieval_mime_format"]
    assert "IMAP4 settings on EX01" in played.output
    assert writes(handle) == [] and handle.state() == state

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_imap_settings: one server's IMAP4 settings (Get-ImapSettings / Set-ImapSettings -Server).

The settings object always exists (one per Client Access server, named ``1``); it is changed, never created or
removed. Exchange applies a change only after both IMAP4 services restart, and says so with a warning
(``SetPopImapConfiguration``: "Changes to IMAP4 settings will only take effect after all Microsoft Exchange IMAP4
services are restarted on server {name}.", only when something changed); the module returns that as
``restart_required`` and leaves the restart to the caller (the role ``imap`` restarts one server at a time).
"""

from __future__ import annotations

import re

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.connector import resolve_server

P = engine.Prop

# Every Set-ImapSettings parameter the reference marks for Exchange 2016 and 2019 (MicrosoftDocs), with its range.
TABLE = [
    P("login_type", "LoginType", c.Choice(["PlainTextLogin", "PlainTextAuthentication", "SecureLogin"])),
    P("message_retrieval_mime_format", "MessageRetrievalMimeFormat", c.Choice(
        ["TextOnly", "HtmlOnly", "HtmlAndTextAlternative", "TextEnrichedOnly", "TextEnrichedAndTextAlternative",
         "BestBodyFormat", "Tnef"])),
    P("protocol_log_enabled", "ProtocolLogEnabled", c.Bool()),
    P("log_file_location", "LogFileLocation", c.NullableText()),
    P("log_file_roll_over_settings", "LogFileRollOverSettings", c.Choice(["Hourly", "Daily", "Weekly", "Monthly"])),
    P("log_per_file_size_quota", "LogPerFileSizeQuota", c.Size(unlimited=True, minimum=0, maximum=4294967296)),
    P("authenticated_connection_timeout", "AuthenticatedConnectionTimeout", c.TimeSpan(minimum=30, maximum=3600)),
    P("pre_authenticated_connection_timeout", "PreAuthenticatedConnectionTimeout", c.TimeSpan(minimum=30, maximum=3600)),
    P("banner", "Banner", c.NullableText()),
    P("calendar_item_retrieval_option", "CalendarItemRetrievalOption",
      c.Choice(["iCalendar", "IntranetUrl", "InternetUrl", "Custom"])),
    P("enable_exact_rfc822_size", "EnableExactRFC822Size", c.Bool()),
    P("enable_gssapi_and_ntlm_auth", "EnableGSSAPIAndNTLMAuth", c.Bool()),
    P("enforce_certificate_errors", "EnforceCertificateErrors", c.Bool()),
    P("extended_protection_policy", "ExtendedProtectionPolicy", c.Choice(["None", "Allow", "Require"])),
    P("external_connection_settings", "ExternalConnectionSettings", c.MultiValued()),
    P("internal_connection_settings", "InternalConnectionSettings", c.MultiValued()),
    P("max_command_size", "MaxCommandSize", c.Int(minimum=1024, maximum=16384)),
    P("max_connection_from_single_ip", "MaxConnectionFromSingleIP", c.Int(minimum=1, maximum=2147483647)),
    P("max_connections", "MaxConnections", c.Int(minimum=1, maximum=2147483647)),
    P("max_connections_per_user", "MaxConnectionsPerUser", c.Int(minimum=1, maximum=2147483647)),
    P("owa_server_url", "OwaServerUrl", c.Uri()),
    P("proxy_target_port", "ProxyTargetPort", c.Int(minimum=0, maximum=65535)),
    P("ssl_bindings", "SSLBindings", c.bindings()),
    P("show_hidden_folders_enabled", "ShowHiddenFoldersEnabled", c.Bool()),
    P("suppress_read_receipt", "SuppressReadReceipt", c.Bool()),
    P("unencrypted_or_tls_bindings", "UnencryptedOrTLSBindings", c.bindings()),
    P("x509_certificate_name", "X509CertificateName", c.NullableText()),
]

# Exchange's own text (SetPopImapConfiguration, ChangesTakeEffectAfterRestartingPopImapService).
RESTART_TEXT = re.compile(r"will only take effect after all Microsoft Exchange IMAP4 services are restarted", re.IGNORECASE)
SERVICES = ("MSExchangeIMAP4", "MSExchangeIMAP4BE")


def _server(session, params):
    return resolve_server(session.invoke("Get-ExchangeServer"), params["server"], "server")


def _check(step):
    if step.final("login_type") == "PlainTextLogin" and any(d.prop.option == "login_type" for d in step.differences):
        step.warn("login_type PlainTextLogin lets IMAP clients send their user name and password unencrypted on port 143 "
                  "of %s: protect it with TLS (STARTTLS on 143, or 993) or scope port 143 in the host firewall to the "
                  "XPhone server's address" % step.scope["Server"])


IMAP_SETTINGS = engine.ObjectType(
    "imap_settings", "IMAP4 settings", TABLE, get="Get-ImapSettings", set="Set-ImapSettings",
    scope={"Server": _server}, named=False, check=_check)

ARGUMENT_SPEC = dict(
    server=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present"]),
)
ARGUMENT_SPEC.update(IMAP_SETTINGS.argument_spec())
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def run(session, params, check_mode=False, diff_mode=False):
    """Ensure the server's IMAP4 settings; ``restart_required`` when they changed (or would, in check mode)."""
    params = dict(params)
    c.validate_name("server", params.get("server"), max_length=255)
    before = len(session.warnings)
    result = IMAP_SETTINGS.run(session, params, check_mode=check_mode, diff_mode=diff_mode)
    said = any(RESTART_TEXT.search(w) for w in session.warnings[before:])
    result["restart_required"] = bool(result["changed"]) and (said or check_mode)
    result["services"] = list(SERVICES)
    return result

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_remote_domain: the property table and the few rules particular to remote domains."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

CHARSETS = (
    "big5", "din_66003", "euc-jp", "euc-kr", "gb18030", "gb2312", "hz-gb-2312", "iso-2022-jp", "iso-2022-kr",
    "iso-8859-1", "iso-8859-13", "iso-8859-15", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5",
    "iso-8859-6", "iso-8859-7", "iso-8859-8", "iso-8859-9", "koi8-r", "koi8-u", "ks_c_5601-1987", "ns_4551-1",
    "sen_850200_b", "shift_jis", "utf-7", "utf-8", "windows-1250", "windows-1251", "windows-1252",
    "windows-1253", "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258", "windows-874",
)

# Set-RemoteDomain parameters that the reference marks for Exchange 2016 and 2019 (IsCoexistenceDomain is
# Exchange Online only). New-RemoteDomain takes only Name and DomainName, so all the others are Set-only;
# DomainName is New-only: Exchange cannot move a remote domain to another domain.
DOMAIN_NAME = c.Domain(allow_star=True)
TABLE = [
    engine.Prop("domain_name", "DomainName", DOMAIN_NAME, set=False),
    engine.Prop("allowed_oof_type", "AllowedOOFType", c.Choice(["External", "ExternalLegacy", "InternalLegacy", "None"]), new=False),
    engine.Prop("auto_forward_enabled", "AutoForwardEnabled", c.Bool(), new=False),
    engine.Prop("auto_reply_enabled", "AutoReplyEnabled", c.Bool(), new=False),
    engine.Prop("byte_encoder_type_for_7bit_charsets", "ByteEncoderTypeFor7BitCharsets", c.Choice(
        ["Use7Bit", "UseQP", "UseBase64", "UseQPHtmlDetectTextPlain", "UseBase64HtmlDetectTextPlain",
         "UseQPHtml7BitTextPlain", "UseBase64Html7BitTextPlain", "Undefined"]), new=False),
    engine.Prop("character_set", "CharacterSet", c.Choice(CHARSETS), new=False),
    engine.Prop("content_type", "ContentType", c.Choice(["MimeHtmlText", "MimeText", "MimeHtml"]), new=False),
    engine.Prop("delivery_report_enabled", "DeliveryReportEnabled", c.Bool(), new=False),
    engine.Prop("display_sender_name", "DisplaySenderName", c.Bool(), new=False),
    engine.Prop("is_internal", "IsInternal", c.Bool(), new=False),
    engine.Prop("line_wrap_size", "LineWrapSize", c.Unlimited(minimum=0, maximum=132), new=False),
    engine.Prop("meeting_forward_notification_enabled", "MeetingForwardNotificationEnabled", c.Bool(), new=False),
    engine.Prop("message_count_threshold", "MessageCountThreshold", c.Int(minimum=0, maximum=2147483647), new=False),
    engine.Prop("ndr_diagnostic_info_enabled", "NDRDiagnosticInfoEnabled", c.Bool(), new=False),
    engine.Prop("ndr_enabled", "NDREnabled", c.Bool(), new=False),
    engine.Prop("non_mime_character_set", "NonMimeCharacterSet", c.Choice(CHARSETS), new=False),
    engine.Prop("preferred_internet_code_page_for_shift_jis", "PreferredInternetCodePageForShiftJis",
                c.Choice(["50220", "50221", "50222", "Undefined"]), new=False),
    engine.Prop("required_charset_coverage", "RequiredCharsetCoverage", c.Int(minimum=0, maximum=100), new=False),
    engine.Prop("target_delivery_domain", "TargetDeliveryDomain", c.Bool(), new=False),
    engine.Prop("tnef_enabled", "TNEFEnabled", c.TriState(), new=False),
    engine.Prop("trusted_mail_inbound_enabled", "TrustedMailInboundEnabled", c.Bool(), new=False),
    engine.Prop("trusted_mail_outbound_enabled", "TrustedMailOutboundEnabled", c.Bool(), new=False),
    engine.Prop("use_simple_display_name", "UseSimpleDisplayName", c.Bool(), new=False),
]

DEFAULT_NAME = "Default"


def _validate(params):
    is_default = params["name"].lower() == DEFAULT_NAME.lower()
    if params.get("state") == "absent" and (is_default or str(params.get("domain_name") or "") == "*"):
        raise InvalidInput("name", "the Default remote domain (*) cannot be removed; it holds the settings for every "
                                   "domain without its own remote domain")
    if is_default and params.get("domain_name") not in (None, "*"):
        raise InvalidInput("domain_name", "the Default remote domain always covers '*'; it cannot be renamed or moved")


def _check(step):
    if step.absent:
        if step.current is not None and str(step.current.get("DomainName")) == "*":
            # The Default remote domain may have been renamed; its domain still gives it away.
            raise InvalidInput("name", "%s is the Default remote domain (*), which cannot be removed" % step.params["name"])
        return
    wanted = step.params.get("domain_name")
    if not wanted or not (step.current is None or step.recreate):
        return
    # Exchange refuses a second remote domain for a domain (New-RemoteDomain); say which one has it before writing.
    key = DOMAIN_NAME.key(DOMAIN_NAME.to_param("domain_name", wanted))
    for other in step.found:
        if other is not step.current and DOMAIN_NAME.key(other.get("DomainName")) == key:
            raise InvalidInput("domain_name", "%s is already covered by remote domain %r; remove that one, or set "
                                              "adopt_by: domain_name to rename it to %r" % (
                                                  wanted, other.get("Name"), step.params["name"]))


REMOTE_DOMAIN = engine.ObjectType(
    "remote_domain", "remote domain", TABLE,
    get="Get-RemoteDomain", new="New-RemoteDomain", set="Set-RemoteDomain", remove="Remove-RemoteDomain",
    required_to_create=("domain_name",), validate=_validate, check=_check, adoptable=("domain_name",),
    recreate_on={"domain_name": "Exchange cannot change the domain of an existing remote domain"})

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    adopt_by=dict(type="str", choices=["domain_name"]),
    recreate=dict(type="bool", default=False),
)
ARGUMENT_SPEC.update(REMOTE_DOMAIN.argument_spec())
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def run(session, params, check_mode=False, diff_mode=False):
    """Ensure the remote domain; returns the module result (without connection warnings)."""
    return REMOTE_DOMAIN.run(session, params, check_mode=check_mode, diff_mode=diff_mode)

"""WS-Management SOAP envelopes: parse a client's request, build replies and faults.

Replies are built from string templates (one per action) rather than an XML tree: this is the hot
path of every request and the shapes are fixed. Only the parts pypsrp and pywinrm read are filled in,
but with the names and namespaces Windows uses.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import re
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "ps": "http://schemas.microsoft.com/powershell",
}

TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer/"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/"
ACTIONS = {
    TRANSFER + "Create": "Create",
    TRANSFER + "Delete": "Delete",
    SHELL + "Command": "Command",
    SHELL + "Send": "Send",
    SHELL + "Receive": "Receive",
    SHELL + "Signal": "Signal",
    SHELL + "Disconnect": "Disconnect",
    SHELL + "Reconnect": "Reconnect",
    SHELL + "Connect": "Connect",
}

CMD_RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
PS_RESOURCE_PREFIX = "http://schemas.microsoft.com/powershell/"

_H = "{%s}" % NS["s"]
_A = "{%s}" % NS["a"]
_W = "{%s}" % NS["w"]
_RSP = "{%s}" % NS["rsp"]


class WSManFault(Exception):
    """A SOAP fault the server answers with (HTTP 500)."""

    def __init__(self, code: int, message: str, *, subcode: str = "w:InternalError",
                 reason: str | None = None, machine: str = "localhost", http_status: int = 500,
                 provider_fault: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.reason = reason or message
        self.machine = machine
        self.http_status = http_status
        self.provider_fault = provider_fault


# Fault catalogue: the texts are Windows' own (MS-WSMV, winerror.h and public error reports, see
# /work/shared/notes/exchange-failure-modes.md); codes marked "unverified" have no capture yet.
def fault_timed_out() -> WSManFault:
    return WSManFault(2150858793, "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.",
                      subcode="w:TimedOut")


def fault_resource_not_found(resource_uri: str) -> WSManFault:
    return WSManFault(2150858811, "The WS-Management service cannot process the request. The resource URI "
                      f"({resource_uri}) was not found in the WS-Management catalog. The catalog contains the metadata "
                      "that describes resources, or logical endpoints.", subcode="w:DestinationUnreachable")


def fault_shell_not_found(shell_id: str) -> WSManFault:
    return WSManFault(2150858843, f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell "
                      "was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell "
                      "no longer exists on the server. Provide the correct ShellId or create a new shell and retry the operation.",
                      subcode="w:InvalidSelectors")


# Exchange 2013+: the AuthZ plugin refuses a runspace over PowerShellMaxConcurrency (lab-fidelity-audit Q9;
# EX2013-src AuthZPluginHelper.HandleUserOverBudgetException, ErrorMaxRunspacesLimit). The 2010 wording
# "This user is allowed a maximum of 18 concurrent shells" is not produced any more.
RUNSPACE_LIMIT_TEXT = ("Fail to create a runspace because you have exceeded the maximum number of connections allowed : {0} "
                       "for the policy party : MaxConcurrency. Please close existing runspace and try again.")
# Assumed (no capture): the code PowerShell's plugin reports for a managed exception (WSManPluginErrorCodes.ManagedException).
RUNSPACE_LIMIT_CODE = 0x80540FA0
_UNLIMITED_COUNT = "9223372036854775807/Unlimited"


def exchange_timestamp(when: datetime.datetime | None = None) -> str:
    """Exchange's ``M/d/yyyy h:mm:ss AM`` (en-US) timestamp."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return f"{when.month}/{when.day}/{when.year} {when.strftime('%I:%M:%S %p').lstrip('0')}"


def budget_snapshot(owner_sid: str, active: int, limit: int, when: datetime.datetime | None = None) -> str:
    """``PowerShellBudget.ToString()`` of a WSMan budget under the on-premises global policy (PowerShell* values
    other than MaxConcurrency Unlimited): ``Name:<TAB>value`` lines, each ended by CR LF."""
    stamp = exchange_timestamp(when)
    lines = (("Owner", f"Sid~{owner_sid}~WSMan~false"), ("BudgetType", "WSMan"), ("ActiveRunspaces", f"{active}/{limit}"),
             ("Balance", "2147483647/Unlimited/Unlimited"), ("PowerShellCmdletsLeft", _UNLIMITED_COUNT),
             ("ExchangeCmdletsLeft", _UNLIMITED_COUNT), ("CmdletTimePeriod", "Unlimited"),
             ("DestructiveCmdletsLeft", _UNLIMITED_COUNT), ("DestructiveCmdletTimePeriod", "Unlimited"),
             ("QueueDepth", "Unlimited"), ("MaxRunspacesTimePeriod", "Unlimited"), ("RunSpacesRemaining", _UNLIMITED_COUNT),
             ("LastTimeFrameUpdate", stamp), ("LastTimeFrameUpdateDestructiveCmdlets", stamp),
             ("LastTimeFrameUpdateMaxRunspaces", stamp), ("Locked", "False"), ("LockRemaining", "00:00:00"))
    return "".join(f"{name}:\t{value}\r\n" for name, value in lines)


def fault_runspace_limit(limit: int, *, policy_dn: str, owner_sid: str, server: str, backend: str) -> WSManFault:
    """The AuthZ fault for a user over PowerShellMaxConcurrency, as the client reads it: the proxy prefix
    ``[ClientAccessServer=…,BackEndServer=…,RequestId=…,TimeStamp=…] ``, the AuthZ prefix
    ``[AuthZRequestId=…][FailureCategory=AuthZ-AuthorizationException] ``, ``RUNSPACE_LIMIT_TEXT``, then
    CR LF ``Policy: <policy DN>; `` CR LF ``Snapshot: <budget_snapshot>``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    prefix = (f"[ClientAccessServer={server},BackEndServer={backend},RequestId={uuid.uuid4()},"
              f"TimeStamp={exchange_timestamp(now)}] "
              f"[AuthZRequestId={uuid.uuid4()}][FailureCategory=AuthZ-AuthorizationException] ")
    message = (prefix + RUNSPACE_LIMIT_TEXT.format(limit)
               + f"\r\nPolicy: {policy_dn}; \r\nSnapshot: {budget_snapshot(owner_sid, limit, limit, now)}")
    return WSManFault(RUNSPACE_LIMIT_CODE, message, subcode="w:InternalError")


# wsmerror.h (audit Q9): the service-level quotas ERROR_WSMAN_QUOTA_MAX_SHELLS_USER (0x803381A5) and
# ERROR_WSMAN_QUOTA_MAX_OPERATIONS_USER (0x803381A6); commands per shell 0x803381E9 with subcode w:InternalError.
MAX_SHELLS_USER_CODE = 0x803381A5
MAX_OPERATIONS_USER_CODE = 0x803381A6
MAX_COMMANDS_PER_SHELL_CODE = 0x803381E9


def fault_wsman_max_shells(limit: int) -> WSManFault:
    return WSManFault(MAX_SHELLS_USER_CODE, "The WS-Management service cannot process the request. This user is allowed a maximum number "
                      f"of {limit} concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.",
                      subcode="w:QuotaLimit")


def fault_max_commands_per_shell() -> WSManFault:
    return WSManFault(MAX_COMMANDS_PER_SHELL_CODE, "The WS-Management service cannot process the request. The maximum number "
                      "of concurrent commands per shell has been exceeded. Retry the request later or raise the Maximum "
                      "Commands per Shell quota.", subcode="w:InternalError")


def fault_throttled(limit: int = 1500) -> WSManFault:
    """Injected throttling: the per-user operation quota (1500 by default), with WinRM's text (audit Q9)."""
    return WSManFault(MAX_OPERATIONS_USER_CODE, "The WS-Management service cannot process the request. This user is allowed a "
                      f"maximum number of {limit} concurrent operations, which has been exceeded. Close existing operations "
                      "for this user, or raise the quota for this user.", subcode="w:QuotaLimit")


def fault_internal(message: str = "The WS-Management service cannot process the request because of an internal error.") -> WSManFault:
    return WSManFault(2150858752, message, subcode="w:InternalError")


def fault_bad_request(message: str) -> WSManFault:
    return WSManFault(2150858817, message, subcode="w:SchemaValidationError", http_status=400)


@dataclasses.dataclass
class Request:
    action: str                       # short name: Create, Command, ...
    action_uri: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    max_envelope_size: int
    operation_timeout: float
    options: dict[str, str]
    body: ET.Element | None           # first child of s:Body
    session_id: str = ""


def _duration_seconds(text: str | None, default: float) -> float:
    if not text or not text.startswith("PT") or not text.endswith("S"):
        return default
    try:
        return float(text[2:-1])
    except ValueError:
        return default


def parse_request(data: bytes) -> Request:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise fault_bad_request(f"The WS-Management service cannot process the request because the XML is invalid: {err}") from None
    header = root.find(_H + "Header")
    body = root.find(_H + "Body")
    if header is None:
        raise fault_bad_request("The WS-Management service cannot process the request: no SOAP header.")

    def text(tag: str) -> str:
        el = header.find(tag)
        return (el.text or "").strip() if el is not None else ""

    action_uri = text(_A + "Action")
    action = ACTIONS.get(action_uri)
    if action is None:
        raise WSManFault(2150858771, f"The WS-Management service does not support the specified action: {action_uri}",
                         subcode="a:ActionNotSupported")
    shell_id = None
    selectors = header.find(_W + "SelectorSet")
    if selectors is not None:
        for sel in selectors:
            if sel.get("Name") == "ShellId":
                shell_id = (sel.text or "").strip().upper()
    options: dict[str, str] = {}
    option_set = header.find(_W + "OptionSet")
    if option_set is not None:
        for opt in option_set:
            options[opt.get("Name") or ""] = (opt.text or "").strip()
    try:
        max_env = int(text(_W + "MaxEnvelopeSize") or 153600)
    except ValueError:
        max_env = 153600
    session = header.find("{%s}SessionId" % NS["p"])
    return Request(
        action=action,
        action_uri=action_uri,
        message_id=text(_A + "MessageID"),
        resource_uri=text(_W + "ResourceURI"),
        shell_id=shell_id,
        max_envelope_size=max_env,
        operation_timeout=_duration_seconds(text(_W + "OperationTimeout"), 20.0),
        options=options,
        body=body[0] if body is not None and len(body) else None,
        session_id=(session.text or "") if session is not None else "",
    )


_ENVELOPE = (
    '<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{a}" xmlns:x="{x}" xmlns:w="{w}" xmlns:rsp="{rsp}" xmlns:p="{p}">'
    "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{mid}</a:MessageID>"
    "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
    "<a:RelatesTo>{relates}</a:RelatesTo>{extra_header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
)


def envelope(req: Request, body: str, *, action: str | None = None, extra_header: str = "") -> bytes:
    return _ENVELOPE.format(
        action=escape(action or (req.action_uri + "Response")), mid=str(uuid.uuid4()).upper(),
        relates=escape(req.message_id), body=body, extra_header=extra_header, **NS,
    ).encode("utf-8")


_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    """Element text; CR as a character reference, which an XML parser would otherwise fold into LF. Characters XML 1.0
    cannot carry at all (NUL and the other C0 controls but tab, LF and CR) are written as ``_xHHHH_``, so the reply
    stays readable."""
    value = _NOT_IN_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", value)
    return escape(value).replace("\r", "&#13;")


def fault_envelope(fault: WSManFault, req: Request | None) -> bytes:
    action = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
    relates = escape(req.message_id) if req else ""
    detail = (f'<f:WSManFault xmlns:f="{NS["f"]}" Code="{fault.code}" Machine={quoteattr(fault.machine)}>'
              f"<f:Message>{_text(fault.message)}</f:Message></f:WSManFault>")
    body = (
        '<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>'
        f"{escape(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{_text(fault.reason)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}</s:Detail></s:Fault>"
    )
    return (
        f'<s:Envelope xml:lang="en-US" xmlns:s="{NS["s"]}" xmlns:a="{NS["a"]}" xmlns:x="{NS["x"]}" xmlns:w="{NS["w"]}">'
        f"<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{relates}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode("utf-8")


def create_response(req: Request, shell_id: str, endpoint_url: str, *, owner: str, client_ip: str,
                    input_streams: str, output_streams: str, extra: str = "", idle_timeout: float = 7200.0) -> bytes:
    body = (
        f"<x:ResourceCreated><a:Address>{escape(endpoint_url)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{escape(req.resource_uri)}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
        f'<rsp:Shell xmlns:rsp="{NS["rsp"]}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
        f"<rsp:ResourceUri>{escape(req.resource_uri)}</rsp:ResourceUri><rsp:Owner>{escape(owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{escape(client_ip)}</rsp:ClientIP><rsp:IdleTimeOut>PT{idle_timeout:.3f}S</rsp:IdleTimeOut>"
        f"<rsp:InputStreams>{escape(input_streams)}</rsp:InputStreams>"
        f"<rsp:OutputStreams>{escape(output_streams)}</rsp:OutputStreams>"
        f"<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>{extra}"
        "</rsp:Shell>"
    )
    return envelope(req, body)


def command_response(req: Request, command_id: str) -> bytes:
    return envelope(req, f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>")


def receive_response(req: Request, streams: list[tuple[str, str | None, bytes]], command_id: str | None,
                     done: bool, exit_code: int | None = None) -> bytes:
    """``streams``: (name, command id or None, data). ``done`` adds CommandState Done (with ExitCode)."""
    parts = ["<rsp:ReceiveResponse>"]
    for name, cid, data in streams:
        cid_attr = f' CommandId="{cid}"' if cid else ""
        parts.append(f'<rsp:Stream Name="{name}"{cid_attr}>{base64.b64encode(data).decode()}</rsp:Stream>')
    if command_id:
        state = SHELL + "CommandState/" + ("Done" if done else "Running")
        if done:
            code = f"<rsp:ExitCode>{exit_code if exit_code is not None else 0}</rsp:ExitCode>"
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{state}">{code}</rsp:CommandState>')
        else:
            parts.append(f'<rsp:CommandState CommandId="{command_id}" State="{state}"/>')
    parts.append("</rsp:ReceiveResponse>")
    return envelope(req, "".join(parts))


def empty_response(req: Request) -> bytes:
    return envelope(req, "")


def signal_response(req: Request) -> bytes:
    return envelope(req, "<rsp:SignalResponse/>")


def send_response(req: Request) -> bytes:
    return envelope(req, "<rsp:SendResponse/>")


def find(el: ET.Element | None, path: str) -> ET.Element | None:
    if el is None:
        return None
    return el.find(path, NS)


def findall(el: ET.Element | None, path: str) -> list[ET.Element]:
    if el is None:
        return []
    return el.findall(path, NS)

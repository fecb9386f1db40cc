"""CIM for Win32_Service: Get-CimInstance, Invoke-CimMethod (Change, ChangeStartMode, StartService,
StopService) and Set-CimInstance, over the same service state as services.py.

The Change method's StartPassword is a secret: the state keeps only a salted PBKDF2 hash of it
(``services[...]["password"]``), never the text. Return values come from the reference's
``cim_classes.Win32_Service.methods.Change.return_values``.
"""

from __future__ import annotations

import hashlib
import os
import re
import typing as t
import zlib

from .. import reference, registry
from ..model import CmdletError, LabObject, SecureString
from . import common, services

CIM_EXC = "Microsoft.Management.Infrastructure.CimException"
START_MODES = {"Automatic": "Auto", "Manual": "Manual", "Disabled": "Disabled"}
RETURN_CODES = {name: int(code) for code, name in
                reference.load("windows")["cim_classes"]["Win32_Service"]["methods"]["Change"]["return_values"].items()}
TYPE_NAMES = ["Microsoft.Management.Infrastructure.CimInstance#root/cimv2/Win32_Service",
              "Microsoft.Management.Infrastructure.CimInstance#ROOT/cimv2/Win32_BaseService",
              "Microsoft.Management.Infrastructure.CimInstance#ROOT/cimv2/CIM_Service",
              "Microsoft.Management.Infrastructure.CimInstance#ROOT/cimv2/CIM_LogicalElement",
              "Microsoft.Management.Infrastructure.CimInstance#ROOT/cimv2/CIM_ManagedSystemElement",
              "Microsoft.Management.Infrastructure.CimInstance#Win32_Service",
              "Microsoft.Management.Infrastructure.CimInstance", "System.Object"]


def _cim_error(inv: t.Any, message: str, category: str, hresult: str) -> CmdletError:
    cls = f"Microsoft.Management.Infrastructure.CimCmdlets.{inv.spec.name.replace('-', '')}Command"
    return CmdletError(message, category=category, error_id=f"HRESULT {hresult},{cls}", exception_type=CIM_EXC)


def _instance(host: dict[str, t.Any], svc: dict[str, t.Any]) -> LabObject:
    running = svc["status"] == "Running"
    state = {"Running": "Running", "Stopped": "Stopped", "Paused": "Paused"}[svc["status"]]
    pid = (zlib.crc32(svc["name"].lower().encode()) % 9000 + 1000) if running else 0
    return LabObject(TYPE_NAMES, {
        "Name": svc["name"], "Status": "OK", "ExitCode": 0, "DesktopInteract": False, "ErrorControl": "Normal",
        "PathName": svc.get("path_name") or "", "ServiceType": "Own Process",
        "StartMode": START_MODES.get(svc["start_type"], svc["start_type"]), "Caption": svc["display_name"],
        "Description": svc.get("description") or "", "InstallDate": None, "CreationClassName": "Win32_Service",
        "Started": running, "SystemCreationClassName": "Win32_ComputerSystem", "SystemName": host["name"],
        "AcceptPause": False, "AcceptStop": running, "DisplayName": svc["display_name"],
        "ServiceSpecificExitCode": 0, "StartName": svc.get("start_name") or "LocalSystem", "State": state,
        "TagId": 0, "CheckPoint": 0, "DelayedAutoStart": False, "ProcessId": pid, "WaitHint": 0,
        "PSComputerName": None}, to_string=f"Win32_Service (Name = \"{svc['name']}\")")


_WQL = re.compile(r"(?is)^\s*SELECT\s+(?P<props>.+?)\s+FROM\s+(?P<cls>\w+)(?:\s+WHERE\s+(?P<where>.+?))?\s*$")
_COND = re.compile(r"""(?is)^\s*(?P<prop>\w+)\s*(?P<op>=|<>|!=|LIKE)\s*(?:'(?P<sq>(?:\\.|[^'\\])*)'|"(?P<dq>(?:\\.|[^"\\])*)"|(?P<bare>\w+))\s*$""")


def _conditions(text: str | None) -> list[tuple[str, str, str]] | None:
    if not text:
        return []
    out = []
    for part in re.split(r"(?i)\s+AND\s+", text):
        match = _COND.match(part)
        if not match:
            return None
        raw = match.group("sq") if match.group("sq") is not None else (
            match.group("dq") if match.group("dq") is not None else match.group("bare"))
        out.append((match.group("prop"), match.group("op").upper(), re.sub(r"\\(.)", r"\1", raw)))
    return out


def _matches(instance: LabObject, conditions: list[tuple[str, str, str]]) -> bool:
    for prop, op, value in conditions:
        actual = next((str(v) for k, v in instance.properties.items() if k.lower() == prop.lower()), None)
        if actual is None:
            return False
        if op == "LIKE":
            pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
            ok = re.match(pattern, actual, re.I | re.S) is not None
        else:
            ok = actual.lower() == value.lower()
        if ok == (op in ("<>", "!=")):
            return False
    return True


def query(inv: t.Any, host: dict[str, t.Any]) -> list[tuple[dict[str, t.Any], LabObject]] | None:
    """The Win32_Service instances a -Query, -ClassName/-Filter or -InputObject selects (None after an error)."""
    if inv.has("InputObject"):
        names = [o.properties.get("Name") for o in common.as_list(inv.params["InputObject"]) if isinstance(o, LabObject)]
        return [(s, _instance(host, s)) for s in (services.services_of(host).get(str(n).lower()) for n in names) if s]
    if inv.has("Query"):
        match = _WQL.match(common.plain(inv.params["Query"]))
        if not match:
            inv.error(_cim_error(inv, "Invalid query ", "InvalidArgument", "0x80041017"))
            return None
        cls, where = match.group("cls"), match.group("where")
    else:
        cls, where = common.plain(inv.params.get("ClassName")), inv.params.get("Filter")
    if cls.lower() != "win32_service":
        inv.error(_cim_error(inv, "Invalid class ", "MetadataError", "0x80041010"))
        return None
    conditions = _conditions(where)
    if conditions is None:
        inv.error(_cim_error(inv, "Invalid query ", "InvalidArgument", "0x80041017"))
        return None
    out = []
    for svc in sorted(services.services_of(host).values(), key=lambda s: s["name"].lower()):
        instance = _instance(host, svc)
        if _matches(instance, conditions):
            out.append((svc, instance))
    return out


@registry.cmdlet("Get-CimInstance", endpoint="windows", reference="windows")
def get_cim_instance(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for _svc, instance in query(inv, host) or []:
            inv.write(instance)


def hash_secret(text: str) -> dict[str, t.Any]:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", text.encode("utf-8"), salt, 100_000)
    return {"scheme": "pbkdf2_sha256", "iterations": 100_000, "salt": salt.hex(), "hash": digest.hex()}


def _account_known(inv: t.Any, name: str) -> bool:
    lowered = name.lower()
    if lowered in services.BUILTIN_ACCOUNTS:
        return True
    domain = (getattr(inv.lab, "topology", None) or {}).get("domain") or {}
    with inv.store.read() as data:
        users = data.get("directory", {}).get("users", {})
    if "\\" in lowered:
        prefix, sam = lowered.split("\\", 1)
        if prefix not in (str(domain.get("netbios", "")).lower(), str(domain.get("fqdn", "")).lower()):
            return False
    elif "@" in lowered:
        sam, suffix = lowered.split("@", 1)
        if suffix != str(domain.get("fqdn", "")).lower():
            return False
    else:
        return False
    return sam in users


def _change(inv: t.Any, svc: dict[str, t.Any], args: dict[str, t.Any]) -> int:
    mode = args.get("startmode")
    if mode is not None:
        canonical = next((m for m in START_MODES if m.lower() == str(mode).lower()), None)
        if canonical is None:
            return RETURN_CODES["Status Invalid Parameter"]
        svc["start_type"] = canonical
    if args.get("startname") is not None:
        name = common.plain(args["startname"])
        if not _account_known(inv, name):
            return RETURN_CODES["Status Invalid Service Account"]
        svc["start_name"] = name
        if name.lower() in services.BUILTIN_ACCOUNTS:
            svc["password"] = None
    password = args.get("startpassword")
    if password is not None:
        text = password.reveal() if isinstance(password, SecureString) else common.plain(password)
        svc["password"] = hash_secret(text) if text else None
    if args.get("displayname") is not None:
        svc["display_name"] = common.plain(args["displayname"])
    return RETURN_CODES["Success"]


def _call(inv: t.Any, host: dict[str, t.Any], svc: dict[str, t.Any], method: str, args: dict[str, t.Any]) -> int:
    if method == "change":
        return _change(inv, svc, args)
    if method == "changestartmode":
        return _change(inv, svc, {"startmode": args.get("startmode")})
    if method == "startservice":
        if svc["status"] == "Running":
            return RETURN_CODES["Service Already Running"]
        if svc["start_type"] == "Disabled":
            return RETURN_CODES["Service Disabled"]
        if not services.logon_ok(inv.lab, svc):
            return RETURN_CODES["Service Logon Failed"]
        failed = services.start(inv, host, svc)
        return RETURN_CODES["Service Dependency Failure"] if failed else RETURN_CODES["Success"]
    if method == "stopservice":
        if svc["status"] == "Stopped":
            return RETURN_CODES["Service Not Active"]
        if services.has_running_dependants(host, svc):
            return RETURN_CODES["Dependent Services Running"]
        svc["status"] = "Stopped"
        return RETURN_CODES["Success"]
    return RETURN_CODES["Not Supported"]


@registry.cmdlet("Invoke-CimMethod", endpoint="windows", reference="windows")
def invoke_cim_method(inv: t.Any) -> None:
    method = common.plain(inv.params.get("MethodName"))
    args = {str(k).lower(): v for k, v in (inv.params.get("Arguments") or {}).items()}
    if not inv.has("Query") and not inv.has("InputObject"):
        inv.error(_cim_error(inv, "The lab runs Win32_Service methods on instances only (-Query or -InputObject).",
                             "NotImplemented", "0x8004100c"))
        return
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for svc, _instance_obj in query(inv, host) or []:
            if inv.what_if:
                continue
            code = _call(inv, host, services.services_of(host)[svc["name"].lower()], method.lower(), args)
            inv.write(LabObject(["Microsoft.Management.Infrastructure.CimMethodResult#Win32_Service#" + method,
                                 "Microsoft.Management.Infrastructure.CimMethodResult", "System.Object"],
                                {"ReturnValue": code, "PSComputerName": None}))


@registry.cmdlet("Set-CimInstance", endpoint="windows", reference="windows")
def set_cim_instance(inv: t.Any) -> None:
    props = inv.params.get("Property") or {}
    writable = {name.lower() for name, facts in
                reference.load("windows")["cim_classes"]["Win32_Service"]["properties"].items()
                if "write" in facts.get("access", "").lower()}
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for _svc, instance in query(inv, host) or []:
            read_only = [k for k in props if str(k).lower() not in writable]
            if read_only or props:
                # Win32_Service has no Put provider: even State (documented Read/write) is changed by methods.
                inv.error(_cim_error(inv, "Not supported ", "NotImplemented", "0x8004100c"))
                continue
            if inv.params.get("PassThru"):
                inv.write(instance)

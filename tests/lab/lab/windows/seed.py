"""The Windows side of each host at lab start: registry keys, files and services.

Exchange servers: the IMAP4 services stopped and Manual (as after setup, per the vendor document),
the Information Store and Transport running, the MSExchangeIS ParametersSystem key without
"Maximum Allowed Sessions Per User", and Microsoft.Exchange.Imap4.exe.config with the document's
appSettings (UTF-8 with BOM). The XPhone server: atlas.xml in the install folder, the XPhone service,
and the default mail client keys (64- and 32-bit views) set to something other than Outlook, with
Outlook installed. Names and texts not given by the vendor document are lab assumptions, listed in
tests/lab/FIDELITY.md.
"""

from __future__ import annotations

import typing as t

from . import files, registry as reg, services

IMAP4_CONFIG_PATH = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\PopImap\\Microsoft.Exchange.Imap4.exe.config"
SESSIONS_KEY = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"
MAIL_CLIENT_KEYS = ("HKEY_LOCAL_MACHINE\\SOFTWARE\\Clients\\Mail", "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Clients\\Mail")
XPHONE_SERVICE = "XPhoneConnectServer"  # assumed service name
DEFAULT_INSTALL_DIR = "C:\\Program Files\\C4B\\XPhone Connect Server"

# The appSettings are the vendor document's; the surrounding file is an assumed minimal .NET config.
IMAP4_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <runtime>
    <gcServer enabled="true" />
  </runtime>
  <appSettings>
    <add key="MaxIoThreadsPerCPU" value="0" />
    <add key="ConnectionCacheSize" value="250" />
    <add key="ProtocolLog" value="false" />
    <add key="LogPath" value="C:\\Program Files\\Microsoft\\Exchange Server\\Logging\\Imap4" />
    <add key="AgeQuotaInHours" value="24" />
    <add key="SizeQuota" value="10000000" />
    <add key="PerFileSizeQuota" value="1000000" />
    <add key="AllowCrossSiteSessions" value="false" />
  </appSettings>
</configuration>
"""

# Only <Exchange><mapi><RoHFlagsUseRoH> is the vendor document's; the rest is an assumed root element.
ATLAS_XML = """<?xml version="1.0" encoding="utf-8"?>
<atlas>
  <Server>
    <Name>XPHONE01</Name>
  </Server>
  <Exchange>
    <mapi>
      <RoHFlagsUseRoH>on</RoHFlagsUseRoH>
    </mapi>
  </Exchange>
</atlas>
"""


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _seed_exchange(host: dict[str, t.Any], topo_host: dict[str, t.Any]) -> None:
    key = reg.ensure_key(host, SESSIONS_KEY)
    reg.set_value(key, "Background Cleanup", "DWord", 0)
    setup = reg.ensure_key(host, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\ExchangeServer\\v15\\Setup")
    reg.set_value(setup, "MsiInstallPath", "String", "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\")
    build = str(topo_host.get("build") or "15.2.0.0").split(".")
    reg.set_value(setup, "MsiProductMajor", "DWord", int(build[0]))
    reg.set_value(setup, "MsiProductMinor", "DWord", int(build[1]))
    reg.set_value(setup, "MsiBuildMajor", "DWord", int(build[2]))
    reg.set_value(setup, "MsiBuildMinor", "DWord", int(build[3]))
    files.write_file(host, IMAP4_CONFIG_PATH, files.encode_text(_crlf(IMAP4_CONFIG), "UTF8"))
    files.ensure_dir(host, "C:\\Program Files\\Microsoft\\Exchange Server\\Logging\\Imap4")
    exe = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\"
    services.add_service(host, "MSExchangeADTopology", "Microsoft Exchange Active Directory Topology",
                         status="Running", start_type="Automatic",
                         path_name=f"\"{exe}Microsoft.Exchange.Directory.TopologyService.exe\"")
    services.add_service(host, "MSExchangeIS", "Microsoft Exchange Information Store", status="Running",
                         start_type="Automatic", depends_on=["MSExchangeADTopology"],
                         path_name=f"\"{exe}Microsoft.Exchange.Store.Service.exe\"")
    services.add_service(host, "MSExchangeTransport", "Microsoft Exchange Transport", status="Running",
                         start_type="Automatic", depends_on=["MSExchangeADTopology"],
                         start_name="NT AUTHORITY\\NetworkService", path_name=f"\"{exe}MSExchangeTransport.exe\"")
    services.add_service(host, "MSExchangeIMAP4", "Microsoft Exchange IMAP4", depends_on=["MSExchangeADTopology"],
                         path_name=f"\"{exe}Microsoft.Exchange.Imap4Service.exe\"")
    services.add_service(host, "MSExchangeIMAP4BE", "Microsoft Exchange IMAP4 Backend",
                         depends_on=["MSExchangeADTopology"], path_name=f"\"{exe}Microsoft.Exchange.Imap4ServiceBE.exe\"")


def _seed_xphone(host: dict[str, t.Any], topo_host: dict[str, t.Any]) -> None:
    install_dir = files.parse((topo_host.get("xphone") or {}).get("install_dir") or DEFAULT_INSTALL_DIR)
    files.write_file(host, install_dir + "\\atlas.xml", files.encode_text(_crlf(ATLAS_XML), "UTF8"))
    services.add_service(host, XPHONE_SERVICE, "XPhone Connect Server", status="Running", start_type="Automatic",
                         path_name=f"\"{install_dir}\\XPhoneServer.exe\"")
    for path in MAIL_CLIENT_KEYS:
        key = reg.ensure_key(host, path)
        reg.set_value(key, "", "String", "Windows Mail")
        reg.ensure_key(host, path + "\\Microsoft Outlook")
        reg.ensure_key(host, path + "\\Windows Mail")


def _seed_declared(host: dict[str, t.Any], topo_host: dict[str, t.Any]) -> None:
    """A host's own ``registry``, ``files`` and ``services`` from the topology, on top of the built-in seed.

    registry: [{key: 'HKLM:\\SOFTWARE\\X', values: [{name: '', type: String, data: 'text'}]}]
    files:    [{path: 'C:\\dir\\f.xml', content: '...', encoding: UTF8}] or [{path: 'C:\\dir', directory: true}]
    services: [{name: X, display_name: X, status: Running, start_type: Automatic, depends_on: [], start_name: LocalSystem}]
    """
    where = topo_host.get("name")
    for entry in topo_host.get("registry") or []:
        full = reg.parse(str(entry.get("key") or ""))
        if full is None:
            raise ValueError(f"topology host {where}: registry key {entry.get('key')!r} is not an HKLM:/HKCU: path")
        key = reg.ensure_key(host, full)
        for value in entry.get("values") or []:
            reg.set_value(key, str(value.get("name", "")), str(value.get("type", "String")), value.get("data"))
    for entry in topo_host.get("files") or []:
        full = files.parse(str(entry.get("path") or ""))
        if full is None:
            raise ValueError(f"topology host {where}: file path {entry.get('path')!r} is not a C:\\ path")
        if entry.get("directory"):
            files.ensure_dir(host, full)
        else:
            text = _crlf(str(entry.get("content", "")))
            files.write_file(host, full, files.encode_text(text, str(entry.get("encoding", "UTF8"))))
    for entry in topo_host.get("services") or []:
        services.add_service(host, entry["name"], entry.get("display_name") or entry["name"],
                             status=entry.get("status", "Stopped"), start_type=entry.get("start_type", "Manual"),
                             depends_on=entry.get("depends_on"), start_name=entry.get("start_name", "LocalSystem"),
                             path_name=entry.get("path_name", ""), description=entry.get("description", ""))


def seed_windows(state: dict[str, t.Any], topology: dict[str, t.Any]) -> None:
    for topo_host in topology.get("hosts") or []:
        host = state["hosts"].get(topo_host["name"])
        if host is None:
            continue
        host.setdefault("address", topo_host.get("address"))
        reg.ensure_key(host, "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion")
        files.ensure_dir(host, "C:\\Windows\\System32")
        services.add_service(host, "WinRM", "Windows Remote Management (WS-Management)", status="Running",
                             start_type="Automatic", start_name="NT AUTHORITY\\NetworkService",
                             path_name="C:\\Windows\\System32\\svchost.exe -k NetworkService -p")
        if topo_host.get("role") == "exchange":
            _seed_exchange(host, topo_host)
        if topo_host.get("xphone") is not None or topo_host.get("role") == "windows":
            _seed_xphone(host, topo_host)
        _seed_declared(host, topo_host)

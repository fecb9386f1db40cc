"""IMAP4 settings per server: Get-ImapSettings and Set-ImapSettings (defaults as on a fresh install)."""

from __future__ import annotations

import typing as t

from .. import topology
from . import common

TYPE_NAMES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.Imap4AdConfiguration",
              "Microsoft.Exchange.Data.Directory.SystemConfiguration.PopImapAdConfiguration",
              "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
ENUMS = {"LoginType": f"{SYSCONF}.LoginOptions", "MessageRetrievalMimeFormat": f"{SYSCONF}.MimeTextFormat",
         "CalendarItemRetrievalOption": f"{SYSCONF}.CalendarItemRetrievalOptions",
         "LogFileRollOverSettings": "Microsoft.Exchange.Diagnostics.LogFileRollOver",
         "ExtendedProtectionPolicy": f"{SYSCONF}.ExtendedProtectionTokenCheckingMode"}
RESTART_WARNING = ("Changes to IMAP4 settings will only take effect after all Microsoft Exchange IMAP4 services are "
                   "restarted on server {0}.")


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    for name, host in state["hosts"].items():
        if host.get("role") != "exchange":
            continue
        rec = common.reference_defaults("Set-ImapSettings")
        fqdn = host["fqdn"]
        rec["InternalConnectionSettings"] = [v.replace("<ServerFQDN>", fqdn) for v in rec.get("InternalConnectionSettings") or []]
        rec["LogFileLocation"] = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Logging\\Imap4"
        rec["LogFileRollOverSettings"] = rec.get("LogFileRollOverSettings") or "Daily"
        rec["X509CertificateName"] = fqdn
        rec.update({"Name": "1", "Identity": f"{name}\\1", "Server": name,
                    "Guid": topology.stable_guid("imap", name), "IsValid": True,
                    "DistinguishedName": f"CN=1,CN=IMAP4,CN=Protocols,{common.server_dn(state, name)}"})
        host["imap_settings"] = rec


topology.SEEDERS.append(seed)


def _server(inv, data: dict[str, t.Any]) -> str | None:
    """The Exchange server -Server names (the local one without it), or None after Exchange's not-found error."""
    wanted = str(inv.params.get("Server") or common.local_server(inv)).split(".", maxsplit=1)[0].lower()
    for name, host in data["hosts"].items():
        if name.lower() == wanted and host.get("imap_settings"):
            return name
    common.report_not_found(inv, inv.params.get("Server"))
    return None


@common.cmdlet("Get-ImapSettings")
def get_imap_settings(inv) -> None:
    with inv.store.read() as data:
        server = _server(inv, data)
        if server is None:
            return
        rec = data["hosts"][server]["imap_settings"]
        inv.write(common.render(rec, TYPE_NAMES, ENUMS))


@common.cmdlet("Set-ImapSettings")
def set_imap_settings(inv) -> None:
    with inv.store.write() as data:
        server = _server(inv, data)
        if server is None:
            return
        rec = data["hosts"][server]["imap_settings"]
        if not common.set_record(inv, rec, ("Server",)):
            return
    inv.warn(RESTART_WARNING.format(server))

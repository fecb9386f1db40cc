#!/usr/bin/env python
"""Read back what the xphone.connect roles configured, through the same PowerShell endpoint they use.

    lab_report.py --inventory tests/output/lab/inventory.yml [--save FILE] [--expect-same FILE]

Connects with pypsrp to every host of the `exchange` group (lab_exchange_uri, or http(s)://host/PowerShell)
and lists the send connectors, remote domains, receive connectors and relay rights. --save writes that
as JSON; --expect-same exits 1 when the current state differs from a saved one (`make demo` uses it to
show that --check wrote nothing). Passwords come from the inventory and are never printed.
"""

import argparse
import json
import os
import subprocess
import sys
from urllib.parse import urlsplit

try:
    from pypsrp.powershell import PowerShell, RunspacePool
    from pypsrp.wsman import WSMan
except ImportError:  # reported in main(): this tool only runs from the dev venv
    PowerShell = RunspacePool = WSMan = None

SEND = ("Name", "AddressSpaces", "SmartHosts", "Port", "SmartHostAuthMechanism", "DNSRoutingEnabled", "Enabled")
REMOTE = ("Name", "DomainName", "CharacterSet", "NonMimeCharacterSet", "AllowedOOFType", "AutoReplyEnabled",
          "DeliveryReportEnabled", "NDREnabled", "ContentType", "TNEFEnabled")
RECEIVE = ("Name", "TransportRole", "Bindings", "RemoteIPRanges", "PermissionGroups", "Enabled")
RELAY_RIGHT = "ms-Exch-SMTP-Accept-Any-Recipient"


def plain(value):
    """PSObject values (lists, enums, Exchange types) as JSON-able Python values."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for attr in ("adapted_properties", "extended_properties"):
        props = getattr(value, attr, None)
        if isinstance(props, list):
            return [plain(v) for v in props]
    return str(value)


def prop(obj, name):
    for attr in ("adapted_properties", "extended_properties"):
        props = getattr(obj, attr, None) or {}
        if name in props:
            return plain(props[name])
    return None


def exchange_hosts(inventory):
    ansible_inventory = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    data = json.loads(subprocess.run([ansible_inventory, "-i", inventory, "--list"], check=True, capture_output=True, text=True).stdout)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    return [(name, hostvars.get(name, {})) for name in data.get("exchange", {}).get("hosts", [])]


def open_pool(name, hostvars):
    uri = hostvars.get("lab_exchange_uri") or "https://%s/PowerShell" % hostvars.get("ansible_host", name)
    parts = urlsplit(uri)
    # Kerberos inventories may name the SPN's host and service (ansible-core's psrp plugin asks for WSMAN/).
    spn = dict(negotiate_service=hostvars.get("ansible_psrp_negotiate_service", "WSMAN"))
    if hostvars.get("ansible_psrp_negotiate_hostname_override"):
        spn["negotiate_hostname_override"] = hostvars["ansible_psrp_negotiate_hostname_override"]
    wsman = WSMan(
        parts.hostname, port=parts.port or (443 if parts.scheme == "https" else 80), path=parts.path.lstrip("/") or "PowerShell",
        ssl=parts.scheme == "https", auth=hostvars.get("ansible_psrp_auth", "negotiate"),
        username=hostvars.get("lab_admin_user") or hostvars.get("ansible_user"),
        password=hostvars.get("lab_admin_password") or hostvars.get("ansible_password"),
        cert_validation=hostvars.get("ansible_psrp_cert_validation") != "ignore", **spn
    )
    return RunspacePool(wsman, configuration_name="Microsoft.Exchange")


def open_windows_pool(name, hostvars):
    """The host's own /wsman (services), with its inventory connection settings."""
    wsman = WSMan(
        hostvars.get("ansible_host", name), port=int(hostvars.get("ansible_port") or 5985), path="wsman",
        ssl=hostvars.get("ansible_psrp_protocol", "http") == "https", auth=hostvars.get("ansible_psrp_auth", "negotiate"),
        username=hostvars.get("lab_admin_user") or hostvars.get("ansible_user"),
        password=hostvars.get("lab_admin_password") or hostvars.get("ansible_password"),
        cert_validation=hostvars.get("ansible_psrp_cert_validation") != "ignore",
        negotiate_service=hostvars.get("ansible_psrp_negotiate_service", "WSMAN"),
    )
    return RunspacePool(wsman)


IMAP = ("LoginType", "MessageRetrievalMimeFormat", "ProtocolLogEnabled")
IMAP_SERVICES = ("MSExchangeIMAP4", "MSExchangeIMAP4BE")


def invoke(pool, cmdlet, **params):
    shell = PowerShell(pool)
    shell.add_cmdlet(cmdlet)
    for key, value in params.items():
        shell.add_parameter(key, value)
    output = shell.invoke()
    if shell.had_errors or shell.streams.error:
        raise RuntimeError("%s: %s" % (cmdlet, "; ".join(str(e) for e in shell.streams.error)))
    return output


def collect(inventory):
    """The configured objects, as a dict that compares equal when nothing changed."""
    hosts = exchange_hosts(inventory)
    report = {"send_connectors": [], "remote_domains": [], "receive_connectors": {}, "imap": {}}
    for index, (name, hostvars) in enumerate(hosts):
        with open_pool(name, hostvars) as pool:
            if index == 0:
                report["send_connectors"] = [{k: prop(o, k) for k in SEND} for o in invoke(pool, "Get-SendConnector")]
                report["remote_domains"] = [{k: prop(o, k) for k in REMOTE} for o in invoke(pool, "Get-RemoteDomain")]
            connectors = []
            for conn in invoke(pool, "Get-ReceiveConnector", Server=name):
                entry = {k: prop(conn, k) for k in RECEIVE}
                identity = "%s\\%s" % (name, entry["Name"])
                entry["RelayGrantedTo"] = sorted(
                    str(prop(p, "User")) for p in invoke(pool, "Get-ADPermission", Identity=identity)
                    if RELAY_RIGHT.lower() in str(prop(p, "ExtendedRights")).lower() and not prop(p, "Deny")
                )
                connectors.append(entry)
            report["receive_connectors"][name] = connectors
            (imap,) = invoke(pool, "Get-ImapSettings", Server=name)
            report["imap"][name] = {k: prop(imap, k) for k in IMAP}
        with open_windows_pool(name, hostvars) as pool:
            report["imap"][name]["services"] = dict(
                (str(prop(s, "Name")), "%s, %s" % (prop(s, "StartType"), prop(s, "Status")))
                for s in invoke(pool, "Get-Service", Name=list(IMAP_SERVICES)))
    return report


BUILTIN_RECEIVE = ("Default {0}", "Client Proxy {0}", "Default Frontend {0}", "Outbound Proxy Frontend {0}",
                   "Client Frontend {0}")


def _is_builtin(name, server):
    return any(name.lower() == pattern.format(server).lower() for pattern in BUILTIN_RECEIVE)


def render(report):
    lines = ["Send connectors (organisation):"]
    for conn in report["send_connectors"]:
        lines.append("  %-20s address spaces %s -> smart hosts %s port %s" % (conn["Name"], conn["AddressSpaces"], conn["SmartHosts"], conn["Port"]))
    lines.append("Remote domains (organisation):")
    for dom in report["remote_domains"]:
        settings = ", ".join("%s=%s" % (k, dom[k]) for k in REMOTE[2:])
        lines.append("  %-10s %-22s %s" % (dom["Name"], dom["DomainName"], settings))
    for server, connectors in report["receive_connectors"].items():
        # The five connectors setup creates are summed up: what matters about them is that none relays anonymously.
        builtin = [c for c in connectors if _is_builtin(c["Name"], server)]
        lines.append("Receive connectors on %s (besides the %d built-in ones):" % (server, len(builtin)))
        for conn in connectors:
            if conn in builtin:
                continue
            relay = ("; relay granted to %s" % ", ".join(conn["RelayGrantedTo"])) if conn["RelayGrantedTo"] else ""
            lines.append("  %-32s %s bindings %s remote %s%s" % (conn["Name"], conn["TransportRole"], conn["Bindings"], conn["RemoteIPRanges"], relay))
        anonymous = [c["Name"] for c in connectors if any("anonymous logon" in u.lower() for u in c["RelayGrantedTo"])]
        lines.append("  anonymous relay (ANONYMOUS LOGON holds %s) only on: %s" % (RELAY_RIGHT, ", ".join(anonymous) or "none"))
    for server, imap in report.get("imap", {}).items():
        services = dict(imap).pop("services", {})
        lines.append("IMAP4 on %s: %s; services %s" % (
            server, ", ".join("%s=%s" % (k, imap[k]) for k in IMAP),
            ", ".join("%s (%s)" % item for item in sorted(services.items()))))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--save", help="write the state as JSON to this file")
    parser.add_argument("--expect-same", help="fail when the state differs from this saved JSON file")
    parser.add_argument("--quiet", action="store_true", help="print nothing but differences")
    args = parser.parse_args()
    if RunspacePool is None:
        sys.exit("lab_report.py needs pypsrp (pip install -r requirements.txt)")
    report = collect(args.inventory)
    if not args.quiet:
        sys.stdout.write(render(report))
    if args.save:
        with open(args.save, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
    if args.expect_same:
        with open(args.expect_same, encoding="utf-8") as handle:
            before = json.load(handle)
        if json.loads(json.dumps(report, sort_keys=True)) != before:
            sys.stderr.write("FAIL the Exchange configuration changed (expected no change)\n")
            sys.exit(1)
        sys.stdout.write("unchanged: the Exchange configuration is the same as before\n")


if __name__ == "__main__":
    main()

"""Servers and org-wide read-only objects: Exchange servers, transport services, databases and their copies,
the DAG, accepted domains, the organization, auth config and certificates. Seeded from the topology."""

from __future__ import annotations

import hashlib
import typing as t

from .. import topology
from . import common

SYSCONF = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
BASE_TYPES = ["Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SERVER_TYPES = ["Microsoft.Exchange.Data.Directory.Management.ExchangeServer"] + BASE_TYPES
TRANSPORT_TYPES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.TransportServer"] + BASE_TYPES
DATABASE_TYPES = [f"{SYSCONF}.MailboxDatabase", f"{SYSCONF}.Database"] + BASE_TYPES
COPY_STATUS_TYPES = ["Microsoft.Exchange.Management.SystemConfigurationTasks.DatabaseCopyStatusEntry",
                     "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
DAG_TYPES = [f"{SYSCONF}.DatabaseAvailabilityGroup"] + BASE_TYPES
ACCEPTED_DOMAIN_TYPES = [f"{SYSCONF}.AcceptedDomain"] + BASE_TYPES
ORG_TYPES = ["Microsoft.Exchange.Data.Directory.Management.OrganizationConfig"] + BASE_TYPES
AUTH_TYPES = [f"{SYSCONF}.AuthConfig"] + BASE_TYPES
CERT_TYPES = ["Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate",
              "System.Security.Cryptography.X509Certificates.X509Certificate2",
              "System.Security.Cryptography.X509Certificates.X509Certificate", "System.Object"]

# Versions of the products the lab can play (topology ``version`` + ``build``).
EXCHANGE_VERSION = "0.1 (8.0.535.0)"


def admin_display_version(build: str) -> str:
    major, minor, build_no, revision = (build.split(".") + ["0", "0", "0", "0"])[:4]
    return f"Version {major}.{minor} (Build {build_no}.{revision})"


def _thumbprint(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode()).hexdigest().upper()  # nosec - an id, not security


def seed(state: dict[str, t.Any], topo: dict[str, t.Any]) -> None:
    org = common.org(state)
    fqdn = common.domain(state)["fqdn"]
    site = f"{fqdn}/Configuration/Sites/Default-First-Site-Name"
    servers = org.setdefault("exchange_servers", {})
    certificates = org.setdefault("certificates", {})
    auth_thumb = _thumbprint("auth", fqdn)
    for host in topo.get("hosts") or []:
        if host.get("role") != "exchange":
            continue
        name = host["name"]
        rec = common.base_record(name, common.server_dn(state, name), topology.stable_guid("server", name))
        rec.update({
            "Fqdn": f"{name}.{fqdn}", "Domain": fqdn, "Site": site, "ServerRole": "Mailbox",
            "Edition": "Enterprise", "AdminDisplayVersion": admin_display_version(host.get("build") or "15.2.0.0"),
            "ExchangeVersion": EXCHANGE_VERSION, "ProductLine": host.get("version"), "CumulativeUpdate": host.get("cu"),
            "IsMailboxServer": True, "IsClientAccessServer": True, "IsHubTransportServer": True,
            "IsFrontendTransportServer": True, "IsEdgeServer": False, "IsExchangeTrialEdition": False,
            "ExchangeLegacyDN": f"/o={org['name']}/ou={common.ADMIN_GROUP}/cn=Configuration/cn=Servers/cn={name}",
            "CustomerFeedbackEnabled": None, "DataCollectionEnabled": False, "ErrorReportingEnabled": None,
            "InternetWebProxy": None, "InternetWebProxyBypassList": [], "MitigationsApplied": [],
            "MitigationsBlocked": [], "MitigationsEnabled": True, "MonitoringGroup": None, "ProductKey": None,
            "RingLevel": None, "StaticConfigDomainController": None, "StaticDomainControllers": [],
            "StaticExcludedDomainControllers": [], "StaticGlobalCatalogs": [],
            "DatabaseAvailabilityGroup": host.get("dag")})
        servers[name.lower()] = rec
        own = _thumbprint("server", name, fqdn)
        certificates[own] = {"Thumbprint": own, "Identity": f"{name}\\{own}", "Server": name,
                             "Subject": f"CN={name}", "Issuer": f"CN={name}", "Services": "IMAP, POP, IIS, SMTP",
                             "CertificateDomains": [name, f"{name}.{fqdn}"], "NotBefore": "2026-01-01T00:00:00Z",
                             "NotAfter": "2031-01-01T00:00:00Z", "IsSelfSigned": True, "Status": "Valid",
                             "FriendlyName": "Microsoft Exchange", "HasPrivateKey": True}
        certificates[f"{auth_thumb}@{name.lower()}"] = {
            "Thumbprint": auth_thumb, "Identity": f"{name}\\{auth_thumb}", "Server": name,
            "Subject": "CN=Microsoft Exchange Server Auth Certificate",
            "Issuer": "CN=Microsoft Exchange Server Auth Certificate", "Services": "SMTP",
            "CertificateDomains": [], "NotBefore": "2026-01-01T00:00:00Z", "NotAfter": "2031-01-01T00:00:00Z",
            "IsSelfSigned": True, "Status": "Valid", "FriendlyName": "Microsoft Exchange Server Auth Certificate",
            "HasPrivateKey": True}
    databases = org.setdefault("databases", {})
    dag_of = {h["name"]: h.get("dag") for h in topo.get("hosts") or []}
    for db in topo.get("databases") or []:
        name, server = db["name"], db["server"]
        rec = common.base_record(name, f"CN={name},CN=Databases,{common.admin_group_dn(state)}",
                                 topology.stable_guid("database", name))
        copies = db.get("copies") or [server]
        rec.update({
            "Server": server, "MasterServerOrAvailabilityGroup": dag_of.get(server) or server,
            "Servers": list(copies), "ActivationPreference": [f"[{s}, {i + 1}]" for i, s in enumerate(copies)],
            "EdbFilePath": f"C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Mailbox\\{name}\\{name}.edb",
            "LogFolderPath": f"C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Mailbox\\{name}",
            "Recovery": False, "IsMailboxDatabase": True, "ReplicationType": "Remote" if len(copies) > 1 else "None",
            "ProhibitSendReceiveQuota": "2.3 GB (2,469,396,480 bytes)",
            "ProhibitSendQuota": "2 GB (2,147,483,648 bytes)", "IssueWarningQuota": "1.9 GB (2,040,109,440 bytes)",
            "CircularLoggingEnabled": False, "MountAtStartup": True, "Organization": org["name"],
            "_active": server})
        databases[name.lower()] = rec
    dags = org.setdefault("dags", {})
    for dag in topo.get("dags") or []:
        rec = common.base_record(dag["name"], f"CN={dag['name']},CN=Database Availability Groups,{common.admin_group_dn(state)}",
                                 topology.stable_guid("dag", dag["name"]))
        rec.update({"Servers": list(dag.get("members") or []), "WitnessServer": f"FS01.{fqdn}",
                    "WitnessDirectory": f"C:\\DAGFileShareWitnesses\\{dag['name']}.{fqdn}",
                    "DatacenterActivationMode": "Off", "ThirdPartyReplication": "Disabled",
                    "ReplicationPort": 64327, "NetworkCompression": "InterSubnetOnly",
                    "NetworkEncryption": "InterSubnetOnly", "DatabaseAvailabilityGroupIpAddresses": [],
                    "OperationalServers": list(dag.get("members") or []),
                    "PrimaryActiveManager": (dag.get("members") or [None])[0]})
        dags[dag["name"].lower()] = rec
    accepted = common.base_record(fqdn, f"CN={fqdn},CN=Accepted Domains,CN=Transport Settings,{common.config_dn(state)}",
                                  topology.stable_guid("accepted-domain", fqdn))
    accepted.update({"DomainName": fqdn, "DomainType": "Authoritative", "Default": True,
                     "AddressBookEnabled": True, "MatchSubDomains": False})
    org.setdefault("accepted_domains", {})[fqdn.lower()] = accepted
    org["config"] = {"Name": org["name"], "Identity": org["name"], "Guid": org["guid"],
                     "DistinguishedName": common.config_dn(state), "IsValid": True,
                     "AdminDisplayVersion": admin_display_version(max(
                         (h.get("build") or "15.1.0.0" for h in topo.get("hosts") or [] if h.get("role") == "exchange"),
                         default="15.2.0.0")),
                     "ObjectVersion": 16763, "MapiHttpEnabled": True, "OAuth2ClientProfileEnabled": False,
                     "IsDehydrated": False, "ActivityBasedAuthenticationTimeoutEnabled": True,
                     "DefaultPublicFolderMailbox": None, "EwsApplicationAccessPolicy": None}
    org["auth_config"] = {"Name": "Auth Configuration", "Identity": "Auth Configuration",
                          "CurrentCertificateThumbprint": auth_thumb, "PreviousCertificateThumbprint": None,
                          "NextCertificateThumbprint": None, "NextCertificateEffectiveDate": None,
                          "ServiceName": "00000002-0000-0ff1-ce00-000000000000", "Realm": None,
                          "DistinguishedName": f"CN=Auth Configuration,CN=Global Settings,{common.config_dn(state)}",
                          "IsValid": True}


topology.SEEDERS.append(seed)


def _servers(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).get("exchange_servers", {})


@common.cmdlet("Get-ExchangeServer")
def get_exchange_server(inv) -> None:
    with inv.store.read() as data:
        records = list(_servers(data).values())
    for rec in common.identified(inv, records, ("Name", "Fqdn")):
        inv.write(common.render(rec, SERVER_TYPES, {"ServerRole": f"{SYSCONF}.ServerRole"}))


@common.cmdlet("Get-TransportService")
def get_transport_service(inv) -> None:
    with inv.store.read() as data:
        records = list(_servers(data).values())
    for rec in common.identified(inv, records, ("Name", "Fqdn")):
        name = rec["Name"]
        base = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub\\ProtocolLog\\SmtpReceive"
        out = {"Name": name, "Identity": name, "Guid": rec["Guid"], "DistinguishedName": rec["DistinguishedName"],
               "Fqdn": rec["Fqdn"], "AdminDisplayVersion": rec["AdminDisplayVersion"],
               "ReceiveProtocolLogPath": base, "SendProtocolLogPath": base.replace("SmtpReceive", "SmtpSend"),
               "MaxConcurrentMailboxDeliveries": 20, "MaxConcurrentMailboxSubmissions": 20,
               "MaxOutboundConnections": 1000, "MaxPerDomainOutboundConnections": 20,
               "MessageExpirationTimeout": "2.00:00:00", "IntraOrgConnectorProtocolLoggingLevel": "None",
               "ExternalDNSAdapterEnabled": True, "InternalDNSAdapterEnabled": True, "IsValid": True}
        inv.write(common.render(out, TRANSPORT_TYPES))


def _databases(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).get("databases", {})


@common.cmdlet("Get-MailboxDatabase")
def get_mailbox_database(inv) -> None:
    with inv.store.read() as data:
        records = list(_databases(data).values())
    if inv.has("Server"):
        server = str(inv.params["Server"]).split(".", maxsplit=1)[0].lower()
        records = [r for r in records if server in [s.lower() for s in r["Servers"]]]
    for rec in sorted(common.identified(inv, records), key=lambda r: r["Name"].lower()):
        out = dict(rec)
        if inv.params.get("Status"):
            out["Mounted"] = True
            out["MountedOnServer"] = f"{rec['_active']}.{rec['DistinguishedName'].split('DC=', 1)[1].replace(',DC=', '.')}"
        inv.write(common.render(out, DATABASE_TYPES))


@common.cmdlet("Get-MailboxDatabaseCopyStatus")
def get_mailbox_database_copy_status(inv) -> None:
    with inv.store.read() as data:
        databases = list(_databases(data).values())
    entries = []
    for db in databases:
        for pref, server in enumerate(db["Servers"], 1):
            active = server.lower() == db["_active"].lower()
            entries.append({"Name": f"{db['Name']}\\{server}", "Identity": f"{db['Name']}\\{server}",
                            "DatabaseName": db["Name"], "MailboxServer": server, "ActiveDatabaseCopy": db["_active"].lower(),
                            "Status": "Mounted" if active else "Healthy", "CopyQueueLength": 0,
                            "ReplayQueueLength": 0, "ContentIndexState": "Healthy" if active else "Healthy",
                            "ActivationPreference": pref, "ActivationSuspended": False, "IsValid": True})
    if inv.has("Server"):
        server = str(inv.params["Server"]).split(".", maxsplit=1)[0].lower()
        entries = [e for e in entries if e["MailboxServer"].lower() == server]
    if inv.has("Identity"):
        ident = str(inv.params["Identity"])
        found = [e for e in entries if common.matches(e, ident, ("Name", "DatabaseName"))]
        if not found:
            common.report_not_found(inv, ident)
        entries = found
    for entry in entries:
        inv.write(common.render(entry, COPY_STATUS_TYPES))


@common.cmdlet("Get-DatabaseAvailabilityGroup")
def get_database_availability_group(inv) -> None:
    with inv.store.read() as data:
        records = list(common.org(data).get("dags", {}).values())
    for rec in common.identified(inv, records):
        out = dict(rec)
        if not inv.params.get("Status"):
            out["OperationalServers"] = None
            out["PrimaryActiveManager"] = None
        inv.write(common.render(out, DAG_TYPES))


@common.cmdlet("Get-AcceptedDomain")
def get_accepted_domain(inv) -> None:
    with inv.store.read() as data:
        records = list(common.org(data).get("accepted_domains", {}).values())
    for rec in common.identified(inv, records, ("Name", "DomainName")):
        inv.write(common.render(rec, ACCEPTED_DOMAIN_TYPES, {"DomainType": f"{SYSCONF}.AcceptedDomainType"}))


@common.cmdlet("Get-OrganizationConfig")
def get_organization_config(inv) -> None:
    with inv.store.read() as data:
        inv.write(common.render(common.org(data)["config"], ORG_TYPES))


@common.cmdlet("Get-AuthConfig")
def get_auth_config(inv) -> None:
    with inv.store.read() as data:
        inv.write(common.render(common.org(data)["auth_config"], AUTH_TYPES))


@common.cmdlet("Get-ExchangeCertificate")
def get_exchange_certificate(inv) -> None:
    server = str(inv.params.get("Server") or common.local_server(inv)).split(".", maxsplit=1)[0].lower()
    with inv.store.read() as data:
        certs = [c for c in common.org(data).get("certificates", {}).values() if c["Server"].lower() == server]
        known = server in _servers(data)
    if not known:
        common.report_not_found(inv, inv.params.get("Server"))
        return
    wanted = inv.params.get("Thumbprint") or inv.params.get("Identity")
    if wanted:
        wanted = str(wanted).rsplit("\\", maxsplit=1)[-1].upper()
        certs = [c for c in certs if c["Thumbprint"] == wanted]
        if not certs:
            common.report_not_found(inv, inv.params.get("Thumbprint") or inv.params.get("Identity"))
    for cert in certs:
        inv.write(common.render(cert, CERT_TYPES, {"Services": "Microsoft.Exchange.Management.Metabase.AllowedServices"}))

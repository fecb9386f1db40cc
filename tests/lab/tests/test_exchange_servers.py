"""Read-only topology objects: servers, transport services, databases, copies, DAG, org, auth, certificates, IMAP."""

from __future__ import annotations

from lab.engine import Lab

from helpers import call, run


def test_exchange_servers_follow_the_topology(lab: Lab) -> None:
    servers = {s["Name"]: s for s in run(lab, call("Get-ExchangeServer")).output}
    assert servers["EX01"]["AdminDisplayVersion"] == "Version 15.2 (Build 1748.10)"
    assert servers["EX03"]["AdminDisplayVersion"] == "Version 15.1 (Build 2507.6)"
    assert servers["EX01"]["Fqdn"] == "EX01.alleo.intern" and servers["EX01"]["ServerRole"].value == "Mailbox"
    assert run(lab, call("Get-ExchangeServer", "EX09")).errors
    assert [t["Name"] for t in run(lab, call("Get-TransportService", "EX02")).output] == ["EX02"]


def test_se_build_from_a_custom_topology() -> None:
    topo = Lab.load().topology
    topo["hosts"][0]["build"] = "15.2.2562.17"
    lab = Lab(topo)
    assert run(lab, call("Get-ExchangeServer", "EX01")).output[0]["AdminDisplayVersion"] == "Version 15.2 (Build 2562.17)"


def test_databases_dag_and_copies(lab: Lab) -> None:
    dbs = {d["Name"]: d for d in run(lab, call("Get-MailboxDatabase")).output}
    assert sorted(dbs) == ["DB01", "DB02", "DB03", "DB04", "DB05"]
    assert dbs["DB01"]["Server"] == "EX01" and dbs["DB01"]["MasterServerOrAvailabilityGroup"] == "DAG01"
    assert dbs["DB05"]["MasterServerOrAvailabilityGroup"] == "EX03"
    assert [d["Name"] for d in run(lab, call("Get-MailboxDatabase", Server="EX03")).output] == ["DB05"]
    assert run(lab, call("Get-MailboxDatabase", "DB01", Status=True)).output[0]["Mounted"] is True
    dag = run(lab, call("Get-DatabaseAvailabilityGroup", "DAG01")).output[0]
    assert dag["Servers"] == ["EX01", "EX02"]
    copies = run(lab, call("Get-MailboxDatabaseCopyStatus", "DB01\\EX02")).output[0]
    assert copies["Status"] == "Healthy" and copies["CopyQueueLength"] == 0
    assert run(lab, call("Get-MailboxDatabaseCopyStatus", "DB01\\EX01")).output[0]["Status"] == "Mounted"


def test_seed_pipeline_from_servers(lab: Lab) -> None:
    result = run(lab, call("Get-ExchangeServer"), call("Get-MailboxDatabase"))
    expected = ["DB01", "DB01", "DB02", "DB02", "DB03", "DB03", "DB04", "DB04", "DB05"]
    assert sorted(d["Name"] for d in result.output) == expected


def test_org_auth_accepted_domain_and_certificates(lab: Lab) -> None:
    assert run(lab, call("Get-OrganizationConfig")).output[0]["Name"] == "Alleo"
    auth = run(lab, call("Get-AuthConfig")).output[0]
    certs = run(lab, call("Get-ExchangeCertificate", Server="EX02")).output
    assert auth["CurrentCertificateThumbprint"] in {c["Thumbprint"] for c in certs}
    assert run(lab, call("Get-ExchangeCertificate", auth["CurrentCertificateThumbprint"])).output
    assert run(lab, call("Get-ExchangeCertificate", "0" * 40)).errors
    accepted = run(lab, call("Get-AcceptedDomain")).output[0]
    assert accepted["DomainName"] == "alleo.intern" and accepted["DomainType"].value == "Authoritative"


def test_imap_settings_defaults_and_seed_change(lab: Lab) -> None:
    imap = run(lab, call("Get-ImapSettings")).output[0]
    assert imap["LoginType"].value == "SecureLogin" and imap["MessageRetrievalMimeFormat"].value == "BestBodyFormat"
    assert imap["InternalConnectionSettings"] == ["EX01.alleo.intern:993:SSL", "EX01.alleo.intern:143:TLS"]
    assert imap["ProtocolLogEnabled"] is False
    changed = run(lab, call("Set-ImapSettings", LoginType="PlainTextLogin", MessageRetrievalMimeFormat="TextOnly"))
    assert changed.warnings == ["Changes to IMAP4 settings will only take effect after all Microsoft Exchange IMAP4 "
                                "services are restarted on server EX01."]
    assert run(lab, call("Get-ImapSettings")).output[0]["LoginType"].value == "PlainTextLogin"
    assert run(lab, call("Get-ImapSettings", Server="EX02")).output[0]["LoginType"].value == "SecureLogin"
    assert run(lab, call("Set-ImapSettings", LoginType="PlainTextLogin")).warnings[0].startswith("The command completed")
    assert run(lab, call("Set-ImapSettings", LoginType="Telnet")).terminating_error

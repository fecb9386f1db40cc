"""playbooks/site.yml against the lab, the way `make demo` and a user run it: ansible-playbook on the
lab's inventory with the demo variables; check mode, apply, apply again."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position
import recap  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-", "Enable-", "Disable-")
RELAY_RIGHT = "ms-exch-smtp-accept-any-recipient"


def text(value):
    """A property value the way a PowerShell user would read it (enums and Exchange types as text)."""
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return None if value is None else str(value)


def by_name(objects):
    return {str(o.properties["Name"]).lower(): o.properties for o in objects}


def exchange_hosts(handle):
    return sorted(name for name, host in handle.hosts.items() if host.role == "exchange")


def relay_users(handle, server, connector):
    """Principals that hold the relay right (not denied) on one receive connector."""
    aces = handle.exchange("Get-ADPermission", Identity="%s\\%s" % (server, connector))
    return sorted(
        str(ace.properties["User"]) for ace in aces
        if RELAY_RIGHT in [r.lower() for r in text(ace.properties.get("ExtendedRights")) or []] and not ace.properties.get("Deny")
    )


def significant(state):
    """The lab state without empty containers (the lab may create an empty table on first read)."""
    if isinstance(state, dict):
        kept = {k: significant(v) for k, v in state.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(state, list):
        return [significant(v) for v in state]
    return state


def write_calls(handle):
    return [(a["host"], a["cmdlet"]) for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def site(handle, scratch, *args, extra=()):
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=(DEMO_VARS,) + tuple(extra), args=args)


def assert_configured(handle):
    send = by_name(handle.exchange("Get-SendConnector"))
    for service, port in (("fax", 2533), ("sms", 2544)):
        conn = send["xphone %s" % service]
        assert [s.lower() for s in text(conn["AddressSpaces"])] == ["smtp:%s.alleo.intern;1" % service]
        assert text(conn["SmartHosts"]) == ["[127.0.0.21]"]      # an IP smart host as Exchange shows it
        assert int(conn["Port"]) == port
        assert text(conn["SmartHostAuthMechanism"]) == "None"
        assert conn["DNSRoutingEnabled"] is False

    domains = by_name(handle.exchange("Get-RemoteDomain"))
    for service in ("fax", "sms"):
        dom = domains[service]
        assert text(dom["DomainName"]).lower() == "%s.alleo.intern" % service
        assert text(dom["CharacterSet"]).lower() == "iso-8859-1"
        assert text(dom["NonMimeCharacterSet"]).lower() == "iso-8859-1"
        assert text(dom["AllowedOOFType"]) == "None"
        assert text(dom["ContentType"]) == "MimeText"
        for flag in ("AutoReplyEnabled", "DeliveryReportEnabled", "NDREnabled", "TNEFEnabled"):
            assert dom[flag] is False, (service, flag, dom[flag])

    for server in exchange_hosts(handle):
        receive = by_name(handle.exchange("Get-ReceiveConnector", Server=server))
        relay = receive["relay xphone"]
        assert text(relay["Bindings"]) == ["0.0.0.0:2500"]
        assert text(relay["RemoteIPRanges"]) == ["127.0.0.21"]
        assert text(relay["TransportRole"]) == "HubTransport"
        assert any("anonymous logon" in u.lower() for u in relay_users(handle, server, "Relay XPhone")), server
        # Only the XPhone connector relays: the server's built-in connectors did not get the right.
        for name in receive:
            if name != "relay xphone":
                assert not any("anonymous logon" in u.lower() for u in relay_users(handle, server, receive[name]["Name"])), name


def test_site_check_then_apply_then_nothing_to_do(lab_env, tmp_path):
    store = lab_env.lab.store
    before = significant(store.snapshot())
    servers = exchange_hosts(lab_env)
    default_domain = by_name(lab_env.exchange("Get-RemoteDomain"))["default"]

    check = site(lab_env, tmp_path, "--check", "--diff")
    assert check.rc == 0, check.output
    assert check.failed == 0
    # Organisation objects (the service account, its rights and policy, 2 send connectors, 2 remote domains) through
    # the first host; on each host a relay connector, its IMAP4 settings and its two IMAP4 services.
    assert check.hosts["ex01"]["changed"] >= 6, check.output
    for name in servers[1:]:
        assert check.hosts[name.lower()]["changed"] == 3, check.output
    # --diff shows what would be created: the routed domains, the relay binding and who may relay.
    for planned in ("SMTP:fax.alleo.intern;1", "sms.alleo.intern", "0.0.0.0:2500", "127.0.0.21", "MimeText"):
        assert planned in check.output, planned
    assert significant(store.snapshot()) == before, "check mode changed the lab's state"
    assert write_calls(lab_env) == [], "check mode called cmdlets that write"

    apply = site(lab_env, tmp_path, "--diff")
    assert apply.rc == 0, apply.output
    assert apply.hosts["ex01"]["changed"] >= 3 and apply.failed == 0, apply.output
    assert_configured(lab_env)
    # Only the UM domains get plain text: the organisation's Default remote domain (*) is untouched.
    assert by_name(lab_env.exchange("Get-RemoteDomain"))["default"] == default_domain

    writes = len(write_calls(lab_env))
    again = site(lab_env, tmp_path)
    assert again.rc == 0, again.output
    assert again.changed == 0, again.output
    # `make demo` gates on the same recap: it passes the second run and would fail the first.
    assert recap.check(recap.parse_recap(again.output), expect_unchanged=True) == []
    assert len(recap.check(recap.parse_recap(apply.output), expect_unchanged=True)) == len(servers)
    assert len(write_calls(lab_env)) == writes, "the second run wrote to Exchange"
    assert_configured(lab_env)


def test_site_never_shows_the_password(lab_env, tmp_path):
    run = site(lab_env, tmp_path, "--diff", "-vvvv")
    assert run.rc == 0, run.output
    assert lab_env.admin_password not in run.output
    assert all(lab_env.admin_password not in repr(entry) for entry in lab_env.audit())

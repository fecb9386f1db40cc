"""The mail_flow role as an administrator changes their mind: each change converges in one run, and a run that fails on
its input changes nothing (issue 9). Every step is check -> apply -> re-apply, with the lab's objects compared to the
state the variables describe after each."""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
SERVERS = ("EX01", "EX02", "EX03")
PORTS = {"fax": 2533, "sms": 2544, "voice": 2555}


def site(handle, scratch, *args, **extra_vars):
    """site.yml's mail flow play (the other plays have their own tests)."""
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=(DEMO_VARS, json.dumps(extra_vars)),
                                    args=("--tags", "mail_flow") + args)


def _text(value):
    """A multi-valued property as a sorted list; Exchange shows an IP smart host in brackets ([192.168.10.25])."""
    texts = [str(v).lower() for v in (value if isinstance(value, list) else [value])]
    return sorted(t[1:-1] if t.startswith("[") and t.endswith("]") else t for t in texts)


def observed(handle):
    """The objects the role manages as the lab has them (send connectors and remote domains of UM domains, and every
    server's relay connector), in comparable form."""
    send = {}
    for conn in handle.exchange("Get-SendConnector"):
        props = conn.properties
        send[str(props["Name"]).lower()] = (_text(props["AddressSpaces"]), _text(props["SmartHosts"]), int(props["Port"]))
    domains = {}
    for domain in handle.exchange("Get-RemoteDomain"):
        props = domain.properties
        domains[str(props["Name"]).lower()] = (str(props["DomainName"]).lower(), str(props["ContentType"]))
    relay = {}
    for server in SERVERS:
        for conn in handle.exchange("Get-ReceiveConnector", Server=server):
            props = conn.properties
            if str(props["Name"]).lower() == "relay xphone":
                relay[server] = (_text(props["Bindings"]), _text(props["RemoteIPRanges"]))
    return dict(send=send, domains=domains, relay=relay)


def expected(baseline, services, domain="alleo.intern", address="127.0.0.21", prefix="XPhone ", relay=True,
             extra_send=None, extra_domains=None, ports=None, domain_prefix=""):
    """What ``baseline`` (the lab before the role) plus the role's objects for these variables looks like."""
    send = dict(baseline["send"])
    domains = dict(baseline["domains"])
    for name in services:
        send[(prefix + name).lower()] = (["smtp:%s.%s;1" % (name, domain)], [address], (ports or PORTS)[name])
        domains[(domain_prefix + name).lower()] = ("%s.%s" % (name, domain), "MimeText")
    send.update(extra_send or {})
    domains.update(extra_domains or {})
    binding = "[::]:2500" if ":" in address else "0.0.0.0:2500"
    relay_state = dict((s, ([binding], [address])) for s in SERVERS) if relay else {}
    return dict(send=send, domains=domains, relay=relay_state)


def converge(handle, scratch, want, **variables):
    """check (changes shown, nothing written) -> apply (the wanted state) -> re-apply (no change)."""
    before = observed(handle)
    checked = site(handle, scratch, "--check", "--diff", **variables)
    assert checked.rc == 0, checked.output
    assert observed(handle) == before
    if want != before:
        assert checked.changed > 0, checked.output
    applied = site(handle, scratch, "--diff", **variables)
    assert applied.rc == 0, applied.output
    assert observed(handle) == want, applied.output
    again = site(handle, scratch, **variables)
    assert again.rc == 0 and again.changed == 0, again.output
    return checked, applied


def test_every_change_of_the_variables_converges(lab_env, tmp_path):
    baseline = observed(lab_env)
    assert baseline["relay"] == {}
    ports = dict(mail_flow_smart_host_ports=PORTS)

    # The vendor procedure's two services.
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms"]), **ports)

    # Add a service.
    three = dict(ports, xphone_um_services=["fax", "sms", "voice"])
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms", "voice"]), **three)

    # Move one service to another port, and rename the remote domains: found by the domain they cover, renamed.
    moved_port = dict(PORTS, sms=2600)
    moved_vars = dict(three)
    moved_vars.update(mail_flow_smart_host_ports=moved_port, mail_flow_remote_domain_prefix="UM-")
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms", "voice"], ports=moved_port, domain_prefix="UM-"),
             **moved_vars)
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms", "voice"]), **three)

    # Drop it: kept by default, with a warning naming the variable that removes it.
    kept = expected(baseline, ["fax", "sms", "voice"])
    checked, applied = converge(lab_env, tmp_path, kept, **ports)
    assert "mail_flow_unlisted_services: remove" in applied.output and "XPhone voice" in applied.output
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms"]), mail_flow_unlisted_services="remove", **ports)

    # Change the XPhone server's address: the send connectors and every server's relay follow in one run.
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms"], address="127.0.0.22"), xphone_server_address="127.0.0.22",
             **ports)

    # Change the UM domain: the remote domains are replaced on purpose, and the diff says so.
    moved = dict(ports, xphone_server_address="127.0.0.22", xphone_um_domain="um.alleo.intern")
    want = expected(baseline, ["fax", "sms"], address="127.0.0.22", domain="um.alleo.intern")
    checked, applied = converge(lab_env, tmp_path, want, **moved)
    for run in (checked, applied):
        assert 'remote domain "fax"' in run.output and "fax.um.alleo.intern" in run.output, run.output

    # Rename the send connectors: the old ones are found by the domains they route and renamed, never duplicated.
    renamed = dict(moved, mail_flow_send_connector_prefix="UM ")
    want = expected(baseline, ["fax", "sms"], address="127.0.0.22", domain="um.alleo.intern", prefix="UM ")
    checked, applied = converge(lab_env, tmp_path, want, **renamed)
    assert 'send connector "UM fax"' in applied.output

    # Absent for one service: its objects go, the relay the other service still uses stays.
    converge(lab_env, tmp_path, expected(baseline, ["fax"], address="127.0.0.22", domain="um.alleo.intern", prefix="UM "),
             mail_flow_state="absent", **dict(renamed, xphone_um_services=["sms"]))

    # Absent for the last service: everything the role made is gone, the lab is as it was.
    converge(lab_env, tmp_path, baseline, mail_flow_state="absent", **dict(renamed, xphone_um_services=["FAX"]))


def test_an_ipv6_xphone_server_gets_an_ipv6_relay_binding(lab_env, tmp_path):
    baseline = observed(lab_env)
    converge(lab_env, tmp_path, expected(baseline, ["fax", "sms"], address="2001:db8::21"),
             xphone_server_address="2001:db8::21", mail_flow_smart_host_ports=PORTS)


def _unchanged_on_failure(handle, scratch, words, **variables):
    before = json.dumps(handle.state(), sort_keys=True, default=str)
    writes = len([a for a in handle.audit() if a["cmdlet"].startswith(("New-", "Set-", "Add-", "Remove-"))])
    run = site(handle, scratch, **variables)
    assert run.rc != 0, run.output
    for word in words:
        assert word in run.output, (word, run.output[-3000:])
    assert json.dumps(handle.state(), sort_keys=True, default=str) == before
    assert len([a for a in handle.audit() if a["cmdlet"].startswith(("New-", "Set-", "Add-", "Remove-"))]) == writes
    return run


def test_a_run_that_fails_on_its_input_changes_nothing(lab_env, tmp_path):
    assert site(lab_env, tmp_path).rc == 0
    # A new address with one invalid remote domain option: the send connectors and relays keep the old address.
    _unchanged_on_failure(lab_env, tmp_path, ["mail_flow_allowed_oof_type", '"Nobody"', "External"],
                          xphone_server_address="127.0.0.22", mail_flow_allowed_oof_type="Nobody")
    # A port out of range for the second service: the first service's connector is not touched either.
    _unchanged_on_failure(lab_env, tmp_path, ["mail_flow_smart_host_ports", "70000"],
                          mail_flow_smart_host_ports={"fax": 2600, "sms": 70000})
    # A relay range Exchange would take but the guard rail refuses, told in the role's variables.
    run = _unchanged_on_failure(lab_env, tmp_path, ["mail_flow_remote_ip_ranges", "10.0.0.0/16",
                                                    "mail_flow_allow_wide_remote_ip_ranges: true"],
                                xphone_server_address="127.0.0.22", mail_flow_remote_ip_ranges=["10.0.0.0/16"])
    assert "allow_wide_remote_ip_ranges: true" not in run.output.replace("mail_flow_allow_wide_remote_ip_ranges: true", "")


def test_names_and_choices_in_any_case(lab_env, tmp_path):
    baseline = observed(lab_env)
    assert site(lab_env, tmp_path).rc == 0
    # The vendor document's spellings, and service names in capitals: the same objects, no change, ports kept.
    again = site(lab_env, tmp_path, xphone_um_services=["FAX", "Sms"], mail_flow_allowed_oof_type="none",
                 mail_flow_character_set="ISO-8859-1", mail_flow_content_type="mimetext")
    assert again.rc == 0 and again.changed == 0, again.output
    assert observed(lab_env) == expected(baseline, ["fax", "sms"])


def test_a_service_without_a_port_entry_is_warned_about(lab_env, tmp_path):
    run = site(lab_env, tmp_path, xphone_um_services=["fax", "voice"])
    assert run.rc == 0, run.output
    assert "UM service voice has no entry in mail_flow_smart_host_ports" in run.output
    assert "voice: <port>" in run.output and "UM service fax has no entry" not in run.output
    send = dict((str(c.properties["Name"]), int(c.properties["Port"])) for c in lab_env.exchange("Get-SendConnector"))
    assert send["XPhone voice"] == 25 and send["XPhone fax"] == 2533


# A new UM domain, with the connection to EX01 reset at a sample of positions through that run (the remote domains are
# removed and created again there): whatever was written before the drop, the next run completes it.
DROP_POSITIONS = 6


def _domain_change(handle, scratch, fault_at=None):
    handle.reset()
    assert site(handle, scratch, "--limit", "ex01", mail_flow_smart_host_ports=PORTS).rc == 0
    handle.reset_stats()
    fired = len(handle.server.faults.fired())
    if fault_at is not None:
        handle.inject_fault("reset", host="EX01", skip=fault_at)
    run = site(handle, scratch, "--limit", "ex01", xphone_um_domain="um.alleo.intern", mail_flow_smart_host_ports=PORTS)
    return run, [f["kind"] for f in handle.server.faults.fired()[fired:]]


def test_a_server_dropping_during_a_domain_change_leaves_what_the_next_run_completes(shared_labs, tmp_path):
    handle = shared_labs("domain-change")
    clean, _none = _domain_change(handle, tmp_path)
    assert clean.rc == 0, clean.output
    requests = handle.host_stats("EX01")["requests"]
    want = observed(handle)
    assert want["domains"]["fax"] == ("fax.um.alleo.intern", "MimeText")
    outcomes = []
    for position in sorted({requests * k // DROP_POSITIONS for k in range(DROP_POSITIONS)}):
        dropped, fired = _domain_change(handle, tmp_path, fault_at=position)
        # The drop happened inside the run (the lab answered that request with a reset).
        assert fired == ["reset"], (position, dropped.output)
        handle.clear_faults()
        assert handle.host_stats("EX01")["sessions_open"] == 0, "a shell was left open"
        outcomes.append((position, dropped.rc))
        again = site(handle, tmp_path, "--limit", "ex01", xphone_um_domain="um.alleo.intern", mail_flow_smart_host_ports=PORTS)
        assert again.rc == 0, again.output
        assert observed(handle)["send"] == want["send"] and observed(handle)["domains"] == want["domains"], (position, again.output)
    assert len(outcomes) >= DROP_POSITIONS

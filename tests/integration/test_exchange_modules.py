# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_remote_domain and exchange_connector through ansible-playbook against the lab.

Each module goes through check mode (changed, nothing written) -> apply -> apply again (not changed)
-> absent, plus bad input. User, password and auth come from the host's psrp inventory variables; only
the endpoint URL is given, through module_defaults of the action group.
"""

from __future__ import annotations

import json
import os
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")

SEED_REMOTE_DOMAIN = {
    "name": "fax", "domain_name": "fax.alleo.intern", "character_set": "iso-8859-1",
    "non_mime_character_set": "iso-8859-1", "allowed_oof_type": "None", "auto_reply_enabled": False,
    "delivery_report_enabled": False, "ndr_enabled": False, "content_type": "MimeText", "tnef_enabled": False,
}
SEND = {"type": "send", "name": "XPhone fax", "address_spaces": ["fax.alleo.intern"], "smart_hosts": ["127.0.0.21"],
        "port": 2533}
RELAY = {"type": "receive", "server": "EX01", "name": "Relay XPhone", "remote_ip_ranges": ["127.0.0.21"],
         "permission_groups": ["AnonymousUsers"], "anonymous_relay": True}


def exchange(handle, cmdlet, **params):
    return [o.properties for o in handle.exchange(cmdlet, **params)]


def named(objects, name):
    return [o for o in objects if str(o["Name"]).lower() == name.lower()]


def writes(handle):
    return [a["cmdlet"] for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def play(handle, scratch, module, args, *cli, register=True, inventory=None, defaults=None):
    """Write a one-task playbook for ``module`` with ``args`` and run it against ex01."""
    task = {"name": "Task under test", "xphone.connect." + module: args}
    tasks = [task]
    if register:
        task["register"] = "out"
        tasks.append({"name": "Show the result", "ansible.builtin.debug": {"msg": "RESULT={{ out | to_json }}"}})
    playbook = [{
        "name": "Exchange module against the lab", "hosts": "ex01", "gather_facts": False,
        "module_defaults": {"group/xphone.connect.exchange": defaults or {"connection_uri": "{{ lab_exchange_uri }}"}},
        "tasks": tasks,
    }]
    path = os.path.join(str(scratch), "play-%s.yml" % module)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(playbook, f)
    run = ansible_run.run_playbook(path, inventory or handle.inventory, str(scratch), args=cli)
    run.result = None
    for line in run.output.splitlines():
        if "RESULT=" in line:
            run.result = json.loads(line.split("RESULT=", 1)[1].rstrip('"').encode().decode("unicode_escape"))
    return run


def test_remote_domain_check_apply_reapply_absent(lab_env, tmp_path):
    check = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN, "--check", "--diff")
    assert check.rc == 0, check.output
    assert check.hosts["ex01"]["changed"] == 1
    assert writes(lab_env) == [] and named(exchange(lab_env, "Get-RemoteDomain"), "fax") == []

    apply = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN)
    assert apply.rc == 0 and apply.hosts["ex01"]["changed"] == 1, apply.output
    (fax,) = named(exchange(lab_env, "Get-RemoteDomain"), "fax")
    assert str(fax["ContentType"]) == "MimeText" and fax["TNEFEnabled"] is False and fax["NDREnabled"] is False
    assert {d["option"] for d in apply.result["differences"]} >= {"content_type", "tnef_enabled", "character_set"}

    again = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN)
    assert again.rc == 0 and again.hosts["ex01"]["changed"] == 0, again.output
    assert again.result["differences"] == []

    gone = play(lab_env, tmp_path, "exchange_remote_domain", {"name": "fax", "state": "absent"})
    assert gone.rc == 0 and gone.hosts["ex01"]["changed"] == 1
    assert named(exchange(lab_env, "Get-RemoteDomain"), "fax") == []


def test_default_remote_domain_is_never_removed(lab_env, tmp_path):
    run = play(lab_env, tmp_path, "exchange_remote_domain", {"name": "Default", "state": "absent"}, register=False)
    assert run.rc != 0 and "Default" in run.output
    assert writes(lab_env) == []


def test_send_connector_cycle(lab_env, tmp_path):
    check = play(lab_env, tmp_path, "exchange_connector", SEND, "--check")
    assert check.rc == 0 and check.hosts["ex01"]["changed"] == 1, check.output
    assert writes(lab_env) == []

    apply = play(lab_env, tmp_path, "exchange_connector", SEND)
    assert apply.rc == 0 and apply.hosts["ex01"]["changed"] == 1, apply.output
    (conn,) = named(exchange(lab_env, "Get-SendConnector"), "XPhone fax")
    assert [str(a) for a in conn["AddressSpaces"]] == ["SMTP:fax.alleo.intern;1"]
    assert int(conn["Port"]) == 2533 and conn["DNSRoutingEnabled"] is False
    assert str(conn["SmartHostAuthMechanism"]) == "None"

    again = play(lab_env, tmp_path, "exchange_connector", dict(SEND, address_spaces=["SMTP:FAX.alleo.intern;1"]))
    assert again.rc == 0 and again.hosts["ex01"]["changed"] == 0, again.output

    before = len(writes(lab_env))
    change = play(lab_env, tmp_path, "exchange_connector", dict(SEND, port=2534))
    assert change.rc == 0 and change.hosts["ex01"]["changed"] == 1
    assert writes(lab_env)[before:] == ["Set-SendConnector"]
    assert [d["option"] for d in change.result["differences"]] == ["port"]

    gone = play(lab_env, tmp_path, "exchange_connector", {"type": "send", "name": "XPhone fax", "state": "absent"})
    assert gone.rc == 0 and gone.hosts["ex01"]["changed"] == 1
    assert named(exchange(lab_env, "Get-SendConnector"), "XPhone fax") == []


def relay_granted(handle):
    entries = exchange(handle, "Get-ADPermission", Identity="EX01\\Relay XPhone", User="S-1-5-7")
    return any("ms-Exch-SMTP-Accept-Any-Recipient" in [str(r) for r in (e.get("ExtendedRights") or [])] for e in entries)


def test_receive_connector_cycle_with_anonymous_relay(lab_env, tmp_path):
    check = play(lab_env, tmp_path, "exchange_connector", RELAY, "--check")
    assert check.rc == 0 and check.hosts["ex01"]["changed"] == 1, check.output
    assert writes(lab_env) == []

    apply = play(lab_env, tmp_path, "exchange_connector", RELAY)
    assert apply.rc == 0 and apply.hosts["ex01"]["changed"] == 1, apply.output
    (conn,) = named(exchange(lab_env, "Get-ReceiveConnector", Server="EX01"), "Relay XPhone")
    assert [str(b) for b in conn["Bindings"]] == ["0.0.0.0:2500"]
    assert str(conn["TransportRole"]) == "HubTransport"
    assert relay_granted(lab_env)

    again = play(lab_env, tmp_path, "exchange_connector", dict(RELAY, remote_ip_ranges=["127.0.0.21/32"]))
    assert again.rc == 0 and again.hosts["ex01"]["changed"] == 0, again.output

    revoke = play(lab_env, tmp_path, "exchange_connector", dict(RELAY, anonymous_relay=False))
    assert revoke.rc == 0 and revoke.hosts["ex01"]["changed"] == 1, revoke.output
    assert not relay_granted(lab_env)

    gone = play(lab_env, tmp_path, "exchange_connector",
                {"type": "receive", "server": "EX01", "name": "Relay XPhone", "state": "absent"})
    assert gone.rc == 0 and gone.hosts["ex01"]["changed"] == 1
    assert named(exchange(lab_env, "Get-ReceiveConnector", Server="EX01"), "Relay XPhone") == []


def test_bad_input_fails_before_any_write(lab_env, tmp_path):
    cases = [
        ("exchange_connector", dict(SEND, address_spaces=["fax..alleo.intern"]), "address_spaces"),
        ("exchange_connector", dict(RELAY, bindings=["0.0.0.0:99999"]), "bindings"),
        ("exchange_connector", dict(RELAY, remote_ip_ranges=["10.0.0.0/16"]), "allow_wide_remote_ip_ranges"),
        ("exchange_connector", dict(RELAY, server="EX77"), "EX77"),
        ("exchange_connector", dict(RELAY, auth_mechanism=["ExternalAuthoritative"]), "allow_external_authoritative"),
        ("exchange_connector", dict(RELAY, bindings=["0.0.0.0:25"]), "Default Frontend EX01"),
        ("exchange_remote_domain", dict(SEED_REMOTE_DOMAIN, line_wrap_size=500), "line_wrap_size"),
        ("exchange_remote_domain", dict(SEED_REMOTE_DOMAIN, bogus=1), "bogus"),
    ]
    for module, args, expected in cases:
        run = play(lab_env, tmp_path, module, args, register=False)
        assert run.rc != 0, (args, run.output)
        assert expected in run.output, (expected, run.output)
    assert writes(lab_env) == []


def test_injection_strings_are_stored_literally(lab_env, tmp_path):
    comment = "x'; Remove-ReceiveConnector *; ' \u2018$(whoami)\u2019 \u201c`n\u201d; \"done\"\nnext"
    run = play(lab_env, tmp_path, "exchange_connector", dict(RELAY, comment=comment, anonymous_relay=None))
    assert run.rc == 0, run.output
    (conn,) = named(exchange(lab_env, "Get-ReceiveConnector", Server="EX01"), "Relay XPhone")
    assert conn["Comment"] == comment
    assert len(exchange(lab_env, "Get-ReceiveConnector", Server="EX01")) >= 2
    again = play(lab_env, tmp_path, "exchange_connector", dict(RELAY, comment=comment, anonymous_relay=None))
    assert again.hosts["ex01"]["changed"] == 0, again.output


def test_password_never_shown_and_host_connection_never_opened(lab_env, tmp_path):
    run = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN, "-vvvv", "--diff")
    assert run.rc == 0, run.output
    assert lab_env.admin_password not in run.output
    assert {a["endpoint"] for a in lab_env.audit()} == {"exchange"}
    wrong = play(lab_env, tmp_path, "exchange_remote_domain", dict(SEED_REMOTE_DOMAIN, password="Wrong-Pass-4711"),
                 "-vvvv", register=False)
    assert wrong.rc != 0 and "Wrong-Pass-4711" not in wrong.output
    assert "rejected the logon of %s" % lab_env.admin_user in wrong.output


def winrm_inventory(handle, scratch, password):
    ep = handle.host("EX01")
    hostvars = {
        "ansible_connection": "winrm", "ansible_host": ep.address, "ansible_port": ep.ports["wsman_http"],
        "ansible_user": handle.admin_user, "ansible_password": "{{ vault_exchange_password }}",
        "ansible_winrm_transport": "ntlm", "ansible_winrm_scheme": "http",
        "vault_exchange_password": password, "lab_exchange_port": ep.ports["http"],
    }
    path = os.path.join(str(scratch), "winrm-inventory.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"all": {"children": {"exchange": {"hosts": {"ex01": hostvars}}}}}, f)
    return path


def test_settings_from_a_winrm_host(lab_env, tmp_path):
    """Address, user, templated password, transport and scheme come from the host's winrm settings."""
    inventory = winrm_inventory(lab_env, tmp_path, lab_env.admin_password)
    run = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN, inventory=inventory,
               defaults={"connection_port": "{{ lab_exchange_port }}"})
    assert run.rc == 0 and run.hosts["ex01"]["changed"] == 1, run.output
    assert named(exchange(lab_env, "Get-RemoteDomain"), "fax")


def test_environment_beats_host_settings_and_options_beat_environment(lab_env, tmp_path, monkeypatch):
    inventory = winrm_inventory(lab_env, tmp_path, lab_env.admin_password)
    defaults = {"connection_port": "{{ lab_exchange_port }}"}
    monkeypatch.setenv("XPHONE_EXCHANGE_PASSWORD", "Env-Wrong-Pass-9")
    run = play(lab_env, tmp_path, "exchange_remote_domain", SEED_REMOTE_DOMAIN, inventory=inventory, defaults=defaults,
               register=False)
    assert run.rc != 0 and "Env-Wrong-Pass-9" not in run.output
    run = play(lab_env, tmp_path, "exchange_remote_domain", dict(SEED_REMOTE_DOMAIN, password=lab_env.admin_password),
               inventory=inventory, defaults=defaults)
    assert run.rc == 0, run.output
    assert lab_env.admin_password not in run.output


def test_frontend_relay_on_port_25_next_to_default_frontend(lab_env, tmp_path):
    """Microsoft's anonymous-relay pattern: a front-end connector on 25 for one host, inside Default Frontend's ranges."""
    args = dict(RELAY, transport_role="FrontendTransport", bindings=["0.0.0.0:25"])
    run = play(lab_env, tmp_path, "exchange_connector", args)
    assert run.rc == 0 and run.hosts["ex01"]["changed"] == 1, run.output
    assert relay_granted(lab_env)
    assert play(lab_env, tmp_path, "exchange_connector", args).hosts["ex01"]["changed"] == 0

"""The mail_flow role's variables, as a user changes them: services and ports, removal, drift, bad input."""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")


def names(objects):
    return sorted(str(o.properties["Name"]).lower() for o in objects)


def by_name(objects):
    return {str(o.properties["Name"]).lower(): o.properties for o in objects}


def site(handle, scratch, *args, **extra_vars):
    """site.yml's mail flow play (the other plays have their own tests)."""
    extra = (DEMO_VARS, json.dumps(extra_vars)) if extra_vars else (DEMO_VARS,)
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=extra, args=("--tags", "mail_flow") + args)


def writes(handle):
    return [a["cmdlet"] for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def test_only_the_listed_services_with_their_ports(lab_env, tmp_path):
    run = site(lab_env, tmp_path, xphone_um_services=["fax"], mail_flow_smart_host_ports={"fax": 2600})
    assert run.rc == 0, run.output
    send = by_name(lab_env.exchange("Get-SendConnector"))
    assert "xphone fax" in send and "xphone sms" not in send
    assert int(send["xphone fax"]["Port"]) == 2600
    assert "fax" in names(lab_env.exchange("Get-RemoteDomain"))
    assert "sms" not in names(lab_env.exchange("Get-RemoteDomain"))


def test_drift_is_repaired_and_reported(lab_env, tmp_path):
    assert site(lab_env, tmp_path).rc == 0
    # An administrator changes things by hand.
    lab_env.exchange("Set-RemoteDomain", Identity="fax", ContentType="MimeHtmlText", TNEFEnabled=True)
    lab_env.exchange("Set-ReceiveConnector", Identity="EX02\\Relay XPhone", RemoteIPRanges=["127.0.0.21", "127.0.0.99"])

    run = site(lab_env, tmp_path, "--diff")
    assert run.rc == 0, run.output
    assert run.hosts["ex01"]["changed"] == 1 and run.hosts["ex02"]["changed"] == 1 and run.hosts["ex03"]["changed"] == 0, run.output
    fax = by_name(lab_env.exchange("Get-RemoteDomain"))["fax"]
    assert str(fax["ContentType"]) == "MimeText" and fax["TNEFEnabled"] is False
    relay = by_name(lab_env.exchange("Get-ReceiveConnector", Server="EX02"))["relay xphone"]
    assert [str(r) for r in relay["RemoteIPRanges"]] == ["127.0.0.21"]


def test_absent_removes_what_the_role_created(lab_env, tmp_path):
    before_send = names(lab_env.exchange("Get-SendConnector"))
    before_domains = names(lab_env.exchange("Get-RemoteDomain"))
    before_receive = names(lab_env.exchange("Get-ReceiveConnector"))
    assert site(lab_env, tmp_path).rc == 0
    assert names(lab_env.exchange("Get-SendConnector")) != before_send

    removed = site(lab_env, tmp_path, mail_flow_state="absent")
    assert removed.rc == 0, removed.output
    assert removed.changed > 0
    assert names(lab_env.exchange("Get-SendConnector")) == before_send
    assert names(lab_env.exchange("Get-RemoteDomain")) == before_domains
    assert names(lab_env.exchange("Get-ReceiveConnector")) == before_receive

    again = site(lab_env, tmp_path, mail_flow_state="absent")
    assert again.rc == 0 and again.changed == 0, again.output


def test_missing_server_address_fails_before_any_change(lab_env, tmp_path):
    run = ansible_run.run_playbook(SITE, lab_env.inventory, str(tmp_path), extra_vars=(json.dumps({"xphone_um_domain": "alleo.intern"}),),
                                   args=("--tags", "mail_flow"))
    assert run.rc != 0
    assert "xphone_server_address" in run.output
    assert writes(lab_env) == []


def test_relay_open_to_a_whole_network_is_refused(lab_env, tmp_path):
    run = site(lab_env, tmp_path, mail_flow_remote_ip_ranges=["10.0.0.0/16"])
    assert run.rc != 0
    assert "10.0.0.0/16" in run.output
    assert "relay xphone" not in names(lab_env.exchange("Get-ReceiveConnector"))


def test_host_name_as_relay_address_is_refused_with_advice(lab_env, tmp_path):
    run = site(lab_env, tmp_path, xphone_server_address="xphone01.alleo.intern")
    assert run.rc != 0
    assert "mail_flow_remote_ip_ranges" in run.output and "xphone01.alleo.intern" in run.output
    assert writes(lab_env) == []


def _refused(handle, scratch, variable, value, *words, **extra):
    """site.yml with one bad variable: fails, the message names the variable, the value and what is accepted, and
    the lab's state is what it was."""
    before = json.dumps(handle.state(), sort_keys=True, default=str)
    run = site(handle, scratch, **dict(extra, **{variable: value}))
    assert run.rc != 0, run.output
    for word in (variable,) + words:
        assert word in run.output, (word, run.output[-2000:])
    assert writes(handle) == []
    assert json.dumps(handle.state(), sort_keys=True, default=str) == before
    return run


def test_each_bad_role_variable_has_its_own_message(lab_env, tmp_path):
    """Each failed pre-check names the variable, the value and what is accepted (issue 9, item 4)."""
    _refused(lab_env, tmp_path, "xphone_um_services", [], "non-empty list", "[]")
    _refused(lab_env, tmp_path, "xphone_um_services", {"fax": 2533}, "is of type dict", "convert to list")
    _refused(lab_env, tmp_path, "xphone_um_services", ["fax", "voice mail"], '"voice mail"', "DNS label")
    _refused(lab_env, tmp_path, "xphone_um_domain", "intern", '"intern"', "at least two labels")
    _refused(lab_env, tmp_path, "xphone_server_address", "", "neither an IP address nor a fully qualified host name", '= ""')
    _refused(lab_env, tmp_path, "xphone_server_address", "300.1.1.1", '"300.1.1.1"', "neither an IP address nor")
    _refused(lab_env, tmp_path, "mail_flow_smart_host_ports", {"fax": 2533, "sms": 70000}, "70000 is not a TCP port",
             "1 to 65535")
    _refused(lab_env, tmp_path, "mail_flow_receive_connector_port", 0, "0 is not a TCP port")

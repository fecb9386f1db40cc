"""The imap role through playbooks/site.yml against the lab: the vendor document's IMAP4 settings on every Exchange
server, both services automatic and running, restarted one server at a time only when the settings changed."""

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
SERVERS = ("EX01", "EX02", "EX03")
SERVICES = ("msexchangeimap4", "msexchangeimap4be")


def imap(handle, *args, scratch, **extra_vars):
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=(DEMO_VARS, json.dumps(extra_vars)),
                                    args=("--tags", "imap") + args)


def settings(handle, server):
    (found,) = handle.exchange("Get-ImapSettings", Server=server)
    return str(found.properties["LoginType"]), str(found.properties["MessageRetrievalMimeFormat"])


def services(handle, server):
    table = handle.state()["hosts"][server]["services"]
    return [(table[s]["start_type"], table[s]["status"]) for s in SERVICES]


def restarts(handle):
    done = []
    for entry in handle.audit():
        if entry["cmdlet"] == "Restart-Service":
            name = entry["parameters"].get("Name")
            done.append((entry["host"], name[0] if isinstance(name, list) else name))
    return done


def test_vendor_settings_services_and_restarts(lab_env, tmp_path):
    state = lab_env.state()
    checked = imap(lab_env, "--check", scratch=tmp_path)
    assert checked.rc == 0 and checked.changed == 6, checked.output  # the settings task and the services task, 3 servers
    assert lab_env.state() == state

    first = imap(lab_env, scratch=tmp_path)
    assert first.rc == 0, first.output
    assert "unencrypted on port 143" in first.output
    for server in SERVERS:
        assert settings(lab_env, server) == ("PlainTextLogin", "TextOnly")
        assert services(lab_env, server) == [("Automatic", "Running")] * 2
    # The services were stopped: starting them applied the settings, no restart on top.
    assert restarts(lab_env) == []

    again = imap(lab_env, scratch=tmp_path)
    assert again.rc == 0 and again.changed == 0, again.output

    # A change of the settings with the services running: both restarted, server after server.
    changed = imap(lab_env, scratch=tmp_path, imap_message_retrieval_mime_format="HtmlOnly")
    assert changed.rc == 0, changed.output
    done = restarts(lab_env)
    assert sorted(done) == sorted((s, n) for s in SERVERS for n in ("MSExchangeIMAP4", "MSExchangeIMAP4BE"))
    # One server at a time: each server's two restarts follow each other, never interleaved with another server's.
    hosts = [host for host, _name in done]
    assert all(h1 == h2 for h1, h2 in zip(hosts[::2], hosts[1::2])), done


def test_no_restart_when_the_user_says_so(lab_env, tmp_path):
    assert imap(lab_env, scratch=tmp_path).rc == 0
    run = imap(lab_env, scratch=tmp_path, imap_login_type="SecureLogin", imap_restart_services=False)
    assert run.rc == 0, run.output
    assert restarts(lab_env) == []
    assert "imap_restart_services is false, so restart them yourself" in run.output
    assert settings(lab_env, "EX02") == ("SecureLogin", "TextOnly")


def test_bad_values_name_the_role_variable_and_change_nothing(lab_env, tmp_path):
    state = lab_env.state()
    run = imap(lab_env, scratch=tmp_path, imap_message_retrieval_mime_format="Markdown")
    assert run.rc != 0 and "imap_message_retrieval_mime_format" in run.output and "TextOnly" in run.output, run.output
    assert lab_env.state() == state
    run = imap(lab_env, scratch=tmp_path, imap_login_type="Telnet")
    assert run.rc != 0 and "imap_login_type" in run.output and "PlainTextLogin" in run.output
    assert lab_env.state() == state


def test_the_exe_config_way_when_asked(lab_env, tmp_path):
    import base64  # pylint: disable=import-outside-toplevel
    path = ("c:\\program files\\microsoft\\exchange server\\v15\\clientaccess\\popimap\\"
            "microsoft.exchange.imap4.exe.config")
    assert imap(lab_env, scratch=tmp_path).rc == 0
    run = imap(lab_env, scratch=tmp_path, imap_exe_config_protocol_log=True)
    assert run.rc == 0, run.output
    for server in SERVERS:
        data = base64.b64decode(lab_env.state()["hosts"][server]["files"][path]["data"])
        assert b'key="ProtocolLog" value="true"' in data
    assert "the next cumulative update replaces it" in run.output
    # The services read the file only when they start: both restarted on every server.
    assert sorted(restarts(lab_env)) == sorted((s, n) for s in SERVERS for n in ("MSExchangeIMAP4", "MSExchangeIMAP4BE"))
    again = imap(lab_env, scratch=tmp_path, imap_exe_config_protocol_log=True)
    assert again.rc == 0 and again.changed == 0, again.output

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One session per host per play, held by ansible-connection: counted through the lab's statistics.

Each test runs ansible-playbook as a user would, against a lab of its own, and reads what the lab saw:
sessions opened and closed per host, logons, failed logons, and the write audit.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import textwrap
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")


def write_play(tmp_path, body, name="play.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def run(handle, tmp_path, play, *args, extra=()):
    return ansible_run.run_playbook(play, handle.inventory, str(tmp_path), extra_vars=tuple(extra), args=args)


def host_stats(handle, host):
    return handle.stats()["hosts"].get(host, {})


def writes(handle):
    return [(a["host"], a["cmdlet"], a.get("parameters", {}).get("Name") or a.get("parameters", {}).get("Identity"))
            for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


# Six items on every Exchange host (organisation-wide objects, so each host has its own names), then a
# second task on every host: seven module runs per host.
MANY_ITEMS = """
- name: Many items on every Exchange host
  hosts: exchange
  gather_facts: false
  tasks:
    - name: Remote domains
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: "um{{ item }}-{{ inventory_hostname }}"
        domain_name: "um{{ item }}.{{ inventory_hostname }}.alleo.intern"
        ndr_enabled: false
      loop: [1, 2, 3, 4, 5, 6]
    - name: Read one again
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: "um1-{{ inventory_hostname }}"
        ndr_enabled: false
"""


@pytest.fixture
def lab(lab_factory):
    return lab_factory()


def test_a_play_with_many_items_opens_one_session_per_host(lab, tmp_path):
    play = write_play(tmp_path, MANY_ITEMS)
    result = run(lab, tmp_path, play)
    assert result.rc == 0, result.output
    exchange = [h for h, ep in lab.hosts.items() if ep.role == "exchange"]
    for host in exchange:
        seen = host_stats(lab, host)
        assert seen["sessions_opened"] == 1, (host, seen)
        assert seen["sessions_open"] == 0, (host, seen)        # closed when the play ended
        assert seen["failed_logons"] == 0
        # 7 module runs per host, each several cmdlets: many pipelines on the one session
        assert seen["pipelines"] >= 7
    assert "XPHONE01" not in exchange and host_stats(lab, "XPHONE01").get("sessions_opened", 0) == 0


def test_the_session_is_closed_when_the_play_ends_not_by_idle_timeout(lab, tmp_path):
    play = write_play(tmp_path, MANY_ITEMS + """
- name: The next play reads the lab while the run goes on
  hosts: ex01
  gather_facts: false
  tasks:
    - name: Read the lab's statistics
      ansible.builtin.uri:
        url: "{{ lab_control_uri }}/stats"
      delegate_to: localhost
      register: lab_stats
    - name: Show them
      ansible.builtin.debug:
        msg: "OPEN_NOW={{ lab_stats.json.sessions.open }}"
""")
    result = run(lab, tmp_path, play)
    assert result.rc == 0, result.output
    assert "OPEN_NOW=0" in result.output


def test_wrong_password_is_one_failed_logon_per_host_and_ends_the_host(lab, tmp_path):
    play = write_play(tmp_path, MANY_ITEMS + """
- name: A later play never reaches the host again
  hosts: exchange
  gather_facts: false
  tasks:
    - name: Same task again
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: um1
""")
    started = time.monotonic()
    result = run(lab, tmp_path, play, extra=("ansible_password=Not-The-Password-7",))
    elapsed = time.monotonic() - started
    assert result.rc != 0
    exchange = sorted(h for h, ep in lab.hosts.items() if ep.role == "exchange")
    for host in exchange:
        assert host_stats(lab, host)["failed_logons"] == 1, host
        assert result.hosts[host.lower()]["unreachable"] == 1
        assert result.hosts[host.lower()]["ok"] == 0
    assert lab.stats()["locked_accounts"] == []
    assert "Not-The-Password-7" not in result.output
    assert "rejected the logon of %s" % lab.admin_user in result.output
    assert "ansible_user/ansible_password" in result.output
    # one item per host reports it; the later items of the same task are skipped, not tried again
    assert len(re.findall(r"^failed: \[ex0\d\] \(item=1\) => .*rejected the logon", result.output, re.M)) == len(exchange)
    assert not re.search(r"^failed: \[ex0\d\] \(item=[2-6]\)", result.output, re.M)
    assert len(re.findall(r"^skipping: \[ex0\d\] => \(item=[2-6]\)", result.output, re.M)) == 5 * len(exchange)
    assert elapsed < 30


def test_missing_password_says_what_to_set(lab, tmp_path):
    play = write_play(tmp_path, """
- name: No password anywhere
  hosts: ex01
  gather_facts: false
  tasks:
    - name: Remote domain
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: um1
""")
    result = run(lab, tmp_path, play, extra=("ansible_password=",))
    assert result.rc != 0
    assert "No password for %s" % lab.admin_user in result.output
    for hint in ("ansible_password", "AWX Machine credential", "XPHONE_EXCHANGE_PASSWORD"):
        assert hint in result.output
    assert host_stats(lab, "EX01").get("logons", 0) == 0


class _Silent(object):
    """A TCP listener that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self._stop = True
        self.sock.close()
        for conn in self.accepted:
            conn.close()


NEVER_ANSWERS = """
- name: Endpoint that accepts and never answers
  hosts: ex01
  gather_facts: false
  tasks:
    - name: Remote domains
      xphone.connect.exchange_remote_domain:
        connection_uri: "http://127.0.0.1:%d/PowerShell"
        connect_timeout: 5
        name: "{{ item }}"
      loop: [um1, um2, um3]
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_endpoint_that_never_answers_fails_within_the_connect_timeout(lab, tmp_path):
    # The same play against a closed port fails at once: its time is what Ansible itself costs here.
    started = time.monotonic()
    refused = run(lab, tmp_path, write_play(tmp_path, NEVER_ANSWERS % _free_port(), "refused.yml"))
    baseline = time.monotonic() - started
    assert refused.hosts["ex01"]["unreachable"] == 1 and "Cannot connect to" in refused.output
    silent = _Silent()
    try:
        started = time.monotonic()
        result = run(lab, tmp_path, write_play(tmp_path, NEVER_ANSWERS % silent.port))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert result.hosts["ex01"]["unreachable"] == 1, result.output
    assert "did not answer within connect_timeout (5 s)" in result.output
    assert len(re.findall(r"^failed: \[ex01\] \(item=um1\) => .*did not answer within", result.output, re.M)) == 1
    assert len(re.findall(r"^skipping: \[ex01\] => \(item=um[23]\)", result.output, re.M)) == 2
    # At most one wait of connect_timeout (5 s) beyond the refused run: not one per item (15 s), not one per retry
    # (25 s and more; it was 94 s). The margin absorbs a busy machine; the message above proves the wait happened.
    assert elapsed - baseline < 5 + 6, (elapsed, baseline)


def test_a_shell_dropped_mid_play_is_reopened_and_the_play_completes(lab, tmp_path):
    play = write_play(tmp_path, """
- name: Shell dropped between two tasks
  hosts: ex01
  gather_facts: false
  tasks:
    - name: First
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: um1
        domain_name: um1.alleo.intern
    - name: The server recycles its app pool
      ansible.builtin.uri:
        url: "{{ lab_control_uri }}/shells/forget"
        method: POST
        body_format: json
        body: {host: EX01}
      delegate_to: localhost
    - name: Second
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: um2
        domain_name: um2.alleo.intern
""")
    result = run(lab, tmp_path, play)
    assert result.rc == 0, result.output
    assert result.hosts["ex01"]["changed"] == 2
    assert host_stats(lab, "EX01")["sessions_opened"] == 2
    assert host_stats(lab, "EX01")["sessions_open"] == 0
    assert [w[1] for w in writes(lab)].count("New-RemoteDomain") == 2


@pytest.mark.parametrize("kind", ["http500", "reset"])
def test_one_transient_fault_before_any_write_is_absorbed(lab, tmp_path, kind):
    play = write_play(tmp_path, MANY_ITEMS)
    lab.inject_fault(kind, host="EX01", action="Receive")
    result = run(lab, tmp_path, play)
    assert result.rc == 0, result.output
    assert result.hosts["ex01"]["failed"] == 0 and result.hosts["ex01"]["unreachable"] == 0
    assert host_stats(lab, "EX01")["sessions_open"] == 0
    assert [w for w in writes(lab) if w[0] == "EX01" and w[1] == "New-RemoteDomain"].__len__() == 6


def test_become_is_ignored_with_a_warning(lab, tmp_path):
    play = write_play(tmp_path, """
- name: become on a controller-side module
  hosts: ex01
  gather_facts: false
  tasks:
    - name: Remote domain
      xphone.connect.exchange_remote_domain:
        connection_uri: "{{ lab_exchange_uri }}"
        name: um1
        domain_name: um1.alleo.intern
      become: true
      become_method: ansible.builtin.runas
      become_user: Administrator
""")
    result = run(lab, tmp_path, play)
    assert result.rc == 0, result.output
    assert "become has no effect on xphone.connect.exchange_remote_domain" in result.output

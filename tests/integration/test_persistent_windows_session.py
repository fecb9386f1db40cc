# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows side of one session per host per play: a Windows module core (the test-only
``xphone_test.probe.windows_registry_probe``, built on xphone.connect's action base) on XPHONE01's /wsman,
over psrp and over winrm as the host's inventory says, counted through the lab's statistics."""

from __future__ import annotations

import os
import sys
import textwrap

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

PROBE = os.path.join(REPO, "tests", "integration", "fixtures", "ansible_collections", "xphone_test")

PLAY = """
- name: Several tasks and items on the XPhone server
  hosts: xphone
  gather_facts: false
  tasks:
    - name: Read the mail client keys
      xphone_test.probe.windows_registry_probe:
        path: "{{ item }}"
      loop:
        - HKLM:\\\\SOFTWARE\\\\Clients\\\\Mail
        - HKLM:\\\\SOFTWARE\\\\Wow6432Node\\\\Clients\\\\Mail
        - HKLM:\\\\SOFTWARE\\\\Missing
      register: keys
    - name: Read one again
      xphone_test.probe.windows_registry_probe:
        path: HKLM:\\\\SOFTWARE\\\\Clients\\\\Mail
    - name: Show the default mail client
      ansible.builtin.debug:
        msg: "CLIENT={{ keys.results[0].properties[0]['(default)'] }}"
"""


def inventory(handle, scratch, wire, password):
    ep = handle.host("XPHONE01")
    hostvars = {"ansible_connection": wire, "ansible_host": ep.address, "ansible_port": ep.ports["wsman_http"],
                "ansible_user": handle.admin_user, "ansible_password": password}
    if wire == "psrp":
        hostvars.update(ansible_psrp_protocol="http", ansible_psrp_auth="ntlm")
    else:
        hostvars.update(ansible_winrm_transport="ntlm", ansible_winrm_scheme="http")
    path = os.path.join(str(scratch), "inventory-%s.yml" % wire)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump({"all": {"children": {"xphone": {"hosts": {"xphone01": hostvars}}}}}, f)
    return path


def run(handle, tmp_path, wire, password=None):
    play = tmp_path / "play.yml"
    play.write_text(textwrap.dedent(PLAY))
    root = ansible_run.collections_tree(str(tmp_path))
    link = os.path.join(root, "ansible_collections", "xphone_test")
    if not os.path.lexists(link):
        os.symlink(PROBE, link)
    return ansible_run.run_playbook(str(play), inventory(handle, tmp_path, wire, password or handle.admin_password),
                                    str(tmp_path))


@pytest.mark.parametrize("wire", ["psrp", "winrm"])
def test_one_logon_for_every_task_and_item_on_a_windows_host(lab_factory, tmp_path, wire):
    handle = lab_factory()
    result = run(handle, tmp_path, wire)
    assert result.rc == 0, result.output
    assert "CLIENT=Windows Mail" in result.output
    seen = handle.stats()["hosts"]["XPHONE01"]
    assert seen["logons"] == 1 and seen["failed_logons"] == 0, seen
    assert seen["sessions_open"] == 0, seen          # closed (or, over WinRS, every shell deleted) by the play's end
    if wire == "psrp":
        assert seen["sessions_opened"] == 1, seen     # one RunspacePool for four module runs
    else:
        assert seen["sessions_opened"] == 4, seen     # pywinrm: a WinRS shell per plan, on one logon


@pytest.mark.parametrize("wire", ["psrp", "winrm"])
def test_wrong_password_on_a_windows_host_is_one_failed_logon(lab_factory, tmp_path, wire):
    handle = lab_factory()
    result = run(handle, tmp_path, wire, password="Not-The-Password-9")
    assert result.hosts["xphone01"]["unreachable"] == 1, result.output
    assert handle.stats()["hosts"]["XPHONE01"]["failed_logons"] == 1
    assert "Not-The-Password-9" not in result.output
    assert "rejected the logon of %s" % handle.admin_user in result.output

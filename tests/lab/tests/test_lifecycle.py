"""The lab's lifecycle (``python -m lab up|status|reset|down``), its control API and persistence."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import typing as t
import urllib.parse

import pytest
import yaml
from pypsrp.powershell import RunspacePool
from pypsrp.wsman import WSMan

from helpers import control, invoke

LAB_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (LAB_PARENT, os.environ.get("PYTHONPATH")) if p))
    return subprocess.run([sys.executable, "-m", "lab", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def exchange_pool(hostvars: dict[str, t.Any]) -> RunspacePool:
    """A pool built only from the inventory's variables, as a module would."""
    uri = urllib.parse.urlsplit(hostvars["lab_exchange_uri"])
    wsman = WSMan(uri.hostname, port=uri.port, path=uri.path.lstrip("/"), ssl=uri.scheme == "https",
                  auth=hostvars["ansible_psrp_auth"], username=hostvars["lab_admin_user"],
                  password=hostvars["lab_admin_password"])
    return RunspacePool(wsman, configuration_name="Microsoft.Exchange")


def remote_domains(control_uri: str) -> list[str]:
    state = control(control_uri, "/state")[1]
    return sorted(rec["Name"] for rec in state["organization"]["remote_domains"].values())


@pytest.fixture
def lab_dir(tmp_path) -> t.Iterator[str]:
    directory = str(tmp_path / "lab")
    yield directory
    cli("down", "--dir", directory)


def test_up_status_reset_down(lab_dir) -> None:
    up = cli("up", "--dir", lab_dir, "--free-ports")
    assert up.returncode == 0, up.stderr
    assert "/PowerShell" in up.stdout and "XPHONE01" in up.stdout and "ca.pem" in up.stdout
    with open(os.path.join(lab_dir, "lab.json"), encoding="utf-8") as f:
        info = json.load(f)
    os.kill(info["pid"], 0)
    assert os.path.exists(os.path.join(lab_dir, "ca.pem"))

    with open(os.path.join(lab_dir, "inventory.yml"), encoding="utf-8") as f:
        inventory = yaml.safe_load(f)
    groups = inventory["all"]["children"]
    assert sorted(groups["exchange"]["hosts"]) == ["ex01", "ex02", "ex03"]
    assert sorted(groups["xphone"]["hosts"]) == ["xphone01"]
    ex01 = groups["exchange"]["hosts"]["ex01"]
    assert ex01["ansible_host"] == "127.0.0.11" and ex01["ansible_user"] == "Administrator@alleo.intern"
    assert ex01["ansible_connection"] == "psrp" and ex01["ansible_psrp_auth"] == "ntlm"
    assert ex01["ansible_psrp_protocol"] == "http" and "ansible_psrp_cert_validation" not in ex01
    assert ex01["lab_wsman_uri"] == f"http://127.0.0.11:{ex01['ansible_port']}/wsman"
    assert ex01["lab_exchange_uri"].endswith("/PowerShell") and ex01["lab_control_uri"] == info["control_uri"]
    assert "lab_exchange_uri" not in groups["xphone"]["hosts"]["xphone01"]

    with exchange_pool(ex01) as pool:
        created = invoke(pool, "New-RemoteDomain", Name="XPhone Fax", DomainName="fax.alleo.intern")
        assert not created.streams.error
    assert "XPhone Fax" in remote_domains(info["control_uri"])

    status = cli("status", "--dir", lab_dir)
    assert status.returncode == 0 and f"pid {info['pid']}" in status.stdout and "1 pipelines" in status.stdout

    again = cli("up", "--dir", lab_dir, "--free-ports")
    assert again.returncode == 0 and "already runs" in again.stdout

    reset = cli("reset", "--dir", lab_dir)
    assert reset.returncode == 0
    assert remote_domains(info["control_uri"]) == ["Default"]

    down = cli("down", "--dir", lab_dir)
    assert down.returncode == 0 and "stopped" in down.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(info["pid"], 0)
    assert cli("status", "--dir", lab_dir).returncode == 3
    assert not os.path.exists(os.path.join(lab_dir, "lab.json"))


def test_state_survives_a_restart_only_with_keep_state(lab_dir) -> None:
    def inventory_ex01() -> dict[str, t.Any]:
        with open(os.path.join(lab_dir, "inventory.yml"), encoding="utf-8") as f:
            return yaml.safe_load(f)["all"]["children"]["exchange"]["hosts"]["ex01"]

    assert cli("up", "--dir", lab_dir, "--free-ports").returncode == 0
    with exchange_pool(inventory_ex01()) as pool:
        invoke(pool, "New-RemoteDomain", Name="XPhone SMS", DomainName="sms.alleo.intern")
    assert cli("down", "--dir", lab_dir).returncode == 0

    assert cli("up", "--dir", lab_dir, "--free-ports", "--keep-state").returncode == 0
    hostvars = inventory_ex01()
    assert "XPhone SMS" in remote_domains(hostvars["lab_control_uri"])
    with exchange_pool(hostvars) as pool:
        [domain] = invoke(pool, "Get-RemoteDomain", Identity="XPhone SMS").output
    assert domain.adapted_properties["DomainName"] == "sms.alleo.intern"
    assert cli("down", "--dir", lab_dir).returncode == 0

    assert cli("up", "--dir", lab_dir, "--free-ports").returncode == 0
    assert remote_domains(inventory_ex01()["lab_control_uri"]) == ["Default"]


def test_up_falls_back_to_free_ports_when_a_standard_port_is_taken(lab_dir, tmp_path) -> None:
    # Addresses of its own, so that a lab already running on the standard ports does not matter.
    with open(os.path.join(LAB_PARENT, "topology", "default.yml"), encoding="utf-8") as f:
        topology = yaml.safe_load(f)
    for i, host in enumerate(topology["hosts"]):
        host["address"] = f"127.0.0.{61 + i}"
    path = tmp_path / "topology.yml"
    path.write_text(yaml.safe_dump(topology), encoding="utf-8")
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.61", 5985))
        blocker.listen()
        up = cli("up", "--dir", lab_dir, "--topology", str(path))
        assert up.returncode == 0, up.stderr
        assert "free ports are used" in up.stdout
        with open(os.path.join(lab_dir, "lab.json"), encoding="utf-8") as f:
            info = json.load(f)
        assert info["endpoints"]["EX01"]["address"] == "127.0.0.61"
        assert info["endpoints"]["EX01"]["ports"]["wsman_http"] != 5985
    finally:
        blocker.close()


def test_control_api(lab_env) -> None:
    uri = lab_env.control_uri
    status, state = control(uri, "/state")
    assert status == 200 and "organization" in state
    text = json.dumps(state)
    for acc in lab_env.lab.topology["accounts"]:
        assert acc["password"] not in text

    status, fault = control(uri, "/faults", "POST", {"kind": "http500", "count": 2, "host": "EX02"})
    assert status == 201 and fault["count"] == 2
    assert control(uri, "/faults", "POST", {"kind": "meteor"})[0] == 400
    assert control(uri, "/faults")[1]["faults"][0]["host"] == "EX02"
    assert control(uri, "/faults", "DELETE")[1] == {"removed": 1}
    assert control(uri, "/latency", "PUT", {"per_request_ms": 3})[1]["per_request_ms"] == 3.0
    assert lab_env.server.faults.latency.per_request_ms == 3.0

    pool = RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange")
    pool.open()
    invoke(pool, "Get-RemoteDomain")
    stats = control(uri, "/stats")[1]
    assert stats["sessions"]["open"] == 1 and stats["requests"] >= 3
    assert control(uri, "/shells")[1][0]["user"] == "ALLEO\\Administrator"
    assert control(uri, "/shells/forget", "POST", {"host": "EX01"})[1] == {"forgotten": 1}
    stats = control(uri, "/stats")[1]
    assert stats["pipelines"] == 1 and stats["sessions"]["opened"] == 1
    assert any("Get-RemoteDomain" in json.dumps(entry) for entry in control(uri, "/audit")[1])

    assert control(uri, "/reset", "POST", {})[1] == {"reset": True}
    assert control(uri, "/stats")[1]["requests"] == 0
    assert lab_env.server.faults.latency.per_request_ms == 0.0
    assert control(uri, "/nothing")[0] == 404


def test_fixture_inventory_is_read_by_ansible(lab_env) -> None:
    ansible_inventory = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(ansible_inventory):
        pytest.skip("ansible-inventory is not installed next to this Python")
    result = subprocess.run([ansible_inventory, "-i", lab_env.inventory, "--list"], capture_output=True, text=True,
                            timeout=120, check=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    data = json.loads(result.stdout)
    assert sorted(data["exchange"]["hosts"]) == ["ex01", "ex02", "ex03"] and data["xphone"]["hosts"] == ["xphone01"]
    xphone = data["_meta"]["hostvars"]["xphone01"]
    assert xphone["ansible_host"] == "127.0.0.21"
    assert xphone["ansible_port"] == lab_env.host("XPHONE01").ports["wsman_http"]
    assert xphone["lab_wsman_uri"] == lab_env.wsman_uri("XPHONE01")
    assert data["_meta"]["hostvars"]["ex02"]["lab_exchange_uri"] == lab_env.exchange_uri("EX02")

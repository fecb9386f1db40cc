"""Benchmark of the lab's transport: requests per operation, loopback latency, server time per request.

Starts the lab in its own process (``python -m lab serve`` on free ports) so that client and server do
not share a GIL, then times the real clients:

  pypsrp pool open + invoke + close   Basic (https), NTLM (http + encryption), Negotiate (https + CBT)
  pypsrp invoke on an open pool        NTLM (http + encryption)
  pywinrm run_cmd                      NTLM (http + encryption; pywinrm re-authenticates every call)

Usage: python tests/lab/bench.py [-n 50]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request

import winrm
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

HERE = os.path.dirname(os.path.abspath(__file__))


def control(uri: str, path: str, method: str = "GET", body: t.Any = None) -> t.Any:
    """One call of the lab's control API (JSON in and out)."""
    data = json.dumps(body if body is not None else {}).encode() if method in ("POST", "PUT") else None
    req = urllib.request.Request(uri + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # nosec: loopback control API
        return json.loads(resp.read())


def start(directory: str, kerberos: bool = False) -> tuple[subprocess.Popen, dict[str, t.Any]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.Popen([sys.executable, "-m", "lab", "serve", "--dir", directory, "--free-ports"]  # pylint: disable=consider-using-with
                            + (["--kerberos"] if kerberos else []),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        raise SystemExit("the lab did not start")
    return proc, json.loads(line)


def _pcts(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="iterations per scenario")
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    from lab.kerberos import unavailable_reason  # pylint: disable=import-outside-toplevel

    reason = unavailable_reason()
    if reason:
        print(f"(no Kerberos scenarios: {reason})")
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as directory:
        proc, info = start(directory, kerberos=reason is None)
        try:
            return _run(info, args.n)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _run(info: dict[str, t.Any], n: int) -> int:
    control_uri = info["control_uri"]
    ex = info["endpoints"]["EX01"]
    address = ex["address"]
    user, password = "Administrator@alleo.intern", "Lab-Admin-2019!"
    with open(os.path.join(HERE, "topology", "default.yml"), encoding="utf-8") as f:
        if password not in f.read():
            raise SystemExit("bench.py expects the default topology's Administrator password")

    def wsman(auth: str, https: bool) -> WSMan:
        if auth == "kerberos":
            return WSMan(address, port=ex["ports"]["https" if https else "http"], path="PowerShell", ssl=https,
                         auth=auth, username="Administrator@ALLEO.INTERN", password=password,
                         negotiate_hostname_override="ex01.alleo.intern", cert_validation=info["ca_file"] if https else False)
        return WSMan(address, port=ex["ports"]["https" if https else "http"], path="PowerShell", ssl=https, auth=auth,
                     username=user, password=password, cert_validation=info["ca_file"] if https else False)

    def invoke(pool: RunspacePool) -> None:
        ps = PowerShell(pool)
        ps.add_cmdlet("Get-RemoteDomain").add_parameter("Identity", "Default")
        ps.invoke()
        if ps.had_errors or not ps.output:
            raise SystemExit(f"unexpected result: {ps.streams.error}")

    def full_cycle(auth: str, https: bool) -> t.Callable[[], None]:
        def op() -> None:
            with RunspacePool(wsman(auth, https), configuration_name="Microsoft.Exchange") as pool:
                invoke(pool)
        return op

    open_pool: dict[str, RunspacePool] = {}

    def invoke_on_open_pool() -> None:
        invoke(open_pool["pool"])

    session = winrm.Session(ex["wsman_http_uri"], auth=("ALLEO\\Administrator", password), transport="ntlm")

    def run_cmd() -> None:
        session.run_cmd("hostname")

    scenarios: list[tuple[str, t.Callable[[], None]]] = [
        ("pypsrp open+invoke+close, Basic/https", full_cycle("basic", True)),
        ("pypsrp open+invoke+close, NTLM/http+enc", full_cycle("ntlm", False)),
        ("pypsrp open+invoke+close, Negotiate/https+CBT", full_cycle("negotiate", True)),
        ("pypsrp invoke on open pool, NTLM/http+enc", invoke_on_open_pool),
        ("pywinrm run_cmd, NTLM/http+enc", run_cmd),
    ]
    if info.get("kerberos"):
        # The client side of the lab's realm (its krb5.conf and ticket cache) for this process.
        os.environ.update({k: v for k, v in info["kerberos"]["client_env"].items() if k.startswith("KRB5")})
        scenarios[3:3] = [("pypsrp open+invoke+close, Kerberos/http+enc", full_cycle("kerberos", False)),
                          ("pypsrp open+invoke+close, Kerberos/https+CBT", full_cycle("kerberos", True))]
    print(f"{'scenario':48} {'POSTs/op':>8} {'WSMan/op':>8} {'median ms':>10} {'p90 ms':>8} {'server ms/req med/p90':>22}")
    for name, op in scenarios:
        if op is invoke_on_open_pool:
            open_pool["pool"] = RunspacePool(wsman("ntlm", False), configuration_name="Microsoft.Exchange")
            open_pool["pool"].open()
        op()                                      # warm-up: imports, first connection
        control(control_uri, "/stats/reset", "POST")
        samples = []
        for _round in range(n):
            start = time.perf_counter()
            op()
            samples.append((time.perf_counter() - start) * 1000.0)
        stats = control(control_uri, "/stats")
        if op is invoke_on_open_pool:
            open_pool.pop("pool").close()
        med, p90 = _pcts(samples)
        server = f"{stats['server_ms_median']:.2f}/{stats['server_ms_p90']:.2f}"
        print(f"{name:48} {stats['http_posts'] / n:8.1f} {stats['requests'] / n:8.1f} {med:10.1f} {p90:8.1f} {server:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

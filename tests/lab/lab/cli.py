"""``python -m lab up|down|status|reset|serve``: the lab as a background process.

``up`` starts ``serve`` detached (its own session, output in DIR/lab.log), waits until the control
API answers and prints the endpoints; ``serve`` runs the lab in the foreground until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import typing as t
import urllib.error
import urllib.request

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read_info(directory: str) -> dict[str, t.Any] | None:
    try:
        with open(os.path.join(directory, "lab.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def control(uri: str, path: str, method: str = "GET", body: dict[str, t.Any] | None = None, timeout: float = 5.0) -> t.Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(uri + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # nosec: loopback control API
        return json.loads(resp.read() or b"null")


def _running(directory: str) -> dict[str, t.Any] | None:
    info = _read_info(directory)
    if not info or not _alive(int(info.get("pid", 0))):
        return None
    try:
        control(info["control_uri"], "/stats", timeout=2.0)
    except (OSError, urllib.error.URLError):
        return None
    return info


def _print_endpoints(info: dict[str, t.Any]) -> None:
    for name, ep in sorted(info["endpoints"].items()):
        uris = [ep[k] for k in ("exchange_http_uri", "exchange_https_uri", "wsman_http_uri", "wsman_https_uri") if k in ep]
        print(f"  {name:10} {ep['role']:9} {'  '.join(uris)}")
    print(f"  control    {info['control_uri']}")
    print(f"  inventory  {info['inventory']}")
    if info.get("ca_file"):
        print(f"  CA         {info['ca_file']} (the https listeners' certificate authority)")
    krb = info.get("kerberos")
    if krb:
        print(f"  Kerberos   realm {krb['realm']}, KDC {krb['kdc']} (MIT krb5kdc, the lab's child), keytab {krb['keytab']}")
        print("  A Kerberos client needs this environment (eval \"$(python -m lab env --dir DIR)\" sets it):")
        for key, value in sorted(krb["client_env"].items()):
            print(f"    export {key}={value}")


def cmd_up(args: argparse.Namespace) -> int:
    directory = os.path.abspath(args.dir)
    info = _running(directory)
    if info:
        print(f"The lab already runs (pid {info['pid']}):")
        _print_endpoints(info)
        return 0
    os.makedirs(directory, exist_ok=True)
    stale = os.path.join(directory, "lab.json")
    if os.path.exists(stale):
        os.unlink(stale)
    cmd = [sys.executable, "-m", "lab", "serve", "--dir", directory]
    if args.topology:
        cmd += ["--topology", os.path.abspath(args.topology)]
    if args.free_ports:
        cmd.append("--free-ports")
    if args.keep_state:
        cmd.append("--keep-state")
    if args.kerberos:
        cmd.append("--kerberos")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    with open(os.path.join(directory, "lab.log"), "ab") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                env=env, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"The lab failed to start (exit code {proc.returncode}); see {os.path.join(directory, 'lab.log')}",
                  file=sys.stderr)
            return 1
        info = _read_info(directory)
        if info and info.get("pid") == proc.pid and _running(directory):
            break
        time.sleep(0.1)
    else:
        print(f"The lab did not answer within {args.timeout} s; see {os.path.join(directory, 'lab.log')}", file=sys.stderr)
        return 1
    print(f"The lab runs (pid {info['pid']}):")
    _print_endpoints(info)
    if info.get("fell_back_to_free_ports") and not args.free_ports:
        print("  note: the standard ports (80/443/5985/5986) could not be bound (not root, or in use); free ports are used.")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    directory = os.path.abspath(args.dir)
    info = _read_info(directory)
    if not info or not _alive(int(info.get("pid", 0))):
        print("The lab is not running.")
        if info:
            os.unlink(os.path.join(directory, "lab.json"))
        return 0
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        print(f"The lab (pid {pid}) did not stop within {args.timeout} s.", file=sys.stderr)
        return 1
    if os.path.exists(os.path.join(directory, "lab.json")):
        os.unlink(os.path.join(directory, "lab.json"))
    print(f"The lab (pid {pid}) stopped.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    info = _running(os.path.abspath(args.dir))
    if not info:
        print("The lab is not running.")
        return 3
    stats = control(info["control_uri"], "/stats")
    print(f"The lab runs (pid {info['pid']}): {stats['requests']} requests, "
          f"{stats['sessions']['open']} open sessions ({stats['sessions']['opened']} opened), {stats['pipelines']} pipelines.")
    _print_endpoints(info)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    info = _running(os.path.abspath(args.dir))
    if not info:
        print("The lab is not running.", file=sys.stderr)
        return 1
    control(info["control_uri"], "/reset", method="POST", body={})
    print("The lab is back to its topology (state, sessions, lockouts, faults).")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    info = _running(os.path.abspath(args.dir))
    if not info:
        print("The lab is not running.", file=sys.stderr)
        return 1
    krb = info.get("kerberos")
    if not krb:
        print("The lab runs without Kerberos (start it with `python -m lab up --kerberos`).", file=sys.stderr)
        return 1
    for key, value in sorted(krb["client_env"].items()):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .control import RunningLab  # pylint: disable=import-outside-toplevel  # keep `down`/`status` light

    running = RunningLab(args.dir, args.topology, free_ports=args.free_ports, keep_state=args.keep_state,
                         control_port=args.control_port, kerberos=args.kerberos).start()
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: t.Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    print(json.dumps(running.info()), flush=True)
    stop.wait()
    running.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description="The xphone.connect lab (loopback Exchange/Windows).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "serve"):
        p = sub.add_parser(name, help="start the lab in the background" if name == "up" else "run the lab in the foreground")
        p.add_argument("--dir", required=True, help="runtime directory (lab.json, inventory.yml, ca.pem, state.json, lab.log)")
        p.add_argument("--topology", help="topology YAML (default: tests/lab/topology/default.yml)")
        p.add_argument("--free-ports", action="store_true", help="use free ports instead of 80/443/5985/5986")
        p.add_argument("--keep-state", action="store_true", help="reuse DIR/state.json from an earlier run")
        p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the lab to answer")
        p.add_argument("--kerberos", action="store_true",
                       help="also run a real MIT KDC for the topology's realm (krb5kdc, the lab's child); the inventory "
                            "then uses Kerberos")
        if name == "serve":
            p.add_argument("--control-port", type=int, default=0)
    for name, text in (("down", "stop the lab"), ("status", "say what runs"), ("reset", "return the running lab to its topology"),
                       ("env", "print the Kerberos client environment of a running Kerberos lab as export lines")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--dir", required=True)
        p.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    handler: t.Callable[[argparse.Namespace], int] = {
        "up": cmd_up, "down": cmd_down, "status": cmd_status, "reset": cmd_reset, "serve": cmd_serve, "env": cmd_env,
    }[args.command]
    return handler(args)

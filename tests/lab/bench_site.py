"""Benchmark of a whole run: playbooks/site.yml against the lab's default topology, beside a no-op play.

Under the real-server latency profile (a session open costs 1.5 s, every request 20 ms: the costs measured
on a real Exchange server), each repetition times, one after another on the same lab:

  first run   site.yml on a reset lab (everything is created)
  re-run      site.yml again (nothing changes: the idempotent run users repeat most)
  no-op play  tests/lab/bench_noop.yml: the same plays, hosts, tasks and loop items, each an
              ansible.builtin.debug, i.e. what Ansible itself costs for a play of that shape

and prints min and median wall time of each, the re-run's ratio to the no-op play, and what the lab saw
per host in the last repetition: sessions opened, logons, failed logons, WS-Management requests and
pipelines. The aim: sessions opened = number of hosts, and a re-run within 2x the no-op play plus one
session open.

Usage: python tests/lab/bench_site.py [-n 3] [--collections PATH] [--open-ms 1500] [--request-ms 20]
       --collections runs another checkout (e.g. a git worktree of an older commit laid out as
       PATH/ansible_collections/xphone/connect), for before/after figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import typing as t

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
sys.path.insert(0, HERE)

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position
from bench import control, start  # noqa: E402  # pylint: disable=wrong-import-position

DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")


def _playbook(path: str, inventory: str, scratch: str, collections: str | None) -> tuple[float, ansible_run.PlaybookRun]:
    if collections:
        os.environ["XPHONE_TEST_COLLECTIONS_PATH"] = collections
    started = time.perf_counter()
    run = ansible_run.run_playbook(path, inventory, scratch, extra_vars=(DEMO_VARS,))
    elapsed = time.perf_counter() - started
    if run.rc != 0:
        raise SystemExit("%s failed:\n%s" % (path, run.output[-3000:]))
    return elapsed, run


def _per_host(stats: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return {h: v for h, v in (stats.get("hosts") or {}).items() if v.get("requests")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--collections", help="collections path of the collection to measure (default: this checkout)")
    parser.add_argument("--open-ms", type=float, default=1500.0, help="latency of a session open (default 1500)")
    parser.add_argument("--request-ms", type=float, default=20.0, help="latency of every request (default 20)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-site-") as directory:
        proc, info = start(os.path.join(directory, "lab"))
        try:
            return _run(args, info, directory)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _run(args: argparse.Namespace, info: dict[str, t.Any], scratch: str) -> int:
    control_uri = info["control_uri"]
    inventory = info["inventory"]
    times: dict[str, list[float]] = {"first run": [], "re-run": [], "no-op play": []}
    seen: dict[str, dict[str, t.Any]] = {}
    for _rep in range(args.n):
        control(control_uri, "/reset", "POST")
        control(control_uri, "/latency", "PUT", {"per_request_ms": args.request_ms, "per_shell_open_ms": args.open_ms})
        for label, path in (("first run", "playbooks/site.yml"), ("re-run", "playbooks/site.yml"),
                            ("no-op play", os.path.join(HERE, "bench_noop.yml"))):
            control(control_uri, "/stats/reset", "POST")
            elapsed, run = _playbook(path, inventory, scratch, args.collections)
            if label == "re-run" and run.changed:
                raise SystemExit("the re-run changed %d objects; it must change nothing" % run.changed)
            times[label].append(elapsed)
            seen[label] = control(control_uri, "/stats")
    print("site.yml on the default topology (3 Exchange servers, 2 UM services), %d repetitions, latency: session "
          "open %.0f ms, request %.0f ms" % (args.n, args.open_ms, args.request_ms))
    print("  %-12s %8s %8s" % ("", "min s", "median s"))
    for label, samples in times.items():
        print("  %-12s %8.2f %8.2f" % (label, min(samples), statistics.median(samples)))
    noop = statistics.median(times["no-op play"])
    rerun = statistics.median(times["re-run"])
    print("  re-run / no-op play: %.2fx; re-run - (no-op + one session open) = %+.2f s"
          % (rerun / noop, rerun - (noop + args.open_ms / 1000.0)))
    for label in ("first run", "re-run"):
        hosts = _per_host(seen[label])
        stats = seen[label]
        print("  %s: %d WS-Management requests, %d pipelines, %d sessions opened for %d hosts"
              % (label, stats["requests"], stats["pipelines"], stats["sessions"]["opened"], len(hosts) or 0))
        for host, per in sorted(hosts.items()):
            print("    %-8s sessions opened %-3s logons %-3s failed logons %-3s requests %-4s pipelines %s"
                  % (host, per.get("sessions_opened"), per.get("logons"), per.get("failed_logons"), per.get("requests"),
                     per.get("pipelines")))
    return 0


if __name__ == "__main__":
    sys.exit(main())

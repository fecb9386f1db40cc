#!/usr/bin/env python
"""Read the PLAY RECAP of an ansible-playbook log and check the counters.

    recap.py LOG [--expect-unchanged] [--expect-changed]

Prints one line per host. Exits 1 when a host failed or was unreachable, when --expect-unchanged is
given and a host reports changed>0 (the second run of an idempotent playbook), or when --expect-changed
is given and no host changed anything. Exits 2 when the log has no recap at all.
"""

import argparse
import re
import sys

RECAP_LINE = re.compile(r"^(?P<host>\S+)\s*:\s*(?P<counters>(?:\w+=\d+\s*)+)$")


def parse_recap(text):
    """Return {host: {counter: int}} from the last PLAY RECAP block of an ansible-playbook log."""
    hosts = {}
    in_recap = False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap, hosts = True, {}
            continue
        if not in_recap:
            continue
        match = RECAP_LINE.match(line.strip())
        if match:
            hosts[match.group("host")] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group("counters"))}
        elif line.strip():
            in_recap = False
    return hosts


def check(hosts, expect_unchanged=False, expect_changed=False):
    """Return a list of problems (empty when the recap is as expected)."""
    problems = []
    for host, counters in sorted(hosts.items()):
        if counters.get("failed", 0) or counters.get("unreachable", 0):
            problems.append("%s: failed=%d unreachable=%d" % (host, counters.get("failed", 0), counters.get("unreachable", 0)))
        if expect_unchanged and counters.get("changed", 0):
            problems.append("%s: changed=%d on a run that should change nothing" % (host, counters["changed"]))
    if expect_changed and not any(c.get("changed", 0) for c in hosts.values()):
        problems.append("no host reported a change")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--expect-unchanged", action="store_true")
    parser.add_argument("--expect-changed", action="store_true")
    args = parser.parse_args()
    with open(args.log, encoding="utf-8") as handle:
        hosts = parse_recap(handle.read())
    if not hosts:
        sys.stderr.write("%s: no PLAY RECAP found\n" % args.log)
        sys.exit(2)
    total = {key: sum(c.get(key, 0) for c in hosts.values()) for key in ("ok", "changed", "failed", "unreachable")}
    sys.stdout.write("recap: %d hosts, %s\n" % (len(hosts), " ".join("%s=%d" % kv for kv in total.items())))
    problems = check(hosts, args.expect_unchanged, args.expect_changed)
    for problem in problems:
        sys.stderr.write("FAIL %s\n" % problem)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

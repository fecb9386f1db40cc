"""How sure the lab is of itself: the rows of tests/lab/FIDELITY.md by status, per section and in all.

``python tests/lab/fidelity_share.py`` prints one line per section and a total, so the share of assumed rows can be
followed from run to run (`make test-lab` prints it). A row counts as

- **verified** when its status names only verified facts (``**verified**`` and nothing assumed, contradicted or
  conflicting),
- **mixed** when it is verified in part and assumed (or not modelled) in part,
- **assumed** when nothing in it is verified,
- **lab design** for the lab's own mechanisms (fault injection, statistics, the audit log), which have nothing to
  verify against.

A known lab bug counts as assumed.

``--check`` exits non-zero when a table row has no recognisable status (every row must say how sure it is).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIDELITY = os.path.join(HERE, "FIDELITY.md")
_SEPARATOR = re.compile(r"^\|\s*-{3,}")


def _cells(line: str) -> list[str]:
    # A cell may contain "\|" only inside code; FIDELITY.md does not use it, so a plain split is enough.
    return [c.strip() for c in line.strip().strip("|").split("|")]


def classify(status: str) -> str | None:
    text = status.lower()
    verified = "verified" in text
    doubtful = any(word in text for word in ("assumed", "contradicted", "conflicting", "not modelled", "deliberately",
                                             "lab bug"))
    if "lab design" in text or "lab-only" in text or "lab simplification" in text and not verified:
        return "lab design"
    if verified and not doubtful:
        return "verified"
    if verified:
        return "mixed"
    if doubtful:
        return "assumed"
    return None


def rows(path: str = FIDELITY) -> list[tuple[str, str, str | None]]:
    """(section, first cell, class) for every table row."""
    out = []
    section = ""
    header: list[str] | None = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                section = line.lstrip("#").strip()
                header = None
                continue
            if not line.startswith("|"):
                header = None
                continue
            if _SEPARATOR.match(line):
                continue
            cells = _cells(line)
            if header is None:
                header = [c.lower() for c in cells]
                continue
            status_at = next((i for i, name in enumerate(header) if name == "status"), None)
            if status_at is None or status_at >= len(cells):
                # Tables without a status column (e.g. the old two-column form): the status is the second cell.
                status_at = 1 if len(cells) > 1 else 0
            out.append((section, cells[0][:80], classify(cells[status_at])))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a row has no recognisable status")
    parser.add_argument("--file", default=FIDELITY, help="another FIDELITY.md (e.g. an older commit's)")
    args = parser.parse_args(argv)
    found = rows(args.file)
    per_section: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for section, _first, cls in found:
        per_section[section][cls or "unclassified"] += 1
    total: collections.Counter[str] = collections.Counter(cls or "unclassified" for _s, _f, cls in found)
    kinds = ("verified", "mixed", "assumed", "lab design", "unclassified")

    def line(name: str, counts: collections.Counter[str]) -> str:
        n = sum(counts.values())
        parts = "  ".join(f"{k} {counts[k]:3d}" for k in kinds if counts[k] or k != "unclassified")
        share = 100.0 * counts["assumed"] / n if n else 0.0
        return f"{name[:44]:44} rows {n:3d}  {parts}  assumed {share:4.1f}%"

    print("FIDELITY.md, rows by status (verified: sourced; mixed: partly sourced; assumed: no source yet)")
    for section, counts in per_section.items():
        print(line(section, counts))
    print(line("all", total))
    unclassified = [(s, f) for s, f, c in found if c is None]
    if args.check and unclassified:
        for section, first in unclassified:
            print(f"no status: [{section}] {first}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

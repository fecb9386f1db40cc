"""fidelity_share.py: every row of FIDELITY.md says how sure it is, and the classes are told apart correctly."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import fidelity_share  # noqa: E402  # pylint: disable=wrong-import-position


@pytest.mark.parametrize("status, expected", [
    ("**verified**", "verified"),
    ("**verified** (texts) / assumed (the exception class)", "mixed"),
    ("**verified** / not modelled (Edge servers)", "mixed"),
    ("**verified** (text) / contradicted (code)", "mixed"),
    ("assumed", "assumed"),
    ("assumed (text and non-terminating)", "assumed"),
    ("lab design", "lab design"),
    ("lab-only", "lab design"),
    ("lab bug", "assumed"),
    ("", None),
    ("see below", None),
])
def test_classify(status, expected):
    assert fidelity_share.classify(status) == expected


def test_every_row_of_fidelity_md_has_a_status(tmp_path, capsys):
    assert fidelity_share.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("all") and "assumed" in out
    # A row without a status is reported and fails the check.
    broken = tmp_path / "FIDELITY.md"
    broken.write_text("## S\n\n| what | status | source |\n| --- | --- | --- |\n| a row | somewhere | x |\n"
                      "| another | **verified** | y |\n", encoding="utf-8")
    assert fidelity_share.main(["--check", "--file", str(broken)]) == 1
    assert "no status: [S] a row" in capsys.readouterr().err
    assert [cls for _s, _f, cls in fidelity_share.rows(str(broken))] == [None, "verified"]

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throttling fault at every reply position of a site.yml run: no write is ever sent twice, no shell is left
open, and the run ends in the state a clean run reaches.

The clean run is measured first (how many WS-Management requests EX01 answers); then, for each position k,
the lab answers the k-th request of EX01 with WinRM's quota fault, whatever that request is (shell
creation, command creation, the reply of a read, the reply of a write, the pipeline's close).
"""

from __future__ import annotations

import collections
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import ansible_run  # noqa: E402  # pylint: disable=wrong-import-position

SITE = "playbooks/site.yml"
DEMO_VARS = "@" + os.path.join(REPO, "playbooks", "vars", "demo.yml")
WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")


def site(handle, scratch):
    return ansible_run.run_playbook(SITE, handle.inventory, str(scratch), extra_vars=(DEMO_VARS,), args=("--limit", "ex01"))


# Stamped by the server on every object it creates: never equal between two runs.
VOLATILE = ("Guid", "guid", "password_hash", "WhenCreated", "WhenChanged", "WhenCreatedUTC", "WhenChangedUTC", "generation",
            "updated")


def significant(state):
    if isinstance(state, dict):
        kept = {k: significant(v) for k, v in state.items() if k not in VOLATILE}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(state, list):
        return [significant(v) for v in state]
    return state


def repeated_writes(handle):
    """Writes that reached the lab more than once with the same parameters (a write sent twice)."""
    seen = collections.Counter((a["cmdlet"], repr(sorted(a["parameters"].items())))
                               for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS))
    return [k for k, n in seen.items() if n > 1]


@pytest.fixture(scope="module")
def clean(shared_labs, tmp_path_factory):
    """The clean run's request count for EX01 and its end state."""
    handle = shared_labs("clean")
    handle.reset()
    result = site(handle, tmp_path_factory.mktemp("clean"))
    assert result.rc == 0, result.output
    return dict(requests=handle.stats()["hosts"]["EX01"]["requests"], state=significant(handle.state()))


# Enough positions to cover a clean run of site.yml on ex01 (the test fails if the run needs more).
POSITIONS = 200


@pytest.mark.parametrize("position", range(POSITIONS))
def test_throttling_at_every_reply_position(shared_labs, clean, tmp_path, position):
    if position >= clean["requests"]:
        pytest.skip("the clean run answers only %d requests on EX01" % clean["requests"])
    handle = shared_labs("faults")
    handle.reset()
    handle.inject_fault("throttle", host="EX01", skip=position)
    result = site(handle, tmp_path)
    assert handle.stats()["hosts"]["EX01"]["sessions_open"] == 0, "a shell was left open"
    assert repeated_writes(handle) == [], result.output
    assert result.rc == 0, result.output
    assert significant(handle.state()) == clean["state"]


def test_positions_cover_the_clean_run(clean):
    assert clean["requests"] <= POSITIONS

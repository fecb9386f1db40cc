"""Fixtures of the lab's own tests (the lab's pytest plugin is registered by the repository's tests/conftest.py)."""

from __future__ import annotations

import pytest

from lab.engine import Lab


@pytest.fixture(name="lab")
def lab_fixture() -> Lab:
    """A fresh in-memory lab with the default topology."""
    return Lab.load()

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fixtures of the module_utils unit tests."""

from __future__ import annotations

import pytest

from fake_exchange import FakeExchange


@pytest.fixture
def fx():
    """A fresh fake Exchange organisation behind a fake PSRP transport."""
    return FakeExchange()

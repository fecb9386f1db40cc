# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows_registry_value's data rules: each type checked at its edges, compared as Get-ItemProperty shows it."""

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import registry_value as rv
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput


@pytest.mark.parametrize("kind, given, wanted", [
    ("dword", 128, 128), ("dword", "0x80", 128), ("dword", "0", 0), ("dword", 4294967295, 4294967295),
    ("qword", 2 ** 64 - 1, 2 ** 64 - 1), ("string", 128, "128"), ("multistring", "a", ["a"]),
    ("multistring", ["a", 1], ["a", "1"]), ("binary", "0a 1B", b"\x0a\x1b"), ("binary", [0, 255], b"\x00\xff"),
])
def test_data_per_type(kind, given, wanted):
    assert rv.wanted_data(kind, given) == wanted


@pytest.mark.parametrize("kind, given", [
    ("dword", 4294967296), ("dword", -1), ("dword", True), ("dword", "12x"), ("qword", 2 ** 64),
    ("binary", "0g"), ("binary", [256]), ("string", ["a"]),
])
def test_bad_data(kind, given):
    with pytest.raises(InvalidInput) as err:
        rv.wanted_data(kind, given)
    assert err.value.option == "data"


def test_a_high_dword_travels_signed_and_reads_back_unsigned():
    assert rv._signed("dword", 4294967295) == -1 and rv._signed("dword", 2147483647) == 2147483647
    assert rv._shown("dword", -1) == 4294967295 and rv._shown("dword", 128) == 128
    # Another type reads as "not this value": a string "128" is no DWORD 128.
    assert rv._shown("dword", "128") is None and rv._shown("string", 128) is None
    assert rv._shown("multistring", "a") is None and rv._shown("binary", b"\x01") == b"\x01"


@pytest.mark.parametrize("path, shown", [
    ("hklm:\\SOFTWARE\\X\\", "HKLM:\\SOFTWARE\\X"), ("HKCU:/Software/X", "HKCU:\\Software\\X"),
])
def test_paths(path, shown):
    assert rv.normalize_path(path) == shown


@pytest.mark.parametrize("path", ["C:\\Windows", "HKLM:", "HKU:\\x", "HKLM\\SOFTWARE"])
def test_bad_paths(path):
    with pytest.raises(InvalidInput):
        rv.normalize_path(path)

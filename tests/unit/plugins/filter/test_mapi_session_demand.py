# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""N x 5 x (O + P), as the vendor document's "Exchange Mailbox Store Limits" gives it."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xphone.connect.plugins.filter.mapi_session_demand import FilterModule, mapi_session_demand


def test_the_vendor_documents_example():
    assert mapi_session_demand(1, 6, 1) == 35


@pytest.mark.parametrize("n, o, p, demand", [
    (1, 0, 1, 5), (1, 1, 0, 5), (2, 6, 1, 70), (3, 2, 1, 45), (1, 5, 1, 30), (1, 6, 0, 30), ("2", "3", "0", 30),
])
def test_each_factor_counts(n, o, p, demand):
    assert mapi_session_demand(n, o, p) == demand


def test_each_factor_changes_the_result():
    base = mapi_session_demand(2, 3, 1)
    assert mapi_session_demand(3, 3, 1) != base and mapi_session_demand(2, 4, 1) != base
    assert mapi_session_demand(2, 3, 2) != base and mapi_session_demand(2, 3) == base


@pytest.mark.parametrize("args, words", [
    ((0, 1, 1), "XPhone servers (N) must be 1 or more, got 0"),
    ((1, -1, 1), "public_sources (O) must be a whole number"),
    ((1, 1, -1), "private_sources (P) must be a whole number"),
    ((1, "six", 1), "got 'six'"),
    ((True, 1, 1), "got True"),
    ((1, 1.5, 1), "got 1.5"),
])
def test_bad_input_names_the_argument(args, words):
    with pytest.raises(AnsibleFilterError) as err:
        mapi_session_demand(*args)
    assert words in str(err.value)


def test_registered_under_its_name():
    assert FilterModule().filters()["mapi_session_demand"] is mapi_session_demand

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_ad_permission's pure parts: rights as Exchange names them, grouping into pipelines, the FullAccess rule."""

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import ad_permission as ap
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput


def test_rights_in_any_case_once_each():
    assert ap.canonical_rights(["receive-as", "SEND-AS", "Receive-As"]) == ["Receive-As", "Send-As"]
    assert ap.canonical_rights("Send-As") == ["Send-As"]
    assert ap.canonical_rights(["ms-Exch-Store-Admin"]) == ["ms-Exch-Store-Admin"]
    for bad in ([], [""], None):
        with pytest.raises(InvalidInput):
            ap.canonical_rights(bad)


def test_one_pipeline_per_set_of_rights():
    groups = ap._groups({"DB01": ["Send-As"], "DB02": ["Receive-As", "Send-As"], "DB03": [], "DB04": ["Send-As", "Receive-As"]})
    assert groups == [(("Receive-As", "Send-As"), ["DB02", "DB04"]), (("Send-As",), ["DB01"])]


@pytest.mark.parametrize("ace, owner", [
    (dict(Identity="DB01"), "DB01"), (dict(Identity="CN=DB01,CN=Databases,CN=Exchange"), "DB01"),
    (dict(Identity="alleo.intern/Configuration/Databases/DB01"), "DB01"), (dict(Identity="DB010"), None),
    (dict(Identity="cn=db01,cn=x"), "DB01"),
])
def test_an_ace_belongs_to_its_database(ace, owner):
    assert ap._owner(ace, [dict(Name="DB01", DistinguishedName="CN=DB01,CN=Databases,CN=Exchange")]) == owner


class Permissions(object):
    warnings = []

    def __init__(self, entries):
        self.entries = entries

    def invoke(self, cmdlet, parameters=None, not_found_ok=False, input_objects=None):
        assert cmdlet == "Get-MailboxPermission"
        return self.entries


@pytest.mark.parametrize("entries, shown", [
    ([dict(AccessRights=["FullAccess"], IsInherited=True, Deny=False)], True),
    ([dict(AccessRights="FullAccess, ReadPermission", IsInherited="True", Deny="False")], True),
    ([dict(AccessRights=["FullAccess"], IsInherited=False, Deny=False)], False),
    ([dict(AccessRights=["ReadPermission"], IsInherited=True, Deny=False)], False),
    ([dict(AccessRights=["FullAccess"], IsInherited=True, Deny=False), dict(AccessRights=["FullAccess"], IsInherited=True, Deny=True)], False),
    ([], False),
])
def test_full_access_inherited_and_not_denied(entries, shown):
    assert ap._full_access(Permissions(entries), "jdoe", "MAPIAccount") is shown

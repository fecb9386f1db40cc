# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine on its own: object types declared here, against the fake Exchange, through the session contract.

Three shapes: a single named object (remote domains' cmdlets), per-server settings that always exist
(Get-/Set-ImapSettings) and a membership written with Add-/Remove- (role group members).
"""

from __future__ import annotations

import pytest

from fake_exchange import FakeSession

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound, ReplyLost

DOMAIN = engine.ObjectType(
    "remote_domain", "remote domain", [
        engine.Prop("domain_name", "DomainName", c.Domain(), set=False),
        engine.Prop("content_type", "ContentType", c.Choice(["MimeHtmlText", "MimeText", "MimeHtml"]), new=False),
        engine.Prop("ndr_enabled", "NDREnabled", c.Bool(), new=False),
        engine.Prop("line_wrap_size", "LineWrapSize", c.Unlimited(minimum=0, maximum=132), new=False),
    ],
    get="Get-RemoteDomain", new="New-RemoteDomain", set="Set-RemoteDomain", remove="Remove-RemoteDomain",
    required_to_create=("domain_name",))

IMAP = engine.ObjectType(
    "imap_settings", "IMAP settings", [
        engine.Prop("login_type", "LoginType", c.Choice(["PlainTextLogin", "PlainTextAuthentication", "SecureLogin"])),
        engine.Prop("max_connections", "MaxConnections", c.Int(minimum=1, maximum=2147483647)),
        engine.Prop("protocol_log_enabled", "ProtocolLogEnabled", c.Bool()),
    ],
    get="Get-ImapSettings", set="Set-ImapSettings", named=False, scope={"Server": lambda session, params: params["server"]})

MEMBERS = engine.Membership("members", get="Get-RoleGroupMember", add="Add-RoleGroupMember",
                            remove="Remove-RoleGroupMember", member="Member", read_as="Name", kind=c.names())
ROLE_GROUP = engine.ObjectType(
    "role_group", "role group", [engine.Prop("description", "Description", c.NullableText())],
    get="Get-RoleGroup", new="New-RoleGroup", set="Set-RoleGroup", remove="Remove-RoleGroup", memberships=[MEMBERS])


def ensure(object_type, fx, check_mode=False, diff_mode=False, session=None, **params):
    params.setdefault("state", "present")
    return object_type.run(session or FakeSession(fx), params, check_mode=check_mode, diff_mode=diff_mode)


def params_of(fx, cmdlet):
    return [dict(ps.params) for ps in fx.call(cmdlet)]


def fax(fx):
    return next((d for d in fx.remote_domains if d["Name"] == "fax"), None)


# -- a single named object ------------------------------------------------------------------------------------

class TestSingleObject(object):
    def test_create_sends_new_only_what_it_accepts_and_the_rest_with_set(self, fx):
        result = ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", content_type="MimeText", ndr_enabled=False)
        assert result["changed"] is True
        assert fx.writes() == ["New-RemoteDomain", "Set-RemoteDomain"]
        assert params_of(fx, "New-RemoteDomain") == [dict(Name="fax", DomainName="fax.alleo.intern", Confirm=False)]
        assert params_of(fx, "Set-RemoteDomain") == [dict(Identity="fax", ContentType="MimeText", NDREnabled=False,
                                                          Confirm=False)]
        assert [d["option"] for d in result["differences"]] == ["state", "domain_name", "content_type", "ndr_enabled"]
        # What the task returns is read back from Exchange, not echoed from the request.
        assert fx.cmdlets()[-1] == "Get-RemoteDomain"
        assert result["remote_domain"]["ContentType"] == "MimeText" and result["remote_domain"]["NDREnabled"] is False

    def test_required_option_missing_on_create_writes_nothing(self, fx):
        with pytest.raises(InvalidInput) as err:
            ensure(DOMAIN, fx, name="fax", content_type="MimeText")
        assert err.value.option == "domain_name" and "create the remote domain 'fax'" in err.value.message
        assert fx.writes() == []

    def test_update_writes_only_the_differences_and_reports_every_one(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", content_type="MimeText", ndr_enabled=False)
        fx.recorded.clear()
        result = ensure(DOMAIN, fx, name="FAX", content_type="mimetext", ndr_enabled=True, line_wrap_size=78)
        assert result["changed"] is True
        assert result["differences"] == [
            dict(option="ndr_enabled", parameter="NDREnabled", before=False, after=True),
            dict(option="line_wrap_size", parameter="LineWrapSize", before="unlimited", after=78),
        ]
        assert params_of(fx, "Set-RemoteDomain") == [dict(Identity="fax", NDREnabled=True, LineWrapSize=78, Confirm=False)]
        assert fax(fx)["NDREnabled"] is True and fax(fx)["LineWrapSize"] == 78

    def test_nothing_differs_nothing_written_not_changed(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", content_type="MimeText")
        fx.recorded.clear()
        result = ensure(DOMAIN, fx, diff_mode=True, name="fax", domain_name="FAX.alleo.intern", content_type="MIMETEXT")
        assert result["changed"] is False and result["differences"] == [] and fx.writes() == []
        assert result["diff"]["before"] == result["diff"]["after"]

    def test_a_new_only_property_is_never_written_to_an_existing_object(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        fx.recorded.clear()
        result = ensure(DOMAIN, fx, name="fax", domain_name="sms.alleo.intern")
        assert result["changed"] is False and fx.writes() == []
        assert fax(fx)["DomainName"] == "fax.alleo.intern"

    def test_check_mode_create_reports_and_writes_nothing(self, fx):
        result = ensure(DOMAIN, fx, check_mode=True, diff_mode=True, name="fax", domain_name="fax.alleo.intern",
                        content_type="MimeText")
        assert result["changed"] is True and fx.writes() == [] and fax(fx) is None
        assert result["diff"] == dict(before={}, after=dict(domain_name="fax.alleo.intern", content_type="MimeText"),
                                      before_header='remote domain "fax"', after_header='remote domain "fax"')
        assert result["object"] == 'remote domain "fax"'
        assert result["remote_domain"] == dict(Name="fax")

    def test_check_mode_update_reports_and_writes_nothing(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", content_type="MimeText")
        fx.recorded.clear()
        result = ensure(DOMAIN, fx, check_mode=True, diff_mode=True, name="fax", content_type="MimeHtml", ndr_enabled=False)
        assert result["changed"] is True and fx.writes() == [] and fax(fx)["ContentType"] == "MimeText"
        assert [d["option"] for d in result["differences"]] == ["content_type", "ndr_enabled"]
        before, after = result["diff"]["before"], result["diff"]["after"]
        assert (before["content_type"], after["content_type"]) == ("MimeText", "MimeHtml")
        assert (before["ndr_enabled"], after["ndr_enabled"]) == (True, False)
        assert before["domain_name"] == after["domain_name"] == "fax.alleo.intern"

    def test_absent(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        fx.recorded.clear()
        checked = ensure(DOMAIN, fx, check_mode=True, diff_mode=True, name="fax", state="absent")
        assert checked["changed"] is True and fx.writes() == [] and fax(fx) is not None
        assert checked["differences"] == [dict(option="state", parameter=None, before="present", after="absent")]
        assert checked["diff"]["after"] == {} and checked["diff"]["before"]["domain_name"] == "fax.alleo.intern"
        removed = ensure(DOMAIN, fx, name="fax", state="absent")
        assert removed["changed"] is True and fax(fx) is None and removed["remote_domain"] is None
        assert params_of(fx, "Remove-RemoteDomain") == [dict(Identity="fax", Confirm=False)]
        fx.recorded.clear()
        again = ensure(DOMAIN, fx, name="fax", state="absent")
        assert again["changed"] is False and again["differences"] == [] and fx.writes() == []

    def test_bad_value_fails_before_anything_is_read(self, fx):
        with pytest.raises(InvalidInput) as err:
            ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", line_wrap_size=500)
        assert err.value.option == "line_wrap_size" and fx.recorded == []

    def test_check_hook_refuses_before_any_write_and_sees_the_final_values(self, fx):
        seen = []

        def check(step):
            seen.append((step.final("content_type"), step.final("ndr_enabled")))
            raise InvalidInput("content_type", "refused")

        guarded = engine.ObjectType("remote_domain", "remote domain", DOMAIN.table, get="Get-RemoteDomain",
                                    new="New-RemoteDomain", set="Set-RemoteDomain", check=check)
        with pytest.raises(InvalidInput):
            ensure(guarded, fx, name="Default", content_type="mimetext")
        # The value about to be sent, and the value Exchange shows for an option not given.
        assert seen == [("MimeText", True)] and fx.writes() == []

    def test_exchange_warnings_are_returned(self, fx):
        fx.warn_on_set = "The command completed successfully but no settings of 'fax' have been modified."
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern", content_type="MimeText")
        assert ensure(DOMAIN, fx, name="fax", ndr_enabled=False)["warnings"] == [fx.warn_on_set]


# -- a lost reply: the engine reads again and writes only what still differs --------------------------------------

class TestReplyLost(object):
    def test_write_landed_is_not_sent_again(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        fx.recorded.clear()
        session = FakeSession(fx)
        session.lose_reply.append(("Set-RemoteDomain", True))
        result = ensure(DOMAIN, fx, session=session, diff_mode=True, name="fax", content_type="MimeText")
        assert fx.cmdlets() == ["Get-RemoteDomain", "Set-RemoteDomain", "Get-RemoteDomain"]
        assert result["changed"] is True and fax(fx)["ContentType"] == "MimeText"
        # Reported as the task found the object, not as the second read found it.
        assert result["differences"] == [dict(option="content_type", parameter="ContentType", before="MimeHtmlText",
                                              after="MimeText")]
        assert result["diff"]["before"]["content_type"] == "MimeHtmlText"
        assert result["remote_domain"]["ContentType"] == "MimeText"

    def test_write_that_never_arrived_is_written_by_the_second_pass(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        fx.recorded.clear()
        session = FakeSession(fx)
        session.lose_reply.append(("Set-RemoteDomain", False))
        result = ensure(DOMAIN, fx, session=session, name="fax", content_type="MimeText")
        assert fx.cmdlets() == ["Get-RemoteDomain", "Get-RemoteDomain", "Set-RemoteDomain", "Get-RemoteDomain"]
        assert result["changed"] is True and fax(fx)["ContentType"] == "MimeText"

    def test_lost_create_is_followed_only_by_what_new_could_not_carry(self, fx):
        session = FakeSession(fx)
        session.lose_reply.append(("New-RemoteDomain", True))
        result = ensure(DOMAIN, fx, session=session, name="fax", domain_name="fax.alleo.intern", content_type="MimeText")
        assert fx.writes() == ["New-RemoteDomain", "Set-RemoteDomain"]
        assert result["changed"] is True and fax(fx)["ContentType"] == "MimeText"
        assert result["differences"][0] == dict(option="state", parameter=None, before="absent", after="present")

    def test_lost_removal_counts_as_changed(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        session = FakeSession(fx)
        session.lose_reply.append(("Remove-RemoteDomain", True))
        result = ensure(DOMAIN, fx, session=session, name="fax", state="absent")
        assert result["changed"] is True and fax(fx) is None and fx.writes().count("Remove-RemoteDomain") == 1

    def test_redone_once_only(self, fx):
        ensure(DOMAIN, fx, name="fax", domain_name="fax.alleo.intern")
        session = FakeSession(fx)
        session.lose_reply.extend([("Set-RemoteDomain", False), ("Set-RemoteDomain", False)])
        with pytest.raises(ReplyLost):
            ensure(DOMAIN, fx, session=session, name="fax", content_type="MimeText")


# -- per-server settings: no New-, no Remove-, named by the server --------------------------------------------------

class TestSettings(object):
    def test_set_names_the_settings_by_their_scope(self, fx):
        result = ensure(IMAP, fx, server="EX01", login_type="plaintextlogin", max_connections=2000)
        assert result["changed"] is True
        assert params_of(fx, "Get-ImapSettings")[0] == dict(Server="EX01")
        assert params_of(fx, "Set-ImapSettings") == [dict(Server="EX01", LoginType="PlainTextLogin", MaxConnections=2000,
                                                          Confirm=False)]
        assert result["imap_settings"]["LoginType"] == "PlainTextLogin"
        fx.recorded.clear()
        again = ensure(IMAP, fx, server="EX01", login_type="PlainTextLogin", max_connections="2,000")
        assert again["changed"] is False and fx.writes() == []

    def test_check_mode(self, fx):
        result = ensure(IMAP, fx, check_mode=True, diff_mode=True, server="EX01", protocol_log_enabled=True)
        assert result["changed"] is True and fx.writes() == [] and fx.imap_settings["EX01"]["ProtocolLogEnabled"] is False
        assert (result["diff"]["before"]["protocol_log_enabled"], result["diff"]["after"]["protocol_log_enabled"]) == (False, True)

    def test_settings_that_do_not_exist_are_not_created(self, fx):
        with pytest.raises(NotFound) as err:
            ensure(IMAP, fx, server="EX02", login_type="SecureLogin")
        assert "-Server EX02" in err.value.message and fx.writes() == []

    def test_settings_cannot_be_removed(self, fx):
        with pytest.raises(InvalidInput) as err:
            ensure(IMAP, fx, server="EX01", state="absent")
        assert err.value.option == "state" and fx.recorded == []


# -- a membership written with Add-/Remove- --------------------------------------------------------------------------

def members(fx, group="Help Desk"):
    return sorted(fx.role_groups[group]["Members"])


class TestMembership(object):
    def test_add_only_the_missing_members(self, fx):
        fx.role_groups["Help Desk"]["Members"] = ["alice"]
        result = ensure(ROLE_GROUP, fx, diff_mode=True, name="Help Desk", members={"add": ["ALICE", "bob", "carol"]})
        assert result["changed"] is True and members(fx) == ["alice", "bob", "carol"]
        assert params_of(fx, "Add-RoleGroupMember") == [dict(Identity="Help Desk", Member="bob", Confirm=False),
                                                        dict(Identity="Help Desk", Member="carol", Confirm=False)]
        assert fx.call("Set-RoleGroup") == [] and fx.call("Remove-RoleGroupMember") == []
        assert result["differences"] == [dict(option="members", parameter="Member", before=["alice"],
                                              after=["alice", "bob", "carol"])]
        assert result["diff"]["before"]["members"] == ["alice"]

    def test_remove_only_the_present_members(self, fx):
        fx.role_groups["Help Desk"]["Members"] = ["alice", "bob"]
        result = ensure(ROLE_GROUP, fx, name="Help Desk", members={"remove": ["bob", "dave"]})
        assert result["changed"] is True and members(fx) == ["alice"]
        assert params_of(fx, "Remove-RoleGroupMember") == [dict(Identity="Help Desk", Member="bob", Confirm=False)]
        assert fx.call("Add-RoleGroupMember") == []

    def test_a_list_is_the_whole_set(self, fx):
        fx.role_groups["Help Desk"]["Members"] = ["alice", "bob"]
        ensure(ROLE_GROUP, fx, name="Help Desk", members=["bob", "carol"])
        assert members(fx) == ["bob", "carol"]
        assert [p["Member"] for p in params_of(fx, "Add-RoleGroupMember")] == ["carol"]
        assert [p["Member"] for p in params_of(fx, "Remove-RoleGroupMember")] == ["alice"]

    def test_same_members_nothing_written(self, fx):
        fx.role_groups["Help Desk"]["Members"] = ["alice", "bob"]
        result = ensure(ROLE_GROUP, fx, name="Help Desk", members=["BOB", "alice"], description=None)
        assert result["changed"] is False and fx.writes() == []

    def test_check_mode_writes_nothing(self, fx):
        fx.role_groups["Help Desk"]["Members"] = ["alice"]
        result = ensure(ROLE_GROUP, fx, check_mode=True, name="Help Desk", members={"add": ["bob"], "remove": ["alice"]})
        assert result["changed"] is True and fx.writes() == [] and members(fx) == ["alice"]
        assert result["differences"] == [dict(option="members", parameter="Member", before=["alice"], after=["bob"])]

    def test_members_of_a_new_group_are_added_after_it_is_created(self, fx):
        result = ensure(ROLE_GROUP, fx, name="XPhone", description="XPhone impersonation", members=["svc-xphone"])
        assert fx.writes() == ["New-RoleGroup", "Add-RoleGroupMember"]
        assert params_of(fx, "New-RoleGroup") == [dict(Name="XPhone", Description="XPhone impersonation", Confirm=False)]
        assert members(fx, "XPhone") == ["svc-xphone"] and result["changed"] is True

    def test_a_new_group_not_yet_replicated_is_waited_for(self, fx):
        # Two Add- calls meet a domain controller that does not know the new group yet.
        def not_yet(ps):
            if ps.cmdlet == "Add-RoleGroupMember":
                fx._not_found(ps, "XPhone")  # pylint: disable=protected-access

        session = FakeSession(fx)
        fx.faults.extend([lambda ps: None, lambda ps: None, not_yet, not_yet])  # Get-RoleGroup, New-RoleGroup, 2 x Add-
        ensure(ROLE_GROUP, fx, session=session, name="XPhone", members=["svc-xphone"])
        assert session.slept == [2, 4] and members(fx, "XPhone") == ["svc-xphone"]

    def test_an_existing_group_is_not_waited_for(self, fx):
        def gone(ps):
            fx._not_found(ps, "Help Desk")  # pylint: disable=protected-access

        session = FakeSession(fx)
        fx.faults.extend([lambda ps: None, lambda ps: None, gone])  # Get-RoleGroup, Get-RoleGroupMember, Add-
        with pytest.raises(NotFound):
            ensure(ROLE_GROUP, fx, session=session, name="Help Desk", members={"add": ["bob"]})
        assert session.slept == []

    def test_switch_grants_one_member_and_leaves_the_others(self, fx):
        helpdesk = engine.ObjectType(
            "role_group", "role group", [], get="Get-RoleGroup", new="New-RoleGroup", set="Set-RoleGroup",
            memberships=[engine.Membership("bob_is_member", get="Get-RoleGroupMember", add="Add-RoleGroupMember",
                                           remove="Remove-RoleGroupMember", member="Member", read_as="Name", switch="bob")])
        assert helpdesk.argument_spec() == dict(bob_is_member=dict(type="bool"))
        fx.role_groups["Help Desk"]["Members"] = ["alice"]
        granted = ensure(helpdesk, fx, name="Help Desk", bob_is_member=True)
        assert members(fx) == ["alice", "bob"]
        assert granted["differences"] == [dict(option="bob_is_member", parameter="Member bob", before=False, after=True)]
        assert ensure(helpdesk, fx, name="Help Desk", bob_is_member=True)["changed"] is False
        ensure(helpdesk, fx, name="Help Desk", bob_is_member=False)
        assert members(fx) == ["alice"]

    def test_membership_value_checked_before_connecting(self, fx):
        with pytest.raises(InvalidInput) as err:
            ensure(ROLE_GROUP, fx, name="Help Desk", members={"replace": ["bob"]})
        assert err.value.option == "members" and fx.recorded == []


def test_argument_spec_from_the_declaration():
    spec = ROLE_GROUP.argument_spec()
    assert spec == dict(description=dict(type="str"), members=dict(type="raw"))
    assert IMAP.argument_spec()["login_type"] == dict(type="str", choices=["PlainTextLogin", "PlainTextAuthentication",
                                                                           "SecureLogin"])
    assert IMAP.options == ["login_type", "max_connections", "protocol_log_enabled"]

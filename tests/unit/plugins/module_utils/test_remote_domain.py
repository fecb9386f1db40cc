# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from fake_exchange import merged, run_core

from ansible_collections.xphone.connect.plugins.module_utils import remote_domain
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

SEED = dict(name="fax", domain_name="fax.alleo.intern", character_set="iso-8859-1", non_mime_character_set="iso-8859-1",
            allowed_oof_type="None", auto_reply_enabled=False, delivery_report_enabled=False, ndr_enabled=False,
            content_type="MimeText", tnef_enabled=False)


def run(fx, check_mode=False, diff_mode=False, **options):
    return run_core(remote_domain, fx, check_mode, diff_mode, **options)


def fax(fx):
    return [d for d in fx.remote_domains if d["Name"] == "fax"]


def test_check_mode_reports_but_writes_nothing(fx):
    result = run(fx, check_mode=True, diff_mode=True, **SEED)
    assert result["changed"] is True
    assert fx.writes() == [] and fax(fx) == []
    options = [d["option"] for d in result["differences"]]
    assert {"state", "domain_name", "content_type", "tnef_enabled", "ndr_enabled"} <= set(options)
    assert result["diff"]["before"] == {} and result["diff"]["after"]["content_type"] == "MimeText"


def test_create_then_idempotent(fx):
    first = run(fx, **SEED)
    assert first["changed"] is True
    assert fx.writes() == ["New-RemoteDomain", "Set-RemoteDomain"]
    new = fx.call("New-RemoteDomain")[0].params
    assert ("Name", "fax") in new and ("DomainName", "fax.alleo.intern") in new
    created = fax(fx)[0]
    assert created["ContentType"] == "MimeText" and created["TNEFEnabled"] is False
    assert first["remote_domain"]["Name"] == "fax"
    fx.recorded.clear()
    second = run(fx, **merged(SEED, character_set="ISO-8859-1", content_type="mimetext", allowed_oof_type="none",
                              tnef_enabled="false"))
    assert second["changed"] is False and second["differences"] == []
    assert fx.writes() == []


def test_update_sends_only_the_differences(fx):
    run(fx, **SEED)
    fx.recorded.clear()
    result = run(fx, name="fax", content_type="MimeHtml", ndr_enabled=False, line_wrap_size=78)
    assert result["changed"] is True
    assert sorted(d["option"] for d in result["differences"]) == ["content_type", "line_wrap_size"]
    (set_call,) = fx.call("Set-RemoteDomain")
    assert [pair[0] for pair in set_call.params] == ["Identity", "ContentType", "LineWrapSize", "Confirm"]


def test_every_difference_is_reported(fx):
    run(fx, **SEED)
    result = run(fx, check_mode=True, **merged(SEED, content_type="MimeHtmlText", ndr_enabled=True, tnef_enabled="unset",
                                               auto_forward_enabled=False))
    by_option = dict((d["option"], d) for d in result["differences"])
    assert set(by_option) == {"content_type", "ndr_enabled", "tnef_enabled", "auto_forward_enabled"}
    assert by_option["tnef_enabled"] == dict(option="tnef_enabled", parameter="TNEFEnabled", before=False, after="unset")


def test_tnef_unset_sends_null(fx):
    run(fx, **SEED)
    run(fx, name="fax", tnef_enabled="unset")
    (set_call,) = fx.call("Set-RemoteDomain")[-1:]
    assert ("TNEFEnabled", None) in set_call.params


def test_absent(fx):
    run(fx, **SEED)
    assert run(fx, check_mode=True, name="fax", state="absent")["changed"] is True
    assert fax(fx)
    result = run(fx, name="fax", state="absent")
    assert result["changed"] is True and fax(fx) == []
    assert run(fx, name="fax", state="absent")["changed"] is False


def test_default_cannot_be_removed(fx):
    with pytest.raises(InvalidInput) as err:
        run(fx, name="Default", state="absent")
    assert "Default" in err.value.message
    assert fx.recorded == []


def test_renamed_default_still_cannot_be_removed(fx):
    fx.remote_domains[0].update(Name="Standard", Identity="Standard")
    with pytest.raises(InvalidInput) as err:
        run(fx, name="standard", state="absent")
    assert "Default remote domain" in err.value.message and fx.writes() == []
    assert fx.remote_domains[0]["DomainName"] == "*"


def test_default_domain_cannot_move(fx):
    with pytest.raises(InvalidInput):
        run(fx, name="Default", domain_name="fax.alleo.intern")


def test_default_can_be_changed(fx):
    result = run(fx, name="Default", ndr_enabled=False)
    assert result["changed"] and fx.remote_domains[0]["NDREnabled"] is False


def test_domain_of_existing_remote_domain_cannot_change(fx):
    run(fx, **SEED)
    fx.recorded.clear()
    with pytest.raises(InvalidInput) as err:
        run(fx, name="fax", domain_name="sms.alleo.intern")
    assert err.value.option == "domain_name" and fx.writes() == []
    assert "fax.alleo.intern" in err.value.message and "recreate: true" in err.value.message


def test_recreate_replaces_the_remote_domain_with_every_given_value(fx):
    run(fx, **SEED)
    fx.recorded.clear()
    moved = merged(SEED, domain_name="fax.example.org", recreate=True)
    planned = run(fx, check_mode=True, diff_mode=True, **moved)
    assert planned["changed"] is True and fx.writes() == []
    assert [d for d in planned["differences"] if d["option"] == "domain_name"] == [dict(
        option="domain_name", parameter="DomainName", before="fax.alleo.intern", after="fax.example.org")]
    assert planned["diff"]["before"]["domain_name"] == "fax.alleo.intern"
    assert planned["diff"]["after"]["domain_name"] == "fax.example.org"

    result = run(fx, diff_mode=True, **moved)
    assert result["changed"] is True
    assert fx.writes() == ["Remove-RemoteDomain", "New-RemoteDomain", "Set-RemoteDomain"]
    (created,) = fax(fx)
    # The new object has every given value, not only the ones that differed from the old one.
    assert created["DomainName"] == "fax.example.org" and created["ContentType"] == "MimeText"
    assert created["TNEFEnabled"] is False and created["AllowedOOFType"] == "None"
    assert result["remote_domain"]["DomainName"] == "fax.example.org"
    fx.recorded.clear()
    assert run(fx, **moved)["changed"] is False and fx.writes() == []


def test_recreate_refused_when_another_remote_domain_has_the_domain(fx):
    run(fx, **SEED)
    run(fx, name="other", domain_name="fax.example.org")
    fx.recorded.clear()
    with pytest.raises(InvalidInput) as err:
        run(fx, name="fax", domain_name="fax.example.org", recreate=True)
    assert err.value.option == "domain_name" and "'other'" in err.value.message and fx.writes() == []


def test_create_refused_when_another_remote_domain_has_the_domain(fx):
    run(fx, **merged(SEED, name="Fax (old)"))
    fx.recorded.clear()
    with pytest.raises(InvalidInput) as err:
        run(fx, **SEED)
    assert "adopt_by: domain_name" in err.value.message and "Fax (old)" in err.value.message and fx.writes() == []


def test_adopt_by_domain_name_renames_the_remote_domain_that_covers_it(fx):
    run(fx, **merged(SEED, name="Fax (old)"))
    fx.recorded.clear()
    result = run(fx, **merged(SEED, adopt_by="domain_name", content_type="MimeHtml"))
    assert result["changed"] is True
    assert result["differences"][0] == dict(option="name", parameter="Name", before="Fax (old)", after="fax")
    (set_call,) = fx.call("Set-RemoteDomain")
    assert set_call.params[:3] == [("Identity", "Fax (old)"), ("Name", "fax"), ("ContentType", "MimeHtml")]
    assert fx.writes() == ["Set-RemoteDomain"]
    assert [d["Name"] for d in fx.remote_domains] == ["Default", "fax"]
    fx.recorded.clear()
    again = run(fx, **merged(SEED, adopt_by="domain_name", content_type="MimeHtml"))
    assert again["changed"] is False and fx.writes() == []


def test_adopt_by_without_a_match_creates(fx):
    result = run(fx, **merged(SEED, adopt_by="domain_name"))
    assert result["changed"] is True and fx.writes()[0] == "New-RemoteDomain"


def test_domain_name_required_to_create(fx):
    with pytest.raises(InvalidInput) as err:
        run(fx, name="fax", content_type="MimeText")
    assert err.value.option == "domain_name" and fx.writes() == []


@pytest.mark.parametrize("option, value", [
    ("domain_name", "fax..alleo.intern"),
    ("domain_name", "fax alleo intern"),
    ("content_type", "PlainText"),
    ("character_set", "latin-1"),
    ("line_wrap_size", 200),
    ("line_wrap_size", "wide"),
    ("tnef_enabled", "sometimes"),
    ("name", "fax\\sms"),
    ("message_count_threshold", "many"),
])
def test_bad_input_fails_before_anything_runs(fx, option, value):
    with pytest.raises(InvalidInput) as err:
        run(fx, **merged(SEED, **{option: value}))
    assert err.value.option == option
    assert fx.recorded == []


def test_argument_spec_covers_table_and_connection():
    for prop in remote_domain.TABLE:
        assert prop.option in remote_domain.ARGUMENT_SPEC
    assert remote_domain.ARGUMENT_SPEC["domain_name"] == dict(type="str")
    assert remote_domain.ARGUMENT_SPEC["password"]["no_log"] is True


def test_adopt_by_only_what_the_object_type_allows(fx):
    with pytest.raises(InvalidInput) as err:
        run(fx, **merged(SEED, adopt_by="content_type"))
    assert err.value.option == "adopt_by" and "domain_name" in err.value.message and fx.cmdlets() == []

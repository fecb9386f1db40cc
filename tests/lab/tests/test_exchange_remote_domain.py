"""Remote domains: the seed's fax domain, defaults of Default, not-found, no-op warning, duplicates, removal."""

from __future__ import annotations

import re

from lab.engine import Lab
from lab.model import CommandCall, LabEnum

from helpers import call, run

TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.DomainContentConfig"


def test_default_remote_domain_as_on_a_fresh_install(lab: Lab) -> None:
    (default,) = run(lab, call("Get-RemoteDomain")).output
    assert default.type_names[0] == TYPE
    assert default["Name"] == "Default" and default["DomainName"] == "*"
    assert default["AutoForwardEnabled"] is False and default["AutoReplyEnabled"] is False
    assert default["CharacterSet"] == "iso-8859-1" and default["NonMimeCharacterSet"] == "iso-8859-1"
    assert default["ContentType"] == LabEnum("Microsoft.Exchange.Data.Directory.SystemConfiguration.ContentType", "MimeHtmlText")
    assert default["AllowedOOFType"].value == "External"
    assert default["LineWrapSize"] == "Unlimited" and default["TNEFEnabled"] is None


def test_seed_recipe_for_the_fax_domain(lab: Lab) -> None:
    created = run(lab, call("New-RemoteDomain", DomainName="fax.alleo.intern", Name="fax"))
    assert created.output[0]["DomainName"] == "fax.alleo.intern"
    # Unset character sets read as "" (the getter's default), not $null (audit Q3).
    assert created.output[0]["CharacterSet"] == "" and created.output[0]["AutoReplyEnabled"] is True
    for name, value in (("CharacterSet", "iso-8859-1"), ("NonMimeCharacterSet", "iso-8859-1"),
                        ("AllowedOOFType", "None"), ("AutoReplyEnabled", False), ("DeliveryReportEnabled", False),
                        ("NDREnabled", False), ("ContentType", "MimeText"), ("TNEFEnabled", False)):
        result = run(lab, CommandCall("Set-RemoteDomain", [(None, "fax"), (name, value)]))
        assert result.terminating_error is None and not result.errors and not result.warnings, name
    fax = run(lab, call("Get-RemoteDomain", Identity="fax")).output[0]
    assert fax["ContentType"].value == "MimeText" and fax["AllowedOOFType"].value == "None"
    assert fax["TNEFEnabled"] is False and fax["NDREnabled"] is False and fax["CharacterSet"] == "iso-8859-1"


def test_lookup_by_domain_name_guid_and_wildcard(lab: Lab) -> None:
    fax = run(lab, call("New-RemoteDomain", DomainName="fax.alleo.intern", Name="fax")).output[0]
    assert run(lab, call("Get-RemoteDomain", "fax.alleo.intern")).output[0]["Name"] == "fax"
    assert run(lab, call("Get-RemoteDomain", fax["Guid"])).output[0]["Name"] == "fax"
    assert [o["Name"] for o in run(lab, call("Get-RemoteDomain", "f*")).output] == ["fax"]


def test_not_found_is_exchange_shaped_and_non_terminating(lab: Lab) -> None:
    result = run(lab, call("Get-RemoteDomain", "fax"))
    assert result.terminating_error is None and not result.output
    (err,) = result.errors
    assert err.message == "The operation couldn't be performed because object 'fax' couldn't be found on 'DC01.alleo.intern'."
    assert err.exception_type == "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
    assert err.category == "NotSpecified"
    assert re.fullmatch(r"\[Server=EX01,RequestId=[0-9a-f-]{36},TimeStamp=\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M\] "
                        r"\[FailureCategory=Cmdlet-ManagementObjectNotFoundException\] [0-9A-F]{8},"
                        r"Microsoft\.Exchange\.Management\.SystemConfigurationTasks\.GetRemoteDomain", err.error_id)
    other_dc = run(lab, call("Set-RemoteDomain", "fax", NDREnabled=False, DomainController="DC02.alleo.intern"))
    assert "couldn't be found on 'DC02.alleo.intern'" in other_dc.errors[0].message


def test_set_without_change_warns(lab: Lab) -> None:
    run(lab, call("New-RemoteDomain", DomainName="fax.alleo.intern", Name="fax"))
    first = run(lab, call("Set-RemoteDomain", "fax", ContentType="MimeText"))
    assert not first.warnings
    again = run(lab, call("Set-RemoteDomain", "fax", ContentType="MimeText"))
    assert again.warnings == ["The command completed successfully but no settings of 'fax' have been modified."]
    assert not again.errors


def test_duplicate_name_and_domain_refused(lab: Lab) -> None:
    run(lab, call("New-RemoteDomain", DomainName="fax.alleo.intern", Name="fax"))
    dup = run(lab, call("New-RemoteDomain", DomainName="other.alleo.intern", Name="FAX"))
    assert "already exists" in dup.errors[0].message and "CN=FAX,CN=Internet Message Formats" in dup.errors[0].message
    same_domain = run(lab, call("New-RemoteDomain", DomainName="FAX.alleo.intern", Name="fax2"))
    assert "already exists" in same_domain.errors[0].message
    assert len(run(lab, call("Get-RemoteDomain")).output) == 2


def test_rename_and_remove(lab: Lab) -> None:
    run(lab, call("New-RemoteDomain", DomainName="fax.alleo.intern", Name="fax"))
    run(lab, call("Set-RemoteDomain", "fax", Name="telefax"))
    assert run(lab, call("Get-RemoteDomain", "telefax")).output[0]["DomainName"] == "fax.alleo.intern"
    assert run(lab, call("Remove-RemoteDomain", "telefax", Confirm=False)).terminating_error is None
    assert len(run(lab, call("Get-RemoteDomain")).output) == 1
    refused = run(lab, call("Remove-RemoteDomain", "Default", Confirm=False))
    assert refused.errors and len(run(lab, call("Get-RemoteDomain")).output) == 1

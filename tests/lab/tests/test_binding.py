"""The parameter binder against the reference facts: the errors PowerShell's binder reports, and conversions."""

from __future__ import annotations

import pytest

from lab import binding, errors
from lab.model import CmdletError, LabEnum, LabObject, SecureString


def _bind_error(cmdlet: str, params: list, **kw) -> CmdletError:
    with pytest.raises(CmdletError) as info:
        binding.bind(cmdlet, params, **kw)
    assert info.value.terminating
    return info.value


def test_unknown_parameter_is_named_parameter_not_found() -> None:
    err = _bind_error("Set-RemoteDomain", [("Identity", "fax"), ("Colour", "red")])
    assert err.message == "A parameter cannot be found that matches parameter name 'Colour'."
    assert err.error_id.startswith("NamedParameterNotFound,")
    assert err.category == "InvalidArgument"
    assert err.exception_type == errors.BINDING_EXC


def test_names_are_case_insensitive_prefixes_and_aliases() -> None:
    bound = binding.bind("Set-RemoteDomain", [("identity", "fax"), ("contenttype", "mimetext"), ("NDREn", False),
                                              ("cf", False), ("wi", True)])
    assert bound.params["Identity"] == "fax"
    assert bound.params["ContentType"] == LabEnum(
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.ContentType", "MimeText", 1)
    assert bound.params["NDREnabled"] is False
    assert bound.params["Confirm"] is False and bound.params["WhatIf"] is True


def test_ambiguous_prefix_lists_the_candidates() -> None:
    err = _bind_error("Set-RemoteDomain", [("Identity", "fax"), ("Tru", True)])
    assert "ambiguous" in err.message and "-TrustedMailInboundEnabled -TrustedMailOutboundEnabled" in err.message
    assert err.error_id.startswith("AmbiguousParameter,")


def test_positional_identity_and_too_many_positionals() -> None:
    assert binding.bind("Get-RemoteDomain", [(None, "fax")]).params == {"Identity": "fax"}
    err = _bind_error("Get-RemoteDomain", [(None, "fax"), (None, "extra")])
    assert err.message == "A positional parameter cannot be found that accepts argument 'extra'."


def test_missing_mandatory_parameter_names_it() -> None:
    err = _bind_error("Set-RemoteDomain", [("ContentType", "MimeText")])
    assert err.message == "Cannot process command because of one or more missing mandatory parameters: Identity."
    assert err.error_id.startswith("MissingMandatoryParameter,")
    err = _bind_error("New-Mailbox", [("Name", "x"), ("UserPrincipalName", "x@alleo.intern")])
    assert "Password" in err.message


def test_parameters_of_different_sets_cannot_be_resolved() -> None:
    err = _bind_error("New-ReceiveConnector", [("Name", "x"), ("Internet", True), ("Client", True),
                                               ("Bindings", "0.0.0.0:25")])
    assert err.message == "Parameter set cannot be resolved using the specified named parameters."
    assert err.error_id.startswith("AmbiguousParameterSet,")


def test_switch_selects_the_parameter_set() -> None:
    bound = binding.bind("New-ReceiveConnector", [("Name", "Relay"), ("Custom", True), ("Bindings", "0.0.0.0:25"),
                                                  ("RemoteIPRanges", "10.0.0.5")])
    assert bound.parameter_set == "Custom"
    err = _bind_error("New-ReceiveConnector", [("Name", "Relay"), ("Custom", True), ("RemoteIPRanges", "10.0.0.5")])
    assert "missing mandatory parameters: Bindings." in err.message


def test_enum_outside_accepted_values_lists_them() -> None:
    err = _bind_error("Set-RemoteDomain", [("Identity", "fax"), ("ContentType", "Fancy")])
    assert err.message.startswith("Cannot bind parameter 'ContentType'. Cannot convert value \"Fancy\" to type "
                                  "\"Microsoft.Exchange.Data.Directory.SystemConfiguration.ContentType\".")
    assert "MimeHtmlText, MimeText, MimeHtml" in err.message


def test_character_sets_are_left_to_the_cmdlet() -> None:
    """Exchange checks CharacterSet in the object's setter (a DataValidationException), not with ValidateSet."""
    assert binding.bind("Set-RemoteDomain", [("Identity", "fax"), ("CharacterSet", "klingon")]).params[
        "CharacterSet"] == "klingon"


def test_boolean_refuses_strings_and_accepts_numbers() -> None:
    err = _bind_error("Set-RemoteDomain", [("Identity", "fax"), ("NDREnabled", "no")])
    assert "Boolean parameters accept only Boolean values and numbers" in err.message
    assert binding.bind("Set-RemoteDomain", [("Identity", "fax"), ("NDREnabled", 0)]).params["NDREnabled"] is False


def test_integers_and_ranges() -> None:
    assert binding.bind("New-SendConnector", [("Name", "x"), ("AddressSpaces", "a.b"), ("Port", "2533")]).params["Port"] == 2533
    err = _bind_error("New-SendConnector", [("Name", "x"), ("Port", "twenty")])
    assert "Cannot convert value \"twenty\" to type \"System.Int32\"" in err.message
    err = _bind_error("New-SendConnector", [("Name", "x"), ("Port", 70000)])
    assert "greater than the maximum allowed range of 65535" in err.message


def test_unlimited_accepts_unlimited_or_a_number() -> None:
    bound = binding.bind("Set-ThrottlingPolicy", [(None, "p"), ("EwsCutoffBalance", "unlimited"),
                                                  ("RCAMaxConcurrency", 5), ("EWSMaxConcurrency", "Unlimited")])
    assert bound.params["EwsCutoffBalance"] == "Unlimited"
    assert bound.params["RCAMaxConcurrency"] == 5
    assert bound.params["EWSMaxConcurrency"] == "Unlimited"
    err = _bind_error("Set-ThrottlingPolicy", [(None, "p"), ("EwsCutoffBalance", "lots")])
    assert "Unlimited" in err.message


def test_byte_quantified_sizes() -> None:
    bound = binding.bind("New-SendConnector", [("Name", "x"), ("AddressSpaces", "a.b"), ("MaxMessageSize", "10MB")])
    assert bound.params["MaxMessageSize"] == "10 MB (10,485,760 bytes)"
    assert binding.size_bytes("25 MB (26,214,400 bytes)") == 26214400
    _bind_error("New-SendConnector", [("Name", "x"), ("MaxMessageSize", "ten megabytes")])


def test_multi_valued_properties_take_lists_scalars_and_add_remove() -> None:
    bound = binding.bind("New-ReceiveConnector", [("Name", "r"), ("Custom", True), ("Bindings", "0.0.0.0:25"),
                                                  ("RemoteIPRanges", ["10.0.0.5", "192.168.0.0/24", "10.1.1.1-10.1.1.9"])])
    assert bound.params["Bindings"] == ["0.0.0.0:25"]
    assert len(bound.params["RemoteIPRanges"]) == 3
    edit = binding.bind("Set-ReceiveConnector", [(None, "EX01\\r"), ("RemoteIPRanges", {"Add": "10.0.0.6"})])
    assert edit.params["RemoteIPRanges"] == {"add": ["10.0.0.6"]}


@pytest.mark.parametrize("param,value", [("Bindings", "10.0.0.5"), ("Bindings", "[::]:99999"),
                                         ("RemoteIPRanges", "10.0.0.300"), ("RemoteIPRanges", "10.0.0.9-10.0.0.1")])
def test_exchange_network_types_are_validated(param: str, value: str) -> None:
    params = [("Name", "r"), ("Custom", True), ("Bindings", "0.0.0.0:25"), ("RemoteIPRanges", "10.0.0.5")]
    params = [(k, value if k == param else v) for k, v in params]
    err = _bind_error("New-ReceiveConnector", params)
    assert err.message.startswith(f"Cannot bind parameter '{param}'.")


def test_address_spaces_normalised_and_fqdn_checked() -> None:
    bound = binding.bind("New-SendConnector", [("Name", "fax"), ("AddressSpaces", ["fax.alleo.intern", "SMTP:sms.alleo.intern;5"])])
    # The type keeps the case it was given; without one it is lower-case smtp (AddressSpace, audit Q1).
    assert bound.params["AddressSpaces"] == ["smtp:fax.alleo.intern;1", "SMTP:sms.alleo.intern;5"]
    _bind_error("New-SendConnector", [("Name", "fax"), ("AddressSpaces", "not a domain")])
    _bind_error("Get-RemoteDomain", [("DomainController", "dc 01")])
    assert binding.bind("Get-RemoteDomain", [("DomainController", "DC01.alleo.intern")]).params["DomainController"]


def test_secure_string_required_and_never_echoed() -> None:
    err = _bind_error("New-Mailbox", [("Name", "m"), ("Password", "Plain-Text-Pass1"), ("UserPrincipalName", "m@a.b")])
    assert "Plain-Text-Pass1" not in err.message
    bound = binding.bind("New-Mailbox", [("Name", "m"), ("Password", SecureString("x")), ("UserPrincipalName", "m@a.b")])
    assert isinstance(bound.params["Password"], SecureString)


def test_common_parameters_are_separated() -> None:
    bound = binding.bind("Get-RemoteDomain", [("ErrorAction", "SilentlyContinue"), ("wa", "Stop"), ("Verbose", True)])
    assert not bound.params
    assert bound.common["ErrorAction"].value == "SilentlyContinue"
    assert bound.common["WarningAction"].value == "Stop"
    _bind_error("Get-RemoteDomain", [("ErrorAction", "Sometimes")])


def test_pipeline_object_binds_identity_by_type() -> None:
    db = LabObject(["Microsoft.Exchange.Data.Directory.SystemConfiguration.MailboxDatabase"], {"Identity": "DB01", "Name": "DB01"})
    bound = binding.bind("Add-ADPermission", [("User", "x"), ("ExtendedRights", "Receive-As")], input_object=db, has_input=True)
    assert bound.params["Identity"] == "DB01"
    server = LabObject(["Microsoft.Exchange.Data.Directory.Management.ExchangeServer"], {"Identity": "EX01", "Name": "EX01"})
    assert binding.bind("Get-MailboxDatabase", [], input_object=server, has_input=True).params == {"Server": "EX01"}


def test_windows_reference_and_extra_parameters() -> None:
    bound = binding.bind("Set-ItemProperty", [(None, "HKLM:\\SOFTWARE\\Clients\\Mail"), (None, "(default)"),
                                              (None, "ExchangeMAPI")], reference_name="windows")
    assert bound.parameter_set == "propertyValuePathSet"
    assert bound.params["Name"] == "(default)"
    extra = {"Count": {"type": "Int32", "mandatory": True, "position": 0}}
    assert binding.bind("Get-Widget", [(None, "3")], reference_name="windows", extra=extra).params == {"Count": 3}
    err = _bind_error("Get-Widget", [], reference_name="windows", extra=extra)
    assert "Count" in err.message


def test_empty_collection_for_a_mandatory_multi_valued_parameter() -> None:
    err = _bind_error("New-ReceiveConnector", [("Name", "r"), ("Custom", True), ("Bindings", []),
                                               ("RemoteIPRanges", "10.0.0.5")])
    assert err.message == "Cannot bind argument to parameter 'Bindings' because it is an empty collection."
    assert err.error_id.startswith("ParameterArgumentValidationErrorEmptyCollectionNotAllowed,")
    assert err.category == "InvalidData"


def test_exchange_online_only_parameters_do_not_exist_on_premises() -> None:
    err = _bind_error("Set-RemoteDomain", [("Identity", "fax"), ("IsCoexistenceDomain", True)])
    assert err.message == "A parameter cannot be found that matches parameter name 'IsCoexistenceDomain'."
    assert binding.bind("Set-RemoteDomain", [("Identity", "fax"), ("IsInternal", True)]).params["IsInternal"] is True


def test_new_receive_connector_defaults_to_the_custom_set() -> None:
    bound = binding.bind("New-ReceiveConnector", [("Name", "Relay"), ("Bindings", "0.0.0.0:25"),
                                                  ("RemoteIPRanges", "10.0.0.5"), ("TransportRole", "FrontendTransport")])
    assert bound.parameter_set == "Custom"
    assert binding.bind("New-ReceiveConnector", [("Name", "r"), ("Usage", "Internet"),
                                                 ("Bindings", "0.0.0.0:25")]).parameter_set == "UsageType"
    assert binding.bind("New-RoleGroup", [("Name", "g")]).parameter_set == "Default"

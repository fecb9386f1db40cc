"""The lab's corrections from the fidelity audit (/work/shared/notes/lab-fidelity-audit.md), each seen through the real
pypsrp client over PSRP, as the collection sees them. Every test here failed against the lab before its correction."""

from __future__ import annotations

import typing as t

import pytest
from pypsrp.powershell import PowerShell, RunspacePool

from helpers import invoke


@pytest.fixture
def pool(lab_env: t.Any) -> t.Iterator[RunspacePool]:
    with RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange") as opened:
        yield opened


def ok(ps: PowerShell) -> list[t.Any]:
    assert not ps.had_errors, [str(e) for e in ps.streams.error]
    return ps.output


def error(ps: PowerShell) -> tuple[str, list[str], str]:
    """The first error record: (message, the exception's .NET type names, the category reason)."""
    assert ps.streams.error, "expected an error"
    record = ps.streams.error[0]
    exception = record.exception
    types = list(getattr(exception, "types", None) or [])
    message = str(getattr(exception, "adapted_properties", {}).get("Message") or record)
    return message, types, str(record.reason or "")


def prop(obj: t.Any, name: str) -> t.Any:
    value = obj.adapted_properties.get(name, obj.extended_properties.get(name)) if hasattr(obj, "adapted_properties") \
        else obj[name]
    return value


def text(value: t.Any) -> t.Any:
    if isinstance(value, list):
        return [text(v) for v in value]
    return None if value is None else str(value)


# -- send connector (audit Q1; must-change 1-3) ---------------------------------------------------------------------

SMART_HOST_NOT_SET = "You must specify a smart host if you are not using DNS to route mails."
DNS_WITH_SMART_HOSTS = "You must not set the DNSRoutingEnabled parameter to $true if smart hosts are used."


def send(pool: RunspacePool, name: str = "fax") -> t.Any:
    return ok(invoke(pool, "Get-SendConnector", Identity=name))[0]


def test_smart_hosts_given_as_ip_show_in_brackets(pool):
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
              SmartHosts=["10.0.0.7", "[10.0.0.8]", "relay.alleo.intern"], Confirm=False))
    conn = send(pool)
    assert text(prop(conn, "SmartHosts")) == ["[10.0.0.7]", "[10.0.0.8]", "relay.alleo.intern"]
    assert text(prop(conn, "SmartHostsString")) == "[10.0.0.7],[10.0.0.8],relay.alleo.intern"


def test_address_space_type_is_kept_as_typed_and_defaults_to_lower_case(pool):
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern", "SMTP:sms.alleo.intern;5"],
              SmartHosts=["10.0.0.7"], Confirm=False))
    assert text(prop(send(pool), "AddressSpaces")) == ["smtp:fax.alleo.intern;1", "SMTP:sms.alleo.intern;5"]


def test_dns_routing_and_smart_hosts_rules(pool):
    message, types, reason = error(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
                                          DNSRoutingEnabled=False, Confirm=False))
    assert message == SMART_HOST_NOT_SET and "Microsoft.Exchange.Data.DataValidationException" in types
    message, _types, _reason = error(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"],
                                            DNSRoutingEnabled=True, SmartHosts=["10.0.0.7"], Confirm=False))
    assert message == DNS_WITH_SMART_HOSTS
    # A DNS-routed connector: -SmartHosts alone is refused, with -DNSRoutingEnabled $false it is taken.
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"], Confirm=False))
    assert prop(send(pool), "DNSRoutingEnabled") is True
    assert error(invoke(pool, "Set-SendConnector", Identity="fax", SmartHosts=["10.0.0.7"], Confirm=False))[0] == \
        DNS_WITH_SMART_HOSTS
    ok(invoke(pool, "Set-SendConnector", Identity="fax", SmartHosts=["10.0.0.7"], DNSRoutingEnabled=False, Confirm=False))
    assert prop(send(pool), "DNSRoutingEnabled") is False
    # -DNSRoutingEnabled $true clears the smart hosts.
    ok(invoke(pool, "Set-SendConnector", Identity="fax", DNSRoutingEnabled=True, Confirm=False))
    assert text(prop(send(pool), "SmartHosts")) == [] and prop(send(pool), "DNSRoutingEnabled") is True


# -- receive connector (audit Q2; must-change 4-6, 8) ------------------------------------------------------------------

MAPPING_CONFLICT = ("The values that you specified for the Bindings and RemoteIPRanges parameters conflict with the "
                    "settings on Receive connector \"EX01\\{0}\". A Receive connector must have a unique combination of "
                    "a local IP address & port bindings and remote IP address ranges. Change at least one of these values.")


def receive(pool: RunspacePool, name: str, **params: t.Any) -> PowerShell:
    params.setdefault("Server", "EX01")
    params.setdefault("Confirm", False)
    return invoke(pool, "New-ReceiveConnector", Name=name, **params)


@pytest.mark.parametrize("first, second, conflicts", [
    # identical binding: equal or partially overlapping ranges conflict, a range inside the other does not
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.0/24"), True),
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.128-10.0.1.10"), True),
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.7"), False),
    (("10.0.0.1:2500", "10.0.0.7"), ("10.0.0.1:2500", "10.0.0.0/24"), False),
    # wildcard overlap: only a partial overlap conflicts, an equal range does not
    (("0.0.0.0:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.0/24"), False),
    (("0.0.0.0:2500", "10.0.0.0/24"), ("10.0.0.1:2500", "10.0.0.128-10.0.1.10"), True),
    (("0.0.0.0:2500", "10.0.0.0/16"), ("10.0.0.1:2500", "10.0.3.0/24"), False),
    # no overlap of the bindings at all
    (("10.0.0.1:2500", "10.0.0.0/24"), ("10.0.0.2:2500", "10.0.0.0/24"), False),
])
def test_receive_connector_conflict_rule(pool, first, second, conflicts):
    ok(receive(pool, "first", Bindings=[first[0]], RemoteIPRanges=[first[1]]))
    ps = receive(pool, "second", Bindings=[second[0]], RemoteIPRanges=[second[1]])
    if not conflicts:
        ok(ps)
        return
    message, types, reason = error(ps)
    assert message == MAPPING_CONFLICT.format("first")
    assert "Microsoft.Exchange.Management.SystemConfigurationTasks.ConnectorMappingConflictException" in types
    assert "ConnectorMappingConflictException" in reason or reason == "", reason


def groups(obj: t.Any) -> str:
    return str(prop(obj, "PermissionGroups"))


def test_new_receive_connector_defaults_by_usage(pool):
    default = ok(receive(pool, "plain", Bindings=["0.0.0.0:2501"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(default) == "ExchangeUsers, ExchangeServers, ExchangeLegacyServers"
    assert str(prop(default, "AuthMechanism")) == "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"
    custom = ok(receive(pool, "custom", Custom=True, Bindings=["0.0.0.0:2502"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(custom) == "None" and str(prop(custom, "AuthMechanism")) == "Tls"
    internal = ok(receive(pool, "internal", Internal=True, Bindings=["0.0.0.0:2503"], RemoteIPRanges=["10.0.0.7"]))[0]
    assert groups(internal) == "ExchangeServers, ExchangeLegacyServers"


@pytest.mark.parametrize("params", [{"Usage": "Custom", "Bindings": ["0.0.0.0:2501"]},
                                    {"Usage": "Custom", "RemoteIPRanges": ["10.0.0.7"]}])
def test_custom_usage_needs_bindings_and_remote_ranges(pool, params):
    # -Usage is the one parameter set where the binder does not already demand both (the Custom set does).
    message, _types, _reason = error(receive(pool, "half", **params))
    assert message == "Provide values for the Bindings and RemoteIPRanges parameters."


def test_outbound_proxy_frontend_permission_groups(pool):
    conn = ok(invoke(pool, "Get-ReceiveConnector", Identity="EX01\\Outbound Proxy Frontend EX01"))[0]
    assert groups(conn) == "ExchangeServers"


def test_remote_ip_ranges_display(pool):
    conn = ok(receive(pool, "ranges", Bindings=["0.0.0.0:2501"],
                      RemoteIPRanges=["10.0.0.7/24", "10.1.0.9/32", "10.2.0.1-10.2.0.9", "FE80::1/128", "10.3.0.5"]))[0]
    assert text(prop(conn, "RemoteIPRanges")) == ["10.0.0.0/24", "10.1.0.9", "10.2.0.1-10.2.0.9", "fe80::1", "10.3.0.5"]


# -- remote domain (audit Q3; must-change 9) ------------------------------------------------------------------------


def test_remote_domain_character_sets(pool):
    created = ok(invoke(pool, "New-RemoteDomain", Name="fax", DomainName="fax.alleo.intern", Confirm=False))[0]
    assert prop(created, "CharacterSet") == "" and prop(created, "NonMimeCharacterSet") == ""
    ok(invoke(pool, "Set-RemoteDomain", Identity="fax", CharacterSet="ISO-8859-1", NonMimeCharacterSet="UTF-8",
              Confirm=False))
    fax = ok(invoke(pool, "Get-RemoteDomain", Identity="fax"))[0]
    assert (prop(fax, "CharacterSet"), prop(fax, "NonMimeCharacterSet")) == ("iso-8859-1", "utf-8")
    message, types, _reason = error(invoke(pool, "Set-RemoteDomain", Identity="fax", CharacterSet="klingon",
                                           Confirm=False))
    assert message.startswith("'klingon' is not a supported value for NonMimeCharacterSet or CharacterSet. Supported "
                              "values include: ") and "iso-8859-1" in message and message.endswith(".")
    assert "Microsoft.Exchange.Data.DataValidationException" in types
    assert prop(ok(invoke(pool, "Get-RemoteDomain", Identity="fax"))[0], "CharacterSet") == "iso-8859-1"


def test_remote_domain_duplicate_domain_name(pool):
    ok(invoke(pool, "New-RemoteDomain", Name="fax", DomainName="fax.alleo.intern", Confirm=False))
    # Checked before the name: a duplicate domain under the same name still reads as the duplicate domain.
    for name in ("fax2", "fax"):
        message, types, _reason = error(invoke(pool, "New-RemoteDomain", Name=name, DomainName="FAX.alleo.intern",
                                               Confirm=False))
        assert message == "The remote domain FAX.alleo.intern already exists."
        assert "Microsoft.Exchange.Management.SystemConfigurationTasks.DuplicateRemoteDomainException" in types


# -- AD permissions (audit Q2, Q4; must-change 7, 10, 11, 16) ---------------------------------------------------------

MS_EXCHANGE = "S-1-9-1419165041-1139599005-3936102811-1022490595"
DB01_DN = ("CN=DB01,CN=Databases,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Alleo,"
           "CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=alleo,DC=intern")


def aces(pool: RunspacePool, identity: str, **params: t.Any) -> list[t.Any]:
    return ok(invoke(pool, "Get-ADPermission", Identity=identity, **params))


@pytest.mark.parametrize("sid, name", [(f"{MS_EXCHANGE}-21", "MS Exchange\\Hub Transport Servers"),
                                       (f"{MS_EXCHANGE}-22", "MS Exchange\\Edge Transport Servers"),
                                       (f"{MS_EXCHANGE}-23", "MS Exchange\\Externally Secured Servers")])
def test_exchange_servers_permission_group_principals_and_sids(pool, sid, name):
    found = aces(pool, "EX01\\Default EX01", User=sid)
    assert found and {str(prop(a, "User")) for a in found} == {name}


def test_permission_group_rights(pool):
    def rights(user: str, deny: bool = False) -> list[str]:
        return sorted(str(r) for a in aces(pool, "EX01\\Default EX01", User=user) if bool(prop(a, "Deny")) is deny
                      for r in prop(a, "ExtendedRights") or [])

    assert rights("NT AUTHORITY\\Authenticated Users") == sorted([
        "ms-Exch-SMTP-Submit", "ms-Exch-SMTP-Accept-Any-Recipient", "ms-Exch-Bypass-Anti-Spam",
        "ms-Exch-Accept-Headers-Routing"])
    assert len(rights(f"{MS_EXCHANGE}-23")) == 9 and len(rights("ALLEO\\Exchange Servers")) == 19
    denied = ["ms-Exch-Accept-Headers-Forest", "ms-Exch-Accept-Headers-Organization"]
    assert rights("ALLEO\\ExchangeLegacyInterop", deny=True) == denied


def test_database_inherited_allows(pool):
    servers = aces(pool, "DB01", User="ALLEO\\Exchange Servers")
    assert [(text(prop(a, "AccessRights")), prop(a, "ExtendedRights"), prop(a, "IsInherited")) for a in servers] == [
        (["ExtendedRight"], None, True)]
    ets = aces(pool, "DB01", User="ALLEO\\Exchange Trusted Subsystem")
    assert [(text(prop(a, "AccessRights")), prop(a, "IsInherited")) for a in ets] == [(["GenericAll"], True)]


def test_ad_permission_warnings_name_the_objects_dn(pool):
    grant = dict(Identity="DB01", User="ALLEO\\jdoe", ExtendedRights=["Receive-As"], Confirm=False)
    ok(invoke(pool, "Add-ADPermission", **grant))
    again = invoke(pool, "Add-ADPermission", **grant)
    assert [w.message for w in again.streams.warning] == [
        f"The appropriate access control entry is already present on the object \"{DB01_DN}\" for account \"ALLEO\\jdoe\"."]
    ok(invoke(pool, "Remove-ADPermission", **grant))
    gone = invoke(pool, "Remove-ADPermission", **grant)
    assert [w.message for w in gone.streams.warning] == [
        f"Can't remove the access control entry on the object \"{DB01_DN}\" for account \"ALLEO\\jdoe\" because the ACE "
        "doesn't exist on the object."]


def test_removing_an_inherited_entry_is_an_error(pool):
    ps = invoke(pool, "Remove-ADPermission", Identity="DB01", User="ALLEO\\Domain Admins", ExtendedRights=["Receive-As"],
                Deny=True, Confirm=False)
    message, types, _reason = error(ps)
    assert message == ("An inherited access control entry has been specified: [Rights: ExtendedRight, ControlType: Deny]  "
                       f"and was ignored on object \"{DB01_DN}\".")
    assert "Microsoft.Exchange.Configuration.Tasks.TaskInvalidOperationException" in types
    assert len(aces(pool, "DB01", User="ALLEO\\Domain Admins")) == 2


def test_remove_ad_permission_confirmation_text(pool):
    ps = invoke(pool, "Remove-ADPermission", Identity="DB01", User="ALLEO\\jdoe", ExtendedRights=["Receive-As", "Send-As"])
    assert ps.had_errors
    text_ = " ".join(str(e) for e in ps.streams.error)
    assert 'Removing Active Directory permission "DB01" for user "ALLEO\\jdoe" with access rights "\'Receive-As\', ' \
           '\'Send-As\'".' in text_


# -- throttling (audit Q6; must-change 12, 16) -----------------------------------------------------------------------

def global_policy(pool: RunspacePool) -> t.Any:
    return next(p for p in ok(invoke(pool, "Get-ThrottlingPolicy")) if str(prop(p, "ThrottlingPolicyScope")) == "Global")


def test_global_throttling_defaults(pool):
    policy = global_policy(pool)
    expected = {"EWSMaxConcurrency": 27, "EwsMaxBurst": 300000, "EwsRechargeRate": 900000, "EwsCutoffBalance": 3000000,
                "EWSMaxSubscriptions": 5000, "RCAMaxConcurrency": 40, "RcaMaxBurst": 150000, "RcaRechargeRate": 900000,
                "CPAMaxConcurrency": 20, "PowerShellMaxConcurrency": 18}
    assert {name: prop(policy, name) for name in expected} == expected
    assert str(prop(policy, "RcaCutoffBalance")) == "Unlimited" and str(prop(policy, "IMAPMaxConcurrency")) == "Unlimited"


def test_throttling_scope_rules(pool):
    message, _types, _reason = error(invoke(pool, "New-ThrottlingPolicy", Name="g2", ThrottlingPolicyScope="Global"))
    assert message == ("The following specified values aren't supported by this cmdlet: 'Global'. The allowed values are: "
                       "'Regular', 'Organization'.")
    ok(invoke(pool, "New-ThrottlingPolicy", Name="org1", ThrottlingPolicyScope="Organization"))
    message, _types, _reason = error(invoke(pool, "New-ThrottlingPolicy", Name="org2", ThrottlingPolicyScope="Organization"))
    assert message == ("You cannot create a new organization throttling policy in org '' because one already exists. Try "
                       "to modify the existing organization throttling policy using the Set-ThrottlingPolicy cmdlet.")


def test_the_global_policy_is_read_only_without_force_setting_global(pool):
    name = str(prop(global_policy(pool), "Name"))
    message, _types, _reason = error(invoke(pool, "Set-ThrottlingPolicy", Identity=name, EWSMaxConcurrency=30))
    assert message == "The global throttling policy is read-only. Create a new organization throttling policy instead."
    assert prop(global_policy(pool), "EWSMaxConcurrency") == 27
    forced = invoke(pool, "Set-ThrottlingPolicy", Identity=name, EWSMaxConcurrency=30, ForceSettingGlobal=True)
    ok(forced)
    assert [w.message for w in forced.streams.warning] == [
        f"Requested changes to the global throttling policy \"{name}\" will be overwritten by Exchange Server upgrade. "
        "Consider creating a non-global policy instead."]
    assert prop(global_policy(pool), "EWSMaxConcurrency") == 30
    message, types, _reason = error(invoke(pool, "Remove-ThrottlingPolicy", Identity=name, Confirm=False))
    assert message == "The global throttling policy cannot be removed."


def test_an_associated_policy_needs_force_to_be_removed(pool):
    ok(invoke(pool, "New-ThrottlingPolicy", Name="NoThrottlingPolicy"))
    ok(invoke(pool, "Set-Mailbox", Identity="jdoe", ThrottlingPolicy="NoThrottlingPolicy", Confirm=False))
    message, _types, _reason = error(invoke(pool, "Remove-ThrottlingPolicy", Identity="NoThrottlingPolicy", Confirm=False))
    assert message == ("Throttling policy \"CN=NoThrottlingPolicy,CN=Global Settings,CN=Alleo,CN=Microsoft Exchange,"
                       "CN=Services,CN=Configuration,DC=alleo,DC=intern\" can't be removed because there are currently "
                       "users associated with the policy. Reset the throttling policy for those users using Set-Mailbox, "
                       "and then try again.")
    prompt = invoke(pool, "Remove-ThrottlingPolicy", Identity="NoThrottlingPolicy", Force=True)
    assert 'Removing throttling policy "NoThrottlingPolicy" with ThrottlingPolicyScope "Regular".' in \
        " ".join(str(e) for e in prompt.streams.error)
    ok(invoke(pool, "Remove-ThrottlingPolicy", Identity="NoThrottlingPolicy", Force=True, Confirm=False))


# -- WinRM quota faults (audit Q9; must-change 14) ---------------------------------------------------------------------

def test_winrm_quota_faults_codes_subcodes_and_texts():
    from lab import wsman  # pylint: disable=import-outside-toplevel

    shells = wsman.fault_wsman_max_shells(30)
    assert (shells.code, shells.subcode) == (0x803381A5, "w:QuotaLimit") and shells.code == 2150859173
    operations = wsman.fault_throttled()
    assert operations.code == 0x803381A6 == 2150859174
    assert operations.message == ("The WS-Management service cannot process the request. This user is allowed a maximum "
                                  "number of 1500 concurrent operations, which has been exceeded. Close existing operations "
                                  "for this user, or raise the quota for this user.")
    commands = wsman.fault_max_commands_per_shell()
    assert (commands.code, commands.subcode) == (2150859241, "w:InternalError")


def test_the_injected_throttle_reaches_the_client_as_winrms_operations_quota(lab_env):
    from pypsrp.exceptions import WSManFaultError  # pylint: disable=import-outside-toplevel

    lab_env.inject_fault("throttle", host="EX01", action="Create")
    with pytest.raises(WSManFaultError) as exc:
        RunspacePool(lab_env.wsman("EX01"), configuration_name="Microsoft.Exchange").open()
    assert exc.value.code == 2150859174 and "maximum number of 1500 concurrent operations" in exc.value.reason


# -- .NET enum type names (audit Q2, Q7; must-change 15) ---------------------------------------------------------------

@pytest.mark.parametrize("cmdlet, params, prop_name, type_name", [
    ("Get-ReceiveConnector", {"Identity": "EX01\\Default EX01"}, "PermissionGroups", "Microsoft.Exchange.Data.PermissionGroups"),
    ("Get-ReceiveConnector", {"Identity": "EX01\\Default EX01"}, "SizeEnabled", "Microsoft.Exchange.Data.SizeMode"),
    ("Get-ImapSettings", {"Server": "EX01"}, "LogFileRollOverSettings", "Microsoft.Exchange.Diagnostics.LogFileRollOver"),
    ("Get-ImapSettings", {"Server": "EX01"}, "ExtendedProtectionPolicy",
     "Microsoft.Exchange.Data.Directory.SystemConfiguration.ExtendedProtectionTokenCheckingMode"),
])
def test_enum_type_names(pool, cmdlet, params, prop_name, type_name):
    obj = ok(invoke(pool, cmdlet, **params))[0]
    value = prop(obj, prop_name)
    assert getattr(value, "types", [None])[0] == type_name


def test_error_policies_type_name(pool):
    ok(invoke(pool, "New-SendConnector", Name="fax", AddressSpaces=["fax.alleo.intern"], SmartHosts=["10.0.0.7"],
              ErrorPolicies="DowngradeDnsFailures", Confirm=False))
    assert prop(send(pool), "ErrorPolicies").types[0] == "Microsoft.Exchange.Data.ErrorPolicies"


# -- New-Mailbox / Set-Mailbox weak password (must-change 17) ----------------------------------------------------------

WEAK = ("Active Directory operation failed on DC01.alleo.intern. The password is invalid. Unable to update the password. "
        "The value provided for the new password does not meet the length, complexity, or history requirements of the domain.")


def test_weak_password_text(lab_env):
    from lab.model import CommandCall, SecureString, SessionInfo  # pylint: disable=import-outside-toplevel

    admin = SessionInfo("EX01", "exchange", "ALLEO\\Administrator")
    new = lab_env.lab.run_pipeline(admin, [CommandCall("New-Mailbox", [("Name", "weak"), ("Password", SecureString("abc")),
                                                                       ("UserPrincipalName", "weak@alleo.intern")])])
    assert [e.message for e in new.errors] == [WEAK]
    assert new.errors[0].exception_type == "Microsoft.Exchange.Data.Directory.ADInvalidPasswordException"
    changed = lab_env.lab.run_pipeline(admin, [CommandCall("Set-Mailbox", [("Identity", "jdoe"), ("Password", SecureString("abc")),
                                                                           ("ThrottlingPolicy", None)])])
    assert [e.message for e in changed.errors] == [WEAK] and "abc" not in WEAK


# -- robust as a server (issue 8, item 6) -------------------------------------------------------------------------------

def test_control_characters_in_an_error_text_reach_the_client(pool):
    """A NUL in a value: the reply stays valid XML (CLIXML _x0000_ escapes) and the client reads the text back."""
    ps = invoke(pool, "Get-RemoteDomain", Identity="a\x00b\x07c_x0041_")
    assert [str(e) for e in ps.streams.error] == [
        "The operation couldn't be performed because object 'a\x00b\x07c_x0041_' couldn't be found on "
        "'DC01.alleo.intern'."]
    assert ok(invoke(pool, "Get-RemoteDomain", Identity="Default"))     # the pool still works


def test_control_characters_in_a_soap_fault_are_escaped():
    import xml.etree.ElementTree as ET  # pylint: disable=import-outside-toplevel
    from lab import wsman  # pylint: disable=import-outside-toplevel

    body = wsman.fault_envelope(wsman.WSManFault(2150858752, "bad\x00value\r\n"), None)
    assert "bad_x0000_value" in ET.tostring(ET.fromstring(body), encoding="unicode")


def test_idle_shells_expire_after_the_idle_timeout(lab_factory):
    from pypsrp.exceptions import WSManFaultError  # pylint: disable=import-outside-toplevel

    lab = lab_factory(limits={"shell_idle_timeout_s": 1})
    leaked = RunspacePool(lab.wsman("EX01"), configuration_name="Microsoft.Exchange")
    leaked.open()
    assert lab.host_stats("EX01")["sessions_open"] == 1
    import time  # pylint: disable=import-outside-toplevel
    time.sleep(1.5)
    # Any request lets the server notice; the leaked shell is gone, as WinRM deletes it after IdleTimeout.
    with RunspacePool(lab.wsman("EX01"), configuration_name="Microsoft.Exchange") as fresh:
        assert ok(invoke(fresh, "Get-RemoteDomain", Identity="Default"))
    stats = lab.host_stats("EX01")
    assert stats["sessions_open"] == 0 and stats["sessions_closed"] == 2
    with pytest.raises(WSManFaultError) as err:
        invoke(leaked, "Get-RemoteDomain", Identity="Default")
    assert err.value.code == 2150858843       # the shell was not found


def test_a_busy_shell_does_not_expire(lab_factory):
    lab = lab_factory(limits={"shell_idle_timeout_s": 1})
    with RunspacePool(lab.wsman("EX01"), configuration_name="Microsoft.Exchange") as pool:
        import time  # pylint: disable=import-outside-toplevel
        for _round in range(3):
            time.sleep(0.6)
            assert ok(invoke(pool, "Get-RemoteDomain", Identity="Default"))
        assert lab.host_stats("EX01")["sessions_closed"] == 0

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's object declaration agrees with the cmdlet reference (``tests/lab/reference/``).

The reference (MicrosoftDocs, see its README) is the source of truth: when it and a table disagree,
the table is wrong. Checked for every ``engine.ObjectType`` a module_utils file declares: its cmdlets
exist for Exchange 2016 and 2019; each Prop's parameter exists there on Set- (``set=True``) and New-
(``new=True``), and is absent from the cmdlet a ``set=False``/``new=False`` keeps it from; the Prop's
kind matches the parameter's type; a choice offers only accepted values; a range is the documented one; the parameters the engine
adds (Name, Identity, the scope, membership parameters) exist; and each Set- parameter is an option
or listed in ``LEFT_OUT`` with the reason.
"""

from __future__ import annotations

import importlib
import json
import os
import re

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils import throttling

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "..", "..", "lab", "reference", "exchange-cmdlets.json")
MODULE_UTILS = os.path.join(HERE, "..", "..", "..", "..", "plugins", "module_utils")
VERSIONS = ("ex2016", "ex2019")

# The reference's type names each kind of value may stand for. Looked up along the kind's class hierarchy,
# so the most specific entry wins (TriState before Bool, Unlimited before Int, Fqdn before IText).
TEXT_TYPES = ("String", "SmtpX509Identifier")
KIND_TYPES = {
    # A throttling setting is Unlimited<UInt32> in Exchange even where the reference types it UInt32: the vendor
    # document sets EWSMaxConcurrency, CPAMaxConcurrency and RCAMaxConcurrency to Unlimited.
    throttling.ThrottlingValue: ("Unlimited", "UInt32"),
    c.TriState: ("Boolean",),
    c.Bool: ("Boolean", "SwitchParameter"),
    c.Unlimited: ("Unlimited",),
    c.Int: ("Int32",),
    c.TimeSpan: ("EnhancedTimeSpan", "TimeSpan"),
    c.MultiValued: ("MultiValuedProperty",),
    c.Fqdn: ("Fqdn",),
    c.Uri: ("Uri",),
    c.Domain: ("SmtpDomainWithSubdomains", "SmtpDomain"),
    c.IPAddress: ("IPAddress",),
    c.NullableText: TEXT_TYPES,
    c.IText: TEXT_TYPES,
    c.Kind: TEXT_TYPES,
}
# Parameters every cmdlet has or that no module sets as a property.
COMMON = {"Confirm", "WhatIf", "DomainController", "Identity"}
# Set- parameters of 2016/2019 that are deliberately not options, and why.
LEFT_OUT = {
    # Renaming: the module's name option is how the object is found.
    # (adopt_by renames through engine.NAME, which is not a property option.)
    "Set-RemoteDomain": {"Name"},
    "Set-SendConnector": {"Name", "Force",
                          # Get-SendConnector never returns the password, so it cannot be compared; a BasicAuth
                          # smart host still needs it set by hand.
                          "AuthenticationCredential"},
    "Set-ReceiveConnector": {"Name"},
    # The policy's name is how it is found; -Force only skips the confirmation that -Confirm:$false already skips.
    "Set-ThrottlingPolicy": {"Name", "Force"},
}


def load_reference():
    with open(REFERENCE, encoding="utf-8") as f:
        return json.load(f)["cmdlets"]


def declared_object_types():
    """(module name, attribute, ObjectType) for every object type a module_utils file declares."""
    found = []
    for filename in sorted(os.listdir(MODULE_UTILS)):
        if not filename.endswith(".py"):
            continue
        with open(os.path.join(MODULE_UTILS, filename), encoding="utf-8") as f:
            if "engine.ObjectType(" not in f.read():
                continue
        module = importlib.import_module("ansible_collections.xphone.connect.plugins.module_utils." + filename[:-3])
        if getattr(module, "ENDPOINT", "exchange") != "exchange":
            continue  # a Windows host's cmdlets: test_windows_tables_agree_with_the_windows_reference
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, engine.ObjectType):
                found.append((filename[:-3], attr, value))
    return found


def _seconds(value):
    return value if isinstance(value, int) else c.parse_timespan(value)


def _accepted(reference, fact):
    """The accepted values of a parameter, or of its enum type where another cmdlet's doc lists them."""
    values = fact.get("accepted_values")
    if not values:
        for cmdlet in reference.values():
            for other in cmdlet["parameters"].values():
                if other["type"] == fact["type"] and other.get("accepted_values"):
                    values = other["accepted_values"]
                    break
            if values:
                break
    return [v for v in values or [] if not v.startswith("$")]


def _kind_problems(reference, where, prop, fact):
    kind, rtype = prop.kind, fact["type"]
    problems = []
    if isinstance(kind, c.Choice):
        accepted = _accepted(reference, fact)
        if not accepted:
            return ["%s: %s is a choice, but the reference lists no accepted values for %s" % (where, prop.option, rtype)]
        extra = sorted(set(v.lower() for v in kind.choices) - set(v.lower() for v in accepted))
        if extra:
            problems.append("%s: %s offers %s, which the reference does not accept (accepted: %s)" % (
                where, prop.option, ", ".join(extra), ", ".join(accepted)))
        return problems
    if isinstance(kind, c.Size):
        types = ("Unlimited",) if kind.unlimited else ("ByteQuantifiedSize",)
    else:
        types = next(KIND_TYPES[cls] for cls in type(kind).__mro__ if cls in KIND_TYPES)
    if isinstance(kind, c.MultiValued) and rtype.endswith("[]"):
        types = (rtype,)
    if isinstance(kind, (c.Kind,)) and types == TEXT_TYPES and rtype.endswith("IdParameter"):
        types = (rtype,)
    if rtype not in types:
        problems.append("%s: %s is a %s value, but the reference types %s as %s" % (
            where, prop.option, type(kind).__name__, prop.parameter, rtype))
    if isinstance(kind, c.TriState) and "$null" not in (fact.get("accepted_values") or []):
        problems.append("%s: %s accepts unset ($null), which the reference does not list" % (where, prop.option))
    documented = fact.get("range")
    if documented and hasattr(kind, "minimum"):
        if isinstance(kind, c.TimeSpan):
            documented = dict(documented, min=_seconds(documented["min"]), max=_seconds(documented["max"]))
        if (kind.minimum, kind.maximum) != (documented.get("min"), documented.get("max")):
            problems.append("%s: %s ranges %s..%s, the reference %s..%s" % (
                where, prop.option, kind.minimum, kind.maximum, documented.get("min"), documented.get("max")))
    return problems


def _parameter(reference, cmdlet, name):
    """(fact, problem): the parameter's reference facts, or why it cannot be used on 2016 and 2019."""
    parameters = reference[cmdlet]["parameters"]
    fact = parameters.get(name)
    if fact is None:
        near = [p for p in parameters if p.lower() == name.lower()]
        hint = " (the reference spells it %s)" % near[0] if near else ""
        return None, "%s has no -%s%s" % (cmdlet, name, hint)
    missing = [v for v in VERSIONS if not fact.get(v)]
    if missing:
        return None, "%s -%s is not documented for %s" % (cmdlet, name, ", ".join(missing))
    return fact, None


def problems_of(reference, object_type):
    """Every way ``object_type`` disagrees with the reference (empty when it agrees)."""
    ot = object_type
    problems = []
    cmdlets = [ot.get, ot.set, ot.new, ot.remove]
    for membership in ot.memberships:
        cmdlets += [membership.get, membership.add, membership.remove]
    for cmdlet in [x for x in cmdlets if x]:
        if cmdlet not in reference:
            problems.append("%s is not in the reference" % cmdlet)
        elif not all(reference[cmdlet].get(v) for v in VERSIONS):
            problems.append("%s does not apply to Exchange 2016 and 2019" % cmdlet)
    if problems:
        return problems

    def need(cmdlet, name):
        fact, problem = _parameter(reference, cmdlet, name)
        if problem:
            problems.append(problem)
        return fact

    # What the engine sends besides the table.
    for name in ot.scope:
        need(ot.get, name)
        if ot.new:
            need(ot.new, name)
        if not ot.named:
            need(ot.set, name)
    if ot.named:
        for cmdlet in (ot.set, ot.remove):
            if cmdlet:
                need(cmdlet, "Identity")
        if ot.new:
            need(ot.new, "Name")
    for membership in ot.memberships:
        for cmdlet in (membership.get, membership.add, membership.remove):
            need(cmdlet, "Identity")
            for name, _value in membership.fixed:
                need(cmdlet, name)
        for cmdlet in (membership.add, membership.remove):
            need(cmdlet, membership.member)

    for prop in ot.table:
        if not (prop.set or (prop.new and ot.new)):
            problems.append("%s: %s is written by no cmdlet (set=False and no New-)" % (ot.noun, prop.option))
        for flag, cmdlet, used in (("set", ot.set, prop.set), ("new", ot.new, prop.new)):
            if not cmdlet:
                continue
            if not used:
                if prop.parameter in reference[cmdlet]["parameters"]:
                    problems.append("%s: %s has %s=False, but %s takes -%s" % (ot.noun, prop.option, flag, cmdlet, prop.parameter))
                continue
            fact = need(cmdlet, prop.parameter)
            if fact:
                problems += _kind_problems(reference, cmdlet, prop, fact)

    options = set(ot.options)
    for option in list(ot.create_defaults) + list(ot.required_to_create):
        if option not in options:
            problems.append("%s: %s is a create default or requirement but no option of the table" % (ot.noun, option))
    return problems


def uncovered(reference, object_type):
    """Set- parameters of 2016/2019 that are neither an option nor deliberately left out."""
    cmdlet = object_type.set
    parameters = reference[cmdlet]["parameters"]
    documented = set(p for p, fact in parameters.items() if all(fact.get(v) for v in VERSIONS))
    known = set(p.parameter for p in object_type.table) | COMMON | set(object_type.scope)
    return sorted(documented - known - LEFT_OUT.get(cmdlet, set()))


REFERENCE_FACTS = load_reference()
DECLARED = declared_object_types()
WINDOWS_REFERENCE = os.path.join(os.path.dirname(REFERENCE), "windows-cmdlets.json")


def windows_object_types():
    from ansible_collections.xphone.connect.plugins.module_utils import windows_service  # pylint: disable=import-outside-toplevel
    return [windows_service.SERVICE]


@pytest.mark.parametrize("object_type", windows_object_types(), ids=lambda ot: ot.noun)
def test_windows_tables_agree_with_the_windows_reference(object_type):
    """Windows PowerShell 5.1's cmdlets (the windows reference): each cmdlet exists, the engine's scope parameters and
    every Prop's parameter exist on it, and a choice offers only values the parameter's enum has."""
    with open(WINDOWS_REFERENCE, encoding="utf-8") as f:
        reference = json.load(f)["cmdlets"]
    problems = []
    for cmdlet in (object_type.get, object_type.set):
        if cmdlet not in reference:
            problems.append("%s is not in the windows reference" % cmdlet)
            continue
        for name in object_type.scope:
            if name not in reference[cmdlet]["parameters"]:
                problems.append("%s has no -%s" % (cmdlet, name))
    for prop in object_type.table:
        fact = reference[object_type.set]["parameters"].get(prop.parameter)
        if fact is None:
            problems.append("%s has no -%s" % (object_type.set, prop.parameter))
        elif isinstance(prop.kind, c.Choice) and fact.get("accepted_values"):
            extra = set(v.lower() for v in prop.kind.choices) - set(v.lower() for v in fact["accepted_values"])
            if extra:
                problems.append("%s offers %s, not accepted by -%s" % (prop.option, sorted(extra), prop.parameter))
    assert problems == []


def test_every_module_object_is_checked():
    names = set((module, attr) for module, attr, _ot in DECLARED)
    assert {("remote_domain", "REMOTE_DOMAIN"), ("connector", "SEND_CONNECTOR"), ("connector", "RECEIVE_CONNECTOR")} <= names


@pytest.mark.parametrize("object_type", [ot for _m, _a, ot in DECLARED], ids=["%s.%s" % (m, a) for m, a, _ot in DECLARED])
def test_table_agrees_with_the_reference(object_type):
    assert problems_of(REFERENCE_FACTS, object_type) == []


@pytest.mark.parametrize("object_type", [ot for _m, _a, ot in DECLARED], ids=["%s.%s" % (m, a) for m, a, _ot in DECLARED])
def test_table_covers_the_reference(object_type):
    assert uncovered(REFERENCE_FACTS, object_type) == []


# -- the check itself must be able to fail --------------------------------------------------------------------

def _receive_with(*props):
    return engine.ObjectType("connector", "receive connector", list(props), get="Get-ReceiveConnector",
                             new="New-ReceiveConnector", set="Set-ReceiveConnector", remove="Remove-ReceiveConnector",
                             scope={"Server": lambda session, params: params["server"]})


@pytest.mark.parametrize("prop, expected", [
    (engine.Prop("banner", "Banners", c.NullableText()), r"(New|Set)-ReceiveConnector has no -Banners$"),
    (engine.Prop("connection_timeout", "ConnectionTimeOut", c.TimeSpan()), r"spells it ConnectionTimeout"),
    (engine.Prop("max_hop_count", "MaxHopCount", c.Bool()), r"max_hop_count is a Bool value.*Int32"),
    (engine.Prop("enabled", "Enabled", c.Int()), r"enabled is a Int value.*Boolean"),
    (engine.Prop("max_message_size", "MaxMessageSize", c.Size(unlimited=True, minimum=65536, maximum=2147483647)),
     r"ByteQuantifiedSize"),
    (engine.Prop("size_enabled", "SizeEnabled", c.Choice(["Enabled", "Disabled", "Sometimes"])), r"offers sometimes"),
    (engine.Prop("max_hop_count", "MaxHopCount", c.Int(minimum=1, maximum=5000)), r"ranges 1..5000, the reference 1..500"),
    (engine.Prop("smtp_utf8_enabled", "SmtpUtf8Enabled", c.Bool()), r"New-ReceiveConnector has no -SmtpUtf8Enabled"),
    (engine.Prop("banner", "Banner", c.NullableText(), new=False), r"banner has new=False, but New-ReceiveConnector takes"),
    (engine.Prop("usage", "Usage", c.Choice(["Custom"])), r"Set-ReceiveConnector has no -Usage"),
    (engine.Prop("banner", "Banner", c.NullableText(), set=False), r"banner has set=False, but Set-ReceiveConnector takes"),
])
def test_a_disagreeing_table_is_caught(prop, expected):
    problems = problems_of(REFERENCE_FACTS, _receive_with(prop))
    # Once per cmdlet that takes the parameter.
    assert problems and all(re.search(expected, p) for p in problems), problems


def test_cmdlets_and_engine_parameters_are_checked():
    wrong = engine.ObjectType("imap_settings", "IMAP settings", [], get="Get-ImapSettings", set="Set-ImapSettings",
                              named=False, scope={"Servers": lambda session, params: params["server"]},
                              memberships=[engine.Membership("members", get="Get-RoleGroupMember", add="Add-RoleGroupMember",
                                                             remove="Remove-RoleGroupMembers", member="Member", read_as="Name")])
    assert problems_of(REFERENCE_FACTS, wrong) == ["Remove-RoleGroupMembers is not in the reference"]
    wrong.memberships[0].remove = "Remove-RoleGroupMember"
    wrong.memberships[0].member = "Members"
    assert problems_of(REFERENCE_FACTS, wrong) == [
        "Get-ImapSettings has no -Servers", "Set-ImapSettings has no -Servers",
        "Add-RoleGroupMember has no -Members", "Remove-RoleGroupMember has no -Members"]


def test_an_uncovered_set_parameter_is_caught():
    assert uncovered(REFERENCE_FACTS, _receive_with(engine.Prop("banner", "Banner", c.NullableText())))[:3] == [
        "AdvertiseClientSettings", "AuthMechanism", "AuthTarpitInterval"]

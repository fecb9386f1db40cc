"""Remote domains: Get/New/Set/Remove-RemoteDomain, with the built-in ``Default`` (DomainName ``*``)."""

from __future__ import annotations

import typing as t

from .. import topology
from . import common

TYPE_NAMES = ["Microsoft.Exchange.Data.Directory.SystemConfiguration.DomainContentConfig",
              "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
              "Microsoft.Exchange.Data.Directory.ADObject",
              "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
ENUMS = {
    "AllowedOOFType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AllowedOOFType",
    "ContentType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ContentType",
    "ByteEncoderTypeFor7BitCharsets": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ByteEncoderTypeFor7BitCharsetsEnum",
    "PreferredInternetCodePageForShiftJis": "Microsoft.Exchange.Data.Directory.SystemConfiguration.PreferredInternetCodePageForShiftJisEnum",
}

BUILTIN_CONTEXTS = ("the built-in remote domain named Default in on-premises", "the built-in remote domain named Default")
NEW_CONTEXTS = ("new remote domains that you create",)
# -Identity names a remote domain by its name or its domain name ("fax" or "fax.alleo.intern").
IDENTITY_FIELDS = ("Name", "DomainName")
CHARSET_FIELDS = ("CharacterSet", "NonMimeCharacterSet")
# DirectoryStrings.InvalidCharacterSet (DomainContentConfig.ThrowOnInvalidCharset), DuplicateRemoteDomain (audit Q3).
INVALID_CHARSET = ("'{0}' is not a supported value for NonMimeCharacterSet or CharacterSet. Supported values include: "
                   "{1}.")
DUPLICATE_DOMAIN = "The remote domain {0} already exists."


def _records(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("remote_domains", {})


def _dn(data: dict[str, t.Any], name: str) -> str:
    return f"CN={name},CN=Internet Message Formats,{common.config_dn(data)}"


def make(data: dict[str, t.Any], name: str, domain_name: str, *, builtin: bool = False,
         guid: str | None = None) -> dict[str, t.Any]:
    contexts = (BUILTIN_CONTEXTS if builtin else NEW_CONTEXTS)
    rec = common.base_record(name, _dn(data, name), guid)
    rec["DomainName"] = domain_name
    rec.update(common.reference_defaults("Set-RemoteDomain", contexts))
    for key in CHARSET_FIELDS:
        # Unset is the getter's default: an empty string, not $null.
        if rec.get(key) is None:
            rec[key] = ""
    rec["ObjectCategory"] = f"{common.domain(data)['fqdn']}/Configuration/Schema/ms-Exch-Domain-Content-Config"
    return rec


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    _records(state)["default"] = make(state, "Default", "*", builtin=True,
                                      guid=topology.stable_guid("remote-domain", "Default"))


topology.SEEDERS.append(seed)


def _render(rec: dict[str, t.Any]):
    return common.render(rec, TYPE_NAMES, ENUMS)


@common.cmdlet("Get-RemoteDomain")
def get_remote_domain(inv) -> None:
    with inv.store.read() as data:
        records = list(_records(data).values())
    common.write_matching(inv, records, _render, IDENTITY_FIELDS)


@common.cmdlet("New-RemoteDomain")
def new_remote_domain(inv) -> None:
    name, domain_name = inv.params["Name"], str(inv.params["DomainName"])
    with inv.store.write() as data:
        records = _records(data)
        # ValidateNoDuplicates runs in InternalValidate, before the save that would find a duplicate name.
        clash = next((r for r in records.values() if r["DomainName"].lower() == domain_name.lower()), None)
        if clash:
            common.fail(inv, DUPLICATE_DOMAIN.format(domain_name),
                        "Microsoft.Exchange.Management.SystemConfigurationTasks.DuplicateRemoteDomainException",
                        category="ResourceExists", target=domain_name)
            return
        if name.lower() in records:
            common.already_exists(inv, _dn(data, name))
            return
        rec = make(data, name, domain_name)
        records[name.lower()] = rec
    inv.write(_render(rec))


@common.cmdlet("Set-RemoteDomain")
def set_remote_domain(inv) -> None:
    with inv.store.write() as data:
        records = _records(data)
        rec = common.find_one(inv, records.values(), inv.params["Identity"], IDENTITY_FIELDS)
        if rec is None:
            return
        new_name = inv.params.get("Name")
        if common.name_taken(inv, records, rec, new_name, lambda name: _dn(data, name)):
            return
        old_key = rec["Name"].lower()
        for key in CHARSET_FIELDS:
            if key in inv.params and not _charset_ok(inv, key):
                return
        if not common.set_record(inv, rec):
            return
        if new_name:
            common.rekey(records, rec, old_key, new_name, _dn(data, new_name))


def _charset_ok(inv, key: str) -> bool:
    """A character set Exchange knows (case-insensitive, stored lower-case), or ``$null``/empty to unset it."""
    value = inv.params[key]
    text = "" if value is None else str(value)
    known = [v for v in common.accepted_values("Set-RemoteDomain", key) if not v.startswith("$")]
    if text == "":
        inv.params[key] = ""
        return True
    match = next((v for v in known if v.lower() == text.lower()), None)
    if match is None:
        common.fail(inv, INVALID_CHARSET.format(text, ", ".join(known)), "Microsoft.Exchange.Data.DataValidationException",
                    category="InvalidData", target=text)
        return False
    inv.params[key] = match.lower()
    return True


@common.cmdlet("Remove-RemoteDomain")
def remove_remote_domain(inv) -> None:
    with inv.store.write() as data:
        records = _records(data)
        rec = common.find_one(inv, records.values(), inv.params["Identity"], IDENTITY_FIELDS)
        if rec is None:
            return
        if rec["DomainName"] == "*":
            common.fail(inv, "The default remote domain can't be removed.", target=rec["Identity"])
            return
        common.confirm(inv, f"Removing remote domain \"{rec['Identity']}\".")
        del records[rec["Name"].lower()]

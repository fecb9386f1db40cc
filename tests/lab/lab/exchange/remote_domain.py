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
        if name.lower() in records:
            common.already_exists(inv, _dn(data, name))
            return
        clash = next((r for r in records.values() if r["DomainName"].lower() == domain_name.lower()), None)
        if clash:
            common.fail(inv, f"A remote domain with the domain name '{domain_name}' already exists: "
                        f"'{clash['Name']}'. Choose a different domain name.", target=domain_name)
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
        if not common.set_record(inv, rec):
            return
        if new_name:
            common.rekey(records, rec, old_key, new_name, _dn(data, new_name))


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

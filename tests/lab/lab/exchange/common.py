"""Helpers shared by the Exchange object families: identities, DNs, principals, rendering, Exchange's errors."""

from __future__ import annotations

import copy
import datetime
import re
import typing as t
import uuid

from .. import binding, errors, registry
from ..model import CmdletError, LabEnum, LabObject

ADMIN_GROUP = "Exchange Administrative Group (FYDIBOHF23SPDLT)"
ROUTING_GROUP = "Exchange Routing Group (DWBGZMFD01QNBJR)"
MS_EXCHANGE_SID = "S-1-9-1419165041-1139599005-3936102811-1022490595"

# Principals that exist on every Exchange install, by canonical name -> SID.
WELL_KNOWN = {
    "NT AUTHORITY\\ANONYMOUS LOGON": "S-1-5-7",
    "NT AUTHORITY\\Authenticated Users": "S-1-5-11",
    "NT AUTHORITY\\SELF": "S-1-5-10",
    "NT AUTHORITY\\SYSTEM": "S-1-5-18",
    "NT AUTHORITY\\NETWORK SERVICE": "S-1-5-20",
    "Everyone": "S-1-1-0",
    # Microsoft.Exchange.Data WellKnownSids (audit Q2): the names are their [Description]s.
    "MS Exchange\\Partner Servers": f"{MS_EXCHANGE_SID}-10",
    "MS Exchange\\Hub Transport Servers": f"{MS_EXCHANGE_SID}-21",
    "MS Exchange\\Edge Transport Servers": f"{MS_EXCHANGE_SID}-22",
    "MS Exchange\\Externally Secured Servers": f"{MS_EXCHANGE_SID}-23",
    "MS Exchange\\Legacy Exchange Servers": f"{MS_EXCHANGE_SID}-24",
}


def cmdlet(name: str, **kw: t.Any) -> t.Callable[[registry.Handler], registry.Handler]:
    return registry.cmdlet(name, endpoint="exchange", reference="exchange", **kw)


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def new_guid() -> str:
    return str(uuid.uuid4())


def org(data: dict[str, t.Any]) -> dict[str, t.Any]:
    return data["organization"]


def domain(data: dict[str, t.Any]) -> dict[str, t.Any]:
    return data["directory"]["domain"]


def config_dn(data: dict[str, t.Any]) -> str:
    return f"CN={org(data)['name']},CN=Microsoft Exchange,CN=Services,CN=Configuration,{domain(data)['dn']}"


def admin_group_dn(data: dict[str, t.Any]) -> str:
    return f"CN={ADMIN_GROUP},CN=Administrative Groups,{config_dn(data)}"


def server_dn(data: dict[str, t.Any], server: str) -> str:
    return f"CN={server},CN=Servers,{admin_group_dn(data)}"


def local_server(inv: registry.Invocation) -> str:
    return (inv.session.host or "EX01").upper()


def dc_fqdn(inv: registry.Invocation) -> str:
    if inv.params.get("DomainController"):
        return str(inv.params["DomainController"])
    with inv.store.read() as data:
        return domain(data)["dc"]


def not_found(inv: registry.Invocation, identity: t.Any) -> CmdletError:
    return errors.not_found(str(identity), dc_fqdn(inv), server=local_server(inv), cmdlet_name=inv.spec.name)


def report_not_found(inv: registry.Invocation, identity: t.Any) -> None:
    inv.error(not_found(inv, identity))


def fail(inv: registry.Invocation, message: str, exception_type: str = errors.TASK_EXC, *,
         category: str = "InvalidOperation", terminating: bool = False, target: t.Any = None) -> None:
    """Write an Exchange task error (non-terminating unless asked or under -ErrorAction Stop)."""
    err = errors.exchange_error(message, exception_type, server=local_server(inv), cmdlet_name=inv.spec.name,
                                category=category, target=target, terminating=terminating)
    if terminating:
        raise err
    inv.error(err)


def already_exists(inv: registry.Invocation, dn: str) -> None:
    fail(inv, f"Active Directory operation failed on {dc_fqdn(inv)}. The object '{dn}' already exists.",
         errors.ALREADY_EXISTS_EXC, category="NotSpecified", target=dn)


def confirm(inv: registry.Invocation, action: str) -> None:
    """Exchange's ConfirmImpact=High prompt: without a host it fails unless -Confirm:$false (or -WhatIf)."""
    if inv.what_if or inv.confirm is False:
        return
    raise errors.prompt_refused(f"Are you sure you want to perform this action?\n{action}")


def no_op(inv: registry.Invocation, identity: str) -> None:
    inv.warn(errors.NO_OP_WARNING.format(identity))


def matches(rec: dict[str, t.Any], identity: t.Any, fields: tuple[str, ...] = ("Name",)) -> bool:
    text = str(identity).strip()
    if isinstance(identity, dict):
        text = str(identity.get("Identity") or identity.get("Name"))
    lowered = text.lower()
    for field in fields + ("Identity", "Guid", "DistinguishedName"):
        value = rec.get(field)
        if value is None:
            continue
        if "*" in text and field in fields + ("Identity",):
            if binding.wildcard_match(text, str(value)):
                return True
        elif str(value).lower() == lowered.strip("{}"):
            return True
    return False


def find(records: t.Iterable[dict[str, t.Any]], identity: t.Any,
         fields: tuple[str, ...] = ("Name",)) -> list[dict[str, t.Any]]:
    return [r for r in records if matches(r, identity, fields)]


def find_one(inv: registry.Invocation, records: t.Iterable[dict[str, t.Any]], identity: t.Any,
             fields: tuple[str, ...] = ("Name",)) -> dict[str, t.Any] | None:
    """The single record an identity names, or None after writing Exchange's not-found / ambiguous error."""
    found = find(records, identity, fields)
    if not found:
        report_not_found(inv, identity)
        return None
    if len(found) > 1:
        fail(inv, f"The operation couldn't be performed because '{identity}' matches multiple entries.",
             errors.AMBIGUOUS_EXC, category="NotSpecified", target=str(identity))
        return None
    return found[0]


def identified(inv: registry.Invocation, records: t.Iterable[dict[str, t.Any]],
               fields: tuple[str, ...] = ("Name",)) -> list[dict[str, t.Any]]:
    """The records -Identity names (all of them without -Identity); Exchange's not-found error when it names none."""
    records = list(records)
    if not inv.has("Identity"):
        return records
    found = find(records, inv.params["Identity"], fields)
    if not found:
        report_not_found(inv, inv.params["Identity"])
    return found


def write_sorted(inv: registry.Invocation, records: t.Iterable[dict[str, t.Any]],
                 render_one: t.Callable[[dict[str, t.Any]], LabObject]) -> None:
    """Write the records rendered, by name as Exchange lists them."""
    for rec in sorted(records, key=lambda r: r["Name"].lower()):
        inv.write(render_one(rec))


def write_matching(inv: registry.Invocation, records: t.Iterable[dict[str, t.Any]],
                   render_one: t.Callable[[dict[str, t.Any]], LabObject], fields: tuple[str, ...] = ("Name",)) -> None:
    """The body of a plain Get- cmdlet: the records -Identity names, sorted by name and rendered."""
    write_sorted(inv, identified(inv, records, fields), render_one)


def render(rec: dict[str, t.Any], type_names: list[str], enums: dict[str, str] | None = None) -> LabObject:
    """A stored record as the object Exchange writes: private keys (``_x``) dropped, enums typed."""
    props: dict[str, t.Any] = {}
    for key, value in rec.items():
        if key.startswith("_"):
            continue
        value = copy.deepcopy(value)
        if enums and key in enums and value is not None:
            value = LabEnum(enums[key], str(value))
        props[key] = value
    return LabObject(list(type_names), props, to_string=str(rec.get("Identity", rec.get("Name", ""))))


def stored(value: t.Any) -> t.Any:
    """A bound value as the state keeps it (JSON: enums by name)."""
    if isinstance(value, LabEnum):
        return value.value
    if isinstance(value, list):
        return [stored(v) for v in value]
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items()}
    return value


def apply_multi(current: list[t.Any], value: t.Any, same: t.Callable[[t.Any, t.Any], bool] | None = None) -> list[t.Any]:
    """Set a multi-valued property: a list replaces it, @{Add=..;Remove=..} edits it."""
    same = same or (lambda a, b: str(a).lower() == str(b).lower())
    if isinstance(value, dict):
        result = list(current or [])
        for item in value.get("add", []):
            if not any(same(item, x) for x in result):
                result.append(item)
        for item in value.get("remove", []):
            result = [x for x in result if not same(item, x)]
        return result
    return list(value or [])


def apply_settings(inv: registry.Invocation, rec: dict[str, t.Any], skip: tuple[str, ...] = ("Identity",),
                   multi: tuple[str, ...] = ()) -> bool:
    """Copy bound parameters onto the record; returns whether anything changed."""
    changed = False
    for key, value in inv.params.items():
        if key in skip or key == "DomainController":
            continue
        new = stored(value)
        if key in multi or isinstance(rec.get(key), list):
            new = apply_multi(rec.get(key) or [], new)
        if not same_value(rec.get(key), new):
            rec[key] = new
            changed = True
    if changed:
        rec["WhenChanged"] = now()
    return changed


def name_taken(inv: registry.Invocation, records: dict[str, dict[str, t.Any]], rec: dict[str, t.Any],
               new_name: str | None, dn_of: t.Callable[[str], str]) -> bool:
    """Whether renaming ``rec`` to ``new_name`` would take another record's name (after Exchange's already-exists error)."""
    if new_name and new_name.lower() != rec["Name"].lower() and new_name.lower() in records:
        already_exists(inv, dn_of(new_name))
        return True
    return False


def rekey(records: dict[str, dict[str, t.Any]], rec: dict[str, t.Any], old_key: str, new_name: str, dn: str,
          identity: str | None = None) -> None:
    """After a rename: ``rec`` under the new name's key, with the Identity (the name unless given) and DN that go with it."""
    rec["Identity"] = identity or new_name
    rec["DistinguishedName"] = dn
    del records[old_key]
    records[new_name.lower()] = rec


def set_record(inv: registry.Invocation, rec: dict[str, t.Any], skip: tuple[str, ...] = ("Identity",),
               valid: t.Callable[[dict[str, t.Any]], bool] | None = None) -> bool:
    """A Set- cmdlet's change: the bound parameters onto ``rec``, unless the result fails ``valid`` (which writes
    its own error). True when ``rec`` changed; Exchange's no-op warning when nothing would."""
    updated = copy.deepcopy(rec)
    changed = apply_settings(inv, updated, skip)
    if valid is not None and not valid(updated):
        return False
    rec.update(updated)
    if not changed:
        no_op(inv, rec["Identity"])
    return changed


def same_value(a: t.Any, b: t.Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(str(x).lower() for x in a) == sorted(str(x).lower() for x in b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a == b


def base_record(name: str, dn: str, guid: str | None = None) -> dict[str, t.Any]:
    stamp = now()
    return {"Name": name, "Identity": name, "DistinguishedName": dn, "Guid": guid or new_guid(),
            "WhenCreated": stamp, "WhenChanged": stamp, "IsValid": True}


# -- principals -----------------------------------------------------------------------------------------
def resolve_principal(data: dict[str, t.Any], text: t.Any) -> dict[str, str] | None:
    """A user, group or well-known principal by DOMAIN\\name, name, UPN, display name or SID."""
    if text is None:
        return None
    text = str(text).strip()
    lowered = text.lower()
    netbios = domain(data)["netbios"]
    for name, sid in WELL_KNOWN.items():
        # NT AUTHORITY principals also resolve by their bare name ("ANONYMOUS LOGON"), as AD name lookup does.
        bare_ok = name.startswith("NT AUTHORITY\\") and lowered == name.rsplit("\\", maxsplit=1)[-1].lower()
        if lowered in (name.lower(), sid.lower()) or bare_ok:
            return {"name": name, "sid": sid, "kind": "wellknown", "key": name.lower()}
    bare = lowered.split("\\", 1)[1] if "\\" in lowered and lowered.split("\\", 1)[0] == netbios.lower() else lowered
    if "\\" in bare:
        return None
    for key, user in data["directory"]["users"].items():
        if bare in (key, user["sid"].lower(), user["upn"].lower(), user["display_name"].lower(), user["guid"]):
            return {"name": f"{netbios}\\{user['sam']}", "sid": user["sid"], "kind": "user", "key": key}
    for key, group in data["directory"]["groups"].items():
        if bare in (key, group["sid"].lower(), group["guid"]):
            return {"name": f"{netbios}\\{group['name']}", "sid": group["sid"], "kind": "group", "key": key}
    return None


def find_principal(inv: registry.Invocation, data: dict[str, t.Any], text: t.Any) -> dict[str, str] | None:
    """The principal ``text`` names, or None after Exchange's not-found error."""
    principal = resolve_principal(data, text)
    if principal is None:
        report_not_found(inv, text)
    return principal


def user_identity(data: dict[str, t.Any], user: dict[str, t.Any]) -> str:
    """The canonical-name Identity on-premises Exchange shows for a recipient (alleo.intern/Users/jdoe)."""
    return f"{domain(data)['fqdn']}/{user.get('ou', 'Users')}/{user['name']}"


def user_dn(data: dict[str, t.Any], user: dict[str, t.Any]) -> str:
    ou = user.get("ou", "Users")
    container = f"OU={ou}" if ou != "Users" else "CN=Users"
    return f"CN={user['name']},{container},{domain(data)['dn']}"


def memberships(data: dict[str, t.Any], user_key: str) -> set[str]:
    """Group keys the user belongs to, nested groups included."""
    groups = data["directory"]["groups"]
    found: set[str] = set()
    frontier = {user_key}
    while frontier:
        nxt = {gk for gk, g in groups.items() if set(g.get("members") or []) & frontier} - found
        found |= nxt
        frontier = nxt
    return found


def session_user_key(data: dict[str, t.Any], user: str) -> str | None:
    principal = resolve_principal(data, user)
    return principal["key"] if principal and principal["kind"] == "user" else None


# -- documented defaults --------------------------------------------------------------------------------
NOT_PROPERTIES = {"Identity", "DomainController", "Confirm", "WhatIf", "Force", "Server", "Name"}


# The docs write some defaults in words ("5 seconds", "ten minutes", "256 kilobytes", "2 percent"); Exchange shows
# the typed value (00:00:05, 256 KB (262,144 bytes), 2), so the lab stores that.
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "five": 5, "ten": 10, "fifteen": 15, "thirty": 30, "sixty": 60}
_SPAN_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_SIZE_WORDS = {"bytes": "B", "kilobytes": "KB", "megabytes": "MB", "gigabytes": "GB", "terabytes": "TB"}


def _worded(value: str) -> tuple[int, str] | None:
    """``5 seconds`` / ``ten minutes`` / ``2 percent`` -> (number, unit word), else None."""
    match = re.fullmatch(r"(\d+|[a-z]+)\s+([a-z]+)", value.strip().lower())
    if not match:
        return None
    number = int(match.group(1)) if match.group(1).isdigit() else _WORD_NUMBERS.get(match.group(1))
    return None if number is None else (number, match.group(2))


def _timespan_text(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


def typed_default(text: t.Any, ptype: str) -> t.Any:
    """A reference default (``$true``, ``25 MB``, ``unlimited``, ``10``) as the value Exchange shows."""
    if text is None:
        return [] if ptype == "MultiValuedProperty" else None
    value = str(text).strip()
    lowered = value.lower()
    if lowered in ("$true", "true"):
        return True
    if lowered in ("$false", "false"):
        return False
    if lowered in ("$null", "blank", "empty"):
        return [] if ptype == "MultiValuedProperty" else None
    if lowered == "unlimited":
        return "Unlimited"
    worded = _worded(value)
    if worded:
        number, unit = worded
        if ptype in ("EnhancedTimeSpan", "TimeSpan") and unit.rstrip("s") in _SPAN_UNITS:
            return _timespan_text(number * _SPAN_UNITS[unit.rstrip("s")])
        if ptype in ("ByteQuantifiedSize", "Unlimited") and unit in _SIZE_WORDS:
            return binding.format_size(binding.size_bytes(f"{number} {_SIZE_WORDS[unit]}"))
        if ptype in ("Int32", "UInt32", "Int64") and unit in ("percent", "seconds", "second"):
            return number
    if ptype in ("ByteQuantifiedSize", "Unlimited") and binding.size_bytes(value) is not None and not value.isdigit():
        return binding.format_size(binding.size_bytes(value))
    if ptype in ("Int32", "UInt32", "Int64", "Unlimited") and value.replace(",", "").isdigit():
        return int(value.replace(",", ""))
    if ptype == "MultiValuedProperty":
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def accepted_values(cmdlet_name: str, parameter: str) -> list[str]:
    """The values the reference lists for a parameter (as the docs spell them)."""
    from .. import reference  # pylint: disable=import-outside-toplevel
    facts = reference.cmdlet("exchange", cmdlet_name) or {"parameters": {}}
    return list((facts["parameters"].get(parameter) or {}).get("accepted_values") or [])


def reference_defaults(cmdlet_name: str, contexts: t.Sequence[str] = (), skip: t.Iterable[str] = ()) -> dict[str, t.Any]:
    """Every settable property of ``cmdlet_name`` with its documented default (None where none is given).

    ``contexts`` are the doc's qualifiers in order of preference (``default_by_context`` keys they start).
    """
    from .. import reference  # pylint: disable=import-outside-toplevel
    facts = reference.cmdlet("exchange", cmdlet_name) or {"parameters": {}}
    out: dict[str, t.Any] = {}
    for pname, pfacts in sorted(facts["parameters"].items()):
        if pname in NOT_PROPERTIES or pname in skip or pfacts["type"] in ("SwitchParameter", "PSCredential"):
            continue
        if not (pfacts.get("ex2016", True) or pfacts.get("ex2019", True)):
            continue
        default = pfacts.get("default")
        by_context = pfacts.get("default_by_context") or {}
        for ctx in contexts:
            hit = next((v for k, v in by_context.items() if k.lower().startswith(ctx.lower())), None)
            if hit is not None:
                default = hit
                break
        out[pname] = typed_default(default, pfacts["type"])
    return out

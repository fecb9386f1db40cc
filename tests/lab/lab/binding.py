"""Parameter binding validated against the reference facts, the way PowerShell's binder reports failures.

``bind()`` resolves names (case-insensitive, aliases, unambiguous prefixes), positional arguments,
pipeline input, the parameter set, mandatory parameters, and converts each value by the reference
``type``. It is generic over the reference file so that the Windows cmdlets use it too.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
import re
import typing as t

from . import errors, reference
from .model import LabEnum, LabObject, SecureString

ALL_SETS = "(All)"

COMMON_PARAMETERS: dict[str, dict[str, t.Any]] = {
    "Verbose": {"type": "SwitchParameter", "aliases": ["vb"]},
    "Debug": {"type": "SwitchParameter", "aliases": ["db"]},
    "ErrorAction": {"type": "ActionPreference", "aliases": ["ea"]},
    "WarningAction": {"type": "ActionPreference", "aliases": ["wa"]},
    "InformationAction": {"type": "ActionPreference", "aliases": ["infa"]},
    "ErrorVariable": {"type": "String", "aliases": ["ev"]},
    "WarningVariable": {"type": "String", "aliases": ["wv"]},
    "InformationVariable": {"type": "String", "aliases": ["iv"]},
    "OutVariable": {"type": "String", "aliases": ["ov"]},
    "OutBuffer": {"type": "Int32", "aliases": ["ob"]},
    "PipelineVariable": {"type": "String", "aliases": ["pv"]},
}
# Default parameter sets of cmdlets whose docs mark none: the cmdlet classes declare them
# (DefaultParameterSetName, see FIDELITY.md).
DEFAULT_SETS = {
    ("exchange", "New-Mailbox"): "User",
    ("exchange", "Get-ADPermission"): "AccessRights",
    ("exchange", "Add-ADPermission"): "AccessRights",
    ("exchange", "Remove-ADPermission"): "AccessRights",
    ("exchange", "Get-MailboxPermission"): "AccessRights",
    ("exchange", "Add-MailboxPermission"): "AccessRights",
    ("exchange", "Remove-MailboxPermission"): "AccessRights",
    ("exchange", "Get-Mailbox"): "Identity",
    ("exchange", "Get-User"): "Identity",
    ("exchange", "Get-Group"): "Identity",
    ("exchange", "Get-ReceiveConnector"): "Identity",
    ("exchange", "Get-ThrottlingPolicyAssociation"): "Identity",
    ("exchange", "Enable-Mailbox"): "User",
    ("exchange", "New-SendConnector"): "AddressSpaces",
    ("exchange", "New-RoleGroup"): "Default",
    ("exchange", "Set-RoleGroup"): "Default",
    ("exchange", "Set-Mailbox"): "Identity",
    ("exchange", "Get-ExchangeCertificate"): "Thumbprint",
    ("exchange", "New-ReceiveConnector"): "Custom",
    ("exchange", "New-ManagementRoleAssignment"): "User",
}
ACTION_PREFERENCES = ["SilentlyContinue", "Stop", "Continue", "Inquire", "Ignore", "Suspend"]

# .NET names of the enum types the lab hands back (LabEnum.type_name); others get Microsoft.Exchange.Data.<type>.
ENUM_TYPE_NAMES = {
    "ActionPreference": "System.Management.Automation.ActionPreference",
    "ContentType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ContentType",
    "AllowedOOFType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AllowedOOFType",
    "ByteEncoderTypeFor7BitCharsetsEnum": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ByteEncoderTypeFor7BitCharsetsEnum",
    "PreferredInternetCodePageForShiftJisEnum": "Microsoft.Exchange.Data.Directory.SystemConfiguration.PreferredInternetCodePageForShiftJisEnum",
    "LoginOptions": "Microsoft.Exchange.Data.Directory.SystemConfiguration.LoginOptions",
    "MimeTextFormat": "Microsoft.Exchange.Data.Directory.SystemConfiguration.MimeTextFormat",
    "CalendarItemRetrievalOptions": "Microsoft.Exchange.Data.Directory.SystemConfiguration.CalendarItemRetrievalOptions",
    "LogFileRollOver": "Microsoft.Exchange.Diagnostics.LogFileRollOver",
    "ExtendedProtectionTokenCheckingMode": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ExtendedProtectionTokenCheckingMode",
    "AuthMechanisms": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthMechanisms",
    "PermissionGroups": "Microsoft.Exchange.Data.PermissionGroups",
    "ProtocolLoggingLevel": "Microsoft.Exchange.Data.ProtocolLoggingLevel",
    "ServerRole": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole",
    "UsageType": "Microsoft.Exchange.Management.SystemConfigurationTasks.NewReceiveConnector+UsageType",
    "TlsAuthLevel": "Microsoft.Exchange.Data.TlsAuthLevel",
    "ErrorPolicies": "Microsoft.Exchange.Data.ErrorPolicies",
    "TenantConnectorType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.TenantConnectorType",
    "ThrottlingPolicyScopeType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicyScopeType",
    "ActiveDirectoryRights": "System.DirectoryServices.ActiveDirectoryRights",
    "ActiveDirectorySecurityInheritance": "System.DirectoryServices.ActiveDirectorySecurityInheritance",
    "MailboxRights": "Microsoft.Exchange.Management.RecipientTasks.MailboxRights",
    "RoleType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.RoleType",
    "RecipientWriteScopeType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.RecipientWriteScopeType",
    "ConfigWriteScopeType": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigWriteScopeType",
}
# Flags enums: a comma-separated list of names is one value.
FLAG_ENUMS = {"PermissionGroups", "AuthMechanisms", "ActiveDirectoryRights", "MailboxRights", "ErrorPolicies",
              "ServerRole", "MessageRateSourceFlags", "TransportModerationNotificationFlags", "ArchiveStatusFlags"}
# Enums the reference lists without "accepted values" in a form the binder can read.
EXTRA_ENUM_VALUES = {
    "ActiveDirectoryRights": ["CreateChild", "DeleteChild", "ListChildren", "Self", "ReadProperty", "WriteProperty",
                              "DeleteTree", "ListObject", "ExtendedRight", "Delete", "ReadControl", "GenericExecute",
                              "GenericWrite", "GenericRead", "WriteDacl", "WriteOwner", "GenericAll", "Synchronize",
                              "AccessSystemSecurity"],
    "MailboxRights": ["ChangeOwner", "ChangePermission", "DeleteItem", "ExternalAccount", "FullAccess", "ReadPermission"],
    "ActiveDirectorySecurityInheritance": ["None", "All", "Descendents", "SelfAndChildren", "Children"],
    "ActionPreference": ACTION_PREFERENCES,
}
# Parameter types that take the pipeline object itself rather than its identity.
OBJECT_TYPES = {"Object", "PSObject", "CimInstance", "ADAcePresentationObject", "MailboxAcePresentationObject"}
SCALAR_TYPES = {"String", "Int32", "UInt32", "Int64", "Boolean", "SwitchParameter", "Guid", "DateTime", "Uri",
                "Object", "SecureString", "PSCredential", "Hashtable", "IDictionary", "PSObject", "Double"}


@dataclasses.dataclass
class Bound:
    params: dict[str, t.Any]
    common: dict[str, t.Any]
    parameter_set: str
    facts: dict[str, t.Any]


def _strip_type(type_name: str) -> str:
    name = type_name
    for prefix in ("System.Management.Automation.", "System.Collections.", "System."):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name.startswith("Nullable`1[["):
        name = name[len("Nullable`1[["):].rstrip("]")
        name = _strip_type(name)
    return name


def synthetic_facts(extra: dict[str, t.Any]) -> dict[str, t.Any]:
    """Reference-shaped facts for a command the reference does not list (CmdletSpec.extra_parameters).

    ``extra`` maps a parameter name to ``{"type": ..., "mandatory": bool, "position": int|None,
    "aliases": [...], "accepted_values": [...], "pipeline": "True"}`` (only ``type`` is needed).
    """
    params = {}
    mandatory = []
    positional = {}
    for name, spec in extra.items():
        spec = dict(spec) if isinstance(spec, dict) else {"type": spec}
        params[name] = {"type": spec.get("type", "Object"), "sets": [ALL_SETS],
                        "aliases": spec.get("aliases", []), "position": spec.get("position", "Named"),
                        "required": bool(spec.get("mandatory")), "pipeline": spec.get("pipeline"),
                        "accepted_values": spec.get("accepted_values"),
                        "mandatory_in": [ALL_SETS] if spec.get("mandatory") else []}
        if spec.get("mandatory"):
            mandatory.append(name)
        if isinstance(spec.get("position"), int):
            positional[name] = spec["position"]
    return {"parameters": params,
            "parameter_sets": {ALL_SETS: {"parameters": sorted(params), "mandatory": mandatory, "positional": positional}}}


def facts_for(reference_name: str, cmdlet_name: str, extra: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    facts = reference.cmdlet(reference_name, cmdlet_name)
    if facts is None:
        return synthetic_facts(extra or {})
    if extra:
        facts = {**facts, "parameters": dict(facts["parameters"]),
                 "parameter_sets": {k: dict(v) for k, v in facts["parameter_sets"].items()}}
        for name, spec in synthetic_facts(extra)["parameters"].items():
            spec = dict(spec)
            spec["sets"] = [ALL_SETS]
            facts["parameters"][name] = spec
    return facts


def _param_sets(pfacts: dict[str, t.Any], all_sets: list[str]) -> set[str]:
    sets = pfacts.get("sets") or [ALL_SETS]
    if ALL_SETS in sets:
        return set(all_sets)
    return set(sets) & set(all_sets) or set(all_sets)


class Binder:
    def __init__(self, cmdlet_name: str, reference_name: str, extra: dict[str, t.Any] | None = None) -> None:
        self.cmdlet = cmdlet_name
        self.reference = reference_name
        self.facts = facts_for(reference_name, cmdlet_name, extra)
        # Parameters the docs mark for Exchange Online only do not exist on an on-premises server.
        self.params = {name: pfacts for name, pfacts in self.facts["parameters"].items()
                       if pfacts.get("ex2016", True) or pfacts.get("ex2019", True)}
        self.sets = list(self.facts["parameter_sets"])
        # provider-only parameters (Set-ItemProperty -Type) belong to every set that names them.
        self.provider_only = {}
        for set_name, sfacts in self.facts["parameter_sets"].items():
            for names in (sfacts.get("provider_only_parameters") or {}).values():
                for name in names:
                    self.provider_only.setdefault(name, set()).add(set_name)

    def _err(self, message: str, error_id: str, **kw: t.Any) -> Exception:
        return errors.binding_error(message, error_id, self.cmdlet, **kw)

    # -- names ---------------------------------------------------------------------------------------
    def resolve_name(self, given: str) -> str:
        name = given.lstrip("-").rstrip(":")
        candidates: dict[str, dict[str, t.Any]] = {**COMMON_PARAMETERS, **self.params}
        lowered = name.lower()
        for pname, pfacts in candidates.items():
            if pname.lower() == lowered or lowered in [a.lower() for a in pfacts.get("aliases") or []]:
                return pname
        matches = sorted(p for p in candidates if p.lower().startswith(lowered))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise self._err(f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
                            f"Possible matches include: {' '.join('-' + m for m in matches)}.",
                            "AmbiguousParameter", target=name)
        raise self._err(f"A parameter cannot be found that matches parameter name '{name}'.",
                        "NamedParameterNotFound", target=name)

    # -- the whole call ------------------------------------------------------------------------------
    def bind(self, parameters: list[tuple[str | None, t.Any]], input_object: t.Any = None,
             pipeline_binding: t.Callable[[t.Any], dict[str, t.Any]] | None = None,
             has_input: bool = False) -> Bound:
        named: dict[str, t.Any] = {}
        common: dict[str, t.Any] = {}
        positional: list[t.Any] = []
        for given, value in parameters:
            if given is None:
                positional.append(value)
                continue
            pname = self.resolve_name(given)
            if pname in named or pname in common:
                raise self._err(f"Cannot bind parameter because parameter '{pname}' is specified more than once. "
                                "To provide multiple values to parameters that can accept multiple values, use the "
                                "array syntax. For example, \"-parameter value1,value2,value3\".",
                                "ParameterAlreadyBound", target=pname)
            if pname in COMMON_PARAMETERS and pname not in self.params:
                common[pname] = self.convert(pname, COMMON_PARAMETERS[pname], value)
            else:
                named[pname] = value

        candidate_sets = self._candidate_sets(named)
        if positional:
            self._bind_positional(positional, named, candidate_sets)
            candidate_sets = self._candidate_sets(named)
        if has_input:
            for pname, value in self._pipeline_values(input_object, named, candidate_sets, pipeline_binding).items():
                named.setdefault(pname, value)
            candidate_sets = self._candidate_sets(named)
        # Arguments are converted as they bind, before PowerShell looks for missing mandatory parameters.
        converted = {pname: self.convert(pname, self.params[pname], value) for pname, value in named.items()}
        chosen = self._choose_set(named, candidate_sets)
        return Bound(converted, common, chosen, self.facts)

    def _candidate_sets(self, named: dict[str, t.Any]) -> list[str]:
        remaining = set(self.sets)
        for pname in named:
            sets = _param_sets(self.params[pname], self.sets)
            if pname in self.provider_only:
                sets = sets | self.provider_only[pname]
            remaining &= sets
        if not remaining:
            raise self._err("Parameter set cannot be resolved using the specified named parameters.",
                            "AmbiguousParameterSet")
        return [s for s in self.sets if s in remaining]

    def _bind_positional(self, values: list[t.Any], named: dict[str, t.Any], sets: list[str]) -> None:
        slots: dict[int, str] = {}
        for set_name in sets:
            for pname, pos in (self.facts["parameter_sets"][set_name].get("positional") or {}).items():
                if pname not in named and pname in self.params:
                    slots.setdefault(int(pos), pname)
        ordered = [slots[k] for k in sorted(slots)]
        seen = []
        for pname in ordered:
            if pname not in seen:
                seen.append(pname)
        for index, value in enumerate(values):
            if index >= len(seen):
                shown = value if not isinstance(value, SecureString) else "System.Security.SecureString"
                raise self._err(f"A positional parameter cannot be found that accepts argument '{shown}'.",
                                "PositionalParameterNotFound", target=shown)
            named[seen[index]] = value

    def _pipeline_values(self, obj: t.Any, named: dict[str, t.Any], sets: list[str],
                         pipeline_binding: t.Callable[[t.Any], dict[str, t.Any]] | None) -> dict[str, t.Any]:
        if pipeline_binding is not None:
            return {self.resolve_name(k): v for k, v in pipeline_binding(obj).items()}
        allowed = set()
        for set_name in sets:
            allowed.update(self.facts["parameter_sets"][set_name]["parameters"])
        props = obj.properties if isinstance(obj, LabObject) else obj if isinstance(obj, dict) else {}
        out: dict[str, t.Any] = {}
        by_value: list[str] = []
        for pname, pfacts in self.params.items():
            pipe = str(pfacts.get("pipeline") or "")
            if not pipe.startswith("True") or pname in named or pname not in allowed:
                continue
            if "ByPropertyName" in pipe and pname in props:
                out[pname] = props[pname]
            if "ByValue" in pipe or pipe == "True":
                by_value.append(pname)
        if by_value and not set(by_value) & set(out):
            # Exchange Id parameters accept the object itself (its Identity): the parameter whose Id type names
            # the object's class (ExchangeServer -> ServerIdParameter) wins, else -Identity.
            target = self._by_value_target(obj, by_value)
            out[target] = props.get("Identity", obj) if props else obj
        return out

    def _by_value_target(self, obj: t.Any, by_value: list[str]) -> str:
        if isinstance(obj, LabObject) and obj.type_names:
            cls = obj.type_names[0].rsplit(".", 1)[-1].lower()
            for pname in by_value:
                noun = _strip_type(self.params[pname].get("type") or "").replace("[]", "")
                noun = noun[:-len("IdParameter")].lower() if noun.endswith("IdParameter") else ""
                if noun and noun not in ("adrawentry", "general", "recipient") and cls.endswith(noun):
                    return pname
        return "Identity" if "Identity" in by_value else by_value[0]

    def _choose_set(self, named: dict[str, t.Any], candidates: list[str]) -> str:
        def missing(set_name: str) -> list[str]:
            sfacts = self.facts["parameter_sets"][set_name]
            return [m for m in sfacts.get("mandatory") or [] if m not in named]

        # A set named after one of the cmdlet's switches (New-Mailbox -Room, New-ReceiveConnector -Custom) is
        # selected by that switch; the docs' SYNTAX does not mark those switches mandatory.
        default = self.facts.get("default_parameter_set") or DEFAULT_SETS.get((self.reference, self.cmdlet))
        default = next((s for s in self.sets if default and s.lower() == default.lower()), default)
        switch_sets = [s for s in candidates if s in self.params and s not in named and s != default
                       and _strip_type(self.params[s].get("type") or "") == "SwitchParameter"]
        if len(switch_sets) < len(candidates):
            candidates = [s for s in candidates if s not in switch_sets]
        if len(candidates) == 1 or default in candidates:
            chosen = candidates[0] if len(candidates) == 1 else default
            if missing(chosen):
                self._raise_missing(missing(chosen))
            return chosen
        satisfied = [s for s in candidates if not missing(s)]
        if not satisfied:
            best = min(candidates, key=lambda s: len(missing(s)))
            self._raise_missing(missing(best))
        if len(satisfied) == 1:
            return satisfied[0]
        for preferred in ("Identity", ALL_SETS):
            if preferred in satisfied:
                return preferred
        raise self._err("Parameter set cannot be resolved using the specified named parameters.",
                        "AmbiguousParameterSet")

    def _raise_missing(self, names: list[str]) -> None:
        raise self._err("Cannot process command because of one or more missing mandatory parameters: "
                        f"{' '.join(names)}.", "MissingMandatoryParameter")

    # -- values --------------------------------------------------------------------------------------
    def convert(self, pname: str, pfacts: dict[str, t.Any], value: t.Any) -> t.Any:
        return Converter(self, pname, pfacts).convert(value)


# String parameters with accepted values that Exchange checks in the object's property setter (a
# DataValidationException from the task), not with PowerShell's ValidateSet: the cmdlet validates them itself.
TASK_VALIDATED = {
    "Set-RemoteDomain": ("CharacterSet", "NonMimeCharacterSet"),
}


class Converter:
    def __init__(self, binder: Binder, pname: str, pfacts: dict[str, t.Any]) -> None:
        self.binder = binder
        self.pname = pname
        self.facts = pfacts
        self.full_type = pfacts.get("type") or "Object"
        self.type = _strip_type(self.full_type)
        # The docs simplify Unlimited<UInt32> throttling settings to UInt32; the real cmdlets take Unlimited.
        if self.type == "UInt32" and ("ThrottlingPolicy" in binder.cmdlet or (pfacts.get("range") or {}).get("unlimited")):
            self.type = "Unlimited"

    def fail(self, value: t.Any, target_type: str, error: str) -> Exception:
        shown = "System.Security.SecureString" if isinstance(value, SecureString) else _display(value)
        return self.binder._err(f"Cannot bind parameter '{self.pname}'. Cannot convert value \"{shown}\" to type "
                                f"\"{target_type}\". Error: \"{error}\"", "CannotConvertArgumentNoMessage",
                                target=shown)

    def invalid(self, message: str) -> Exception:
        return self.binder._err(f"Cannot validate argument on parameter '{self.pname}'. {message}",
                                "ParameterArgumentValidationError", exception_type=errors.ARG_VALIDATION_EXC,
                                category="InvalidData")

    @property
    def split(self) -> bool:
        # Only Exchange's MultiValuedProperty parser splits one string on commas; PowerShell's own binder
        # binds a string to Object[]/String[] as a single element.
        return self.binder.reference == "exchange"

    def convert(self, value: t.Any) -> t.Any:
        typ = self.type
        if typ == "SwitchParameter":
            return self._switch(value)
        if isinstance(value, dict) and (typ == "MultiValuedProperty" or typ.endswith("[]")):
            # @{Add=...; Remove=...} edits a multi-valued property in place.
            keys = {k.lower(): v for k, v in value.items()}
            if set(keys) <= {"add", "remove"}:
                return {k: [self._element(v) for v in _as_list(x, self.split)] for k, x in keys.items()}
        if typ == "MultiValuedProperty" or typ.endswith("[]") or typ == "ProxyAddressCollection":
            items = [] if value is None else [self._element(v) for v in _as_list(value, self.split)]
            if not items and self.facts.get("mandatory_in"):
                raise self.binder._err(f"Cannot bind argument to parameter '{self.pname}' because it is an empty "
                                       "collection.", "ParameterArgumentValidationErrorEmptyCollectionNotAllowed",
                                       exception_type=errors.ARG_VALIDATION_EXC, category="InvalidData")
            return items
        return self._scalar(value, typ)

    def _switch(self, value: t.Any) -> bool:
        if value is None or isinstance(value, bool):
            return True if value is None else value
        if isinstance(value, (int, float)):
            return bool(value)
        raise self.fail(value, "System.Management.Automation.SwitchParameter",
                        "Only Boolean values and numbers are accepted.")

    def _element(self, value: t.Any) -> t.Any:
        typ = self.type[:-2] if self.type.endswith("[]") else self.type
        if typ in ("MultiValuedProperty", "ProxyAddressCollection"):
            typ = _element_type(self.pname)
        return self._scalar(value, typ)

    def _scalar(self, value: t.Any, typ: str) -> t.Any:  # pylint: disable=too-many-return-statements,too-many-branches
        if isinstance(value, LabObject) and typ not in OBJECT_TYPES:
            value = value.properties.get("Identity", value.properties.get("Name", value.to_string))
        if typ == "SecureString":
            if isinstance(value, SecureString):
                return value
            raise self.binder._err(f"Cannot bind parameter '{self.pname}'. Cannot convert the value of type "
                                   "\"System.String\" to type \"System.Security.SecureString\".",
                                   "CannotConvertArgument", target=None)
        if value is None:
            return None
        if typ == "Boolean":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)):
                return bool(value)
            raise self.binder._err(f"Cannot process argument transformation on parameter '{self.pname}'. Cannot "
                                   f"convert value \"{_type_of(value)}\" to type \"System.Boolean\". Boolean "
                                   "parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                                   "ParameterArgumentTransformationError", exception_type=errors.ARG_TRANSFORM_EXC,
                                   category="InvalidData")
        if typ in ("Int32", "UInt32", "Int64"):
            return self._range(self._int(value, typ))
        if typ == "Unlimited":
            return self._unlimited(value)
        if typ == "ByteQuantifiedSize":
            return self._range_bytes(self._bytes(value, "Microsoft.Exchange.Data.ByteQuantifiedSize"))
        if typ in ("EnhancedTimeSpan", "TimeSpan"):
            return self._timespan(value)
        if typ in ("Fqdn",):
            return self._checked(value, _is_fqdn, "Microsoft.Exchange.Data.Fqdn", "\"{0}\" isn't a valid FQDN.")
        if typ == "SmtpDomain":
            return self._checked(value, _is_fqdn, "Microsoft.Exchange.Data.SmtpDomain",
                                 "\"{0}\" isn't a valid SMTP domain.")
        if typ == "SmtpDomainWithSubdomains":
            return self._checked(value, lambda v: v == "*" or _is_fqdn(v[2:] if v.startswith("*.") else v),
                                 "Microsoft.Exchange.Data.SmtpDomainWithSubdomains",
                                 "\"{0}\" isn't a valid SMTP domain.")
        if typ == "IPAddress":
            return self._checked(value, _is_ip, "System.Net.IPAddress", "An invalid IP address was specified.")
        if typ == "IPRange":
            return self._checked(value, lambda v: parse_ip_range(v) is not None, "Microsoft.Exchange.Data.IPRange",
                                 "\"{0}\" isn't a valid IP range.", normalize=format_ip_range)
        if typ == "IPBinding":
            return self._checked(value, lambda v: parse_binding(v) is not None, "Microsoft.Exchange.Data.IPBinding",
                                 "\"{0}\" isn't a valid IP binding.", normalize=lambda v: format_binding(*parse_binding(v)))
        if typ == "AddressSpace":
            return self._checked(value, lambda v: parse_address_space(v) is not None,
                                 "Microsoft.Exchange.Data.AddressSpace", "\"{0}\" isn't a valid address space.",
                                 normalize=format_address_space)
        if typ == "SmartHost":
            return self._checked(value, lambda v: _is_fqdn(v.strip("[]")) or _is_ip(v.strip("[]")),
                                 "Microsoft.Exchange.Data.SmartHost", "\"{0}\" isn't a valid smart host.",
                                 normalize=format_smart_host)
        if typ == "Guid":
            return self._checked(value, lambda v: re.fullmatch(r"\{?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?", v) is not None,
                                 "System.Guid", "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).")
        if typ == "ActionPreference" or self._is_enum(typ):
            return self._enum(value, typ)
        if typ == "String" and self._string_values() and self.pname in TASK_VALIDATED.get(self.binder.cmdlet, ()):
            # The object's setter checks these, not the binder: the cmdlet raises Exchange's own text.
            return _display(value)
        if typ == "String" and self._string_values():
            return self._validate_set(_display(value))
        if typ == "String":
            return value if isinstance(value, str) else _display(value)
        if typ.endswith("IdParameter") or typ.endswith("IdParameter[]"):
            return value if isinstance(value, (str, dict)) else _display(value)
        return value

    # -- type helpers ---------------------------------------------------------------------------------
    def _int(self, value: t.Any, typ: str) -> int:
        net = f"System.{typ}"
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            result = value
        elif isinstance(value, float) and value.is_integer():
            result = int(value)
        else:
            try:
                result = int(str(value).strip().replace(",", ""), 0 if str(value).strip().lower().startswith("0x") else 10)
            except ValueError:
                raise self.fail(value, net, "Input string was not in a correct format.") from None
        low, high = {"Int32": (-2 ** 31, 2 ** 31 - 1), "UInt32": (0, 2 ** 32 - 1), "Int64": (-2 ** 63, 2 ** 63 - 1)}[typ]
        if not low <= result <= high:
            raise self.fail(value, net, f"Value was either too large or too small for a{'n' if typ != 'UInt32' else ''} {typ}.")
        return result

    def _range(self, number: int) -> int:
        rng = self.facts.get("range") or {}
        low, high = rng.get("min"), rng.get("max")
        if isinstance(low, int) and number < low:
            raise self.invalid(f"The {number} argument is less than the minimum allowed range of {low}. Supply an "
                               f"argument that is greater than or equal to {low} and then try the command again.")
        if isinstance(high, int) and number > high:
            raise self.invalid(f"The {number} argument is greater than the maximum allowed range of {high}. Supply "
                               f"an argument that is less than or equal to {high} and then try the command again.")
        return number

    def _range_bytes(self, size: str) -> str:
        rng = self.facts.get("range") or {}
        number = size_bytes(size)
        if number is not None and rng.get("unit") == "bytes":
            low, high = rng.get("min"), rng.get("max")
            if (isinstance(low, int) and number < low) or (isinstance(high, int) and number > high):
                raise self.invalid(f"The value must be between {format_size(low)} and {format_size(high)}.")
        return size

    def _unlimited(self, value: t.Any) -> t.Any:
        if isinstance(value, str) and value.strip().lower() == "unlimited":
            return "Unlimited"
        if (self.facts.get("range") or {}).get("unit") == "bytes" or (isinstance(value, str) and re.search(r"[KMGT]?B\b", value, re.I)):
            return self._range_bytes(self._bytes(value, "Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.ByteQuantifiedSize]"))
        try:
            number = int(str(value).strip()) if not isinstance(value, int) else value
        except ValueError:
            raise self.fail(value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]",
                            f"The value \"{_display(value)}\" isn't valid. Valid values are Unlimited or an integer.") from None
        return self._range(number)

    def _bytes(self, value: t.Any, net: str) -> str:
        number = size_bytes(value)
        if number is None:
            raise self.fail(value, net, "The value is not in a valid format. Valid formats include \"<number> KB\", "
                            "\"<number> MB\" or \"<number>\" (bytes).")
        return format_size(number)

    def _timespan(self, value: t.Any) -> str:
        text = _display(value).strip()
        match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
        if not match:
            raise self.fail(value, "Microsoft.Exchange.Data.EnhancedTimeSpan",
                            "String was not recognized as a valid TimeSpan.")
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return f"{days}.{hours:02d}:{minutes:02d}:{seconds:02d}" if days else f"{hours:02d}:{minutes:02d}:{seconds:02d}"

    def _checked(self, value: t.Any, predicate: t.Callable[[str], bool], net: str, error: str,
                 normalize: t.Callable[[str], t.Any] | None = None) -> t.Any:
        text = _display(value).strip()
        if not text or not predicate(text):
            raise self.fail(value, net, error.format(text))
        return normalize(text) if normalize else text

    def _enum_values(self, typ: str) -> list[str]:
        values = [v for v in self.facts.get("accepted_values") or [] if not v.startswith("$")]
        return values or EXTRA_ENUM_VALUES.get(typ, [])

    def _is_enum(self, typ: str) -> bool:
        return typ not in SCALAR_TYPES and bool(self._enum_values(typ)) and not typ.endswith("IdParameter")

    def _string_values(self) -> list[str]:
        return [v for v in self.facts.get("accepted_values") or [] if not v.startswith("$")]

    def _validate_set(self, text: str) -> str | None:
        values = self.facts.get("accepted_values") or []
        if "$null" in values and text in ("", "$null"):
            return None
        for candidate in values:
            if candidate.lower() == text.lower():
                return candidate
        raise self.invalid(f"The argument \"{text}\" does not belong to the set \"{','.join(self._string_values())}\" "
                           "specified by the ValidateSet attribute. Supply an argument that is in the set and then "
                           "try the command again.")

    def _enum(self, value: t.Any, typ: str) -> LabEnum:
        values = self._enum_values(typ)
        full = self.full_type[:-2] if self.full_type.endswith("[]") else self.full_type
        net = ENUM_TYPE_NAMES.get(typ) or (full if "." in full else f"Microsoft.Exchange.Data.{typ}")
        numbers = {str(v): k for k, v in (self.facts.get("value_numbers") or {}).items()}
        if isinstance(value, LabEnum):
            value = value.value
        parts = [p.strip() for p in str(value).split(",")] if typ in FLAG_ENUMS else [str(value).strip()]
        names = []
        for part in parts:
            if part in numbers:
                names.append(numbers[part])
                continue
            match = next((v for v in values if v.lower() == part.lower()), None)
            if match is None:
                raise self.fail(value, net, f"Unable to match the identifier name {part} to a valid enumerator name. "
                                f"Specify one of the following enumerator names and try again:{chr(10)}{', '.join(values)}")
            names.append(match)
        number = sum(1 << values.index(n) for n in names) if typ in FLAG_ENUMS else values.index(names[0])
        return LabEnum(net, ", ".join(names), number)


# Element types of MultiValuedProperty parameters, by parameter name (the docs only say MultiValuedProperty).
ELEMENT_TYPES = {
    "Bindings": "IPBinding", "RemoteIPRanges": "IPRange", "AddressSpaces": "AddressSpace", "SmartHosts": "SmartHost",
    "SSLBindings": "IPBinding", "UnencryptedOrTLSBindings": "IPBinding",
}


def _element_type(pname: str) -> str:
    return ELEMENT_TYPES.get(pname, "String")


def _as_list(value: t.Any, split: bool = True) -> list[t.Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if split and isinstance(value, str) and "," in value and not re.search(r"\(\d", value):
        # A single string from the wire may hold "a,b" exactly as Exchange's own parser splits it.
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


def _display(value: t.Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, SecureString):
        return "System.Security.SecureString"
    if isinstance(value, (list, tuple)):
        return " ".join(_display(v) for v in value)
    if isinstance(value, LabEnum):
        return value.value
    return str(value)


def _type_of(value: t.Any) -> str:
    return {str: "System.String", int: "System.Int32", float: "System.Double", list: "System.Object[]"}.get(
        type(value), "System.Object")


def _is_fqdn(text: str) -> bool:
    if len(text) > 255 or not text:
        return False
    labels = text.rstrip(".").split(".")
    return all(re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?", label) for label in labels)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_ip_range(text: str) -> tuple[int, int, int] | None:
    """``192.168.1.10``, ``192.168.1.0/24``, ``10.0.0.1-10.0.0.9`` -> (version, first, last) as integers."""
    text = text.strip()
    try:
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if first.version != last.version or int(first) > int(last):
                return None
            return first.version, int(first), int(last)
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            return net.version, int(net.network_address), int(net.broadcast_address)
        addr = ipaddress.ip_address(text)
        return addr.version, int(addr), int(addr)
    except ValueError:
        return None


def format_ip_range(text: str) -> str:
    """A range as IPRange.ToString shows it: a single address as itself; CIDR as ``network/length`` with the start
    masked (``10.0.0.7/24`` -> ``10.0.0.0/24``), ``/32`` (``/128``) as the bare address; ``a-b`` as typed, IPv6 in
    lower case (audit Q2)."""
    text = text.strip()
    if "/" in text:
        net = ipaddress.ip_network(text, strict=False)
        return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    if "-" in text:
        first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
        return f"{first}-{last}"
    return str(ipaddress.ip_address(text))


def parse_binding(text: str) -> tuple[str, int] | None:
    """``0.0.0.0:25`` or ``[::]:25`` -> (address, port)."""
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d+)|([0-9.]+):(\d+)", text.strip())
    if not match:
        return None
    address = match.group(1) or match.group(3)
    port = int(match.group(2) or match.group(4))
    if not _is_ip(address) or not 0 < port < 65536:
        return None
    return str(ipaddress.ip_address(address)), port


def format_binding(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def format_smart_host(text: str) -> str:
    """A smart host as Exchange shows it: an IP address in brackets (``[10.0.0.7]``, RoutingHost's
    IpAddressToString), a host name as typed."""
    bare = text.strip()
    inner = bare[1:-1] if bare.startswith("[") and bare.endswith("]") else bare
    return f"[{inner}]" if _is_ip(inner) else bare


def parse_address_space(text: str) -> tuple[str, str, int] | None:
    """``fax.alleo.intern``, ``SMTP:fax.alleo.intern;1`` -> (type, domain, cost).

    The type keeps the case it was given; without one it is ``smtp`` in lower case (AddressSpace's default)."""
    match = re.fullmatch(r"(?:([A-Za-z0-9]+):)?([^;]+?)(?:;(\d+))?", text.strip())
    if not match:
        return None
    kind, domain, cost = match.group(1) or "smtp", match.group(2), int(match.group(3) or 1)
    if kind.upper() == "SMTP":
        bare = domain[2:] if domain.startswith("*.") else domain
        if domain != "*" and not _is_fqdn(bare):
            return None
    if not 1 <= cost <= 100:
        return None
    return kind, domain, cost


def format_address_space(text: str) -> str:
    kind, domain, cost = parse_address_space(text)  # type: ignore[misc]
    return f"{kind}:{domain};{cost}"


UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def size_bytes(value: t.Any) -> int | None:
    """``10 MB``, ``10MB``, ``10485760``, ``10 MB (10,485,760 bytes)`` -> bytes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"([\d.]+)\s*([KMGT]?B)?(?:\s*\(([\d,]+) bytes\))?", text, re.I)
    if not match:
        return None
    if match.group(3):
        return int(match.group(3).replace(",", ""))
    try:
        return int(float(match.group(1)) * UNITS[(match.group(2) or "B").upper()])
    except ValueError:
        return None


def format_size(number: int | None) -> str:
    """Exchange's display of a ByteQuantifiedSize: ``25 MB (26,214,400 bytes)``."""
    if number is None:
        return "Unlimited"
    unit = "B"
    for name in ("TB", "GB", "MB", "KB"):
        if number >= UNITS[name]:
            unit = name
            break
    amount = number / UNITS[unit]
    shown = f"{amount:.0f}" if amount == int(amount) else f"{amount:.3g}"
    return f"{shown} {unit} ({number:,} bytes)"


def wildcard_match(pattern: str, text: str) -> bool:
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


def bind(cmdlet_name: str, parameters: list[tuple[str | None, t.Any]], *, reference_name: str = "exchange",
         extra: dict[str, t.Any] | None = None, input_object: t.Any = None, has_input: bool = False,
         pipeline_binding: t.Callable[[t.Any], dict[str, t.Any]] | None = None) -> Bound:
    """Bind one command's parameters; raises a terminating CmdletError the way PowerShell's binder does."""
    return Binder(cmdlet_name, reference_name, extra).bind(parameters, input_object, pipeline_binding, has_input)

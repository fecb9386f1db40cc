"""Throttling policies and their association with users (Get/New/Set/Remove-ThrottlingPolicy,
Get/Set-ThrottlingPolicyAssociation). The org starts with ``GlobalThrottlingPolicy_<guid>``."""

from __future__ import annotations

import typing as t

from .. import reference, topology
from . import common, recipients

POLICY_TYPES = ["Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy",
                "Microsoft.Exchange.Data.Directory.ADConfigurationObject", "Microsoft.Exchange.Data.Directory.ADObject",
                "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
ASSOCIATION_TYPES = ["Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicyAssociation",
                     "Microsoft.Exchange.Data.ConfigurableObject", "System.Object"]
SCOPE_ENUM = {"ThrottlingPolicyScope": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ThrottlingPolicyScopeType"}
NOT_SETTINGS = {"Identity", "Name", "DomainController", "Confirm", "WhatIf", "Force", "ThrottlingPolicyScope",
                "IsServiceAccount", "ComplianceMaxExpansionDGRecipients", "ComplianceMaxExpansionNestedDGs",
                "ForceSettingGlobal"}
# The on-premises global policy's values where they differ from the docs (ThrottlingPolicyDefaults, the
# non-datacenter branch; audit Q6). Every other setting: the documented default, else Unlimited.
GLOBAL_DEFAULTS = {
    "EWSMaxConcurrency": 27, "EwsMaxBurst": 300000, "EwsRechargeRate": 900000, "EwsCutoffBalance": 3000000,
    "EWSMaxSubscriptions": 5000, "RCAMaxConcurrency": 40, "RcaMaxBurst": 150000, "RcaRechargeRate": 900000,
    "RcaCutoffBalance": "Unlimited", "CPAMaxConcurrency": 20, "PowerShellMaxConcurrency": 18,
    "IMAPMaxConcurrency": "Unlimited",
}
# Strings of New/Set/Remove-ThrottlingPolicy (audit Q6); on premises the organization id shows as ''.
ORGANIZATION_EXISTS = ("You cannot create a new organization throttling policy in org '' because one already exists. "
                       "Try to modify the existing organization throttling policy using the Set-ThrottlingPolicy cmdlet.")
UNSUPPORTED_SCOPE = ("The following specified values aren't supported by this cmdlet: '{0}'. The allowed values are: "
                     "'Regular', 'Organization'.")
GLOBAL_NOT_REMOVABLE = "The global throttling policy cannot be removed."
IN_USE = ("Throttling policy \"{0}\" can't be removed because there are currently users associated with the policy. "
          "Reset the throttling policy for those users using Set-Mailbox, and then try again.")
GLOBAL_READ_ONLY = "The global throttling policy is read-only. Create a new organization throttling policy instead."
GLOBAL_CHANGED = ("Requested changes to the global throttling policy \"{0}\" will be overwritten by Exchange Server upgrade. "
                  "Consider creating a non-global policy instead.")


def settings_names() -> list[str]:
    facts = reference.cmdlet("exchange", "Set-ThrottlingPolicy") or {"parameters": {}}
    return sorted(p for p, f in facts["parameters"].items()
                  if p not in NOT_SETTINGS and f["type"] not in ("SwitchParameter",) and (f["ex2016"] or f["ex2019"]))


def policies(data: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    return common.org(data).setdefault("throttling_policies", {})


def _dn(data: dict[str, t.Any], name: str) -> str:
    return f"CN={name},CN=Global Settings,{common.config_dn(data)}"


def make(data: dict[str, t.Any], name: str, scope: str, guid: str | None = None) -> dict[str, t.Any]:
    rec = common.base_record(name, _dn(data, name), guid)
    rec["ThrottlingPolicyScope"] = scope
    rec["IsLegacyDefault"] = False
    rec["IsServiceAccount"] = False
    if scope == "Global":
        documented = common.reference_defaults("Set-ThrottlingPolicy")
        for setting in settings_names():
            value = GLOBAL_DEFAULTS.get(setting, documented.get(setting))
            rec[setting] = value if value is not None else "Unlimited"
    else:
        for setting in settings_names():
            rec[setting] = None
    rec["Diagnostics"] = None
    return rec


def seed(state: dict[str, t.Any], _topo: dict[str, t.Any]) -> None:
    guid = topology.stable_guid("throttling", common.domain(state)["fqdn"])
    name = f"GlobalThrottlingPolicy_{guid}"
    policies(state)[name.lower()] = make(state, name, "Global", guid)


topology.SEEDERS.append(seed)


def find_policy(data: dict[str, t.Any], identity: t.Any) -> dict[str, t.Any] | None:
    found = common.find(policies(data).values(), identity)
    return found[0] if len(found) == 1 else None


def _render(rec: dict[str, t.Any]):
    out = {k: ("Unlimited" if v == "Unlimited" else v) for k, v in rec.items()}
    return common.render(out, POLICY_TYPES, SCOPE_ENUM)


def _refuse_global_scope(inv, scope: t.Any, target: str) -> bool:
    """-ThrottlingPolicyScope accepts Regular and Organization only (New and Set); True after refusing Global."""
    if scope != "Global":
        return False
    common.fail(inv, UNSUPPORTED_SCOPE.format(scope), "Microsoft.Exchange.Configuration.Tasks.TaskException",
                category="InvalidArgument", target=target)
    return True


@common.cmdlet("Get-ThrottlingPolicy")
def get_throttling_policy(inv) -> None:
    with inv.store.read() as data:
        records = list(policies(data).values())
    common.write_matching(inv, records, _render)


@common.cmdlet("New-ThrottlingPolicy")
def new_throttling_policy(inv) -> None:
    name = inv.params["Name"]
    scope = common.stored(inv.params.get("ThrottlingPolicyScope")) or "Regular"
    with inv.store.write() as data:
        if name.lower() in policies(data):
            common.already_exists(inv, _dn(data, name))
            return
        if _refuse_global_scope(inv, scope, name):
            return
        if scope == "Organization" and any(p["ThrottlingPolicyScope"] == "Organization" for p in policies(data).values()):
            common.fail(inv, ORGANIZATION_EXISTS, category="InvalidOperation", target=name)
            return
        rec = make(data, name, scope)
        for key, value in inv.params.items():
            if key in rec and key not in ("Name", "ThrottlingPolicyScope"):
                rec[key] = common.stored(value)
        rec["IsServiceAccount"] = bool(inv.params.get("IsServiceAccount", False))
        policies(data)[name.lower()] = rec
    inv.write(_render(rec))


@common.cmdlet("Set-ThrottlingPolicy", extra_parameters={"ForceSettingGlobal": "SwitchParameter"})
def set_throttling_policy(inv) -> None:
    with inv.store.write() as data:
        rec = common.find_one(inv, policies(data).values(), inv.params["Identity"])
        if rec is None:
            return
        old_key = rec["Name"].lower()
        new_name = inv.params.get("Name")
        if common.name_taken(inv, policies(data), rec, new_name, lambda name: _dn(data, name)):
            return
        if inv.has("IsServiceAccount"):
            inv.params["IsServiceAccount"] = bool(inv.params["IsServiceAccount"])
        if rec["ThrottlingPolicyScope"] == "Global":
            if not inv.params.get("ForceSettingGlobal"):
                common.fail(inv, GLOBAL_READ_ONLY, category="InvalidOperation", target=rec["Identity"])
                return
            inv.warn(GLOBAL_CHANGED.format(rec["Name"]))
        if _refuse_global_scope(inv, common.stored(inv.params.get("ThrottlingPolicyScope")), rec["Identity"]):
            return
        if not common.set_record(inv, rec, ("Identity", "Force", "ForceSettingGlobal")):
            return
        if new_name:
            common.rekey(policies(data), rec, old_key, new_name, _dn(data, new_name))
            for user in recipients.users(data).values():
                if (user.get("throttling_policy") or "").lower() == old_key:
                    user["throttling_policy"] = new_name


@common.cmdlet("Remove-ThrottlingPolicy")
def remove_throttling_policy(inv) -> None:
    with inv.store.write() as data:
        rec = common.find_one(inv, policies(data).values(), inv.params["Identity"])
        if rec is None:
            return
        if rec["ThrottlingPolicyScope"] == "Global":
            common.fail(inv, GLOBAL_NOT_REMOVABLE, "System.InvalidOperationException", category="InvalidOperation",
                        target=rec["Name"])
            return
        associated = [u for u in recipients.users(data).values()
                      if (u.get("throttling_policy") or "").lower() == rec["Name"].lower()]
        if associated and not inv.params.get("Force"):
            common.fail(inv, IN_USE.format(rec["DistinguishedName"]), category="InvalidOperation", target=rec["Name"])
            return
        common.confirm(inv, f"Removing throttling policy \"{rec['Identity']}\" with ThrottlingPolicyScope "
                            f"\"{rec['ThrottlingPolicyScope']}\".")
        del policies(data)[rec["Name"].lower()]
        for user in recipients.users(data).values():
            if (user.get("throttling_policy") or "").lower() == rec["Name"].lower():
                user["throttling_policy"] = None


def _association(data: dict[str, t.Any], user: dict[str, t.Any]):
    ident = common.user_identity(data, user)
    props = {"Identity": ident, "Name": user["name"], "ObjectId": ident,
             "ThrottlingPolicyId": user.get("throttling_policy"), "IsValid": True}
    return common.render(props, ASSOCIATION_TYPES)


@common.cmdlet("Get-ThrottlingPolicyAssociation")
def get_throttling_policy_association(inv) -> None:
    with inv.store.read() as data:
        if inv.has("Identity"):
            found = recipients.find_users(data, inv.params["Identity"])
            if not found:
                common.report_not_found(inv, inv.params["Identity"])
        else:
            found = sorted(recipients.users(data).values(), key=lambda u: u["name"].lower())
        if inv.has("ThrottlingPolicy"):
            wanted = str(inv.params["ThrottlingPolicy"]).lower()
            found = [u for u in found if (u.get("throttling_policy") or "").lower() == wanted]
        objects = [_association(data, u) for u in found]
    for obj in objects:
        inv.write(obj)


@common.cmdlet("Set-ThrottlingPolicyAssociation")
def set_throttling_policy_association(inv) -> None:
    with inv.store.write() as data:
        user = recipients.find_user(inv, data, inv.params["Identity"])
        if user is None:
            return
        wanted = inv.params.get("ThrottlingPolicy")
        name = None
        if wanted is not None:
            policy = find_policy(data, wanted)
            if policy is None:
                common.report_not_found(inv, wanted)
                return
            name = policy["Name"]
        if user.get("throttling_policy") == name:
            common.no_op(inv, common.user_identity(data, user))
            return
        user["throttling_policy"] = name

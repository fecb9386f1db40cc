"""Throttling: the global default, a Regular policy with Unlimited values (the seed's recipe), association."""

from __future__ import annotations

from lab.engine import Lab
from lab.model import CommandCall

from helpers import call, run

UNLIMITED = ("RCAMaxConcurrency", "EWSMaxConcurrency", "EWSMaxSubscriptions", "CPAMaxConcurrency",
             "EwsCutoffBalance", "EwsMaxBurst", "EwsRechargeRate")


def test_global_policy_exists(lab: Lab) -> None:
    (policy,) = run(lab, call("Get-ThrottlingPolicy")).output
    assert policy["Name"].startswith("GlobalThrottlingPolicy_") and len(policy["Name"]) == len("GlobalThrottlingPolicy_") + 36
    assert policy["ThrottlingPolicyScope"].value == "Global"
    # The on-premises global defaults (ThrottlingPolicyDefaults, audit Q6), not the docs' EWSMaxConcurrency 10.
    assert policy["RCAMaxConcurrency"] == 40 and policy["EWSMaxConcurrency"] == 27
    assert (policy["EWSMaxSubscriptions"], policy["CPAMaxConcurrency"], policy["PowerShellMaxConcurrency"]) == (5000, 20, 18)
    assert (policy["EwsMaxBurst"], policy["EwsRechargeRate"], policy["EwsCutoffBalance"]) == (300000, 900000, 3000000)
    assert (policy["RcaMaxBurst"], policy["RcaRechargeRate"], policy["RcaCutoffBalance"]) == (150000, 900000, "Unlimited")
    assert policy.type_names[0] == "Microsoft.Exchange.Data.Directory.Management.ThrottlingPolicy"


def test_seed_recipe_unlimited_round_trip(lab: Lab) -> None:
    created = run(lab, call("New-ThrottlingPolicy", "NoThrottlingPolicy")).output[0]
    assert created["ThrottlingPolicyScope"].value == "Regular" and created["EWSMaxConcurrency"] is None
    result = run(lab, CommandCall("Set-ThrottlingPolicy", [(None, "NoThrottlingPolicy")] + [(p, "Unlimited") for p in UNLIMITED]))
    assert not result.errors and not result.warnings
    policy = run(lab, call("Get-ThrottlingPolicy", "NoThrottlingPolicy")).output[0]
    assert all(policy[p] == "Unlimited" for p in UNLIMITED)
    run(lab, call("Set-ThrottlingPolicy", "NoThrottlingPolicy", EWSMaxConcurrency=50))
    assert run(lab, call("Get-ThrottlingPolicy", "NoThrottlingPolicy")).output[0]["EWSMaxConcurrency"] == 50
    assert run(lab, call("Set-ThrottlingPolicy", "NoThrottlingPolicy", EWSMaxConcurrency=50)).warnings


def test_association_by_set_mailbox_and_by_association_cmdlet(lab: Lab) -> None:
    run(lab, call("New-ThrottlingPolicy", "NoThrottlingPolicy"))
    assert not run(lab, call("Set-Mailbox", "jdoe", ThrottlingPolicy="NoThrottlingPolicy")).errors
    assert run(lab, call("Get-Mailbox", "jdoe")).output[0]["ThrottlingPolicy"] == "NoThrottlingPolicy"
    assert not run(lab, call("Set-ThrottlingPolicyAssociation", "helpdesk", ThrottlingPolicy="NoThrottlingPolicy")).errors
    rows = {r["Name"]: r["ThrottlingPolicyId"] for r in run(lab, call("Get-ThrottlingPolicyAssociation")).output}
    assert rows == {"Administrator": None, "helpdesk": "NoThrottlingPolicy", "jdoe": "NoThrottlingPolicy"}
    assert run(lab, call("Set-ThrottlingPolicyAssociation", "helpdesk", ThrottlingPolicy="NoThrottlingPolicy")).warnings
    assert run(lab, call("Set-ThrottlingPolicyAssociation", "helpdesk", ThrottlingPolicy="Missing")).errors


def test_duplicate_remove_and_global_guard(lab: Lab) -> None:
    run(lab, call("New-ThrottlingPolicy", "NoThrottlingPolicy"))
    assert "already exists" in run(lab, call("New-ThrottlingPolicy", "nothrottlingpolicy")).errors[0].message
    run(lab, call("Set-Mailbox", "jdoe", ThrottlingPolicy="NoThrottlingPolicy"))
    # Still associated with jdoe: refused without -Force (RemoveThrottlingPolicy.InternalValidate, audit Q6).
    in_use = run(lab, call("Remove-ThrottlingPolicy", "NoThrottlingPolicy", Confirm=False)).errors
    assert in_use and in_use[0].message.startswith('Throttling policy "CN=NoThrottlingPolicy,CN=Global Settings,')
    assert run(lab, call("Get-Mailbox", "jdoe")).output[0]["ThrottlingPolicy"] == "NoThrottlingPolicy"
    assert not run(lab, call("Remove-ThrottlingPolicy", "NoThrottlingPolicy", Force=True, Confirm=False)).errors
    assert run(lab, call("Get-Mailbox", "jdoe")).output[0]["ThrottlingPolicy"] is None
    glob = run(lab, call("Get-ThrottlingPolicy")).output[0]["Name"]
    assert run(lab, call("Remove-ThrottlingPolicy", glob, Confirm=False)).errors
    assert run(lab, call("Set-ThrottlingPolicy", "ghost", EWSMaxConcurrency=1)).errors

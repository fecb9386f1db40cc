"""exchange_throttling against the lab with the real client: the vendor document's NoThrottlingPolicy, associated with
one account only; Unlimited told apart from "not set"; removal that resets the association first and leaves a policy
another user still uses; the global policy never touched."""

from __future__ import annotations

import pytest

VENDOR = dict(RCAMaxConcurrency="Unlimited", EWSMaxConcurrency="Unlimited", EWSMaxSubscriptions="Unlimited",
              CPAMaxConcurrency="Unlimited", EwsCutoffBalance="Unlimited", EwsMaxBurst="Unlimited",
              EwsRechargeRate="Unlimited")
WRITE_VERBS = ("New-", "Set-", "Add-", "Remove-")


def writes(handle):
    return [a["cmdlet"] for a in handle.audit() if a["cmdlet"].startswith(WRITE_VERBS)]


def policy(handle, name="NoThrottlingPolicy"):
    found = [p.properties for p in handle.exchange("Get-ThrottlingPolicy") if str(p.properties["Name"]) == name]
    return found[0] if found else None


def associated(handle, user):
    (assoc,) = handle.exchange("Get-ThrottlingPolicyAssociation", Identity=user)
    return assoc.properties["ThrottlingPolicyId"]


def test_vendor_policy_for_one_account(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    run = module_runner(handle, "exchange_throttling")
    created = run(name="NoThrottlingPolicy", settings=VENDOR, users=["helpdesk"])
    assert created["changed"] is True and not created.get("failed"), created
    made = policy(handle)
    assert str(made["ThrottlingPolicyScope"]) == "Regular"
    assert all(str(made[k]) == "Unlimited" for k in VENDOR), made
    assert made["OWAMaxConcurrency"] is None  # not given: inherited, left alone
    assert associated(handle, "helpdesk") == "NoThrottlingPolicy"
    assert associated(handle, "jdoe") in (None, "")

    count = len(writes(handle))
    lower = dict((k.lower(), "unlimited") for k in VENDOR)
    again = run(name="NoThrottlingPolicy", settings=lower, users=["HELPDESK"])
    assert again["changed"] is False and writes(handle)[count:] == [], again

    number = run(name="NoThrottlingPolicy", settings=dict(VENDOR, EWSMaxConcurrency=100))
    assert number["changed"] is True and [d["option"] for d in number["differences"]] == ["EWSMaxConcurrency"]
    assert int(policy(handle)["EWSMaxConcurrency"]) == 100


def test_unlimited_is_not_the_same_as_not_set(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    run = module_runner(handle, "exchange_throttling")
    assert run(name="NoThrottlingPolicy", settings={"OWAMaxConcurrency": 5})["changed"]
    # RCAMaxConcurrency is not set ($null, inherited from the global policy's 40): Unlimited must be written.
    result = run(name="NoThrottlingPolicy", settings={"RCAMaxConcurrency": "Unlimited"})
    assert result["changed"] is True, result
    assert result["differences"] == [dict(option="RCAMaxConcurrency", parameter="RCAMaxConcurrency", before=None,
                                          after="unlimited")]
    assert str(policy(handle)["RCAMaxConcurrency"]) == "Unlimited"


def test_absent_resets_the_account_first_and_keeps_a_policy_others_use(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    run = module_runner(handle, "exchange_throttling")
    assert run(name="NoThrottlingPolicy", settings=VENDOR, users=["helpdesk", "jdoe"])["changed"]

    kept = run(name="NoThrottlingPolicy", users=["helpdesk"], state="absent")
    assert kept["changed"] is True and kept["kept"] is True, kept
    assert any("jdoe" in w for w in kept["warnings"])
    assert associated(handle, "helpdesk") in (None, "") and associated(handle, "jdoe") == "NoThrottlingPolicy"
    assert policy(handle) is not None

    gone = run(name="NoThrottlingPolicy", users=["jdoe"], state="absent")
    assert gone["changed"] is True and gone["kept"] is False, gone
    assert policy(handle) is None and associated(handle, "jdoe") in (None, "")
    assert writes(handle)[-2:] == ["Set-ThrottlingPolicyAssociation", "Remove-ThrottlingPolicy"]
    assert run(name="NoThrottlingPolicy", users=["jdoe"], state="absent")["changed"] is False


def test_the_global_policy_is_refused(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    run = module_runner(handle, "exchange_throttling")
    (global_name,) = [str(p.properties["Name"]) for p in handle.exchange("Get-ThrottlingPolicy")
                      if str(p.properties["ThrottlingPolicyScope"]) == "Global"]
    state = handle.state()
    refused = run(name=global_name, settings={"PowerShellMaxConcurrency": 50})
    assert refused.get("failed") and "Global" in refused["msg"] and "Regular" in refused["msg"], refused
    assert handle.state() == state


@pytest.mark.parametrize("settings, users, option, words", [
    ({"RCAMaxConcurency": "Unlimited"}, [], "settings", "did you mean RCAMaxConcurrency"),
    ({"EWSMaxConcurrency": -1}, [], "settings", "EWSMaxConcurrency"),
    ({"EWSMaxConcurrency": "lots"}, [], "settings", "lots"),
    ({"PowerShellMaxTenantConcurrency": 101}, [], "settings", "PowerShellMaxTenantConcurrency"),
    ({"EWSMaxConcurrency": None}, [], "settings", "number or Unlimited"),
    (VENDOR, ["nosuchuser"], "users", "nosuchuser"),
])
def test_bad_input_changes_nothing(shared_labs, module_runner, settings, users, option, words):
    handle = shared_labs("throttling")
    handle.reset()
    state = handle.state()
    result = module_runner(handle, "exchange_throttling")(name="NoThrottlingPolicy", settings=settings, users=users)
    assert result.get("failed") and result.get("option") == option and words in result["msg"], result
    assert handle.state() == state and writes(handle) == []


@pytest.mark.parametrize("value", [0, 4294967295, 2147483647])
def test_bounds_accepted(shared_labs, module_runner, value):
    handle = shared_labs("throttling")
    handle.reset()
    result = module_runner(handle, "exchange_throttling")(name="P", settings={"EwsMaxBurst": value})
    assert result["changed"] is True and int(policy(handle, "P")["EwsMaxBurst"]) == value, result


def test_one_beyond_the_bound_is_refused(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    result = module_runner(handle, "exchange_throttling")(name="P", settings={"EwsMaxBurst": 4294967296})
    assert result.get("failed") and "EwsMaxBurst" in result["msg"]


def test_is_service_account_cycle(shared_labs, module_runner):
    handle = shared_labs("throttling")
    handle.reset()
    run = module_runner(handle, "exchange_throttling")
    assert run(name="NoThrottlingPolicy", is_service_account=True)["changed"] is True
    assert policy(handle)["IsServiceAccount"] is True
    assert run(name="NoThrottlingPolicy", is_service_account=True)["changed"] is False
    assert run(name="NoThrottlingPolicy", is_service_account=False)["changed"] is True
    assert policy(handle)["IsServiceAccount"] is False
    assert run(name="NoThrottlingPolicy", state="absent")["changed"] is True and policy(handle) is None

"""exchange_service_account against the lab with the real client: the account and mailbox created with a SecureString
password that never shows up, an admin member refused with the group path (nested groups too), bad input refused."""

from __future__ import annotations

import json

import pytest

PASSWORD = "Canary-Pa55-'$(x)-Zq9"


def nest(handle, group, member, parent):
    """A new group holding ``member``, itself a member of ``parent`` (written into the lab's directory)."""
    with handle.lab.store.write() as data:
        groups = data["directory"]["groups"]
        groups[group.lower()] = {"name": group, "sid": "S-1-5-21-1004336348-1177238915-682003330-4321",
                                 "guid": "6a4b1f0e-0000-4000-8000-000000004321", "members": [member.lower()],
                                 "role_group": False, "ou": "Users"}
        groups[parent.lower()]["members"].append(group.lower())


def password_is(handle, password, name="mapiaccount"):
    """Whether the lab's directory holds ``password`` for the account (its salted hash, read from the store)."""
    with handle.lab.store.read() as data:
        record = data["directory"]["users"][name]["password_hash"]
    return handle.lab.check_password(record, password)


def account(handle, name="MAPIAccount"):
    state = handle.state()
    return next((u for u in state["directory"]["users"].values() if u["name"].lower() == name.lower()), None)


def test_created_with_a_mailbox_then_nothing(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    run = module_runner(handle, "exchange_service_account")
    created = run(name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern", account_password=PASSWORD,
                  database="DB02")
    assert created["changed"] is True and not created.get("failed"), created
    user = account(handle)
    assert user["mailbox"]["Database"] == "DB02" and user["upn"] == "MAPIAccount@alleo.intern"
    assert password_is(handle, PASSWORD)
    assert PASSWORD not in json.dumps(created) and PASSWORD not in json.dumps(handle.state())
    assert PASSWORD not in json.dumps(handle.audit())

    again = run(name="MAPIAccount", account_password=PASSWORD)
    assert again["changed"] is False, again
    always = run(name="MAPIAccount", account_password=PASSWORD, update_password="always")
    assert always["changed"] is True and [d["option"] for d in always["differences"]] == ["account_password"]
    assert password_is(handle, PASSWORD) and not password_is(handle, PASSWORD + "x")
    assert PASSWORD not in json.dumps(always) and PASSWORD not in json.dumps(handle.audit())


def test_a_weak_password_is_refused_without_showing_it(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    weak = "mapiaccount1"
    result = module_runner(handle, "exchange_service_account")(
        name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern", account_password=weak)
    assert result.get("failed") and "does not meet the length, complexity, or history" in result["msg"], result
    assert weak not in json.dumps(result) and account(handle) is None


def test_an_existing_account_without_a_mailbox_gets_one(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    run = module_runner(handle, "exchange_service_account")
    assert run(name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern", account_password=PASSWORD)["changed"]
    with handle.lab.store.write() as data:
        data["directory"]["users"]["mapiaccount"]["mailbox"] = None
    enabled = run(name="MAPIAccount", database="DB04")
    assert enabled["changed"] is True and [d["option"] for d in enabled["differences"]] == ["mailbox"], enabled
    assert account(handle)["mailbox"]["Database"] == "DB04"
    assert run(name="MAPIAccount")["changed"] is False


def test_an_administrator_is_refused_with_the_group_path(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    state = handle.state()
    refused = module_runner(handle, "exchange_service_account")(name="Administrator")
    assert refused.get("failed") and refused.get("option") == "name", refused
    assert "Administrator is a member of Domain Admins (Domain Admins > Administrator)" in refused["msg"]
    assert handle.state() == state


def test_nested_membership_is_found(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    run = module_runner(handle, "exchange_service_account")
    assert run(name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern", account_password=PASSWORD)["changed"]
    nest(handle, "IT Operators", "MAPIAccount", "Organization Management")
    refused = run(name="MAPIAccount")
    assert refused.get("failed"), refused
    assert "(Organization Management > IT Operators > MAPIAccount)" in refused["msg"]
    # A near-miss name is another account, with no group.
    assert run(name="MAPIAccount2", user_principal_name="MAPIAccount2@alleo.intern", account_password=PASSWORD)["changed"]


@pytest.mark.parametrize("args, option, words", [
    (dict(name="MAPI/Account", account_password=PASSWORD, user_principal_name="a@alleo.intern"), "name", "contains '/'"),
    (dict(name="MAPIAccount", account_password=PASSWORD, user_principal_name="alleo.intern"), "user_principal_name",
     "is not a user principal name"),
    (dict(name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern"), "account_password", "required to create"),
    (dict(name="MAPIAccount", account_password=PASSWORD), "user_principal_name", "required to create"),
])
def test_bad_input_changes_nothing(shared_labs, module_runner, args, option, words):
    handle = shared_labs("account")
    handle.reset()
    state = handle.state()
    result = module_runner(handle, "exchange_service_account")(**args)
    assert result.get("failed") and result.get("option") == option and words in result["msg"], result
    assert handle.state() == state


def test_alias_display_name_and_organizational_unit_of_a_new_account(shared_labs, module_runner):
    handle = shared_labs("account")
    handle.reset()
    run = module_runner(handle, "exchange_service_account")
    planned_state = handle.state()
    created = run(name="MAPIAccount", user_principal_name="MAPIAccount@alleo.intern", account_password=PASSWORD,
                  alias="xphone-mapi", display_name="XPhone Connect service", organizational_unit="alleo.intern/Users")
    assert created["changed"] is True and handle.state() != planned_state, created
    user = account(handle)
    assert user["mailbox"]["Alias"] == "xphone-mapi" and user["display_name"] == "XPhone Connect service"
    assert user["ou"] == "Users" and created["account"]["PrimarySmtpAddress"].startswith("xphone-mapi@")
    # The options shape a new account only; an existing one is left as it is.
    again = run(name="MAPIAccount", alias="other", display_name="Other")
    assert again["changed"] is False and account(handle)["mailbox"]["Alias"] == "xphone-mapi"

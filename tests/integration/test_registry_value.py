"""windows_registry_value against the lab's Exchange host over the real clients: the Information Store's session limit
written as a DWORD, idempotent, its type compared, a new key created, absent, bad data refused."""

from __future__ import annotations

import pytest

KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS\\ParametersSystem"
NAME = "Maximum Allowed Sessions Per User"
STATE_KEY = "hkey_local_machine\\system\\currentcontrolset\\services\\msexchangeis\\parameterssystem"


def value(handle, key=STATE_KEY, name=NAME, host="EX01"):
    found = handle.state()["hosts"][host]["registry"].get(key)
    return None if found is None else found["values"].get(name.lower())


def test_session_limit_as_dword(shared_labs, module_runner):
    handle = shared_labs("registry")
    handle.reset()
    run = module_runner(handle, "windows_registry_value")
    assert value(handle) is None
    first = run(path=KEY, name=NAME, type="dword", data=128)
    assert first["changed"] is True and not first.get("failed"), first
    assert value(handle)["kind"] == "DWord" and value(handle)["data"] == 128
    assert run(path=KEY.lower(), name=NAME, data="0x80")["changed"] is False
    assert run(path=KEY, name=NAME, data=256)["changed"] is True and value(handle)["data"] == 256
    # Same digits, another type: a change.
    as_text = run(path=KEY, name=NAME, type="string", data="256")
    assert as_text["changed"] is True and value(handle)["kind"] == "String"
    gone = run(path=KEY, name=NAME, state="absent")
    assert gone["changed"] is True and value(handle) is None
    assert run(path=KEY, name=NAME, state="absent")["changed"] is False


def test_a_missing_key_is_created(shared_labs, module_runner):
    handle = shared_labs("registry")
    handle.reset()
    run = module_runner(handle, "windows_registry_value")
    result = run(path="HKLM:\\SOFTWARE\\XPhone\\Test", name="Level", type="multistring", data=["a", "b"])
    assert result["changed"] is True and result["key_created"] is True, result
    assert value(handle, "hkey_local_machine\\software\\xphone\\test", "Level")["data"] == ["a", "b"]
    assert run(path="HKLM:\\SOFTWARE\\XPhone\\Test", name="Level", type="multistring", data=["a", "b"])["changed"] is False


@pytest.mark.parametrize("args, option, words", [
    (dict(path="C:\\Windows", name="x", data=1), "path", "not a registry key path"),
    (dict(path=KEY, name=NAME, data=-1), "data", "not a number"),
    (dict(path=KEY, name=NAME, data=4294967296), "data", "does not fit a DWORD"),
    (dict(path=KEY, name=NAME, data="lots"), "data", "not a number"),
])
def test_bad_input_changes_nothing(shared_labs, module_runner, args, option, words):
    handle = shared_labs("registry")
    handle.reset()
    state = handle.state()
    result = module_runner(handle, "windows_registry_value")(**args)
    assert result.get("failed") and result.get("option") == option and words in result["msg"], result
    assert handle.state() == state


def test_the_top_of_the_dword_range(shared_labs, module_runner):
    handle = shared_labs("registry")
    handle.reset()
    run = module_runner(handle, "windows_registry_value")
    assert run(path=KEY, name=NAME, data=4294967295)["changed"] is True
    assert run(path=KEY, name=NAME, data=4294967295)["changed"] is False

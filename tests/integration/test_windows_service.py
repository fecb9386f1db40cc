"""windows_service against the lab's Exchange hosts over the real clients: the IMAP4 services made automatic and
running, idempotent, restarted only when asked, check mode writing nothing."""

from __future__ import annotations

import pytest

SERVICES = ("MSExchangeIMAP4", "MSExchangeIMAP4BE")


def service(handle, name, host="ex01"):
    data = handle.state()["hosts"][host.upper()]["services"][name.lower()]
    return data["start_type"], data["status"]


def test_start_mode_and_state_then_no_change(shared_labs, module_runner):
    handle = shared_labs("services")
    handle.reset()
    run = module_runner(handle, "windows_service")
    assert service(handle, "MSExchangeIMAP4") == ("Manual", "Stopped")
    first = run(name="MSExchangeIMAP4", start_mode="automatic", state="started")
    assert first["changed"] is True and not first.get("failed"), first
    assert sorted(d["option"] for d in first["differences"]) == ["start_mode", "state"]
    assert first["object"].startswith('service "MSExchangeIMAP4" on ')
    assert service(handle, "MSExchangeIMAP4") == ("Automatic", "Running")
    again = run(name="msexchangeimap4", start_mode="Automatic", state="started")
    assert again["changed"] is False and again["restarted"] is False, again
    stopped = run(name="MSExchangeIMAP4", state="stopped")
    assert stopped["changed"] is True and service(handle, "MSExchangeIMAP4") == ("Automatic", "Stopped")


def test_restart_only_when_asked(shared_labs, module_runner):
    handle = shared_labs("services")
    handle.reset()
    run = module_runner(handle, "windows_service")
    for name in SERVICES:
        assert run(name=name, start_mode="Automatic", state="started")["changed"] is True
    before = [a for a in handle.audit() if a["cmdlet"] == "Restart-Service"]
    assert run(name="MSExchangeIMAP4", state="started")["changed"] is False
    restarted = run(name="MSExchangeIMAP4", state="started", restart=True)
    assert restarted["changed"] is True and restarted["restarted"] is True
    after = [a for a in handle.audit() if a["cmdlet"] == "Restart-Service"]
    assert len(after) == len(before) + 1 and service(handle, "MSExchangeIMAP4") == ("Automatic", "Running")


def test_a_stopped_service_started_is_not_restarted_twice(shared_labs, module_runner):
    handle = shared_labs("services")
    handle.reset()
    run = module_runner(handle, "windows_service")
    result = run(name="MSExchangeIMAP4BE", state="started", restart=True)
    assert result["changed"] is True and result["restarted"] is False
    assert [a for a in handle.audit() if a["cmdlet"] == "Restart-Service"] == []
    assert service(handle, "MSExchangeIMAP4BE")[1] == "Running"


@pytest.mark.parametrize("args, option, words", [
    (dict(name="NoSuchService", state="started"), None, "NoSuchService"),
    (dict(name="MSExchangeIMAP4", state="stopped", restart=True), "restart", "state: stopped"),
    (dict(name="MSExchangeIMAP4", start_mode="Boot"), None, "start_mode"),
])
def test_refusals_change_nothing(shared_labs, module_runner, args, option, words):
    handle = shared_labs("services")
    handle.reset()
    state = handle.state()
    result = module_runner(handle, "windows_service")(**args)
    assert result.get("failed") and words in result["msg"], result
    if option:
        assert result.get("option") == option
    assert handle.state() == state

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows_service's core on a stand-in session that keeps services as Get-Service shows them."""

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import windows_service
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound


class Services(object):
    def __init__(self, **services):
        self.services = dict((k.lower(), dict(Name=k, Status=v[0], StartType=v[1])) for k, v in services.items())
        self.calls = []
        self.warnings = []

    def invoke(self, cmdlet, parameters=None, not_found_ok=False):
        params = dict(parameters.items() if isinstance(parameters, dict) else parameters or [])
        self.calls.append((cmdlet, params))
        svc = self.services.get(str(params.get("Name")).lower())
        if svc is None:
            raise NotFound("Cannot find any service with service name '%s'." % params.get("Name"))
        if cmdlet == "Set-Service":
            if "StartupType" in params:
                svc["StartType"] = params["StartupType"]
            if "Status" in params:
                svc["Status"] = params["Status"]
        elif cmdlet == "Restart-Service":
            svc["Status"] = "Running"
        return [dict(svc)] if cmdlet == "Get-Service" else []

    def writes(self):
        return [c for c, _p in self.calls if not c.startswith("Get-")]


def run(session, check_mode=False, **params):
    full = dict((k, None) for k in windows_service.ARGUMENT_SPEC)
    full.update(restart=False)
    full.update(params)
    return windows_service.run(session, full, check_mode=check_mode, diff_mode=True)


def test_changes_only_what_differs():
    session = Services(MSExchangeIMAP4=("Stopped", "Manual"))
    result = run(session, name="MSExchangeIMAP4", start_mode="automatic", state="started")
    assert result["changed"] and session.writes() == ["Set-Service"]
    assert session.calls[1] == ("Set-Service", {"Name": "MSExchangeIMAP4", "StartupType": "Automatic", "Status": "Running"})
    assert result["diff"]["before"] == {"start_mode": "Manual", "state": "stopped"}
    assert result["diff"]["after"] == {"start_mode": "Automatic", "state": "started"}
    session.calls = []
    again = run(session, name="MSExchangeIMAP4", start_mode="Automatic", state="started")
    assert again["changed"] is False and session.writes() == []


def test_check_mode_writes_nothing_and_says_what_would_restart():
    session = Services(MSExchangeIMAP4=("Running", "Automatic"))
    result = run(session, check_mode=True, name="MSExchangeIMAP4", start_mode="Manual", restart=True)
    assert result["changed"] and result["restarted"] and session.writes() == []
    assert session.services["msexchangeimap4"]["StartType"] == "Automatic"


def test_restart_once_and_not_after_a_start():
    session = Services(A=("Running", "Automatic"), B=("Stopped", "Automatic"))
    assert run(session, name="A", state="started")["changed"] is False
    restarted = run(session, name="A", state="started", restart=True)
    assert restarted["changed"] and restarted["restarted"] and session.writes() == ["Restart-Service"]
    session.calls = []
    started = run(session, name="B", state="started", restart=True)
    assert started["changed"] and not started["restarted"] and session.writes() == ["Set-Service"]


def test_refused_before_anything_is_read():
    session = Services(A=("Running", "Automatic"))
    with pytest.raises(InvalidInput) as err:
        run(session, name="A", state="stopped", restart=True)
    assert err.value.option == "restart" and session.calls == []
    with pytest.raises(InvalidInput) as err:
        run(session, name="A", state="paused")
    assert err.value.option == "state" and session.calls == []


@pytest.mark.parametrize("shown, key", [("Running", "started"), ("Stopped", "stopped"), ("StartPending", "startpending")])
def test_status_kind(shown, key):
    assert windows_service.Status().key(shown) == key
    assert windows_service.Status().key("running") != windows_service.Status().key("Stopped")

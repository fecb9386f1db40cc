# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session with the real pypsrp client against the lab: faults, retries, teardown."""

from __future__ import annotations

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_COLLECTIONS = os.path.join(REPO, "tests", "output", "collections")
if _COLLECTIONS not in sys.path:
    sys.path.insert(0, _COLLECTIONS)

# pylint: disable=wrong-import-position
from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, remote_domain  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.session import DELAY_BASE, Session  # noqa: E402


def settings_for(handle, **changes):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_uri=handle.exchange_uri("EX01"), username=handle.admin_user, password=handle.admin_password,
                  auth="ntlm")
    params.update(changes)
    return connection.resolve_settings(params)[0]


def fax_params(**changes):
    params = dict((k, None) for k in remote_domain.ARGUMENT_SPEC)
    params.update(name="fax", domain_name="fax.alleo.intern", state="present", content_type="MimeText", tnef_enabled=False)
    params.update(changes)
    return params


def test_every_pool_is_closed(lab_env):
    before = lab_env.stats()["sessions"]["open"]
    with Session(settings_for(lab_env)) as sess:
        remote_domain.run(sess, fax_params())
    with Session(settings_for(lab_env)) as sess:
        assert remote_domain.run(sess, fax_params())["changed"] is False
    assert lab_env.stats()["sessions"]["open"] == before


def test_pool_closed_after_a_failure(lab_env):
    before = lab_env.stats()["sessions"]["open"]
    with pytest.raises(errors.InvalidInput):
        with Session(settings_for(lab_env)) as sess:
            remote_domain.run(sess, fax_params(name="Default", domain_name="other.alleo.intern"))
    with pytest.raises(errors.CmdletFailed):
        with Session(settings_for(lab_env)) as sess:
            sess.invoke("Set-RemoteDomain", [("Identity", "Default"), ("NoSuchParameter", 1)])
    assert lab_env.stats()["sessions"]["open"] == before


def test_lost_shell_is_replaced_and_the_step_redone(lab_env):
    with Session(settings_for(lab_env)) as sess:
        sess.invoke("Get-RemoteDomain")
        lab_env.inject_fault("shell_not_found", host="EX01", action="Command")
        result = remote_domain.run(sess, fax_params())
    assert result["changed"] is True
    domains = [o for o in lab_env.lab.audit() if o["cmdlet"] == "New-RemoteDomain"]
    assert len(domains) == 1


def test_throttled_shell_backs_off_then_works(lab_env):
    slept = []
    lab_env.inject_fault("throttle", count=2, host="EX01", action="Create")
    with Session(settings_for(lab_env), sleep=slept.append) as sess:
        assert sess.invoke("Get-RemoteDomain")
    # two full-jitter waits, each below its cap (5 s, then 10 s)
    assert len(slept) == 2 and slept[0] < DELAY_BASE and slept[1] < 2 * DELAY_BASE


def test_throttling_gives_up_naming_the_quota(lab_env):
    slept = []
    lab_env.inject_fault("throttle", count=10, host="EX01", action="Create")
    with pytest.raises(errors.Throttled) as err:
        with Session(settings_for(lab_env), sleep=slept.append) as sess:
            sess.invoke("Get-RemoteDomain")
    assert "PowerShellMaxConcurrency" in err.value.message and len(slept) == 4
    assert "tried 5 times" in err.value.message


def test_wrong_password_is_tried_once(lab_env):
    with pytest.raises(errors.AuthenticationFailed) as err:
        with Session(settings_for(lab_env, password="Not-The-Password-1")) as sess:
            sess.invoke("Get-RemoteDomain")
    assert "Not-The-Password-1" not in err.value.message
    assert lab_env.stats()["locked_accounts"] == []


def test_one_server_error_on_a_read_is_retried(lab_env):
    lab_env.inject_fault("http500", host="EX01", action="Command", message="internal trouble")
    slept = []
    with Session(settings_for(lab_env), sleep=slept.append) as sess:
        assert sess.invoke("Get-RemoteDomain")
    assert len(slept) == 1


def test_server_errors_that_persist_name_the_endpoint_and_the_tries(lab_env):
    lab_env.inject_fault("http500", count=20, host="EX01", action="Command", message="internal trouble")
    with pytest.raises(errors.Transient) as err:
        with Session(settings_for(lab_env), sleep=lambda s: None) as sess:
            sess.invoke("Get-RemoteDomain")
    assert "internal trouble" in err.value.message and "tried 5 times" in err.value.message
    assert lab_env.exchange_uri("EX01") in err.value.message
    assert lab_env.admin_password not in err.value.message


def test_account_without_the_role_gets_an_rbac_message(lab_env):
    user, password = lab_env.credentials("jdoe")
    with pytest.raises(errors.XPhoneError) as err:
        with Session(settings_for(lab_env, username=user, password=password)) as sess:
            sess.invoke("New-RemoteDomain", [("Name", "x"), ("DomainName", "x.alleo.intern")])
    assert isinstance(err.value, errors.AuthorizationFailed), err.value.message
    assert "RBAC" in err.value.message

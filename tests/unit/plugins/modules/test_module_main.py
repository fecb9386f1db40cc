# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module files' main(): the same runner (module_utils/runner.run_module) without the action plugin."""

from __future__ import annotations

import functools
import json
import os
import sys

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))

# pylint: disable=wrong-import-position
from fake_exchange import AuthenticationError, FakeExchange, FakeWarning  # noqa: E402

from ansible_collections.xphone.connect.plugins.module_utils import runner  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.session import Session  # noqa: E402
from ansible_collections.xphone.connect.plugins.modules import exchange_connector, exchange_remote_domain  # noqa: E402

PASSWORD = "Env-Secret-42!"


@pytest.fixture
def fx(monkeypatch):
    fake = FakeExchange()
    monkeypatch.setattr(runner.ENDPOINTS["exchange"], "session_class", functools.partial(Session, transport=fake, sleep=lambda s: None))
    for name in list(os.environ):
        if name.startswith("XPHONE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XPHONE_EXCHANGE_SERVER", "ex01.alleo.intern")
    monkeypatch.setenv("XPHONE_EXCHANGE_USERNAME", "ALLEO\\admin")
    monkeypatch.setenv("XPHONE_EXCHANGE_PASSWORD", PASSWORD)
    return fake


def run_main(module, args, capsys):
    with pytest.raises(SystemExit) as exit_:
        with patch_module_args(args):
            module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exit_.value.code
    return result


FAX = {"name": "fax", "domain_name": "fax.alleo.intern", "content_type": "MimeText"}


def test_check_mode_through_main(fx, capsys):
    result = run_main(exchange_remote_domain, dict(FAX, _ansible_check_mode=True), capsys)
    assert result["changed"] is True and result["rc"] == 0 and fx.writes() == []
    assert fx.cmdlets() and all(c.startswith("Get-") for c in fx.cmdlets())


def test_apply_through_main_then_nothing_to_do(fx, capsys):
    args = {"type": "send", "name": "XPhone fax", "address_spaces": ["fax.alleo.intern"], "smart_hosts": ["10.0.0.5"],
            "password": "Main-Secret-77", "_ansible_diff": True}
    result = run_main(exchange_connector, args, capsys)
    assert result["changed"] is True and fx.writes() == ["New-SendConnector"]
    assert result["diff"]["after"]["port"] == 25
    again = run_main(exchange_connector, args, capsys)
    assert again["changed"] is False and fx.writes() == ["New-SendConnector"]


def test_each_main_opens_one_session_and_closes_it(fx, capsys):
    run_main(exchange_remote_domain, FAX, capsys)
    assert len(fx.pools) == 1 and fx.pools[0].closed
    assert {ps.pool for ps in fx.recorded} == {fx.pools[0]}
    assert all(("Confirm", False) in ps.params for ps in fx.recorded if not ps.cmdlet.startswith("Get-"))


def test_bad_input_fails_naming_the_option(fx, capsys):
    result = run_main(exchange_connector, {"type": "receive", "server": "EX01", "name": "r",
                                           "remote_ip_ranges": ["0.0.0.0/0"]}, capsys)
    assert result["failed"] is True and result["option"] == "remote_ip_ranges" and result["rc"] == 1
    assert fx.writes() == []


def test_receive_needs_server(fx, capsys):
    result = run_main(exchange_connector, {"type": "receive", "name": "r"}, capsys)
    assert result["failed"] is True and "server" in result["msg"]
    assert fx.recorded == [] and fx.open_attempts == 0


def test_missing_password_fails_before_any_connection(fx, capsys, monkeypatch):
    monkeypatch.delenv("XPHONE_EXCHANGE_PASSWORD")
    result = run_main(exchange_remote_domain, FAX, capsys)
    assert result["failed"] is True and "unreachable" not in result
    for words in ("No password for ALLEO\\admin", "XPHONE_EXCHANGE_USERNAME", "XPHONE_EXCHANGE_PASSWORD", "ansible_user",
                  "ansible_password", "AWX Machine credential"):
        assert words in result["msg"], words
    assert fx.open_attempts == 0 and fx.recorded == []


def test_missing_user_fails_before_any_connection(fx, capsys, monkeypatch):
    monkeypatch.delenv("XPHONE_EXCHANGE_USERNAME")
    monkeypatch.setenv("XPHONE_EXCHANGE_AUTH", "ntlm")
    result = run_main(exchange_remote_domain, FAX, capsys)
    assert result["failed"] is True and result["msg"].startswith("No user name for ntlm authentication to ex01")
    assert fx.open_attempts == 0


def test_bad_domain_controller_fails_before_anything_is_sent(fx, capsys):
    result = run_main(exchange_remote_domain, dict(FAX, domain_controller="dc01 .alleo.intern"), capsys)
    assert result["failed"] is True and result["option"] == "domain_controller"
    assert fx.open_attempts == 0 and fx.recorded == []


def test_domain_controller_reaches_every_cmdlet(fx, capsys):
    run_main(exchange_remote_domain, dict(FAX, domain_controller="dc01.alleo.intern"), capsys)
    assert fx.recorded and all(("DomainController", "dc01.alleo.intern") in ps.params for ps in fx.recorded)


def test_rejected_logon_is_reported_unreachable_and_scrubbed(fx, capsys):
    fx.open_faults.extend([AuthenticationError("Failed to authenticate ALLEO\\admin with %s" % PASSWORD)] * 2)
    result = run_main(exchange_remote_domain, FAX, capsys)
    assert result["unreachable"] is True and "failed" not in result
    assert "ALLEO\\admin" in result["msg"] and "XPHONE_EXCHANGE_USERNAME/XPHONE_EXCHANGE_PASSWORD" in result["msg"]
    assert PASSWORD not in json.dumps(result) and "********" in result["msg"]
    assert fx.open_attempts == 1


def test_exchange_warnings_become_module_warnings_scrubbed(fx, capsys, monkeypatch):
    # module.warn() goes to the controller's Display once controller code is imported (as in this test process),
    # so the warnings are taken where main() hands them over.
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kwargs: warned.append(warning))
    fx.remote_domains.append(dict(Name="fax", Identity="fax", DomainName="fax.alleo.intern", ContentType="MimeHtmlText"))
    fx.faults.extend([lambda ps: None, lambda ps: ps.streams.warning.append(FakeWarning("careful, %s" % PASSWORD))])
    result = run_main(exchange_remote_domain, FAX, capsys)
    assert result["changed"] is True
    assert warned == ["careful, ********"]
    assert PASSWORD not in json.dumps(result)

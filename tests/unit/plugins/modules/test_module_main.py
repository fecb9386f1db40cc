# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module files' main(): the same logic without the action plugin (e.g. delegate_to: localhost)."""

from __future__ import annotations

import functools
import json
import os
import sys

import pytest

from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))

# pylint: disable=wrong-import-position
from fake_exchange import FakeExchange  # noqa: E402

from ansible_collections.xphone.connect.plugins.module_utils import exchange_module  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.exchange_session import ExchangeSession  # noqa: E402
from ansible_collections.xphone.connect.plugins.modules import exchange_connector, exchange_remote_domain  # noqa: E402


@pytest.fixture
def fx(monkeypatch):
    fake = FakeExchange()
    monkeypatch.setattr(exchange_module, "ExchangeSession", functools.partial(ExchangeSession, transport=fake))
    monkeypatch.setenv("XPHONE_EXCHANGE_SERVER", "ex01.alleo.intern")
    monkeypatch.setenv("XPHONE_EXCHANGE_USERNAME", "ALLEO\\admin")
    return fake


def run_main(module, args, capsys):
    with pytest.raises(SystemExit):
        with patch_module_args(args):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_check_mode_through_main(fx, capsys):
    result = run_main(exchange_remote_domain, {"name": "fax", "domain_name": "fax.alleo.intern", "content_type": "MimeText",
                                               "_ansible_check_mode": True}, capsys)
    assert result["changed"] is True and fx.writes() == []


def test_apply_through_main(fx, capsys):
    args = {"type": "send", "name": "XPhone fax", "address_spaces": ["fax.alleo.intern"], "smart_hosts": ["10.0.0.5"],
            "password": "Main-Secret-77", "_ansible_diff": True}
    result = run_main(exchange_connector, args, capsys)
    assert result["changed"] is True and fx.writes() == ["New-SendConnector"]
    assert result["diff"]["after"]["port"] == 25
    assert run_main(exchange_connector, args, capsys)["changed"] is False


def test_bad_input_fails_naming_the_option(fx, capsys):
    result = run_main(exchange_connector, {"type": "receive", "server": "EX01", "name": "r",
                                           "remote_ip_ranges": ["0.0.0.0/0"]}, capsys)
    assert result["failed"] is True and result["option"] == "remote_ip_ranges"
    assert fx.writes() == []


def test_receive_needs_server(fx, capsys):
    result = run_main(exchange_connector, {"type": "receive", "name": "r"}, capsys)
    assert result["failed"] is True and "server" in result["msg"]
    assert fx.recorded == []

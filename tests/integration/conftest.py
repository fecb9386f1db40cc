# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pytest-ansible set-up for the integration tests, and labs shared by all tests of a test module.

pytest-ansible 26.10 resolves a collection module's name before it initialises Ansible's plugin loader
(that happens only inside its first run), so ``xphone.connect.*`` would be "not found" until some other
module had run in the session: initialising the loader here once avoids that (notes/tooling.md section 3).
"""

from __future__ import annotations

import os

import pytest
from ansible.plugins.loader import init_plugin_loader

from lab.pytest_plugin import start_lab

init_plugin_loader([p for p in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep) if p])


class ModuleRunner:
    """Runs one xphone.connect module on ex01 of a lab through pytest-ansible, in this process.

    The module reads user, password and auth from ex01's psrp inventory variables; only the Exchange
    endpoint (``/PowerShell``, which is not the host's WinRM port) is passed as ``connection_uri``.
    """

    def __init__(self, ansible_adhoc, handle, module, host="ex01"):
        self.host = host
        # A Windows module (windows_*) talks to the host's own /wsman, which its inventory entry names.
        self.uri = None if module.startswith("windows_") else handle.exchange_uri(host.upper())
        manager = ansible_adhoc(inventory=handle.inventory, host_pattern=host)
        # pytest-ansible's attribute lookup splits on dots, so an FQCN needs getattr (notes/tooling.md section 3).
        self._run = getattr(manager[host], "xphone.connect." + module)

    def __call__(self, **args):
        if self.uri:
            args = dict(args, connection_uri=self.uri)
        result = self._run(**args)
        return dict(result[self.host])


@pytest.fixture(scope="module")
def shared_labs(tmp_path_factory):
    """``shared_labs(key)``: one lab per key for the whole test module; tests reset it before use."""
    started = {}

    def get(key):
        if key not in started:
            started[key] = start_lab(str(tmp_path_factory.mktemp("lab-" + key)))
        return started[key]

    yield get
    for handle in started.values():
        handle.stop()


@pytest.fixture
def module_runner(ansible_adhoc):
    """``module_runner(handle, module)``: a ModuleRunner for that lab."""

    def make(handle, module, host="ex01"):
        return ModuleRunner(ansible_adhoc, handle, module, host)

    return make

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``main()`` of the module files: the same logic as the action plugins, run as a module.

Used when a task runs the module without its action plugin (for example ``delegate_to: localhost``
with ``ansible.builtin.command``-style execution, or ``ansible-test sanity``). Settings come from the
options and the environment only: a module cannot see the host's connection settings.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_OPTIONS, resolve_settings
from ansible_collections.xphone.connect.plugins.module_utils.errors import ExchangeError, scrub
from ansible_collections.xphone.connect.plugins.module_utils.exchange_session import ExchangeSession


def run_module(core):
    module = AnsibleModule(argument_spec=core.ARGUMENT_SPEC, required_if=core.REQUIRED_IF, supports_check_mode=True)
    params = module.params
    secrets = [params.get("password")]
    try:
        settings, warnings = resolve_settings(dict((k, params.get(k)) for k in CONNECTION_OPTIONS), os.environ)
        secrets.append(settings.password)
        for warning in warnings:
            module.warn(warning)
        session = ExchangeSession(settings)
        try:
            result = core.run(session, params, check_mode=module.check_mode, diff_mode=module._diff)
        finally:
            session.close()
    except ExchangeError as err:
        module.fail_json(msg=scrub(err.message, secrets), option=getattr(err, "option", None))
    for warning in result.pop("warnings", []):
        module.warn(scrub(warning, secrets))
    module.exit_json(**result)

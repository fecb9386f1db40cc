# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows_service: a Windows service's start mode and status (Get-Service, Set-Service, Restart-Service).

Over the host's /wsman with the plan runner, like every Windows module here. The service always exists (it is
installed by its product); the module changes its start mode and whether it runs, and restarts it when asked:
the roles restart the IMAP4 services after their settings changed, one server at a time.
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import WINDOWS_CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import host_name

ENDPOINT = "windows"


class Status(c.Kind):
    """``started``/``stopped`` as Set-Service -Status takes them (Running/Stopped), compared with Get-Service's Status."""

    name = "status"
    VALUES = {"started": "Running", "stopped": "Stopped"}

    def to_param(self, option, value):
        wanted = self.VALUES.get(str(value).strip().lower())
        if wanted is None:
            raise InvalidInput(option, "%r is not one of started, stopped" % (value,))
        return wanted

    def key(self, value):
        text = str(value or "").strip().lower()
        return {"running": "started", "stopped": "stopped"}.get(text, text)

    def show(self, value):
        return self.key(value) or None


TABLE = [
    engine.Prop("start_mode", "StartupType", c.Choice(["Automatic", "Manual", "Disabled"]), read_as="StartType"),
    engine.Prop("state", "Status", Status()),
]


def _name(_session, params):
    return params["name"]


SERVICE = engine.ObjectType("service", "service", TABLE, get="Get-Service", set="Set-Service",
                            scope={"Name": _name}, named=False)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    start_mode=dict(type="str", choices=["Automatic", "Manual", "Disabled"]),
    state=dict(type="str", choices=["started", "stopped"]),
    restart=dict(type="bool", default=False),
)
ARGUMENT_SPEC.update(WINDOWS_CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def run(session, params, check_mode=False, diff_mode=False):
    """Ensure the service's start mode and status; restart it (once) when ``restart`` and it was already running."""
    c.validate_name("name", params.get("name"), max_length=256)
    if params.get("restart") and params.get("state") == "stopped":
        raise InvalidInput("restart", "cannot be combined with state: stopped")
    result = SERVICE.run(session, params, check_mode=check_mode, diff_mode=diff_mode)
    result["object"] = 'service "%s" on %s' % (params["name"], host_name(session))
    if "diff" in result:
        result["diff"].update(before_header=result["object"], after_header=result["object"])
    starting = any(d["option"] == "state" for d in result["differences"])
    result["restarted"] = False
    if params.get("restart") and not starting:
        # A service that was stopped has just been started by Set-Service -Status Running: that is its restart.
        if not check_mode:
            session.invoke("Restart-Service", [("Name", params["name"])])
        result["restarted"] = True
        result["changed"] = True
    return result

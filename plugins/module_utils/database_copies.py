# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_database_copy_status: whether a server's mailbox database copies are healthy (read-only).

After the Information Store restarts on one DAG member, the next member may restart only when this member's copies are
Mounted (active) or Healthy (passive) again, with short copy and replay queues (Get-MailboxDatabaseCopyStatus -Server).
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.connector import resolve_server

GOOD = ("mounted", "healthy")

ARGUMENT_SPEC = dict(
    server=dict(type="str", required=True),
    max_queue_length=dict(type="int", default=10),
)
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def _number(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def run(session, params, check_mode=False, diff_mode=False):
    del check_mode, diff_mode  # read-only
    c.validate_name("server", params.get("server"), max_length=255)
    limit = params.get("max_queue_length")
    if limit is None or limit < 0:
        limit = 10
    server = resolve_server(session.invoke("Get-ExchangeServer"), params["server"], "server")
    copies = []
    for entry in session.invoke("Get-MailboxDatabaseCopyStatus", [("Server", server)]):
        status = str(entry.get("Status") or "")
        queues = _number(entry.get("CopyQueueLength")) + _number(entry.get("ReplayQueueLength"))
        copies.append(dict(name=str(entry.get("Name")), status=status, copy_queue_length=_number(entry.get("CopyQueueLength")),
                           replay_queue_length=_number(entry.get("ReplayQueueLength")),
                           healthy=status.lower() in GOOD and queues <= limit))
    unhealthy = [copy["name"] for copy in copies if not copy["healthy"]]
    return dict(changed=False, server=server, copies=copies, healthy=not unhealthy, unhealthy=unhealthy,
                object="mailbox database copies on %s" % server)

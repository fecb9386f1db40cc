# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's own session once or twice in a process of its own, with the real pypsrp client.

A separate process, because what a Kerberos client sees comes from its environment: the krb5.conf
(``KRB5_CONFIG``), the ticket cache (``KRB5CCNAME``), name resolution (nss_wrapper's ``NSS_WRAPPER_HOSTS``)
and the clock (libfaketime's ``FAKETIME``). The tests set those per case.

Input (argv[1], JSON): ``{"params": {connection options}, "kind": "exchange"|"windows", "cmdlet": "...",
"times": 1}``. Output (stdout, JSON): ``{"results": [{"ok", "type", "message", "unreachable", "output"}],
"warnings": [...], "stats": {...}, "negotiated": "kerberos"|"ntlm"|null}``.
"""

from __future__ import annotations

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "output", "collections"))

# pylint: disable=wrong-import-position
from ansible_collections.xphone.connect.plugins.module_utils import connection  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.errors import XPhoneError  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.session import Session  # noqa: E402
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import WindowsSession  # noqa: E402


def main() -> int:
    request = json.loads(sys.argv[1])
    windows = request.get("kind") == "windows"
    options = connection.WINDOWS_CONNECTION_OPTIONS if windows else connection.CONNECTION_OPTIONS
    params = dict((k, None) for k in options)
    params.update(request.get("params") or {})
    out: dict = {"results": [], "warnings": [], "stats": {}, "negotiated": None}
    try:
        settings, warnings = (connection.resolve_windows_settings if windows else connection.resolve_settings)(params, {})
    except XPhoneError as err:
        out["results"].append({"ok": False, "type": type(err).__name__, "message": str(err), "stage": "resolve",
                               "unreachable": err.unreachable})
        print(json.dumps(out))
        return 0
    out["warnings"] = list(warnings)
    session = (WindowsSession if windows else Session)(settings)
    try:
        for _attempt in range(int(request.get("times") or 1)):
            try:
                output = session.invoke(request.get("cmdlet") or ("Get-Service" if windows else "Get-OrganizationConfig"),
                                        request.get("parameters") or [])
                pool = session._pool  # pylint: disable=protected-access
                if pool is not None and hasattr(session.transport, "negotiated"):
                    out["negotiated"] = session.transport.negotiated(pool)
                out["results"].append({"ok": True, "output": len(output)})
            except XPhoneError as err:
                out["results"].append({"ok": False, "type": type(err).__name__, "message": str(err), "stage": "invoke",
                                       "unreachable": err.unreachable})
    finally:
        session.close()
    out["warnings"] += [w for w in session.warnings if w not in out["warnings"]]
    out["stats"] = dict(session.stats)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

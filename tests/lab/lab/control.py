"""The control API (JSON on its own loopback listener) and ``RunningLab``, one lab with its files.

Endpoints (all JSON):
  GET    /state       the state store snapshot, passwords redacted
  GET    /stats       requests, logons, sessions opened/closed/open/peak, pipelines, per-cmdlet counts
                      (engine), globally and per host (``hosts``: {"EX01": {"sessions_opened": ..,
                      "sessions_closed": .., "sessions_open": .., "sessions_peak": .., "logons": ..,
                      "failed_logons": .., "requests": .., "requests_by_action": {..}, "http_posts": ..,
                      "pipelines": ..}})
  GET    /requests    the request log (the last 5000 WS-Management requests): seq, host, host_seq, action,
                      endpoint, shell_id, status (HTTP status, "reset" or "hang"), fault
  GET    /audit       the engine's audit log (secrets redacted by the engine)
  GET    /endpoints   per host: address, ports, URIs
  GET    /shells      open shells
  GET    /faults      pending faults, the faults that fired and the latency profile
  POST   /reset       back to the topology (state, shells, lockouts, faults, latency, every counter);
                      requests held by a ``hang`` fault are released
  POST   /stats/reset every counter (requests, logons, sessions opened/closed, peak = open now, pipelines,
                      per-cmdlet counts) and the request log; state, shells and faults stay
  POST   /faults      {"kind": "http500|reset|shell_not_found|throttle|slow|hang|runspace_limit", "count": 1,
                       "skip": 0, "host": "EX01", "action": "Create", "endpoint": "exchange", "delay_ms": 0,
                       "message": "...", "code": 2150858752}: the first ``skip`` matching requests pass, the
                       next ``count`` get the fault
  DELETE /faults      all pending faults (or /faults/<id>)
  PUT    /latency     {"per_request_ms": 5, "per_shell_open_ms": 50}
  POST   /shells/forget  {"host": "EX01", "user": "ALLEO\\\\Administrator"}: drop shells (clients then get
                       "shell not found"), as an app-pool recycle would
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socketserver
import threading
import typing as t
import urllib.parse

import yaml

from .server import LabServer

log = logging.getLogger(__name__)

FAULT_FIELDS = ("kind", "count", "skip", "host", "action", "endpoint", "delay_ms", "message", "code")


class _ControlServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], lab_server: LabServer) -> None:
        self.lab_server = lab_server
        super().__init__(address, ControlHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]


class ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ControlServer

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        log.debug("control %s", format % args)

    def _send(self, status: int, payload: t.Any) -> None:
        body = json.dumps(payload, indent=1, sort_keys=True, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, t.Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the request body must be a JSON object")
        return data

    def _route(self, method: str) -> None:
        srv = self.server.lab_server
        path = urllib.parse.urlsplit(self.path).path.rstrip("/") or "/"
        try:
            body = self._body() if method in ("POST", "PUT") else {}
            if method == "GET" and path == "/state":
                self._send(200, srv.state())
            elif method == "GET" and path == "/stats":
                self._send(200, srv.stats_snapshot())
            elif method == "GET" and path == "/audit":
                self._send(200, srv.lab.audit())
            elif method == "GET" and path == "/endpoints":
                self._send(200, srv.endpoints())
            elif method == "GET" and path == "/shells":
                self._send(200, srv.shells.describe())
            elif method == "GET" and path == "/requests":
                self._send(200, srv.stats.request_log())
            elif method == "GET" and path == "/faults":
                self._send(200, {"faults": srv.faults.active(), "fired": srv.faults.fired(),
                                 "latency": vars(srv.faults.latency)})
            elif method == "POST" and path == "/reset":
                srv.reset()
                self._send(200, {"reset": True})
            elif method == "POST" and path == "/stats/reset":
                srv.reset_stats()
                self._send(200, {"reset": True})
            elif method == "POST" and path == "/faults":
                fault = srv.faults.add(**{k: body[k] for k in FAULT_FIELDS if k in body})
                self._send(201, vars(fault))
            elif method == "DELETE" and (path == "/faults" or path.startswith("/faults/")):
                fault_id = int(path.rsplit("/", 1)[1]) if path.startswith("/faults/") else None
                self._send(200, {"removed": srv.faults.clear(fault_id)})
            elif method == "PUT" and path == "/latency":
                latency = srv.faults.set_latency(body.get("per_request_ms"), body.get("per_shell_open_ms"))
                self._send(200, vars(latency))
            elif method == "POST" and path == "/shells/forget":
                self._send(200, {"forgotten": srv.shells.forget(body.get("host"), body.get("user"))})
            else:
                self._send(404, {"error": f"no such control endpoint: {method} {path}"})
        except (ValueError, TypeError, KeyError) as err:
            self._send(400, {"error": str(err)})

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self._route("GET")

    def do_POST(self) -> None:  # pylint: disable=invalid-name
        self._route("POST")

    def do_PUT(self) -> None:  # pylint: disable=invalid-name
        self._route("PUT")

    def do_DELETE(self) -> None:  # pylint: disable=invalid-name
        self._route("DELETE")


def _admin(topology: dict[str, t.Any]) -> dict[str, t.Any]:
    accounts = topology.get("accounts") or []
    for acc in accounts:
        if acc.get("name", "").lower() == "administrator":
            return acc
    return accounts[0]


def inventory(topology: dict[str, t.Any], endpoints: dict[str, dict[str, t.Any]], control_uri: str,
              ca_file: str | None, kerberos: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    """The Ansible inventory for a running lab: groups ``exchange`` and ``xphone``.

    Hosts connect over http + NTLM with message encryption (the clients' default), so no certificate
    validation is weakened; ``lab_ca_file`` names the CA for those who want https.

    With a Kerberos realm (``kerberos``: ``Realm.describe()``) they connect with Kerberos as a real inventory
    does: the user as ``Administrator@ALLEO.INTERN`` and each host by its FQDN (resolved by nss_wrapper from the
    realm's hosts file, see ``python -m lab env``), or by address with ``ansible_psrp_negotiate_hostname_override``
    where nss_wrapper is not installed.
    """
    domain = topology.get("domain") or {}
    admin = _admin(topology)
    user = f"{admin['name']}@{domain.get('fqdn')}" if domain.get("fqdn") else admin["name"]
    if kerberos:
        user = f"{admin['name']}@{kerberos['realm']}"
    groups: dict[str, dict[str, t.Any]] = {"exchange": {"hosts": {}}, "xphone": {"hosts": {}}}
    for host in topology.get("hosts") or []:
        ep = endpoints.get(host["name"])
        if not ep:
            continue
        hostvars: dict[str, t.Any] = {
            "ansible_host": ep["address"],
            "ansible_port": ep["ports"]["wsman_http"],
            "ansible_user": user,
            "ansible_password": admin["password"],
            "ansible_connection": "psrp",
            "ansible_psrp_protocol": "http",
            "ansible_psrp_auth": "ntlm",
            "lab_name": host["name"],
            "lab_wsman_uri": ep["wsman_http_uri"],
            "lab_admin_user": user,
            "lab_admin_password": admin["password"],
            "lab_control_uri": control_uri,
        }
        if ca_file:
            hostvars["lab_ca_file"] = ca_file
        exchange_uri = ep.get("exchange_http_uri")
        if kerberos:
            fqdn = f"{host['name'].lower()}.{domain.get('fqdn')}"
            hostvars["ansible_psrp_auth"] = "kerberos"
            if kerberos.get("nss_wrapper"):
                hostvars["ansible_host"] = fqdn
                hostvars["lab_wsman_uri"] = hostvars["lab_wsman_uri"].replace(ep["address"], fqdn)
                exchange_uri = exchange_uri and exchange_uri.replace(ep["address"], fqdn)
            else:
                hostvars["ansible_psrp_negotiate_hostname_override"] = fqdn
        if host.get("role") == "exchange":
            hostvars["lab_exchange_uri"] = exchange_uri
            groups["exchange"]["hosts"][host["name"].lower()] = hostvars
        else:
            groups["xphone"]["hosts"][host["name"].lower()] = hostvars
    return {"all": {"children": groups}}


class RunningLab:
    """A lab started in this process: engine, WS-Management listeners, control API and files in ``directory``.

    Files: ``lab.json`` (pid, endpoints, control URL), ``inventory.yml`` (0600: it holds passwords),
    ``ca.pem``, ``state.json`` (the engine's persisted state), ``ntlm-users`` (NT hashes, 0600).
    """

    def __init__(self, directory: str, topology_path: str | None = None, *, free_ports: bool = False,
                 keep_state: bool = False, control_port: int = 0, lab: t.Any = None, kerberos: bool = False) -> None:
        self.dir = os.path.abspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.state_path = os.path.join(self.dir, "state.json")
        if lab is None:
            if not keep_state and os.path.exists(self.state_path):
                os.unlink(self.state_path)
            from .engine import Lab  # pylint: disable=import-outside-toplevel  # heavy: loads every family
            lab = Lab.load(topology_path, self.state_path) if topology_path else Lab.load(state_path=self.state_path)
        self.lab = lab
        self.server = LabServer(lab, self.dir, free_ports=free_ports, kerberos=kerberos)
        self.control_port = control_port
        self.control: _ControlServer | None = None
        self._thread: threading.Thread | None = None
        self.inventory_path = os.path.join(self.dir, "inventory.yml")
        self.info_path = os.path.join(self.dir, "lab.json")

    @property
    def control_uri(self) -> str:
        assert self.control is not None
        return f"http://127.0.0.1:{self.control.server_address[1]}"

    def start(self) -> "RunningLab":
        self.server.start()
        self.control = _ControlServer(("127.0.0.1", self.control_port), self.server)
        self._thread = threading.Thread(target=self.control.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lab-control", daemon=True)
        self._thread.start()
        self.write_files()
        return self

    def info(self) -> dict[str, t.Any]:
        return {
            "pid": os.getpid(),
            "control_uri": self.control_uri,
            "endpoints": self.server.endpoints(),
            "inventory": self.inventory_path,
            "ca_file": self.server.tls.ca_file if self.server.tls else None,
            "state_file": self.state_path,
            "free_ports": self.server.free_ports_requested or self.server.fell_back_to_free_ports,
            "fell_back_to_free_ports": self.server.fell_back_to_free_ports,
            "kerberos": self.server.realm.describe() if self.server.realm is not None else None,
        }

    def write_files(self) -> None:
        inv = inventory(self.lab.topology, self.server.endpoints(), self.control_uri,
                        self.server.tls.ca_file if self.server.tls else None,
                        self.server.realm.describe() if self.server.realm is not None else None)
        fd = os.open(self.inventory_path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# Written by `python -m lab up`: the running lab's hosts. It holds the lab's passwords.\n")
            yaml.safe_dump(inv, f, sort_keys=False)
        os.replace(self.inventory_path + ".tmp", self.inventory_path)
        with open(self.info_path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.info(), f, indent=1)
        os.replace(self.info_path + ".tmp", self.info_path)

    def stop(self) -> None:
        if self.control is not None:
            self.control.shutdown()
            self.control.server_close()
            self.control = None
        self.server.stop()
        try:
            with open(self.info_path, encoding="utf-8") as f:
                if json.load(f).get("pid") == os.getpid():
                    os.unlink(self.info_path)
        except (OSError, ValueError):
            pass

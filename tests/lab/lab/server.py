"""The lab's listeners: one HTTP and one HTTPS WS-Management listener per port of every host.

Each host of the topology listens on its own loopback address (127.0.0.x). Exchange hosts serve
``/PowerShell`` (configuration Microsoft.Exchange, endpoint "exchange") and ``/wsman``
(Microsoft.PowerShell and the cmd shell, endpoint "windows"); Windows hosts serve ``/wsman`` only.
Standard ports (80/443/5985/5986) are used when they can be bound, free ports otherwise.

Authentication is bound to the TCP connection (NTLM/Negotiate), as with HTTP.sys: one handler instance
per connection holds the acceptor context, so sealing sequence numbers stay in order.

Statistics are kept globally and per host (the topology name of the listener a request reached): HTTP
POSTs, WS-Management requests (counted when they arrive, so a request that is reset or left hanging
counts too), logons (a completed NTLM/Negotiate handshake, or Basic accepted on a connection not yet
authenticated as that user), failed logons (every 401 refusal), pipelines, and the shells of the table.
Handler threads are daemon threads; a request held by a ``hang`` fault is released when the lab is reset
or stopped, so neither waits for it.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import errno
import http.server
import logging
import os
import select
import socket
import socketserver
import struct
import threading
import time
import typing as t
import urllib.parse
import uuid

from . import auth, encryption, faults, tls, wsman
from .model import SessionInfo
from .psrp import PsrpShell
from .shells import ShellTable
from .winrs import WinrsShell

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE_MAX_SHELLS = 18   # PowerShellMaxConcurrency of the on-premises global throttling policy
HOST_STATS_KEYS = ("sessions_opened", "sessions_closed", "sessions_open", "sessions_peak", "logons", "failed_logons",
                   "requests", "requests_by_action", "http_posts", "pipelines")
STANDARD_PORTS = {"http": 80, "https": 443, "wsman_http": 5985, "wsman_https": 5986}
# Which listener serves which paths: Exchange's IIS vdir answers on 80/443, WinRM on 5985/5986; the
# lab serves both paths on all ports of an Exchange host (a module may combine either with either).
EXCHANGE_PATHS = {"/powershell": "exchange", "/wsman": "windows"}
WINDOWS_PATHS = {"/wsman": "windows"}


@dataclasses.dataclass
class Listener:
    host: str                     # topology name, e.g. EX01
    role: str                     # exchange | windows
    address: str
    port_name: str                # http | https | wsman_http | wsman_https
    scheme: str                   # http | https
    port: int
    paths: dict[str, str]
    allow_unencrypted: bool
    server: t.Any = None

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.address}:{self.port}{path}"


REQUEST_LOG_SIZE = 5000


def _new_host_counters() -> dict[str, t.Any]:
    return {"requests": 0, "requests_by_action": collections.Counter(), "http_posts": 0, "pipelines": 0,
            "logons": 0, "failed_logons": 0}


class Stats:
    """Request statistics, globally and per host; ``reset()`` clears every counter and the request log."""

    def __init__(self, hosts: t.Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._host_names = list(hosts)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.http_posts = 0
            self.by_action: collections.Counter[str] = collections.Counter()
            self.by_status: collections.Counter[int] = collections.Counter()
            self.auth_failures = 0
            self.logons = 0
            self.pipelines = 0
            self.server_ms_total = 0.0
            self.server_ms: collections.deque[float] = collections.deque(maxlen=20000)
            self.per_host: dict[str, dict[str, t.Any]] = {name: _new_host_counters() for name in self._host_names}
            self.log: collections.deque[dict[str, t.Any]] = collections.deque(maxlen=REQUEST_LOG_SIZE)

    def _host(self, host: str) -> dict[str, t.Any]:
        """Called under ``_lock``."""
        counters = self.per_host.get(host)
        if counters is None:
            counters = self.per_host[host] = _new_host_counters()
        return counters

    def request(self, host: str, action: str, endpoint: str, shell_id: str | None) -> dict[str, t.Any]:
        """Count one WS-Management request as it arrives; returns its entry in the request log."""
        with self._lock:
            self.requests += 1
            self.by_action[action] += 1
            counters = self._host(host)
            counters["requests"] += 1
            counters["requests_by_action"][action] += 1
            entry = {"seq": self.requests, "host": host, "host_seq": counters["requests"], "action": action,
                     "endpoint": endpoint, "shell_id": shell_id, "status": None, "fault": None}
            self.log.append(entry)
            return entry

    def fault(self, entry: dict[str, t.Any] | None, kind: str) -> None:
        with self._lock:
            if entry is not None:
                entry["fault"] = kind

    def reply(self, entry: dict[str, t.Any] | None, status: int | str) -> None:
        """The outcome of a request: an HTTP status (counted) or "reset"/"hang" (only logged)."""
        with self._lock:
            if entry is not None:
                entry["status"] = status
            if isinstance(status, int):
                self.by_status[status] += 1

    def timing(self, elapsed_ms: float) -> None:
        """Server time of one answered request."""
        with self._lock:
            self.server_ms_total += elapsed_ms
            self.server_ms.append(elapsed_ms)

    def post(self, host: str) -> None:
        with self._lock:
            self.http_posts += 1
            self._host(host)["http_posts"] += 1

    def auth_failure(self, host: str) -> None:
        with self._lock:
            self.auth_failures += 1
            self._host(host)["failed_logons"] += 1

    def logon(self, host: str) -> None:
        with self._lock:
            self.logons += 1
            self._host(host)["logons"] += 1

    def pipeline(self, host: str) -> None:
        with self._lock:
            self.pipelines += 1
            self._host(host)["pipelines"] += 1

    def request_log(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return [dict(entry) for entry in self.log]

    def snapshot(self) -> dict[str, t.Any]:
        with self._lock:
            times = sorted(self.server_ms)
            return {
                "requests": self.requests,
                "http_posts": self.http_posts,
                "requests_by_action": dict(self.by_action),
                "requests_by_status": {str(k): v for k, v in self.by_status.items()},
                "auth_failures": self.auth_failures,
                "logons": self.logons,
                "pipelines": self.pipelines,
                "server_ms_total": round(self.server_ms_total, 3),
                "server_ms_median": round(times[len(times) // 2], 3) if times else None,
                "server_ms_p90": round(times[int(len(times) * 0.9)], 3) if times else None,
                "hosts": {name: {**counters, "requests_by_action": dict(counters["requests_by_action"])}
                          for name, counters in self.per_host.items()},
            }


@dataclasses.dataclass
class Outcome:
    """What ``LabServer.handle`` decided for one request."""
    status: int
    body: bytes
    action: str
    entry: dict[str, t.Any] | None = None     # the request's entry in the request log
    disposition: str = "answer"                # answer | reset | hang
    hold_s: float = 0.0                        # hang: how long to hold the connection at most


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, listener: Listener, lab_server: "LabServer",
                 ssl_context: t.Any = None) -> None:
        self.listener = listener
        self.lab_server = lab_server
        self.ssl_context = ssl_context
        self.connections: set[t.Any] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def close_connections(self) -> None:
        """End keep-alive connections too: a stopped lab must not go on answering on them."""
        with self.connections_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)   # skip HTTPServer's getfqdn(): slow and useless here
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]
        if self.ssl_context is not None:
            self.socket = self.ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class WSManHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True          # pitfall 1: 40 ms per POST otherwise
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    server: _ThreadingServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
        self.negotiate: auth.NegotiateSession | None = None
        self.principal: str | None = None
        self.auth_kind: str | None = None

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self._reply(405 if self._endpoint() else 404, b"")

    def _endpoint(self) -> str | None:
        path = urllib.parse.urlsplit(self.path).path.rstrip("/").lower()
        return self.server.listener.paths.get(path)

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None,
               content_type: str = "application/soap+xml;charset=UTF-8") -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _challenge(self, extra: dict[str, str] | None = None) -> None:
        lst = self.server.listener
        self.send_response(401)
        self.send_header("WWW-Authenticate", "Negotiate")
        if lst.scheme == "https" or lst.allow_unencrypted:
            self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _refuse(self, err: auth.AuthFailed) -> None:
        lab_server = self.server.lab_server
        lab_server.stats.auth_failure(self.server.listener.host)
        log.info("authentication refused on %s: %s (%s)", self.server.listener.host, err, err.account or "unknown account")
        self.negotiate = None
        self.principal = None
        self._challenge()

    def do_POST(self) -> None:  # pylint: disable=invalid-name,too-many-return-statements,too-many-branches
        started = time.perf_counter()
        lst = self.server.listener
        lab_server = self.server.lab_server
        lab_server.stats.post(lst.host)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        endpoint = self._endpoint()
        if endpoint is None:
            self._reply(404, b"")
            return

        final_token: dict[str, str] = {}
        header = self.headers.get("Authorization")
        if header:
            scheme, _sep, token = header.partition(" ")
            scheme_l = scheme.lower()
            if scheme_l == "basic":
                if not (lst.scheme == "https" or lst.allow_unencrypted):
                    self._refuse(auth.AuthFailed("Basic over unencrypted HTTP is not allowed"))
                    return
                try:
                    principal = lab_server.accounts.basic(token.strip())
                except auth.AuthFailed as err:
                    self._refuse(err)
                    return
                if self.auth_kind != "basic" or self.principal != principal:
                    lab_server.stats.logon(lst.host)     # a connection newly authenticated as this user
                self.principal = principal
                self.auth_kind = "basic"
                self.negotiate = None
            elif scheme_l in ("negotiate", "ntlm", "kerberos"):
                try:
                    raw = base64.b64decode(token.strip())
                except ValueError:
                    self._refuse(auth.AuthFailed("malformed token"))
                    return
                if self.negotiate is None or self.negotiate.complete:
                    cbt = lab_server.tls.channel_binding if lst.scheme == "https" and lab_server.tls else None
                    self.negotiate = auth.NegotiateSession(lab_server.accounts, cbt)
                    self.principal = None
                try:
                    out = self.negotiate.step(raw)
                except auth.AuthFailed as err:
                    self._refuse(err)
                    return
                if not self.negotiate.complete:
                    self._challenge_token(scheme, out)
                    return
                self.principal = self.negotiate.principal
                self.auth_kind = "negotiate"
                lab_server.stats.logon(lst.host)         # the handshake completed: a new security context
                if out:
                    final_token = {"WWW-Authenticate": f"{scheme} {base64.b64encode(out).decode()}"}
                if not body:
                    self._reply(200, b"", final_token)
                    return
            else:
                self._challenge()
                return
        elif self.principal is None or self.auth_kind == "basic":
            self._challenge()
            return

        content_type = self.headers.get("Content-Type")
        encrypted = encryption.is_encrypted(content_type)
        if encrypted:
            if self.negotiate is None or not self.negotiate.complete:
                self._challenge()
                return
            try:
                plain = encryption.unwrap(self.negotiate.context, body)
            except Exception:  # pylint: disable=broad-exception-caught  # bad seal = not authenticated
                log.info("could not unseal a message on %s", lst.host)
                self._refuse(auth.AuthFailed("message could not be decrypted"))
                return
        else:
            if lst.scheme == "http" and not lst.allow_unencrypted:
                # WinRM's AllowUnencrypted=false: plaintext SOAP over HTTP is refused.
                self._refuse(auth.AuthFailed("unencrypted message over HTTP is not allowed"))
                return
            plain = body

        outcome = lab_server.handle(lst, endpoint, self.principal or "", self.client_address[0], plain)
        if outcome.disposition == "reset":
            lab_server.stats.reply(outcome.entry, "reset")
            self._reset_connection()
            return
        if outcome.disposition == "hang":
            lab_server.stats.reply(outcome.entry, "hang")
            self._hold(outcome.hold_s)
            self._reset_connection()
            return
        status, response = outcome.status, outcome.body
        lab_server.stats.reply(outcome.entry, status)     # before the answer: a client that has it may read the stats
        if encrypted and response:
            response = encryption.wrap(self.negotiate.context, response)
            self._reply(status, response, final_token, content_type=encryption.CONTENT_TYPE)
        else:
            self._reply(status, response, final_token)
        lab_server.stats.timing((time.perf_counter() - started) * 1000.0)

    def _hold(self, seconds: float) -> None:
        """Leave the request unanswered until the client gives up (closes the connection), ``seconds`` pass,
        or the lab is reset or stopped."""
        lab_server = self.server.lab_server
        release = lab_server.hold_release
        deadline = time.monotonic() + seconds
        lab_server.held(+1)
        try:
            while not release.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    readable, _writable, _failed = select.select([self.connection], [], [], min(remaining, 0.05))
                except (OSError, ValueError):
                    return      # the socket is gone: the lab stopped
                if readable:
                    return      # end of stream: the client gave up (a client sends nothing else while it waits)
        finally:
            lab_server.held(-1)

    def _challenge_token(self, scheme: str, out: bytes | None) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", f"{scheme} {base64.b64encode(out or b'').decode()}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _reset_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass


def _redact(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: ("********" if "password" in str(k).lower() and v else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


class LabServer:
    """All listeners of one lab, its shells, authentication, faults and statistics."""

    def __init__(self, lab: t.Any, workdir: str, *, free_ports: bool = False, https: bool = True,
                 max_receive_wait: float = 20.0, kerberos: bool = False) -> None:
        self.lab = lab
        self.workdir = os.path.abspath(workdir)
        self.free_ports_requested = free_ports
        self.https = https
        self.max_receive_wait = max_receive_wait
        self.fell_back_to_free_ports = False
        self.stats = Stats(h["name"] for h in lab.topology.get("hosts") or [])
        self.faults = faults.FaultInjector()
        # Set to release every request a ``hang`` fault holds (on reset and stop); replaced after a reset.
        self.hold_release = threading.Event()
        self._held = 0
        self._held_lock = threading.Lock()
        limits = dict(lab.topology.get("limits") or {})
        self.limits = limits
        self.shells = ShellTable(float(limits.get("shell_idle_timeout_s") or 7200))
        self.accounts = auth.Accounts(lab.accounts, int(limits.get("lockout_threshold") or 0),
                                      generation=lambda: lab.store.generation,
                                      check_hash=getattr(lab, "check_password", None))
        self.tls: tls.TlsMaterial | None = None
        self.listeners: list[Listener] = []
        self._threads: list[threading.Thread] = []
        self.user_file = os.path.join(self.workdir, "ntlm-users")
        # A real MIT KDC (lab.kerberos) when asked for: every account and host gets its principals.
        self.realm: t.Any = None
        if kerberos:
            from .kerberos import Realm  # pylint: disable=import-outside-toplevel
            self.realm = Realm(os.path.join(self.workdir, "kerberos"), lab.topology)

    # -- lifecycle ----------------------------------------------------------------------------------
    def hosts(self) -> list[dict[str, t.Any]]:
        return list(self.lab.topology.get("hosts") or [])

    def start(self) -> "LabServer":
        os.makedirs(self.workdir, exist_ok=True)
        # pyspnego's acceptor reads it through NTLM_USER_FILE (set around each step, see auth.py).
        self.accounts.write_user_file(self.user_file)
        if self.realm is not None:
            self.realm.start(self.lab.accounts())
            self.accounts.listeners.append(self.realm.sync)
        hosts = self.hosts()
        if self.https:
            domain = (self.lab.topology.get("domain") or {}).get("fqdn") or ""
            names = []
            for h in hosts:
                names += [h["name"], h["name"].lower()] + ([f"{h['name'].lower()}.{domain}"] if domain else [])
            self.tls = tls.generate(self.workdir, names, [h["address"] for h in hosts])
        if self.free_ports_requested:
            self._bind_all(free=True)
        else:
            try:
                self._bind_all(free=False)
            except OSError as err:
                if err.errno not in (errno.EACCES, errno.EADDRINUSE, errno.EPERM):
                    raise
                self._close_listeners()
                self.fell_back_to_free_ports = True
                log.warning("standard ports not available (%s); using free ports", err.strerror)
                self._bind_all(free=True)
        for lst in self.listeners:
            thread = threading.Thread(target=lst.server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"lab-{lst.host}-{lst.port_name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _bind_all(self, free: bool) -> None:
        allow_all = bool(self.limits.get("allow_unencrypted"))
        for host in self.hosts():
            role = host.get("role", "windows")
            ports = dict(host.get("ports") or {})
            names = ("http", "https", "wsman_http", "wsman_https") if role == "exchange" else ("wsman_http", "wsman_https")
            for port_name in names:
                scheme = "https" if port_name.endswith("https") else "http"
                if scheme == "https" and not self.https:
                    continue
                port = 0 if free else int(ports.get(port_name) or STANDARD_PORTS[port_name])
                lst = Listener(host["name"], role, host["address"], port_name, scheme, port,
                               EXCHANGE_PATHS if role == "exchange" else WINDOWS_PATHS,
                               bool(host.get("allow_unencrypted", allow_all)))
                ctx = self.tls.server_context() if scheme == "https" and self.tls else None
                lst.server = _ThreadingServer((lst.address, port), WSManHandler, lst, self, ctx)
                lst.port = lst.server.server_address[1]
                self.listeners.append(lst)

    def _close_listeners(self) -> None:
        for lst in self.listeners:
            if lst.server is not None:
                lst.server.server_close()
        self.listeners = []

    def stop(self) -> None:
        self.hold_release.set()
        # shutdown() waits for the serve loop's next poll: stop all listeners at once, not one after another.
        stoppers = [threading.Thread(target=lst.server.shutdown, daemon=True) for lst in self.listeners]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        for lst in self.listeners:
            lst.server.server_close()
            lst.server.close_connections()
        self.shells.forget()
        self.listeners = []
        if self.realm is not None:
            self.realm.stop()

    def reset(self) -> None:
        """Back to the topology: engine state, shells, lockouts, faults, latency and statistics; requests
        held by a ``hang`` fault are released (their connections closed without an answer)."""
        released, self.hold_release = self.hold_release, threading.Event()
        released.set()
        self.lab.reset()
        self.shells.forget()
        self.accounts.reset()
        if self.realm is not None:
            self.accounts.refresh(force=True)
            self.realm.unlock_all()
        self.faults.reset()
        self.reset_stats()

    def reset_stats(self) -> None:
        """Every counter back to 0: requests, logons, pipelines, sessions opened/closed (the peak becomes the
        number open now), per-cmdlet counts and the request log. State, shells, lockouts and faults stay."""
        self.stats.reset()
        self.shells.reset_counters()
        reset_engine = getattr(self.lab, "reset_stats", None)
        if reset_engine is not None:
            reset_engine()

    def held(self, delta: int = 0) -> int:
        """How many requests a ``hang`` fault holds right now (``delta`` is for the handler)."""
        with self._held_lock:
            self._held += delta
            return self._held

    # -- description ----------------------------------------------------------------------------------
    def endpoints(self) -> dict[str, dict[str, t.Any]]:
        out: dict[str, dict[str, t.Any]] = {}
        for lst in self.listeners:
            entry = out.setdefault(lst.host, {"role": lst.role, "address": lst.address, "ports": {}})
            entry["ports"][lst.port_name] = lst.port
            if lst.port_name in ("wsman_http", "wsman_https"):
                entry[f"{lst.port_name}_uri"] = lst.url("/wsman")
            elif lst.role == "exchange":
                entry[f"exchange_{lst.scheme}_uri"] = lst.url("/PowerShell")
        return out

    def state(self) -> dict[str, t.Any]:
        return _redact(self.lab.store.snapshot())

    def stats_snapshot(self) -> dict[str, t.Any]:
        data = self.stats.snapshot()
        shells = self.shells.counters(data["hosts"])
        total = shells["total"]
        data["sessions"] = {"opened": total["opened"], "closed": total["closed"], "open": total["open"]}
        data["sessions_peak"] = total["peak"]
        for name, counters in shells["hosts"].items():
            data["hosts"].setdefault(name, {}).update(counters)
        data["hosts"] = {name: {key: counters.get(key, {} if key == "requests_by_action" else 0) for key in HOST_STATS_KEYS}
                         for name, counters in data["hosts"].items()}
        data["cmdlets"] = self.lab.stats()
        data["locked_accounts"] = self.accounts.locked_accounts()
        return data

    # -- WS-Management -----------------------------------------------------------------------------------
    def handle(self, lst: Listener, endpoint: str, principal: str, client_ip: str, plain: bytes) -> Outcome:
        """Answer one authenticated request (or decide to reset or hold its connection)."""
        req = None
        entry = None
        self.shells.expire_idle()
        try:
            req = wsman.parse_request(plain)
            entry = self.stats.request(lst.host, req.action, endpoint, req.shell_id)
            fault = self.faults.take(lst.host, req.action, endpoint)
            if fault is not None:
                self.stats.fault(entry, fault.kind)
                if fault.kind == "reset":
                    return Outcome(0, b"", req.action, entry, "reset")
                if fault.kind == "hang":
                    return Outcome(0, b"", req.action, entry, "hang",
                                   hold_s=(fault.delay_ms or faults.HANG_DEFAULT_MS) / 1000.0)
                if fault.kind == "slow":
                    time.sleep(fault.delay_ms / 1000.0)
                elif fault.kind == "http500":
                    raise wsman.WSManFault(fault.code or 2150858752, fault.message or
                                           "The WS-Management service cannot process the request because of an internal error.")
                elif fault.kind == "shell_not_found":
                    if req.shell_id:
                        self.shells.remove(req.shell_id)
                    raise wsman.fault_shell_not_found(req.shell_id or str(uuid.uuid4()).upper())
                elif fault.kind == "throttle":
                    raise wsman.fault_throttled()
                elif fault.kind == "runspace_limit":
                    limit = int(self.limits.get("exchange_max_shells_per_user") or DEFAULT_EXCHANGE_MAX_SHELLS)
                    err = self.runspace_limit_fault(lst.host, principal, limit)
                    err.message = err.reason = fault.message or err.message
                    err.code = fault.code or err.code
                    raise err
            self.faults.request_delay()
            body = self._dispatch(lst, endpoint, principal, client_ip, req)
            if self.realm is not None:
                # An account that a cmdlet created or re-passworded gets its principal before the client's next logon.
                self.accounts.refresh()
            return Outcome(200, body, req.action, entry)
        except wsman.WSManFault as fault:
            fault.machine = lst.host
            if entry is None:
                entry = self.stats.request(lst.host, "Invalid", endpoint, None)
            return Outcome(fault.http_status, wsman.fault_envelope(fault, req), req.action if req else "Invalid", entry)
        except Exception:  # pylint: disable=broad-exception-caught  # a lab bug must reach the client as a fault
            log.exception("internal error while handling %s", req.action if req else "a request")
            fault = wsman.fault_internal()
            fault.machine = lst.host
            if entry is None:
                entry = self.stats.request(lst.host, "Invalid", endpoint, None)
            return Outcome(500, wsman.fault_envelope(fault, req), req.action if req else "Invalid", entry)

    def runspace_limit_fault(self, host: str, principal: str, limit: int) -> wsman.WSManFault:
        """Exchange's AuthZ over-budget fault for ``principal`` on ``host``: its SID, the throttling policy that
        applies (the user's own, else the Organization-scoped one, else the global one) and the server names."""
        sam = principal.rpartition("\\")[2].lower()
        sid, policy_dn, fqdn = "", "", ""
        store = getattr(self.lab, "store", None)
        if store is not None:
            with store.read() as data:
                directory = data.get("directory") or {}
                user = (directory.get("users") or {}).get(sam) or {}
                sid = user.get("sid") or ""
                fqdn = (directory.get("domain") or {}).get("fqdn") or ""
                policies = (data.get("organization") or {}).get("throttling_policies") or {}
                policy = (policies.get((user.get("throttling_policy") or "").lower())
                          or next((p for p in policies.values() if p.get("ThrottlingPolicyScope") == "Organization"), None)
                          or next((p for p in policies.values() if p.get("ThrottlingPolicyScope") == "Global"), None))
                policy_dn = (policy or {}).get("DistinguishedName") or ""
        backend = f"{host.lower()}.{fqdn}" if fqdn else host.lower()
        return wsman.fault_runspace_limit(limit, policy_dn=policy_dn, owner_sid=sid, server=host, backend=backend)

    def _dispatch(self, lst: Listener, endpoint: str, principal: str, client_ip: str, req: wsman.Request) -> bytes:
        if req.action == "Create":
            return self._create(lst, endpoint, principal, client_ip, req)
        shell = self.shells.get(req.shell_id, lst.host, principal)
        if req.action == "Delete":
            self.shells.remove(shell.shell_id)
            return wsman.empty_response(req)
        if req.action == "Command":
            return shell.command(req)
        if req.action == "Send":
            return shell.send(req)
        if req.action == "Receive":
            return shell.receive(req)
        if req.action == "Signal":
            return shell.signal(req)
        raise wsman.WSManFault(2150858771, f"The WS-Management service does not support the action {req.action} in the lab.",
                               subcode="a:ActionNotSupported")

    def _create(self, lst: Listener, endpoint: str, principal: str, client_ip: str, req: wsman.Request) -> bytes:
        uri = req.resource_uri
        body = req.body
        shell_id = ((body.get("ShellId") if body is not None else None) or str(uuid.uuid4())).upper()
        session = SessionInfo(host=lst.host, endpoint=endpoint, user=principal, client_ip=client_ip, session_id=shell_id)
        max_commands = int(self.limits.get("max_commands_per_shell") or 0)
        self.faults.shell_open_delay()
        if uri.lower() == wsman.CMD_RESOURCE_URI and endpoint == "windows":
            shell: t.Any = WinrsShell(shell_id, session, uri, max_commands, lab=self.lab, server=self)
        elif uri.lower().startswith(wsman.PS_RESOURCE_PREFIX):
            config = uri[len(wsman.PS_RESOURCE_PREFIX):].lower()
            if config != ("microsoft.exchange" if endpoint == "exchange" else "microsoft.powershell"):
                raise wsman.fault_resource_not_found(uri)
            creation = wsman.find(body, "ps:creationXml")
            if creation is None or not (creation.text or "").strip():
                raise wsman.fault_bad_request("The WS-Management service cannot process the request: no creationXml.")
            self._check_quota(lst, endpoint, principal)
            shell = PsrpShell(shell_id, session, uri, max_commands, lab=self.lab, server=self,
                              creation_xml=base64.b64decode(creation.text or ""))
        else:
            raise wsman.fault_resource_not_found(uri)
        self._check_quota(lst, endpoint, principal)
        self._add_shell(shell, lst, endpoint, principal)
        return wsman.create_response(req, shell_id, lst.url("/PowerShell" if endpoint == "exchange" else "/wsman"),
                                     owner=principal, client_ip=client_ip,
                                     input_streams=shell.input_streams, output_streams=shell.output_streams,
                                     idle_timeout=self.shells.idle_timeout)

    def _quota(self, lst: Listener, endpoint: str,
               principal: str) -> tuple[int, str | None, t.Callable[[int], wsman.WSManFault]]:
        if endpoint == "exchange":
            # Exchange 2013+ enforces PowerShellMaxConcurrency in its AuthZ plugin, with its own text.
            return (int(self.limits.get("exchange_max_shells_per_user") or 0), "exchange",
                    lambda limit: self.runspace_limit_fault(lst.host, principal, limit))
        return int(self.limits.get("wsman_max_shells_per_user") or 0), None, wsman.fault_wsman_max_shells

    def _check_quota(self, lst: Listener, endpoint: str, principal: str) -> None:
        quota, scope, fault = self._quota(lst, endpoint, principal)
        if quota and self.shells.count(lst.host, principal, scope) >= quota:
            raise fault(quota)

    def _add_shell(self, shell: t.Any, lst: Listener, endpoint: str, principal: str) -> None:
        quota, scope, fault = self._quota(lst, endpoint, principal)
        self.shells.add(shell, quota, scope, fault)

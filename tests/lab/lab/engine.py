"""The lab's engine: runs a pipeline of cmdlet calls against the state, as an Exchange or Windows endpoint would.

The protocol layer hands ``run_pipeline`` the commands of one PowerShell pipeline; the engine refuses
script text on the Exchange endpoint (NoLanguage), looks each cmdlet up, applies Exchange RBAC, binds
parameters against the reference facts, runs the handler once per pipeline input object, feeds the
output to the next command, and records one audit entry per command with secrets redacted.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import datetime
import hashlib
import importlib
import os
import re
import threading
import typing as t

from . import binding, errors, registry, topology as topology_mod
from .model import CmdletError, CommandCall, LabEnum, LabObject, PipelineResult, SecureString, SessionInfo
from .state import Store

DEFAULT_TOPOLOGY = topology_mod.DEFAULT_TOPOLOGY
REDACTED = "********"
SECRET_NAME = re.compile(r"password|secret|credential", re.I)
AUDIT_LIMIT = 100_000

# Cmdlet families that register themselves on import; a family that is not there yet is skipped.
FAMILY_PACKAGES = ("exchange", "windows")


def _load_families() -> None:
    for name in FAMILY_PACKAGES:
        try:
            importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise


def redact(value: t.Any, key: str = "") -> t.Any:
    """A copy of ``value`` fit for the audit log: SecureStrings and password-like keys become ********."""
    if isinstance(value, SecureString) or (key and SECRET_NAME.search(key) and value not in (None, "", [])):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, LabEnum):
        return value.value
    if isinstance(value, LabObject):
        return redact(value.properties.get("Identity", value.to_string or value.type_names[0]))
    return value


class DryRunStore:
    """The store as -WhatIf sees it: reads are real, writes are computed and thrown away."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.path = None

    def read(self) -> t.ContextManager[dict[str, t.Any]]:
        return self._store.read()

    @contextlib.contextmanager
    def write(self) -> t.Iterator[dict[str, t.Any]]:
        yield self._store.snapshot()

    def snapshot(self) -> dict[str, t.Any]:
        return self._store.snapshot()


class BatchStore:
    """One write transaction shared by every pipeline record of one command.

    Copying and persisting the whole state once per record made ``Get-MailboxDatabase | Add-ADPermission``
    over 400 databases take half a minute; handlers validate before they change anything, so the records
    can share the command's transaction.
    """

    def __init__(self, working: dict[str, t.Any]) -> None:
        self._data = working
        self.path = None

    @contextlib.contextmanager
    def read(self) -> t.Iterator[dict[str, t.Any]]:
        yield self._data

    @contextlib.contextmanager
    def write(self) -> t.Iterator[dict[str, t.Any]]:
        yield self._data

    def snapshot(self) -> dict[str, t.Any]:
        return copy.deepcopy(self._data)


class Lab:
    def __init__(self, topology: dict[str, t.Any], state_path: str | None = None) -> None:
        _load_families()
        self.topology = topology
        self.store = Store(topology_mod.build_state(topology), state_path)
        self._lock = threading.Lock()
        self._audit: list[dict[str, t.Any]] = []
        self._calls: collections.Counter[str] = collections.Counter()
        self._errors: collections.Counter[str] = collections.Counter()
        self._pipelines = 0
        # Passwords set at run time (New-Mailbox -Password) live here only, never in the state file.
        self._secrets: dict[str, str] = {}

    @classmethod
    def load(cls, yaml_path: str = DEFAULT_TOPOLOGY, state_path: str | None = None) -> "Lab":
        return cls(topology_mod.load(yaml_path), state_path)

    # -- accounts and hosts ------------------------------------------------------------------------------
    def accounts(self) -> list[dict[str, t.Any]]:
        domain = self.topology["domain"]
        seeded = {a["name"].lower(): a.get("password") for a in self.topology.get("accounts") or []}
        with self.store.read() as data:
            users = copy.deepcopy(list(data["directory"]["users"].values()))
        out = []
        for user in users:
            key = user["sam"].lower()
            password = self._secrets.get(key, seeded.get(key))
            out.append({"name": user["sam"], "domain_netbios": domain["netbios"], "domain_fqdn": domain["fqdn"],
                        "password": password, "password_hash": user.get("password_hash"),
                        "enabled": bool(user.get("enabled", True)) and (password is not None or bool(user.get("password_hash")))})
        return out

    def set_password(self, sam: str, password: SecureString) -> dict[str, t.Any]:
        """Remember a password set by a cmdlet; returns the salted hash that the state may keep instead."""
        text = password.reveal()
        self._secrets[sam.lower()] = text
        salt = os.urandom(16)
        digest = hashlib.pbkdf2_hmac("sha256", text.encode("utf-8"), salt, 100_000)
        return {"scheme": "pbkdf2_sha256", "iterations": 100_000, "salt": salt.hex(), "hash": digest.hex()}

    @staticmethod
    def check_password(record: dict[str, t.Any] | None, password: str) -> bool:
        if not record:
            return False
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(record["salt"]),
                                     int(record["iterations"]))
        return digest.hex() == record["hash"]

    def hosts(self) -> list[dict[str, t.Any]]:
        return copy.deepcopy(list(self.topology.get("hosts") or []))

    def host(self, name: str) -> dict[str, t.Any] | None:
        return next((h for h in self.hosts() if h["name"].lower() == name.lower()), None)

    # -- bookkeeping -------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.store.reset()
        with self._lock:
            self._audit.clear()
            self._calls.clear()
            self._errors.clear()
            self._pipelines = 0
            self._secrets.clear()

    def reset_stats(self) -> None:
        """Only the counters (per-cmdlet calls and errors, pipelines); state and audit log stay."""
        with self._lock:
            self._calls.clear()
            self._errors.clear()
            self._pipelines = 0

    def stats(self) -> dict[str, t.Any]:
        with self._lock:
            return {"pipelines": self._pipelines, "calls": dict(self._calls), "errors": dict(self._errors),
                    "total_calls": sum(self._calls.values()), "state_generation": self.store.generation}

    def audit(self) -> list[dict[str, t.Any]]:
        with self._lock:
            return copy.deepcopy(self._audit)

    def _record(self, session: SessionInfo, name: str, params: t.Any, outcome: str, error: str | None) -> None:
        entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(), "host": session.host,
                 "endpoint": session.endpoint, "user": session.user, "client_ip": session.client_ip,
                 "cmdlet": name, "parameters": redact(params), "outcome": outcome}
        if error:
            entry["error"] = error
        with self._lock:
            self._calls[name] += 1
            if outcome != "Completed":
                self._errors[name] += 1
            self._audit.append(entry)
            del self._audit[:-AUDIT_LIMIT]

    # -- pipelines ---------------------------------------------------------------------------------------
    def run_pipeline(self, session: SessionInfo, commands: list[CommandCall],
                     input_objects: list[t.Any] | None = None) -> PipelineResult:
        result = PipelineResult()
        with self._lock:
            self._pipelines += 1
        objects: list[t.Any] | None = list(input_objects) if input_objects else None
        for call in commands:
            try:
                objects = self._run_command(session, call, objects, result)
            except CmdletError as err:
                err.terminating = True
                result.terminating_error = err
                result.output = []
                return result
            except Exception as exc:  # pylint: disable=broad-except
                # Outside the handler too (look-up, RBAC), a lab bug must end the pipeline, not the connection.
                result.terminating_error = errors.internal_error(call.name, exc)
                result.output = []
                return result
        result.output = objects or []
        return result

    def _run_command(self, session: SessionInfo, call: CommandCall, inputs: list[t.Any] | None,
                     result: PipelineResult) -> list[t.Any]:
        name = call.name
        if call.is_script and session.endpoint == "exchange":
            self._record(session, "<script>", {}, "Failed", errors.NO_LANGUAGE_TEXT)
            raise errors.no_language()
        spec = registry.lookup(name) if not call.is_script else None
        if call.is_script:
            spec = registry.lookup("<script>")
        if spec is None or spec.endpoint != session.endpoint or not self._allowed(session, spec.name):
            err = errors.command_not_found(name)
            self._record(session, name, dict(_raw(call)), "Failed", err.message)
            raise err
        binder = binding.Binder(spec.name, spec.reference, spec.extra_parameters)
        outputs: list[t.Any] = []
        bound_seen: dict[str, t.Any] = {}
        outcome, message = "Completed", None
        errors_before = len(result.errors)
        try:
            if inputs is None:
                bound = binder.bind(call.parameters)
                bound_seen = bound.params
                outputs.extend(self._invoke(session, spec, bound, None, result))
            else:
                for given in (name for name, _value in call.parameters if name is not None):
                    binder.resolve_name(given)
                pending: CmdletError | None = None
                with self.store.write() as working:
                    batch = BatchStore(working)
                    try:
                        for obj in inputs:
                            bound = binder.bind(call.parameters, obj, spec.pipeline_binding, has_input=True)
                            bound_seen = bound.params
                            outputs.extend(self._invoke(session, spec, bound, obj, result, batch))
                    except CmdletError as err:
                        # Records before a terminating error stay done, as they would on a real server.
                        pending = err
                if pending is not None:
                    raise pending
        except CmdletError as err:
            outcome, message = "Failed", err.message
            raise
        except Exception as exc:  # pylint: disable=broad-except
            # An emulation bug must reach the client as an error record, never as a hung pipeline.
            outcome, message = "Failed", f"{type(exc).__name__}"
            raise errors.internal_error(spec.name, exc) from exc
        finally:
            if outcome == "Completed" and len(result.errors) > errors_before:
                outcome = "CompletedWithErrors"
            self._record(session, spec.name, bound_seen or dict(_raw(call)), outcome, message)
        return outputs

    def _invoke(self, session: SessionInfo, spec: registry.CmdletSpec, bound: binding.Bound, obj: t.Any,
                result: PipelineResult, store: t.Any = None) -> list[t.Any]:
        params = dict(bound.params)
        confirm = params.pop("Confirm", None)
        what_if = bool(params.pop("WhatIf", False))
        common = bound.common
        inv = registry.Invocation(
            spec=spec, session=session, params=params,
            store=DryRunStore(store or self.store) if what_if else (store or self.store), lab=self, input_object=obj,
            error_action=_pref(common.get("ErrorAction"), "Continue"),
            warning_action=_pref(common.get("WarningAction"), "Continue"),
            confirm=confirm, what_if=what_if)
        inv.parameter_set = bound.parameter_set  # type: ignore[attr-defined]
        try:
            spec.handler(inv)
        finally:
            result.errors.extend(inv.errors)
            result.warnings.extend(inv.warnings)
        return inv.output

    def _allowed(self, session: SessionInfo, cmdlet_name: str) -> bool:
        if session.endpoint != "exchange":
            return True
        rbac = importlib.import_module(f"{__package__}.exchange.rbac")
        with self.store.read() as data:
            return rbac.allowed(data, session.user, cmdlet_name)


def _raw(call: CommandCall) -> list[tuple[str, t.Any]]:
    return [(name or f"<{i}>", value) for i, (name, value) in enumerate(call.parameters)]


def _pref(value: t.Any, default: str) -> str:
    if value is None:
        return default
    return value.value if isinstance(value, LabEnum) else str(value)

"""PSRP shells: a psrpcore ServerRunspacePool per WS-Management shell, pipelines run by the engine.

Flow: Create carries SESSION_CAPABILITY + INIT_RUNSPACEPOOL (creationXml); Command carries the first
CREATE_PIPELINE fragment (more may follow in Send, as may PIPELINE_INPUT); the pipeline's commands are
converted to ``model.CommandCall`` and run by ``lab.run_pipeline`` in a worker thread, whose result is
written back through psrpcore. psrpcore is not thread-safe, so every call into it happens under the
shell's condition, and everything it queues is drained at once into per-target outboxes (psrpcore's
``data_to_send`` stops at the first message for another target).
"""

from __future__ import annotations

import base64
import collections
import datetime
import decimal
import enum
import logging
import re
import threading
import typing as t
import uuid

import psrpcore
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSEnumBase,
    PSInvocationState,
    PSNoteProperty,
    PSObject,
    PSSecureString,
    PSType,
    PSDict,
    PSList,
    PSRPMessageType,
    WarningRecord,
)
from psrpcore.types._enum import PSEnumMeta

from . import wsman
from .model import CmdletError, CommandCall, LabEnum, LabObject, PipelineResult, SecureString
from .shells import Shell

# Characters XML 1.0 cannot carry, and the start of an escape sequence: CLIXML writes them as _xHHHH_ (MS-PSRP
# 2.2.5.3.2). psrpcore escapes property strings but writes a <ToString> as it is, so a NUL in an error message made
# the whole reply unreadable to the client; the lab escapes every ToString it sets (pypsrp decodes them).
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPE_START = re.compile("_(x[0-9A-Fa-f]{4}_)")


def clixml_escape(text: str) -> str:
    """``text`` as CLIXML writes a string: ``_x`` escapes first, then the characters XML cannot carry."""
    text = _ESCAPE_START.sub(r"_x005F_\1", text)
    return _NOT_IN_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


log = logging.getLogger(__name__)

# Largest chunk psrpcore may pack in one go; a Receive concatenates whole chunks up to its budget.
_CHUNK = 32 * 1024


# -- value conversion ---------------------------------------------------------------------------------

def from_ps(value: t.Any) -> t.Any:
    """A psrpcore (deserialized client) value as plain Python, per model.CommandCall."""
    if value is None:
        return None
    if isinstance(value, PSSecureString):
        return SecureString(str(value.decrypt()))
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (float, decimal.Decimal)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(from_ps(k)): from_ps(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [from_ps(v) for v in value]
    if isinstance(value, PSObject):
        meta = value.PSObject
        props = {}
        for prop in list(meta.adapted_properties) + list(meta.extended_properties):
            props[prop.name] = from_ps(prop.get_value(value))
        names = [n[len("Deserialized."):] if n.startswith("Deserialized.") else n for n in meta.type_names]
        return LabObject(names, props, meta.to_string)
    return str(value)


_ENUM_CLASSES: dict[tuple[str, str, int], type] = {}
_ENUM_LOCK = threading.Lock()


def _enum_value(value: LabEnum) -> t.Any:
    """A psrpcore enum member of .NET type ``value.type_name``; one class per (type, value, number)."""
    key = (value.type_name, value.value, int(value.number))
    with _ENUM_LOCK:
        cls = _ENUM_CLASSES.get(key)
        if cls is None:
            short = value.type_name.rsplit(".", 1)[-1]
            namespace = PSEnumMeta.__prepare__(short, (PSEnumBase,))
            namespace[value.value] = int(value.number)
            cls = PSEnumMeta(short, (PSEnumBase,), namespace)
            cls = PSType([value.type_name], rehydrate=False)(cls)
            _ENUM_CLASSES[key] = cls
    return cls(int(value.number))


def to_ps(value: t.Any) -> t.Any:
    """An engine value (model types, plain Python) as something psrpcore serializes faithfully."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        if -(2 ** 31) <= value < 2 ** 31:
            return value
        return psrpcore.types.PSInt64(value)
    if isinstance(value, LabEnum):
        return _enum_value(value)
    if isinstance(value, LabObject):
        obj = PSObject()
        obj.PSObject.type_names = list(value.type_names)
        for name, val in value.properties.items():
            obj.PSObject.adapted_properties.append(PSNoteProperty(name, to_ps(val)))
        if value.to_string is not None:
            obj.PSObject.to_string = clixml_escape(value.to_string)
        return obj
    if isinstance(value, SecureString):
        return "System.Security.SecureString"
    if isinstance(value, (list, tuple, set)):
        return PSList([to_ps(v) for v in value])
    if isinstance(value, dict):
        return PSDict({to_ps(k): to_ps(v) for k, v in value.items()})
    if isinstance(value, (bytes, bytearray)):
        return psrpcore.types.PSByteArray(bytes(value))
    return str(value)


def _category(name: str) -> ErrorCategory:
    try:
        return ErrorCategory[name]
    except KeyError:
        return ErrorCategory.NotSpecified


def _exception(err: CmdletError) -> NETException:
    exc = NETException(Message=err.message, HResult=-2146233087)
    exc.PSObject.type_names = [err.exception_type] + [n for n in exc.PSObject.type_names if n != err.exception_type]
    exc.PSObject.to_string = clixml_escape(err.message)
    return exc


def _category_info(err: CmdletError, activity: str) -> ErrorCategoryInfo:
    target = err.target
    info = ErrorCategoryInfo(
        Category=_category(err.category),
        Activity=activity,
        Reason=err.reason,
        TargetName="" if target is None else str(target),
        TargetType="" if target is None else ("String" if isinstance(target, str) else type(target).__name__),
    )
    info.PSObject.to_string = clixml_escape(str(info))
    return info


def error_record(err: CmdletError, activity: str) -> ErrorRecord:
    record = ErrorRecord(
        Exception=_exception(err),
        CategoryInfo=_category_info(err, activity),
        TargetObject=to_ps(err.target),
        FullyQualifiedErrorId=err.error_id or err.reason,
    )
    record.PSObject.to_string = clixml_escape(err.message)
    return record


def commands_of(metadata: t.Any) -> list[CommandCall]:
    calls = []
    for cmd in metadata.commands:
        calls.append(CommandCall(
            name=str(cmd.command_text),
            parameters=[(None if name is None else str(name), from_ps(value)) for name, value in cmd.parameters],
            is_script=bool(cmd.is_script),
            end_of_statement=bool(cmd.end_of_statement),
        ))
    return calls


# -- the shell -------------------------------------------------------------------------------------------

class _Pipe:
    def __init__(self, pipe: psrpcore.ServerPipeline) -> None:
        self.pipe = pipe
        self.inputs: list[t.Any] = []
        self.started = False
        self.finished = False


class PsrpShell(Shell):
    kind = "psrp"
    input_streams = "stdin pr"
    output_streams = "stdout"

    def __init__(self, *args: t.Any, lab: t.Any, creation_xml: bytes, server: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.lab = lab
        self.server = server
        self.pool = psrpcore.ServerRunspacePool()
        self.outbox: dict[uuid.UUID | None, collections.deque[bytes]] = collections.defaultdict(collections.deque)
        self.pipes: dict[uuid.UUID, _Pipe] = {}
        with self.cond:
            self._feed(creation_xml, None)
        if self.pool.state != psrpcore.types.RunspacePoolState.Opened:
            raise wsman.fault_internal("The runspace pool could not be opened from the creationXml.")

    # Under self.cond -------------------------------------------------------------------------------
    def _feed(self, data: bytes, pipeline_id: uuid.UUID | None, stream: str = "default") -> None:
        stream_type = psrpcore.StreamType.prompt_response if stream == "pr" else psrpcore.StreamType.default
        self.pool.receive_data(psrpcore.PSRPPayload(data, stream_type, pipeline_id))
        while True:
            event = self.pool.next_event()
            if event is None:
                break
            self._on_event(event)
        self._drain()

    def _on_event(self, event: t.Any) -> None:
        if isinstance(event, psrpcore.CreatePipelineEvent):
            state = self.pipes.get(event.pipeline_id)
            if state is not None and event.pipeline.no_input:
                self._start(state)
        elif isinstance(event, psrpcore.PipelineInputEvent):
            state = self.pipes.get(event.pipeline_id)
            if state is not None:
                state.inputs.append(from_ps(event.data))
        elif isinstance(event, psrpcore.EndOfPipelineInputEvent):
            state = self.pipes.get(event.pipeline_id)
            if state is not None and not state.started:
                self._start(state)
        elif isinstance(event, (psrpcore.SetMaxRunspacesEvent, psrpcore.SetMinRunspacesEvent,
                                psrpcore.ResetRunspaceStateEvent)):
            self.pool.runspace_availability_response(event.ci, True)
        elif isinstance(event, psrpcore.GetAvailableRunspacesEvent):
            self.pool.runspace_availability_response(event.ci, max(1, self.pool.max_runspaces))

    def _drain(self) -> None:
        while True:
            payload = self.pool.data_to_send(_CHUNK)
            if payload is None:
                break
            self.outbox[payload.pipeline_id].append(payload.data)
        self.cond.notify_all()

    def _start(self, state: _Pipe) -> None:
        state.started = True
        state.pipe.start()
        commands = commands_of(state.pipe.metadata)
        inputs = list(state.inputs) if not state.pipe.metadata.no_input else None
        worker = threading.Thread(target=self._run, args=(state, commands, inputs), daemon=True,
                                  name=f"lab-pipeline-{state.pipe.pipeline_id}")
        worker.start()

    # Worker thread ----------------------------------------------------------------------------------
    def _run(self, state: _Pipe, commands: list[CommandCall], inputs: list[t.Any] | None) -> None:
        activity = commands[0].name if commands else ""
        try:
            result = self.lab.run_pipeline(self.session, commands, inputs)
        except CmdletError as err:
            result = PipelineResult(terminating_error=err)
        except Exception as err:  # pylint: disable=broad-exception-caught  # must end Failed, not hang the client
            log.exception("pipeline failed in the engine")
            result = PipelineResult(terminating_error=CmdletError(
                f"The lab's engine failed: {err.__class__.__name__}: {err}", category="NotSpecified",
                error_id="LabEngineFailure", exception_type="System.Management.Automation.RuntimeException"))
        if self.server is not None:
            self.server.stats.pipeline(self.session.host)
        with self.cond:
            pipe = state.pipe
            if pipe.state != PSInvocationState.Running or self.closed:
                state.finished = True
                self.cond.notify_all()
                return
            try:
                self._write_result(pipe, result, activity)
            except Exception:  # pylint: disable=broad-exception-caught
                log.exception("could not serialize the pipeline's result")
                if pipe.state == PSInvocationState.Running:
                    pipe._change_state(PSInvocationState.Failed, error_record(CmdletError(  # pylint: disable=protected-access
                        "The lab could not serialize the pipeline output.", error_id="LabSerializationFailure"), activity))
            state.finished = True
            self._drain()

    def _write_result(self, pipe: psrpcore.ServerPipeline, result: PipelineResult, activity: str) -> None:
        for obj in result.output:
            pipe.write_output(to_ps(obj))
        for err in result.errors:
            # As pipe.write_error does, with the record's ToString escaped.
            pipe.prepare_message(error_record(err, activity), message_type=PSRPMessageType.ErrorRecord)
        for text in result.warnings:
            warning = WarningRecord(Message=str(text))
            warning.PSObject.to_string = clixml_escape(str(text))
            warning.serialize_extended_info = False
            pipe.prepare_message(warning, message_type=PSRPMessageType.WarningRecord)
        for text in result.verbose:
            pipe.write_verbose(str(text))
        if result.terminating_error is not None:
            # psrpcore 0.3.1 has no public way to end a pipeline Failed (pinned; see wire-protocol.md pitfall 3).
            pipe._change_state(PSInvocationState.Failed, error_record(result.terminating_error, activity))  # pylint: disable=protected-access
        else:
            pipe.complete()

    # Actions ------------------------------------------------------------------------------------------
    def command(self, req: wsman.Request) -> bytes:
        cmdline = wsman.find(req.body, "rsp:Arguments")
        command_id = (req.body.get("CommandId") if req.body is not None else None) or str(uuid.uuid4()).upper()
        pid = uuid.UUID(command_id)
        args = base64.b64decode((cmdline.text or "") if cmdline is not None else "")
        with self.cond:
            self.check_command_quota()
            state = _Pipe(psrpcore.ServerPipeline(self.pool, pid))
            self.pipes[pid] = state
            self.commands[command_id.upper()] = state
            self._feed(args, pid)
        return wsman.command_response(req, command_id.upper())

    def send(self, req: wsman.Request) -> bytes:
        with self.cond:
            for stream in wsman.findall(req.body, "rsp:Stream"):
                cid = stream.get("CommandId")
                pid = uuid.UUID(cid) if cid else None
                if pid is not None and pid not in self.pipes:
                    raise wsman.fault_internal(f"The command {cid} was not found in the shell.")
                self._feed(base64.b64decode(stream.text or ""), pid, stream.get("Name") or "stdin")
        return wsman.send_response(req)

    def receive(self, req: wsman.Request) -> bytes:
        desired = wsman.find(req.body, "rsp:DesiredStream")
        cid = desired.get("CommandId") if desired is not None else None
        pid = uuid.UUID(cid) if cid else None
        # Room for base64 in the envelope, leaving space for headers.
        budget = max(4096, int((req.max_envelope_size - 2048) * 3 / 4))
        timeout = min(req.operation_timeout, self.server.max_receive_wait if self.server else 20.0)
        with self.cond:
            state = self.pipes.get(pid) if pid else None
            if pid is not None and state is None:
                raise wsman.fault_internal(f"The command {cid} was not found in the shell.")
            box = self.outbox[pid]

            def ready() -> bool:
                return bool(box) or (state is not None and state.finished)

            if not self.wait(ready, timeout):
                raise wsman.fault_timed_out()
            chunks: list[bytes] = []
            size = 0
            while box and (not chunks or size + len(box[0]) <= budget):
                chunk = box.popleft()
                chunks.append(chunk)
                size += len(chunk)
            done = state is not None and state.finished and not box
        data = b"".join(chunks)
        streams = [("stdout", cid.upper() if cid else None, data)] if data else []
        return wsman.receive_response(req, streams, cid.upper() if cid else None, done, 0)

    def signal(self, req: wsman.Request) -> bytes:
        cid = req.body.get("CommandId") if req.body is not None else None
        code_el = wsman.find(req.body, "rsp:Code")
        code = (code_el.text or "").strip().lower() if code_el is not None else ""
        with self.cond:
            state = self.pipes.get(uuid.UUID(cid)) if cid else None
            if state is None:
                return wsman.signal_response(req)
            pipe = state.pipe
            if code.endswith("ctrl_c") or code.endswith("terminate"):
                if pipe.state in (PSInvocationState.Running, PSInvocationState.Stopping):
                    pipe.stop()
                    state.finished = True
            if code.endswith("terminate"):
                self.pipes.pop(pipe.pipeline_id, None)
                self.commands.pop(cid.upper(), None)
                self.outbox.pop(pipe.pipeline_id, None)
                if pipe.state != PSInvocationState.Running:
                    pipe.close()
            self._drain()
        return wsman.signal_response(req)

    def close(self) -> None:
        with self.cond:
            for state in self.pipes.values():
                if state.pipe.state == PSInvocationState.Running:
                    state.pipe.stop()
                state.finished = True
            self.pipes.clear()
            self.commands.clear()
        super().close()

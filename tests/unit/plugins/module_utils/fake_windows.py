# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory Windows host behind both wires, for the unit tests of ``WindowsSession``.

``FakeWindows`` is a pypsrp transport (``open_pool``/``new_pipeline``/``close_pool``, pipelines shaped
like pypsrp's: deserialized objects with property tables, error records, TaggedValues received) and a
pywinrm transport (``connect`` gives a ``FakeProtocol`` with pywinrm's Protocol methods, which decodes
the runner's plan from the command line and answers as the runner prints). Both wires run the same
cmdlet handlers on the same registry and services, so a test can run one plan over each and compare.

Faults are exceptions queued per phase; a fault of a "reply" phase is raised after the command ran
(its reply is lost), so a test can tell a write that reached the host from one that did not.
"""

from __future__ import annotations

import base64
import json

from ansible_collections.xphone.connect.plugins.module_utils import windows_plan as wp

OBJECT_NOT_FOUND = 13
PERMISSION_DENIED = 18


class FakeObject(object):
    """Shaped like pypsrp's GenericComplexObject."""

    def __init__(self, props=None, to_string=None, types=None):
        self.adapted_properties = {}
        self.extended_properties = dict(props or {})
        self.to_string = to_string
        self.types = types or ["System.Management.Automation.PSCustomObject", "System.Object"]
        self.property_sets = []


class FakeRecord(object):
    """Shaped like pypsrp's ErrorRecord."""

    def __init__(self, message, category, fq_error, exception_type):
        self.exception = FakeObject({"Message": message}, message, ["Deserialized." + exception_type])
        self.details_message = None
        self.message = message
        self.category = category
        self.fq_error = fq_error
        self.reason = exception_type.rsplit(".", 1)[-1]


class FakeWarning(object):
    def __init__(self, message):
        self.message = message


class HostError(Exception):
    """Raised by a handler: a cmdlet error record (``terminating`` as a throw would be)."""

    def __init__(self, message, category, fq_error, exception_type, terminating=False):
        super(HostError, self).__init__(message)
        self.message = message
        self.category = category
        self.fq_error = fq_error
        self.exception_type = exception_type
        self.terminating = terminating


class Streams(object):
    def __init__(self):
        self.error = []
        self.warning = []


class FakePipeline(object):
    def __init__(self, host, pool):
        self.host = host
        self.pool = pool
        self.cmdlet = None
        self.params = []
        self.streams = Streams()
        self.state = 0
        self.closed = False
        self._output = []

    def add_cmdlet(self, name):
        self.cmdlet = name
        return self

    def add_parameter(self, name, value=None):
        self.params.append((name, value))
        return self

    def begin_invoke(self):
        if self.host.faults["psrp_begin"]:
            raise self.host.faults["psrp_begin"].pop(0)
        self.host.psrp_calls.append(self)
        params = [(name, _from_psrp(value)) for name, value in self.params]
        output, errors, warnings, terminating = self.host.run(self.cmdlet, params)
        self._output = [_as_object(o) for o in output]
        for err in errors:
            self.streams.error.append(FakeRecord(err.message, err.category, err.fq_error, err.exception_type))
        self.streams.warning.extend(FakeWarning(w) for w in warnings)
        self.state = 5 if terminating else 4

    def end_invoke(self):
        if self.host.faults["psrp_reply"]:
            raise self.host.faults["psrp_reply"].pop(0)
        return self._output

    def close(self):
        self.closed = True


class FakePool(object):
    """A RunspacePool; ``exchange_keys`` is set by the host (its faults are the host's)."""

    def __init__(self, number):
        self.number = number
        self.closed = False
        self.broken = None
        self.keys = 0


class FakeHttp(object):
    """pywinrm's Transport as the session uses it: a read timeout and an HTTP session it may drop."""

    def __init__(self):
        self.read_timeout_sec = 30
        self.sessions_dropped = 0

    def close_session(self):
        self.sessions_dropped += 1


class FakeProtocol(object):
    """pywinrm's Protocol: each method is one WS-Management request, faults queued per phase."""

    def __init__(self, host):
        self.host = host
        self.transport = FakeHttp()
        self._commands = {}

    def _fault(self, phase):
        if self.host.faults[phase]:
            raise self.host.faults[phase].pop(0)

    def open_shell(self):
        self._fault("winrm_open")
        self.host.shell_number += 1
        shell_id = "SHELL-%d" % self.host.shell_number
        self.host.shells.add(shell_id)
        self.host.shells_opened += 1
        return shell_id

    def run_command(self, shell_id, command, arguments=()):
        self._fault("winrm_command")
        assert shell_id in self.host.shells, "command on a deleted shell"
        assert len(command) <= wp.MAX_COMMAND_LINE
        command_id = "CMD-%d" % (len(self._commands) + 1)
        self._commands[command_id] = command
        return command_id

    def get_command_output(self, shell_id, command_id):
        stdout = self.host.run_runner(self._commands[command_id])
        self._fault("winrm_receive")
        return stdout, b"", 0

    def cleanup_command(self, shell_id, command_id):
        self._fault("winrm_signal")

    def close_shell(self, shell_id, close_session=True):
        self._fault("winrm_delete")
        self.host.shells.discard(shell_id)
        self.host.shells_deleted += 1


def _from_psrp(value):
    tag = getattr(value, "tag", None)
    if tag == "SS":
        return ("SecureString", value.value)
    if tag == "I64":
        return int(value.value)
    if isinstance(value, list):
        return [_from_psrp(v) for v in value]
    if isinstance(value, dict):
        return dict((k, _from_psrp(v)) for k, v in value.items())
    return value


def _from_tag(tagged):
    kind, value = tagged.get("t"), tagged.get("v")
    if kind == "k":
        return ("SecureString", value)
    if kind == "x":
        return base64.b64decode(value)
    if kind == "a":
        return [_from_tag(v) for v in value]
    if kind == "h":
        return dict((e["k"], _from_tag(e["v"])) for e in value)
    return value


def _as_object(value):
    if isinstance(value, dict):
        return FakeObject(dict((k, _as_object(v) if isinstance(v, dict) else v) for k, v in value.items()))
    return value


def _runner_value(value, depth=0):
    """What the runner's C function prints for a handler's value."""
    if isinstance(value, (bytes, bytearray)):
        return list(bytearray(value))
    if isinstance(value, FakeObject):
        return value.to_string
    if isinstance(value, dict):
        return dict((k, _runner_value(v, depth + 1)) for k, v in value.items())
    if isinstance(value, list):
        return [_runner_value(v, depth) for v in value]
    return value


class FakeWindows(object):
    """Both transports of a fake Windows host, and the host itself."""

    def __init__(self):
        self.registry = {"HKLM:\\SOFTWARE\\Clients\\Mail": {"(default)": "Windows Mail"}}
        self.services = {"WinRM": "Running", "XPhoneConnectServer": "Running"}
        self.passwords = []          # what Invoke-CimMethod -Arguments @{StartPassword=...} received
        self.secure_strings = []     # what arrived as a SecureString
        phases = ("open", "psrp_begin", "psrp_reply", "winrm_open", "winrm_command", "winrm_receive", "winrm_signal",
                  "winrm_delete", "keys")
        self.faults = dict((phase, []) for phase in phases)
        self.pools = []
        self.psrp_calls = []
        self.runs = []               # every step that ran, over either wire: (cmdlet, params)
        self.shells = set()
        self.shell_number = 0
        self.shells_opened = 0
        self.shells_deleted = 0
        self.protocols = []
        self.commands = []           # the runner's command lines received

    # -- pypsrp transport ---------------------------------------------------------------------------------
    def open_pool(self, settings):
        if self.faults["open"]:
            raise self.faults["open"].pop(0)
        pool = FakePool(len(self.pools) + 1)
        host = self

        def exchange_keys():
            if host.faults["keys"]:
                raise host.faults["keys"].pop(0)
            pool.keys += 1

        pool.exchange_keys = exchange_keys
        self.pools.append(pool)
        return pool

    def new_pipeline(self, pool):
        return FakePipeline(self, pool)

    def close_pool(self, pool, broken=False):
        pool.closed = True
        pool.broken = broken

    # -- pywinrm transport ----------------------------------------------------------------------------------
    def connect(self, settings):
        protocol = FakeProtocol(self)
        self.protocols.append(protocol)
        return protocol

    def run_runner(self, command):
        """The runner, as the lab runs it: decode the plan from the command line, run it, print the marker line."""
        self.commands.append(command)
        assert command.startswith("powershell -encodedcommand ")
        script = base64.b64decode(command.split(" ", 2)[2]).decode("utf-16-le")
        assert script.startswith(wp.RUNNER_PREFIX) and script.endswith(wp.RUNNER_SUFFIX)
        document = wp.decode_plan(script[len(wp.RUNNER_PREFIX):-len(wp.RUNNER_SUFFIX)])
        results, stop = [], False
        for step in document["s"]:
            if stop:
                results.append({"c": step["c"], "s": 1})
                continue
            params = [(p["k"], _from_tag(p["v"])) for p in step["p"]]
            output, errors, warnings, _terminating = self.run(step["c"], params)
            results.append({"c": step["c"], "s": 0, "o": [_runner_value(o) for o in output],
                            "e": [{"m": e.message, "g": wp.ERROR_CATEGORIES[e.category], "f": e.fq_error,
                                   "x": e.exception_type, "r": e.exception_type.rsplit(".", 1)[-1], "t": e.terminating}
                                  for e in errors],
                            "w": warnings})
            stop = bool(errors) and document["x"]
        payload = json.dumps({"v": 1, "s": results}).encode("utf-8")
        return b"XPCR1:" + base64.b64encode(payload) + b"\r\n"

    # -- the host ---------------------------------------------------------------------------------------------
    def writes(self):
        return [cmdlet for cmdlet, _params in self.runs if not cmdlet.startswith(("Get-", "Test-"))]

    def run(self, cmdlet, params):
        """(output, errors, warnings, terminating) of one cmdlet."""
        self.runs.append((cmdlet, params))
        handler = getattr(self, "do_" + cmdlet.replace("-", "_").lower())
        warnings = []
        try:
            output = handler(dict(params), warnings)
        except HostError as err:
            return [], [err], warnings, err.terminating
        return output, [], warnings, False

    def _key(self, path, cmdlet):
        if path not in self.registry:
            raise HostError("Cannot find path '%s' because it does not exist." % path, OBJECT_NOT_FOUND,
                            "PathNotFound,Microsoft.PowerShell.Commands.%sCommand" % cmdlet.replace("-", ""),
                            "System.Management.Automation.ItemNotFoundException")
        return self.registry[path]

    def do_get_itemproperty(self, params, warnings):
        key = self._key(params["Path"], "Get-ItemProperty")
        values = dict(key) if "Name" not in params else {params["Name"]: key[params["Name"]]}
        values["PSPath"] = "Microsoft.PowerShell.Core\\Registry::" + params["Path"]
        return [values]

    def do_set_itemproperty(self, params, warnings):
        if params["Path"].endswith("\\Protected"):
            raise HostError("Requested registry access is not allowed.", PERMISSION_DENIED,
                            "System.Security.SecurityException,Microsoft.PowerShell.Commands.SetItemPropertyCommand",
                            "System.Security.SecurityException")
        key = self._key(params["Path"], "Set-ItemProperty")
        key[params["Name"]] = params["Value"]
        if params["Name"] == "Warn":
            # Echoes the value, even a SecureString's: what a careless script would do, for the scrubbing tests.
            value = params["Value"]
            warnings.append("careful with %s" % (value[1] if isinstance(value, tuple) else value,))
        return []

    def do_new_item(self, params, warnings):
        value = params.get("Value")
        if isinstance(value, tuple) and value[0] == "SecureString":
            self.secure_strings.append(value[1])
            value = "System.Security.SecureString"
        self.registry[params["Path"]] = {"(default)": value}
        return [{"PSPath": params["Path"]}]

    def do_get_item(self, params, warnings):
        raise HostError("The term is broken: %s" % params["Path"], 7, "Broken,Get-Item", "System.InvalidOperationException",
                        terminating=True)

    def do_get_service(self, params, warnings):
        name = params["Name"]
        if name not in self.services:
            raise HostError("Cannot find any service with service name '%s'." % name, OBJECT_NOT_FOUND,
                            "NoServiceFoundForGivenName,Microsoft.PowerShell.Commands.GetServiceCommand",
                            "Microsoft.PowerShell.Commands.ServiceCommandException")
        return [{"Name": name, "Status": FakeObject({"value__": 4}, self.services[name], ["System.Enum"])}]

    def do_invoke_cimmethod(self, params, warnings):
        self.passwords.append(params["Arguments"].get("StartPassword"))
        return [{"ReturnValue": 0}]

    def do_test_path(self, params, warnings):
        return [params["Path"] in self.registry]

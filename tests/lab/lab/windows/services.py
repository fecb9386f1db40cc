"""Windows services: Get-/Set-/Start-/Stop-/Restart-Service with dependencies, as ServiceController shows them.

State: ``hosts[H]["services"][<lower name>] = {"name", "display_name", "status": "Running"|"Stopped"|"Paused",
"start_type": "Automatic"|"Manual"|"Disabled", "depends_on": [names], "start_name", "password": <salted hash
or None>, "path_name", "description"}``. A service whose account is a domain user fails to start when the
password stored for it (by Win32_Service.Change) is not that user's password.
"""

from __future__ import annotations

import fnmatch
import typing as t

from .. import registry
from ..model import LabEnum, LabObject
from . import common

SERVICE_EXC = "Microsoft.PowerShell.Commands.ServiceCommandException"
STATUS_NUMBERS = {"Stopped": 1, "StartPending": 2, "StopPending": 3, "Running": 4, "ContinuePending": 5,
                  "PausePending": 6, "Paused": 7}
START_NUMBERS = {"Boot": 0, "System": 1, "Automatic": 2, "Manual": 3, "Disabled": 4}
BUILTIN_ACCOUNTS = {"localsystem", ".\\localsystem", "nt authority\\system", "nt authority\\localservice",
                    "nt authority\\local service", "nt authority\\networkservice", "nt authority\\network service"}


def services_of(host: dict[str, t.Any]) -> dict[str, t.Any]:
    return host.setdefault("services", {})


def add_service(host: dict[str, t.Any], name: str, display_name: str, *, status: str = "Stopped",
                start_type: str = "Manual", depends_on: list[str] | None = None, start_name: str = "LocalSystem",
                path_name: str = "", description: str = "") -> None:
    services_of(host)[name.lower()] = {"name": name, "display_name": display_name, "status": status,
                                       "start_type": start_type, "depends_on": list(depends_on or []),
                                       "start_name": start_name, "password": None, "path_name": path_name,
                                       "description": description}


def dependants(host: dict[str, t.Any], name: str) -> list[dict[str, t.Any]]:
    return [s for s in services_of(host).values() if name.lower() in (d.lower() for d in s["depends_on"])]


def required(host: dict[str, t.Any], svc: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    return [services_of(host)[d.lower()] for d in svc["depends_on"] if d.lower() in services_of(host)]


def label(svc: dict[str, t.Any]) -> str:
    return f"{svc['display_name']} ({svc['name']})"


def _shallow(svc: dict[str, t.Any]) -> LabObject:
    return LabObject(["System.ServiceProcess.ServiceController", "System.ComponentModel.Component",
                      "System.MarshalByRefObject", "System.Object"],
                     {"Name": svc["name"], "DisplayName": svc["display_name"],
                      "Status": LabEnum("System.ServiceProcess.ServiceControllerStatus", svc["status"],
                                        STATUS_NUMBERS[svc["status"]]),
                      "StartType": LabEnum("System.ServiceProcess.ServiceStartMode", svc["start_type"],
                                           START_NUMBERS[svc["start_type"]]),
                      "ServiceName": svc["name"]}, to_string="System.ServiceProcess.ServiceController")


def service_object(host: dict[str, t.Any], svc: dict[str, t.Any]) -> LabObject:
    obj = _shallow(svc)
    running = svc["status"] == "Running"
    deps = [_shallow(s) for s in dependants(host, svc["name"])]
    reqs = [_shallow(s) for s in required(host, svc)]
    obj.properties.update({
        "RequiredServices": reqs, "CanPauseAndContinue": False, "CanShutdown": running, "CanStop": running,
        "DependentServices": deps, "MachineName": ".", "ServicesDependedOn": reqs,
        "ServiceHandle": None, "ServiceType": LabEnum("System.ServiceProcess.ServiceType", "Win32OwnProcess", 16),
        "Site": None, "Container": None})
    return obj


def not_found(inv: t.Any, name: str) -> None:
    inv.error(common.error(inv, f"Cannot find any service with service name '{name}'.", "ObjectNotFound",
                           "NoServiceFoundForGivenName", SERVICE_EXC, target=name))


def select(inv: t.Any, host: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Services named by -Name/-DisplayName/-InputObject (wildcards allowed), writing not-found errors."""
    found: list[dict[str, t.Any]] = []
    if inv.has("DisplayName"):
        patterns, key = common.as_list(inv.params["DisplayName"]), "display_name"
    elif inv.has("InputObject"):
        patterns = [o.properties.get("Name") if isinstance(o, LabObject) else str(o)
                    for o in common.as_list(inv.params["InputObject"])]
        key = "name"
    else:
        patterns, key = common.as_list(inv.params.get("Name")) or ["*"], "name"
    for pattern in patterns:
        text = common.plain(pattern)
        matches = [s for s in services_of(host).values() if fnmatch.fnmatch(s[key].lower(), text.lower())]
        if not matches and not common.is_wildcard(text):
            if key == "display_name":
                inv.error(common.error(inv, f"Cannot find any service with display name '{text}'.", "ObjectNotFound",
                                       "NoServiceFoundForGivenDisplayName", SERVICE_EXC, target=text))
            else:
                not_found(inv, text)
        for svc in sorted(matches, key=lambda s: s["name"].lower()):
            if svc not in found:
                found.append(svc)
    include = [common.plain(p).lower() for p in common.as_list(inv.params.get("Include"))]
    exclude = [common.plain(p).lower() for p in common.as_list(inv.params.get("Exclude"))]
    return [s for s in found if (not include or any(fnmatch.fnmatch(s["name"].lower(), p) for p in include))
            and not any(fnmatch.fnmatch(s["name"].lower(), p) for p in exclude)]


def logon_ok(lab: t.Any, svc: dict[str, t.Any]) -> bool:
    """False when the service runs as a domain user whose stored password is not the user's password."""
    account = (svc.get("start_name") or "LocalSystem").lower()
    if account in BUILTIN_ACCOUNTS or lab is None or svc.get("password") is None:
        return True
    sam = account.split("\\", 1)[-1].split("@", 1)[0]
    for acc in lab.accounts():
        if acc["name"].lower() == sam:
            if acc.get("password") is not None:
                return lab.check_password(svc["password"], acc["password"])
            return True  # the lab knows this account only by a hash; it cannot compare two hashes
    return False


def start(inv: t.Any, host: dict[str, t.Any], svc: dict[str, t.Any]) -> str | None:
    """Start ``svc`` and what it depends on; returns the failing service's label, or None."""
    if svc["status"] == "Running":
        return None
    for dep in required(host, svc):
        failed = start(inv, host, dep)
        if failed:
            return failed
    if svc["start_type"] == "Disabled" or not logon_ok(inv.lab, svc):
        return svc["name"]
    svc["status"] = "Running"
    return None


def start_error(inv: t.Any, svc: dict[str, t.Any], failed: str) -> None:
    inv.error(common.error(inv, f"Service '{label(svc)}' cannot be started due to the following error: Cannot start "
                           f"service {failed} on computer '.'.", "OpenError", "CouldNotStartService", SERVICE_EXC,
                           target=svc["name"]))


def started(inv: t.Any, host: dict[str, t.Any], svc: dict[str, t.Any]) -> bool:
    """Start ``svc`` as Start-Service does: False after its error when the service or one it needs cannot start."""
    failed = start(inv, host, svc)
    if failed:
        start_error(inv, svc, failed)
    return not failed


def stop(host: dict[str, t.Any], svc: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    """Stop ``svc`` after its running dependants; returns the services stopped, dependants first."""
    stopped = []
    for dep in dependants(host, svc["name"]):
        if dep["status"] != "Stopped":
            stopped.extend(stop(host, dep))
    if svc["status"] != "Stopped":
        svc["status"] = "Stopped"
        stopped.append(svc)
    return stopped


def has_running_dependants(host: dict[str, t.Any], svc: dict[str, t.Any]) -> bool:
    return any(d["status"] != "Stopped" for d in dependants(host, svc["name"]))


@registry.cmdlet("Get-Service", endpoint="windows", reference="windows")
def get_service(inv: t.Any) -> None:
    with inv.store.read() as data:
        host = common.host_state(inv, data)
        for svc in select(inv, host):
            if inv.params.get("DependentServices"):
                related = dependants(host, svc["name"])
            elif inv.params.get("RequiredServices"):
                related = required(host, svc)
            else:
                related = [svc]
            for item in related:
                inv.write(service_object(host, item))


@registry.cmdlet("Start-Service", endpoint="windows", reference="windows")
def start_service(inv: t.Any) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for svc in select(inv, host):
            if inv.what_if:
                continue
            if started(inv, host, svc) and inv.params.get("PassThru"):
                inv.write(service_object(host, svc))


def _stop_refused(inv: t.Any, host: dict[str, t.Any], svc: dict[str, t.Any]) -> bool:
    if has_running_dependants(host, svc) and not inv.params.get("Force"):
        inv.error(common.error(inv, f"Cannot stop service '{label(svc)}' because it has dependent services. It can "
                               "only be stopped if the Force flag is set.", "InvalidOperation",
                               "ServiceHasDependentServices", SERVICE_EXC, target=svc["name"]))
        return True
    return False


@registry.cmdlet("Stop-Service", endpoint="windows", reference="windows")
def stop_service(inv: t.Any) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for svc in select(inv, host):
            if _stop_refused(inv, host, svc) or inv.what_if:
                continue
            stop(host, svc)
            if inv.params.get("PassThru"):
                inv.write(service_object(host, svc))


@registry.cmdlet("Restart-Service", endpoint="windows", reference="windows")
def restart_service(inv: t.Any) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        for svc in select(inv, host):
            if _stop_refused(inv, host, svc) or inv.what_if:
                continue
            stopped = stop(host, svc)
            # The dependants that were running are started again after the service (lab assumption).
            for item in reversed(stopped) if stopped else [svc]:
                if not started(inv, host, item):
                    break
            if inv.params.get("PassThru"):
                inv.write(service_object(host, svc))


@registry.cmdlet("Set-Service", endpoint="windows", reference="windows")
def set_service(inv: t.Any) -> None:
    with inv.store.write() as data:
        host = common.host_state(inv, data)
        given = inv.params.get("InputObject")
        name = common.plain(inv.params.get("Name") or (given.properties.get("Name") if isinstance(given, LabObject) else ""))
        svc = services_of(host).get(name.lower())
        if svc is None:
            inv.error(common.error(inv, f"Service {name} was not found on computer '.'.", "ObjectNotFound",
                                   "InvalidOperationException", SERVICE_EXC, target=name))
            return
        if inv.what_if:
            return
        if inv.has("StartupType"):
            svc["start_type"] = common.enum_text(inv.params["StartupType"])
        if inv.has("DisplayName"):
            svc["display_name"] = common.plain(inv.params["DisplayName"])
        if inv.has("Description"):
            svc["description"] = common.plain(inv.params["Description"])
        status = inv.params.get("Status")
        if status == "Running" and svc["status"] != "Running":
            started(inv, host, svc)
        elif status == "Stopped" and svc["status"] != "Stopped":
            if has_running_dependants(host, svc):
                inv.error(common.error(inv, f"Cannot stop service '{label(svc)}' because it is dependent on other "
                                       "services.", "InvalidOperation", "ServiceIsDependentOnNoForce", SERVICE_EXC,
                                       target=svc["name"]))
            else:
                svc["status"] = "Stopped"
        elif status == "Paused":
            inv.error(common.error(inv, f"Service '{label(svc)}' cannot be suspended because the service does not "
                                   "support being suspended or resumed.", "CloseError", "CouldNotSuspendService",
                                   SERVICE_EXC, target=svc["name"]))
        if inv.params.get("PassThru"):
            inv.write(service_object(host, svc))

"""Error records as Exchange and PowerShell write them, and the lab's message catalogue.

Every text here is listed in tests/lab/FIDELITY.md as verified (with its source) or assumed.
"""

from __future__ import annotations

import datetime
import uuid
import zlib

from .model import CmdletError

NOT_FOUND_EXC = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
AMBIGUOUS_EXC = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAmbiguousException"
ALREADY_EXISTS_EXC = "Microsoft.Exchange.Data.Directory.ADObjectAlreadyExistsException"
TASK_EXC = "Microsoft.Exchange.Configuration.Tasks.TaskException"
ARGUMENT_EXC = "System.ArgumentException"
BINDING_EXC = "System.Management.Automation.ParameterBindingException"
ARG_VALIDATION_EXC = "System.Management.Automation.ParameterBindingValidationException"
ARG_TRANSFORM_EXC = "System.Management.Automation.ParameterBindingArgumentTransformationException"

# Namespaces of the Exchange task classes, used in the FQEID suffix (e.g. ...SystemConfigurationTasks.GetRemoteDomain).
TASK_NAMESPACES = {
    "RecipientTasks": ("Mailbox", "User", "Group", "MailboxPermission", "ADPermission"),
    "RbacTasks": ("RoleGroup", "RoleGroupMember", "ManagementRole", "ManagementRoleAssignment", "ManagementScope"),
}
SYSTEM_CONFIGURATION = "Microsoft.Exchange.Management.SystemConfigurationTasks"

NO_LANGUAGE_TEXT = ("The syntax is not supported by this runspace. This can occur if the runspace is in "
                    "no-language mode.")
COMMAND_NOT_FOUND_TEXT = ("The term '{0}' is not recognized as the name of a cmdlet, function, script file, or "
                          "operable program. Check the spelling of the name, or if a path was included, verify "
                          "that the path is correct and try again.")
NOT_FOUND_TEXT = "The operation couldn't be performed because object '{0}' couldn't be found on '{1}'."
NO_OP_WARNING = "The command completed successfully but no settings of '{0}' have been modified."
PROMPT_TEXT = ("A command that prompts the user failed because the host program or the command type does not "
               "support user interaction. The host was attempting to request confirmation with the following "
               "message: {0}")


def task_class(cmdlet_name: str) -> str:
    """``Get-RemoteDomain`` -> ``Microsoft.Exchange.Management.SystemConfigurationTasks.GetRemoteDomain``."""
    verb, _dash, noun = cmdlet_name.partition("-")
    namespace = SYSTEM_CONFIGURATION
    for ns, nouns in TASK_NAMESPACES.items():
        if noun in nouns:
            namespace = "Microsoft.Exchange.Management." + ns
    return f"{namespace}.{verb}{noun}"


def exchange_error_id(server: str, failure: str, cmdlet_name: str) -> str:
    """An Exchange FullyQualifiedErrorId: server, request id, timestamp, failure category, hash, task class."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = f"{now.month}/{now.day}/{now.year} {now.strftime('%I:%M:%S %p').lstrip('0')}"
    code = f"{zlib.crc32((failure + cmdlet_name).encode()):08X}"
    return (f"[Server={server},RequestId={uuid.uuid4()},TimeStamp={stamp}] "
            f"[FailureCategory=Cmdlet-{failure.rsplit('.', 1)[-1]}] {code},{task_class(cmdlet_name)}")


def exchange_error(message: str, exception_type: str, *, server: str, cmdlet_name: str,
                   category: str = "NotSpecified", target: object = None, terminating: bool = False) -> CmdletError:
    return CmdletError(message, category=category, exception_type=exception_type,
                       error_id=exchange_error_id(server, exception_type, cmdlet_name),
                       target=target, terminating=terminating)


def not_found(identity: str, dc_fqdn: str, *, server: str, cmdlet_name: str) -> CmdletError:
    return exchange_error(NOT_FOUND_TEXT.format(identity, dc_fqdn), NOT_FOUND_EXC, server=server,
                          cmdlet_name=cmdlet_name, category="NotSpecified", target=identity)


def no_language() -> CmdletError:
    return CmdletError(NO_LANGUAGE_TEXT, category="ParserError", error_id="ScriptsNotAllowed",
                       exception_type="System.Management.Automation.PSInvalidOperationException", terminating=True)


def command_not_found(name: str) -> CmdletError:
    return CmdletError(COMMAND_NOT_FOUND_TEXT.format(name), category="ObjectNotFound",
                       error_id="CommandNotFoundException",
                       exception_type="System.Management.Automation.CommandNotFoundException",
                       target=name, terminating=True)


def prompt_refused(message: str) -> CmdletError:
    return CmdletError(PROMPT_TEXT.format(message), category="NotImplemented",
                       error_id="HostFunctionNotImplemented",
                       exception_type="System.Management.Automation.Host.HostException", terminating=True)


def binding_error(message: str, error_id: str, cmdlet_name: str, *, category: str = "InvalidArgument",
                  exception_type: str = BINDING_EXC, target: object = None) -> CmdletError:
    """PowerShell's own binder errors: terminating, FQEID ``<Id>,<cmdlet class>``."""
    return CmdletError(message, category=category, error_id=f"{error_id},{task_class(cmdlet_name)}",
                       exception_type=exception_type, target=target, terminating=True)


def internal_error(cmdlet_name: str, exc: BaseException) -> CmdletError:
    """An unexpected emulation failure, surfaced instead of hanging the client."""
    return CmdletError(f"The lab could not run {cmdlet_name}: {type(exc).__name__}: {exc}", category="NotSpecified",
                       error_id=f"LabInternalError,{task_class(cmdlet_name)}",
                       exception_type="System.InvalidOperationException", terminating=True)

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small in-memory Exchange, for unit tests of the session, the engine and the modules.

``FakeExchange`` sits behind a fake pypsrp transport (the session's tests) and records every
``add_cmdlet``/``add_parameter`` call exactly as it was made, so tests can assert that values travel only
as bound parameters. ``FakeSession`` offers the session's contract to the engine and the modules
(``invoke``, ``warnings``, ``sleep``) straight on top of it, so their tests do not depend on how the
session talks to the wire. Objects come back as dicts shaped like the properties ``Get-*`` returns
(display strings for enums and multi-valued properties' items).
"""

from __future__ import annotations

import copy


class FakeError(object):
    """Shaped like pypsrp's ErrorRecord: an exception object with type names and a Message property."""

    def __init__(self, message, exception_type="System.Exception", fq_error=""):
        self.exception = type("Exc", (), {})()
        self.exception.types = ["Deserialized." + exception_type]
        self.exception.adapted_properties = {"Message": message}
        self.exception.extended_properties = {}
        self.exception.to_string = message
        self.details_message = None
        self.message = message
        self.fq_error = fq_error
        self.reason = exception_type.rsplit(".", 1)[-1]


class AuthenticationError(Exception):
    """pypsrp's class name for a rejected logon; classification goes by the name."""


class FakeWarning(object):
    def __init__(self, message):
        self.message = message


class Streams(object):
    def __init__(self):
        self.error = []
        self.warning = []


class Raise(Exception):
    """Raised by a handler to make ``invoke()`` raise ``exc`` (a transport-level failure)."""

    def __init__(self, exc):
        super(Raise, self).__init__(str(exc))
        self.exc = exc


NOT_FOUND = "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException"
# The verbs the session adds -Confirm:$false to.
WRITE_VERBS = ("new-", "set-", "remove-", "add-", "enable-", "disable-")


class FakePowerShell(object):
    def __init__(self, exchange, pool):
        self.exchange = exchange
        self.pool = pool
        self.calls = []
        self.cmdlet = None
        self.params = []
        self.streams = Streams()
        self.closed = False
        self.had_errors = False

    def add_cmdlet(self, name):
        self.calls.append(("add_cmdlet", name))
        self.cmdlet = name
        return self

    def add_parameter(self, name, value=None):
        self.calls.append(("add_parameter", name, value))
        self.params.append((name, value))
        return self

    def begin_invoke(self, input=None):  # pylint: disable=redefined-builtin
        """pypsrp sends the command here; a fault in ``exchange.begin_faults`` is raised before it reaches the fake.

        ``input``: the pipeline's input objects; the cmdlet runs once per object, bound as -Identity."""
        self.input = input
        if self.exchange.begin_faults:
            raise self.exchange.begin_faults.pop(0)
        self.exchange.recorded.append(self)
        if input is None:
            self._output = self.exchange.dispatch(self)
            return
        self._output = []
        given = list(self.params)
        for item in input:
            self.params = given + [("Identity", item)]
            self._output += self.exchange.dispatch(self)
        self.params = given

    def end_invoke(self):
        """A fault in ``exchange.reply_faults`` is raised after the command ran: its reply is lost."""
        if self.exchange.reply_faults:
            raise self.exchange.reply_faults.pop(0)
        return self._output

    def invoke(self):
        self.begin_invoke()
        return self.end_invoke()

    def close(self):
        self.closed = True


class FakePool(object):
    def __init__(self, number):
        self.number = number
        self.closed = False


class FakeExchange(object):
    """The transport (open_pool/new_pipeline/close_pool) plus the objects and cmdlets it serves."""

    def __init__(self):
        self.remote_domains = [dict(Name="Default", Identity="Default", DomainName="*", ContentType="MimeHtmlText",
                                    TNEFEnabled=None, AutoForwardEnabled=False, AutoReplyEnabled=False,
                                    CharacterSet=None, NonMimeCharacterSet=None, AllowedOOFType="External",
                                    DeliveryReportEnabled=True, NDREnabled=True, LineWrapSize="Unlimited")]
        self.send_connectors = []
        self.receive_connectors = [
            dict(Name="Default Frontend EX01", Identity="EX01\\Default Frontend EX01", Server="EX01",
                 TransportRole="FrontendTransport", Bindings=["0.0.0.0:25", "[::]:25"],
                 RemoteIPRanges=["0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
                 PermissionGroups="AnonymousUsers, ExchangeServers, ExchangeLegacyServers"),
            dict(Name="Default EX01", Identity="EX01\\Default EX01", Server="EX01", TransportRole="HubTransport",
                 Bindings=["0.0.0.0:2525", "[::]:2525"],
                 RemoteIPRanges=["0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
                 PermissionGroups="ExchangeUsers, ExchangeServers, ExchangeLegacyServers"),
        ]
        self.servers = [dict(Name="EX01", Fqdn="ex01.alleo.intern", ServerRole="Mailbox"),
                        dict(Name="EX02", Fqdn="ex02.alleo.intern", ServerRole="Mailbox"),
                        dict(Name="EDGE01", Fqdn="edge01.alleo.intern", ServerRole="Edge")]
        self.permissions = {}
        # Role group name -> its members' names; per server, its IMAP settings (which always exist).
        self.role_groups = {"Help Desk": dict(Name="Help Desk", Identity="Help Desk", Description=None, Members=[])}
        self.imap_settings = {"EX01": dict(Server="EX01", LoginType="SecureLogin", MaxConnections=2147483647,
                                           ProtocolLogEnabled=False)}
        self.recorded = []
        self.pools = []
        self.faults = []          # callables(ps) -> None or raises/sets errors, consumed in order
        self.open_faults = []     # exceptions raised by open_pool, consumed in order
        self.open_attempts = 0    # logons tried (each open is one)
        self.begin_faults = []    # exceptions raised before a command reaches the server, consumed in order
        self.reply_faults = []    # exceptions raised after a command ran (its reply is lost), consumed in order
        self.warn_on_set = None

    # -- transport ---------------------------------------------------------------------------------
    def open_pool(self, settings):
        self.open_attempts += 1
        if self.open_faults:
            raise self.open_faults.pop(0)
        pool = FakePool(len(self.pools) + 1)
        self.pools.append(pool)
        return pool

    def new_pipeline(self, pool):
        return FakePowerShell(self, pool)

    def close_pool(self, pool, broken=False):
        pool.closed = True
        pool.broken = broken

    # -- what tests look at ----------------------------------------------------------------------
    def cmdlets(self):
        return [ps.cmdlet for ps in self.recorded]

    def writes(self):
        return [ps.cmdlet for ps in self.recorded if not ps.cmdlet.startswith("Get-")]

    def call(self, cmdlet):
        return [ps for ps in self.recorded if ps.cmdlet == cmdlet]

    # -- cmdlets ---------------------------------------------------------------------------------
    def dispatch(self, ps):
        if self.faults:
            fault = self.faults.pop(0)
            try:
                fault(ps)
            except Raise as wrapped:
                raise wrapped.exc
            if ps.streams.error:
                return []
        params = dict(ps.params)
        handler = getattr(self, "do_" + ps.cmdlet.replace("-", "_").lower(), None)
        if handler is None:
            ps.streams.error.append(FakeError("The term '%s' is not recognized as the name of a cmdlet, function, "
                                              "script file, or operable program." % ps.cmdlet,
                                              "System.Management.Automation.CommandNotFoundException"))
            return []
        return copy.deepcopy(handler(ps, params) or [])

    def _not_found(self, ps, identity):
        ps.streams.error.append(FakeError("The operation couldn't be performed because object '%s' couldn't be found on "
                                          "'dc01.alleo.intern'." % identity, NOT_FOUND))

    def _find(self, items, identity):
        for item in items:
            if str(identity).lower() in (str(item.get("Identity")).lower(), str(item.get("Name")).lower()):
                return item
        return None

    def _set(self, ps, items, params):
        item = self._find(items, params["Identity"])
        if item is None:
            self._not_found(ps, params["Identity"])
            return
        if "Name" in params and str(item.get("Identity")) == str(item.get("Name")):
            item["Identity"] = params["Name"]
        for key, value in params.items():
            if key not in ("Identity", "Confirm", "DomainController"):
                item[key] = value
        if self.warn_on_set:
            ps.streams.warning.append(FakeWarning(self.warn_on_set))

    def _remove(self, ps, items, params):
        item = self._find(items, params["Identity"])
        if item is None:
            self._not_found(ps, params["Identity"])
            return
        items.remove(item)

    def do_get_remotedomain(self, ps, params):
        return self.remote_domains

    def do_new_remotedomain(self, ps, params):
        self.remote_domains.append(dict(Name=params["Name"], Identity=params["Name"], DomainName=params["DomainName"],
                                        ContentType="MimeHtmlText", TNEFEnabled=None, AutoReplyEnabled=True,
                                        AutoForwardEnabled=True, AllowedOOFType="External", LineWrapSize="Unlimited",
                                        DeliveryReportEnabled=True, NDREnabled=True, CharacterSet=None,
                                        NonMimeCharacterSet=None))

    def do_set_remotedomain(self, ps, params):
        self._set(ps, self.remote_domains, params)

    def do_remove_remotedomain(self, ps, params):
        self._remove(ps, self.remote_domains, params)

    def do_get_exchangeserver(self, ps, params):
        return self.servers

    def do_get_sendconnector(self, ps, params):
        return self.send_connectors

    def do_new_sendconnector(self, ps, params):
        obj = dict(Identity=params["Name"], Port=25, DNSRoutingEnabled=True, SmartHostAuthMechanism="None",
                   MaxMessageSize="35 MB (36,700,160 bytes)", Enabled=True, SmartHosts=[], AddressSpaces=[])
        obj.update((k, v) for k, v in params.items() if k not in ("Confirm", "DomainController", "Usage"))
        obj["AddressSpaces"] = [str(a) for a in obj["AddressSpaces"]]
        self.send_connectors.append(obj)

    def do_set_sendconnector(self, ps, params):
        # Exchange's rule (lab-fidelity-audit Q1): DNSRoutingEnabled keeps its value unless given, and smart hosts on a
        # DNS-routed connector are refused.
        conn = self._find(self.send_connectors, params.get("Identity"))
        if conn is not None:
            dns = params["DNSRoutingEnabled"] if "DNSRoutingEnabled" in params else conn.get("DNSRoutingEnabled", True)
            if dns and params.get("SmartHosts"):
                ps.streams.error.append(FakeError("You must not set the DNSRoutingEnabled parameter to $true if smart "
                                                  "hosts are used.", "System.InvalidOperationException"))
                return []
        self._set(ps, self.send_connectors, params)

    def do_remove_sendconnector(self, ps, params):
        self._remove(ps, self.send_connectors, params)

    def do_get_receiveconnector(self, ps, params):
        server = params.get("Server")
        return [c for c in self.receive_connectors if server is None or c["Server"].lower() == str(server).lower()]

    def do_new_receiveconnector(self, ps, params):
        obj = dict(Identity="%s\\%s" % (params["Server"], params["Name"]), PermissionGroups="None",
                   AuthMechanism="Tls", Enabled=True, MaxMessageSize="36 MB (37,748,736 bytes)")
        obj.update((k, v) for k, v in params.items() if k not in ("Confirm", "DomainController", "Usage"))
        self.receive_connectors.append(obj)

    def do_set_receiveconnector(self, ps, params):
        self._set(ps, self.receive_connectors, params)

    def do_remove_receiveconnector(self, ps, params):
        self._remove(ps, self.receive_connectors, params)

    def do_get_adpermission(self, ps, params):
        identity = params["Identity"]
        if self._find(self.receive_connectors, identity) is None:
            self._not_found(ps, identity)
            return []
        entries = self.permissions.get(identity.lower(), [])
        return [e for e in entries if params.get("User") in (None, e["UserSid"])]

    def do_add_adpermission(self, ps, params):
        identity = params["Identity"]
        if self._find(self.receive_connectors, identity) is None:
            self._not_found(ps, identity)
            return []
        entry = dict(User="NT-AUTORITÄT\\ANONYMOUS-ANMELDUNG", UserSid=params["User"],
                     ExtendedRights=[params["ExtendedRights"]], Deny=False, IsInherited=False)
        self.permissions.setdefault(identity.lower(), []).append(entry)
        return [entry]

    def do_remove_adpermission(self, ps, params):
        entries = self.permissions.get(params["Identity"].lower(), [])
        self.permissions[params["Identity"].lower()] = [
            e for e in entries if not (e["UserSid"] == params["User"] and params["ExtendedRights"] in e["ExtendedRights"])]

    def do_get_rolegroup(self, ps, params):
        return list(self.role_groups.values())

    def do_new_rolegroup(self, ps, params):
        group = dict(Name=params["Name"], Identity=params["Name"], Description=params.get("Description"),
                     Members=list(params.get("Members") or []))
        self.role_groups[params["Name"]] = group
        return [group]

    def do_set_rolegroup(self, ps, params):
        self._set(ps, list(self.role_groups.values()), params)

    def do_remove_rolegroup(self, ps, params):
        group = self._find(list(self.role_groups.values()), params["Identity"])
        if group is None:
            self._not_found(ps, params["Identity"])
            return
        del self.role_groups[group["Name"]]

    def _role_group(self, ps, identity):
        group = self._find(list(self.role_groups.values()), identity)
        if group is None:
            self._not_found(ps, identity)
        return group

    def do_get_rolegroupmember(self, ps, params):
        group = self._role_group(ps, params["Identity"])
        return [dict(Name=m, Identity=m) for m in group["Members"]] if group else []

    def do_add_rolegroupmember(self, ps, params):
        group = self._role_group(ps, params["Identity"])
        if group is not None:
            group["Members"].append(params["Member"])

    def do_remove_rolegroupmember(self, ps, params):
        group = self._role_group(ps, params["Identity"])
        if group is not None:
            group["Members"] = [m for m in group["Members"] if m.lower() != params["Member"].lower()]

    def do_get_imapsettings(self, ps, params):
        server = self.imap_settings.get(str(params.get("Server")).upper())
        return [server] if server else []

    def do_set_imapsettings(self, ps, params):
        settings = self.imap_settings[str(params["Server"]).upper()]
        changes = dict((k, v) for k, v in params.items() if k not in ("Server", "Confirm", "DomainController"))
        if any(settings.get(k) != v for k, v in changes.items()):
            # Exchange's warning, only when the property bag changed (SetPopImapConfiguration).
            ps.streams.warning.append(FakeWarning(
                "Changes to IMAP4 settings will only take effect after all Microsoft Exchange IMAP4 services are "
                "restarted on server %s." % str(params["Server"]).upper()))
        settings.update(changes)


class FakeSession(object):
    """The session contract on top of a FakeExchange: ``invoke`` returns plain dicts, adds -Confirm:$false to
    writes, raises the classified error of the first error record; ``warnings``; ``sleep`` (recorded).

    ``lose_reply`` lists (cmdlet, ran) pairs: the next call of that cmdlet raises ReplyLost, after running
    it on the fake when ``ran`` is true (the reply was lost on the way back) or without running it (lost on
    the way there).
    """

    def __init__(self, exchange):
        self.exchange = exchange
        self.warnings = []
        self.slept = []
        self.lose_reply = []

    def invoke(self, cmdlet, parameters=None, not_found_ok=False, input_objects=None):
        # Imported here so that this helper module imports without the collection on the path.
        from ansible_collections.xphone.connect.plugins.module_utils import errors  # pylint: disable=import-outside-toplevel

        params = list(parameters.items()) if isinstance(parameters, dict) else list(parameters or [])
        if cmdlet.lower().startswith(WRITE_VERBS):
            params.append(("Confirm", False))
        lost = next((entry for entry in self.lose_reply if entry[0] == cmdlet), None)
        if lost is not None:
            self.lose_reply.remove(lost)
            if not lost[1]:
                raise errors.ReplyLost("the reply to %s was lost" % cmdlet, cmdlet)
        ps = self.exchange.new_pipeline(None)
        ps.add_cmdlet(cmdlet)
        for name, value in params:
            ps.add_parameter(name, value)
        ps.begin_invoke(input=list(input_objects) if input_objects is not None else None)
        output = ps.end_invoke()
        for record in ps.streams.warning:
            if record.message not in self.warnings:
                self.warnings.append(record.message)
        if ps.streams.error:
            record = ps.streams.error[0]
            err = errors.classify_record(record.message, cmdlet, record.exception.types[0].replace("Deserialized.", ""))
            if isinstance(err, errors.NotFound) and not_found_ok:
                return []
            raise err
        if lost is not None:
            raise errors.ReplyLost("the reply to %s was lost" % cmdlet, cmdlet)
        return output

    def sleep(self, seconds):
        self.slept.append(seconds)


def merged(base, **changes):
    """``base`` with some options changed."""
    out = dict(base)
    out.update(changes)
    return out


def run_core(core, fx, check_mode=False, diff_mode=False, defaults=None, **options):
    """Run a module core (``run(session, params, ...)``) against ``fx`` the way the action plugin does.

    Options not given are None, as Ansible passes them; ``defaults`` are the argument spec defaults the
    test relies on.
    """
    params = dict((k, None) for k in core.ARGUMENT_SPEC)
    params["state"] = "present"
    params.update(defaults or {})
    params.update(options)
    return core.run(FakeSession(fx), params, check_mode=check_mode, diff_mode=diff_mode)

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the Exchange connection settings come from, in one documented order.

1. module options (``module_defaults`` for ``group/xphone.connect.exchange`` arrive merged into them);
2. environment variables ``XPHONE_EXCHANGE_<OPTION>`` (AWX custom credentials inject those);
   ``XPHONE_EXCHANGE_SERVER``/``XPHONE_EXCHANGE_PORT`` are accepted for ``connection_server``/``connection_port``;
3. the host's own ``psrp``/``winrm`` connection settings (address, user, password, auth, scheme,
   certificate validation, CA bundle), read by the action plugin without opening that connection;
4. ``task_vars`` fallbacks (``ansible_host``, ``ansible_user``, ``ansible_password``);
5. defaults (https, Kerberos-capable ``negotiate``, certificate validation on).

The host's WinRM *port* is never reused: it belongs to ``/wsman`` (5985/5986), while Exchange's
``/PowerShell`` endpoint is served by IIS on 80/443.

``resolve_windows_settings`` resolves a Windows host's ``/wsman`` endpoint from the same layers
(``XPHONE_WINDOWS_<OPTION>`` in the environment); there the host's WinRM port is the right one, and the
wire (``transport``: psrp or winrm) follows the host's ``ansible_connection``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import hashlib
import ipaddress
import json

from ansible_collections.xphone.connect.plugins.module_utils.compare import validate_fqdn
from ansible_collections.xphone.connect.plugins.module_utils.errors import ConfigurationError, InvalidInput

ENV_PREFIX = "XPHONE_EXCHANGE_"
AUTH_CHOICES = ["negotiate", "kerberos", "ntlm", "basic", "credssp", "certificate"]
CONFIGURATION_NAME = "Microsoft.Exchange"
ENDPOINT_PATH = "PowerShell"

CONNECTION_ARGUMENT_SPEC = dict(
    connection_uri=dict(type="str"),
    connection_server=dict(type="str"),
    connection_port=dict(type="int"),
    protocol=dict(type="str", choices=["http", "https"]),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    auth=dict(type="str", choices=AUTH_CHOICES),
    validate_certs=dict(type="bool"),
    ca_cert=dict(type="path"),
    certificate_pem=dict(type="path"),
    certificate_key_pem=dict(type="path", no_log=False),
    negotiate_service=dict(type="str"),
    negotiate_hostname_override=dict(type="str"),
    connect_timeout=dict(type="int"),
    operation_timeout=dict(type="int"),
    domain_controller=dict(type="str"),
)

CONNECTION_OPTIONS = tuple(CONNECTION_ARGUMENT_SPEC)

# winrm's ``transport`` names mapped to pypsrp's ``auth`` names.
_WINRM_TRANSPORT = {
    "ntlm": "ntlm", "kerberos": "kerberos", "credssp": "credssp", "basic": "basic",
    "plaintext": "basic", "certificate": "certificate", "ssl": "certificate", "negotiate": "negotiate",
}
_BOOL_TRUE = ("1", "true", "yes", "on", "y", "t", "validate")
_BOOL_FALSE = ("0", "false", "no", "off", "n", "f", "ignore")


def _as_bool(option, value):
    if isinstance(value, bool) or value is None:
        return value
    text = str(value).strip().lower()
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    raise InvalidInput(option, "%r is not a boolean" % (value,))


def _as_int(option, value):
    if value is None or isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput(option, "%r is not an integer" % (value,))


# Shorter environment names for the two options whose names carry a prefix only to keep them apart
# from the connector options ``server`` and ``port``.
ENV_ALIASES = {"connection_server": ("SERVER",), "connection_port": ("PORT",)}


def from_environment(environ, prefix=ENV_PREFIX, options=CONNECTION_OPTIONS):
    """Options given as ``<prefix><OPTION>`` environment variables (``XPHONE_EXCHANGE_USERNAME`` ...)."""
    found = {}
    for option in options:
        for name in (option.upper(),) + ENV_ALIASES.get(option, ()):
            value = environ.get(prefix + name)
            if value not in (None, ""):
                found[option] = value
                break
    return found


def from_host_connection(load_name, get_option):
    """Settings of the host's own ``psrp`` or ``winrm`` connection plugin, as option names of this collection.

    ``get_option`` is the action plugin's ``get_connection_option``; it returns templated values and never
    opens the connection.
    """

    def opt(name):
        try:
            return get_option(name)
        except Exception:  # pylint: disable=broad-except
            # Connection plugins raise AnsibleError for options they do not define.
            return None

    found = {"connection_server": opt("remote_addr"), "username": opt("remote_user"), "password": opt("remote_password")}
    if load_name and load_name.endswith("psrp"):
        found.update(
            auth=opt("auth"),
            protocol=opt("protocol"),
            validate_certs=opt("cert_validation"),
            ca_cert=opt("ca_cert"),
            connect_timeout=opt("connection_timeout"),
            operation_timeout=opt("operation_timeout"),
            negotiate_service=opt("negotiate_service"),
            negotiate_hostname_override=opt("negotiate_hostname_override"),
            certificate_pem=opt("certificate_pem"),
            certificate_key_pem=opt("certificate_key_pem"),
        )
        if not found["protocol"]:
            # The psrp plugin derives the scheme from its port when no protocol is set.
            port = opt("port")
            found["protocol"] = "http" if str(port) == "5985" else ("https" if port else None)
    elif load_name and load_name.endswith("winrm"):
        transport = opt("transport")
        if isinstance(transport, (list, tuple)):
            transport = transport[0] if transport else None
        extras = opt("_extras") or {}
        found.update(
            auth=_WINRM_TRANSPORT.get(str(transport).lower()) if transport else None,
            protocol=opt("scheme"),
            validate_certs=extras.get("ansible_winrm_server_cert_validation"),
            ca_cert=extras.get("ansible_winrm_ca_trust_path"),
            connect_timeout=opt("connection_timeout"),
            certificate_pem=extras.get("ansible_winrm_cert_pem"),
            certificate_key_pem=extras.get("ansible_winrm_cert_key_pem"),
            negotiate_service=extras.get("ansible_winrm_service"),
            negotiate_hostname_override=extras.get("ansible_winrm_kerberos_hostname_override"),
        )
    else:
        return {}
    return dict((k, v) for k, v in found.items() if v not in (None, ""))


def from_task_vars(task_vars, template=None):
    """Plain inventory variables, templated (they may hold Jinja such as a vault variable)."""
    template = template or (lambda v: v)
    found = {}
    for option, names in (("connection_server", ("ansible_host",)), ("username", ("ansible_user", "ansible_psrp_user", "ansible_winrm_user")),
                          ("password", ("ansible_password", "ansible_psrp_pass", "ansible_winrm_pass", "ansible_winrm_password"))):
        for name in names:
            value = (task_vars or {}).get(name)
            if value not in (None, ""):
                found[option] = template(value)
                break
    return found


class ExchangeSettings(object):
    """Resolved settings for one pypsrp ``WSMan`` + ``RunspacePool`` pair."""

    def __init__(self, server, port, protocol, username, password, auth, validate_certs, ca_cert=None,
                 certificate_pem=None, certificate_key_pem=None, negotiate_service=None,
                 negotiate_hostname_override=None, connection_timeout=30, operation_timeout=20,
                 domain_controller=None, path=ENDPOINT_PATH, sources=None, configuration_name=CONFIGURATION_NAME,
                 confirm_writes=True, transport="psrp"):
        self.server = server
        self.port = port
        self.protocol = protocol
        self.username = username
        self.password = password
        self.auth = auth
        self.validate_certs = validate_certs
        self.ca_cert = ca_cert
        self.certificate_pem = certificate_pem
        self.certificate_key_pem = certificate_key_pem
        self.negotiate_service = negotiate_service
        self.negotiate_hostname_override = negotiate_hostname_override
        self.connection_timeout = connection_timeout
        self.operation_timeout = operation_timeout
        self.domain_controller = domain_controller
        self.path = path
        self.sources = sources or {}
        self.configuration_name = configuration_name
        # Exchange's cmdlets prompt unless -Confirm:$false; the Windows plan runner's cmdlets do not need it.
        self.confirm_writes = confirm_writes
        # The wire: "psrp" (pypsrp, a RunspacePool) or "winrm" (pywinrm, WinRS and the plan runner); Exchange is always psrp.
        self.transport = transport

    # What crosses the persistent connection's socket (and back): every field, the password included.
    _FIELDS = ("server", "port", "protocol", "username", "password", "auth", "validate_certs", "ca_cert",
               "certificate_pem", "certificate_key_pem", "negotiate_service", "negotiate_hostname_override",
               "connection_timeout", "operation_timeout", "domain_controller", "path", "sources", "configuration_name",
               "confirm_writes", "transport")

    def to_dict(self):
        return dict((name, getattr(self, name)) for name in self._FIELDS)

    @classmethod
    def from_dict(cls, data):
        return cls(**dict((name, data[name]) for name in cls._FIELDS if name in data))

    def session_key(self):
        """Sessions are shared by tasks whose settings are identical (a changed password is another session)."""
        data = self.to_dict()
        data.pop("sources", None)
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()

    @property
    def read_timeout(self):
        # pypsrp requires the read timeout to outlast the operation timeout.
        return self.operation_timeout + 10

    def tls_hint(self):
        if self.protocol != "https":
            return ""
        return (" Set the host's inventory variable ansible_psrp_ca_cert (ansible_winrm_ca_trust_path on a winrm host) to "
                "the file of the CA that issued the server's certificate, or the module option ca_cert.")

    def credential_source(self):
        """Where the user name came from, in the words of the person who set it."""
        if not self.username:
            return "the controller's Kerberos ticket cache (kinit)"
        words = _WINDOWS_SOURCE_WORDS if self.configuration_name == WINDOWS_CONFIGURATION_NAME else _SOURCE_WORDS
        return words.get(self.sources.get("username"), "the module options")

    def rejected_logon_message(self, text):
        return ("%s rejected the logon of %s (given by %s). Fix the user name or password there; the logon was not "
                "tried again for this host in this run. Server said: %s"
                % (self.url, self.username or "the current Kerberos ticket", self.credential_source(), text))

    @property
    def url(self):
        host = "[%s]" % self.server if ":" in self.server else self.server
        default_port = 443 if self.protocol == "https" else 80
        port = "" if self.port == default_port else ":%d" % self.port
        return "%s://%s%s/%s" % (self.protocol, host, port, self.path)

    @property
    def secrets(self):
        return [self.password] if self.password else []

    def wsman_kwargs(self):
        """Keyword arguments for ``pypsrp.wsman.WSMan``; encryption stays pypsrp's ``auto``."""
        kwargs = dict(
            server=self.server, port=self.port, path=self.path, ssl=self.protocol == "https",
            username=self.username, password=self.password, auth=self.auth,
            cert_validation=(self.ca_cert or True) if self.validate_certs else False,
            connection_timeout=self.connection_timeout, operation_timeout=self.operation_timeout,
            read_timeout=self.read_timeout,
        )
        if self.negotiate_service:
            kwargs["negotiate_service"] = self.negotiate_service
        if self.negotiate_hostname_override:
            kwargs["negotiate_hostname_override"] = self.negotiate_hostname_override
        if self.auth == "certificate":
            kwargs["certificate_pem"] = self.certificate_pem
            kwargs["certificate_key_pem"] = self.certificate_key_pem
        return kwargs

    def winrm_kwargs(self):
        """Keyword arguments for pywinrm's ``Protocol`` (a Windows host over WinRS); message encryption stays ``auto``.

        pywinrm has no SPNEGO negotiation of its own: ``negotiate`` is NTLM there (Kerberos must be asked for).
        """
        kwargs = dict(
            endpoint=self.url, transport=_PYWINRM_AUTH.get(self.auth, self.auth), username=self.username,
            password=self.password, server_cert_validation="validate" if self.validate_certs else "ignore",
            read_timeout_sec=self.read_timeout, operation_timeout_sec=self.operation_timeout,
        )
        if self.validate_certs and self.ca_cert:
            kwargs["ca_trust_path"] = self.ca_cert
        if self.negotiate_service:
            kwargs["service"] = self.negotiate_service
        if self.negotiate_hostname_override:
            kwargs["kerberos_hostname_override"] = self.negotiate_hostname_override
        if self.auth == "certificate":
            kwargs["cert_pem"] = self.certificate_pem
            kwargs["cert_key_pem"] = self.certificate_key_pem
        return kwargs

    def describe(self):
        """Safe for logs and results: no password."""
        return dict(url=self.url, username=self.username, auth=self.auth, validate_certs=self.validate_certs,
                    domain_controller=self.domain_controller, sources=dict(self.sources), transport=self.transport)


_SOURCE_WORDS = {
    "option": "the module option username/password (or module_defaults)",
    "environment": "XPHONE_EXCHANGE_USERNAME/XPHONE_EXCHANGE_PASSWORD (e.g. an AWX custom credential)",
    "connection": "the host's connection variables ansible_user/ansible_password (or an AWX Machine credential)",
    "inventory": "the host's inventory variables ansible_user/ansible_password",
}
_WHERE_TO_SET = ("set the host's ansible_user and ansible_password (an AWX Machine credential sets both), or "
                 "XPHONE_EXCHANGE_USERNAME and XPHONE_EXCHANGE_PASSWORD, or the module options username and password")


class EndpointKind(object):
    """What differs between Exchange's /PowerShell and a Windows host's /wsman when settings are resolved."""

    def __init__(self, noun, options, env_prefix, path, ports, configuration_name, confirm_writes, source_words,
                 where_to_set, example_uri, http_port_means_http):
        self.noun = noun
        self.options = options
        self.env_prefix = env_prefix
        self.path = path
        self.ports = ports
        self.configuration_name = configuration_name
        self.confirm_writes = confirm_writes
        self.source_words = source_words
        self.where_to_set = where_to_set
        self.example_uri = example_uri
        self.http_port_means_http = http_port_means_http


def is_ip_address(server):
    try:
        ipaddress.ip_address(str(server).strip("[]"))
    except ValueError:
        return False
    return True


def upn_realm(username):
    """The realm part of ``user@REALM`` (None for ``DOMAIN\\user`` or a bare name)."""
    if not username or "@" not in username or "\\" in username:
        return None
    return username.rsplit("@", 1)[1]


def host_variable(transport, psrp_name, winrm_name, option):
    """Where a connection setting is set, in the words of the host's connection: its winrm variable over winrm, else
    its psrp variable (naming the winrm one for winrm hosts), and the module option."""
    if transport == "winrm":
        return "%s (or the module option %s)" % (winrm_name, option)
    return "%s (%s on a winrm host, or the module option %s)" % (psrp_name, winrm_name, option)


def _check_kerberos(kind, server, username, hostname_override, sources, host_is_winrm=False):
    """Kerberos mistakes that are certain before anything is sent (nothing reaches the KDC or the server)."""
    if username and "\\" in username:
        domain, _sep, user = username.partition("\\")
        raise ConfigurationError(
            "Kerberos needs the user name as user@REALM, not %s (given by %s): write %s@%s, with the Active Directory "
            "domain's DNS name in upper case as the realm (for example Administrator@ALLEO.INTERN). DOMAIN\\user works "
            "only with ntlm." % (username, kind.source_words.get(sources.get("username"), "the module options"), user,
                                 domain.upper() if "." in domain else "<DOMAIN.FQDN>"))
    if is_ip_address(server) and not hostname_override:
        where = host_variable("winrm" if host_is_winrm else "psrp", "ansible_psrp_negotiate_hostname_override",
                              "ansible_winrm_kerberos_hostname_override", "negotiate_hostname_override")
        raise ConfigurationError(
            "Kerberos cannot authenticate to an IP address (%s): the KDC knows a server only by its name (its SPN). "
            "Set %s to the server's FQDN, for example ex01.alleo.intern, or connect to the server by that name."
            % (server, where))


def resolve_settings(params, environ=None, host=None, task_vars=None):
    """Settings for Exchange's /PowerShell from the layers (each a dict keyed by option name), in precedence
    order; returns ``(settings, warnings)``."""
    return _resolve(EXCHANGE, params, environ, host, task_vars)


def _resolve(kind, params, environ, host, task_vars):
    layers = (("option", params or {}), ("environment", from_environment(environ or {}, kind.env_prefix, kind.options)),
              ("connection", host or {}), ("inventory", task_vars or {}))
    merged, sources = {}, {}
    for option in kind.options:
        for source, layer in layers:
            value = layer.get(option)
            if value not in (None, ""):
                merged[option] = value
                sources[option] = source
                break

    warnings = []
    server, protocol, path = merged.get("connection_server"), merged.get("protocol"), kind.path
    port = _as_int("connection_port", merged.get("connection_port"))
    if merged.get("connection_uri"):
        uri = urlsplit(str(merged["connection_uri"]).strip())
        if uri.scheme not in ("http", "https") or not uri.hostname:
            raise InvalidInput("connection_uri", "%r is not an http(s) URL such as %s" % (merged["connection_uri"], kind.example_uri))
        server, protocol = uri.hostname, uri.scheme
        try:
            port = uri.port
        except ValueError:
            raise InvalidInput("connection_uri", "the port in %r is not a number" % merged["connection_uri"])
        path = uri.path.strip("/") or kind.path
        sources.update(connection_server="connection_uri", protocol="connection_uri", connection_port="connection_uri")
    if not server:
        raise InvalidInput("connection_server", "no %s given and the host has no address (ansible_host)" % kind.noun)
    if not protocol:
        # For /wsman as Ansible's psrp and winrm plugins decide: http on 5985, https on any other port. Exchange's
        # /PowerShell defaults to https whatever the port.
        protocol = "http" if kind.http_port_means_http and port == kind.ports["http"] else "https"
    protocol = str(protocol).lower()
    if protocol not in ("http", "https"):
        raise InvalidInput("protocol", "%r is not http or https" % protocol)
    if port is None:
        port = kind.ports[protocol]
    if not 1 <= port <= 65535:
        raise InvalidInput("connection_port", "%d is outside 1-65535" % port)
    extra = {}
    if "transport" in kind.options:
        extra["transport"] = str(merged.get("transport") or "psrp").lower()
        if extra["transport"] not in TRANSPORT_CHOICES:
            raise InvalidInput("transport", "%r is not psrp or winrm" % extra["transport"])
    auth = str(merged.get("auth") or "negotiate").lower()
    if auth not in AUTH_CHOICES:
        raise InvalidInput("auth", "%r is not one of %s" % (auth, ", ".join(AUTH_CHOICES)))
    validate_certs = _as_bool("validate_certs", merged.get("validate_certs"))
    if validate_certs is None:
        validate_certs = True
    if protocol == "https" and not validate_certs:
        warnings.append("validate_certs is false: the certificate of %s is not checked, so the connection can be "
                        "intercepted. Set ca_cert to the issuing CA instead." % server)
    if auth == "certificate" and not (merged.get("certificate_pem") and merged.get("certificate_key_pem")):
        raise InvalidInput("auth", "certificate authentication needs certificate_pem and certificate_key_pem")
    if auth in ("basic", "certificate") and protocol == "http":
        raise InvalidInput("auth", "%s authentication cannot encrypt messages over http; use protocol https" % auth)
    username, password = merged.get("username"), merged.get("password")
    # pypsrp's negotiate tries Kerberos first; pywinrm's negotiate is NTLM only. A DOMAIN\\user name is not a
    # Kerberos principal, so it needs its password.
    ticket_cache_possible = auth == "kerberos" or (auth == "negotiate" and extra.get("transport", "psrp") == "psrp"
                                                   and "\\" not in str(username or ""))
    if auth != "certificate" and not ticket_cache_possible:
        # NTLM, Basic and CredSSP need both; Kerberos (and negotiate, which tries it first) may log on from the
        # controller's ticket cache with no user name, or with a user name and no password.
        if not username:
            raise ConfigurationError("No user name for %s authentication to %s: %s." % (auth, server, kind.where_to_set))
        if not password:
            raise ConfigurationError("No password for %s (%s authentication to %s, user name from %s): %s."
                                     % (username, auth, server, kind.source_words.get(sources.get("username"), "?"),
                                        kind.where_to_set))
    if auth == "kerberos":
        _check_kerberos(kind, server, username, merged.get("negotiate_hostname_override"), sources,
                        host_is_winrm=extra.get("transport") == "winrm")
    domain_controller = merged.get("domain_controller")
    if domain_controller is not None:
        domain_controller = validate_fqdn("domain_controller", domain_controller)

    settings = ExchangeSettings(
        server=str(server), port=port, protocol=protocol, username=merged.get("username"), password=merged.get("password"),
        auth=auth, validate_certs=validate_certs, ca_cert=merged.get("ca_cert"),
        certificate_pem=merged.get("certificate_pem"), certificate_key_pem=merged.get("certificate_key_pem"),
        negotiate_service=merged.get("negotiate_service"), negotiate_hostname_override=merged.get("negotiate_hostname_override"),
        connection_timeout=_as_int("connect_timeout", merged.get("connect_timeout")) or 30,
        operation_timeout=_as_int("operation_timeout", merged.get("operation_timeout")) or 20,
        domain_controller=domain_controller, path=path, sources=sources, configuration_name=kind.configuration_name,
        confirm_writes=kind.confirm_writes, **extra)
    return settings, warnings


# -- Windows hosts: the /wsman endpoint ------------------------------------------------------------------------
# The same layers, for a Windows host's own WS-Management endpoint (the XPhone server; the Exchange servers'
# registry, files and services). Unlike Exchange's /PowerShell, /wsman IS the host's WinRM port, so the host's
# port is used (5985 for http, 5986 for https by default), and the wire follows the host's ansible_connection:
# psrp (pypsrp, a RunspacePool) or winrm (pywinrm, WinRS and the fixed plan runner).

WINDOWS_ENV_PREFIX = "XPHONE_WINDOWS_"
WINDOWS_CONFIGURATION_NAME = "Microsoft.PowerShell"
WINDOWS_ENDPOINT_PATH = "wsman"
WINDOWS_PORTS = {"http": 5985, "https": 5986}
TRANSPORT_CHOICES = ["psrp", "winrm"]

# The Exchange options without -DomainController (a cmdlet parameter of Exchange), plus the wire.
WINDOWS_CONNECTION_ARGUMENT_SPEC = dict((k, dict(v)) for k, v in CONNECTION_ARGUMENT_SPEC.items() if k != "domain_controller")
WINDOWS_CONNECTION_ARGUMENT_SPEC["transport"] = dict(type="str", choices=TRANSPORT_CHOICES)

WINDOWS_CONNECTION_OPTIONS = tuple(WINDOWS_CONNECTION_ARGUMENT_SPEC)

_PYWINRM_AUTH = {"negotiate": "ntlm", "ntlm": "ntlm", "kerberos": "kerberos", "basic": "basic", "credssp": "credssp",
                 "certificate": "certificate"}
_WINDOWS_SOURCE_WORDS = dict(_SOURCE_WORDS, environment="XPHONE_WINDOWS_USERNAME/XPHONE_WINDOWS_PASSWORD (e.g. an AWX "
                                                        "custom credential)")
_WINDOWS_WHERE_TO_SET = ("set the host's ansible_user and ansible_password (an AWX Machine credential sets both), or "
                         "XPHONE_WINDOWS_USERNAME and XPHONE_WINDOWS_PASSWORD, or the module options username and password")


def is_windows_settings(settings):
    """Whether ``settings`` are for a Windows host's /wsman (``resolve_windows_settings``) rather than Exchange."""
    return settings.configuration_name == WINDOWS_CONFIGURATION_NAME


def windows_connection_options(params):
    return dict((k, params.get(k)) for k in WINDOWS_CONNECTION_OPTIONS)


def _connection_option(get_option, name):
    try:
        return get_option(name)
    except Exception:  # pylint: disable=broad-except
        # Connection plugins raise AnsibleError for options they do not define.
        return None


def from_windows_host_connection(load_name, get_option):
    """``from_host_connection`` plus what only /wsman uses: the host's WinRM port and its wire (psrp or winrm)."""
    found = from_host_connection(load_name, get_option)
    if not load_name or not load_name.endswith(("psrp", "winrm")):
        return {}
    winrm = load_name.endswith("winrm")
    found["transport"] = "winrm" if winrm else "psrp"
    port = _connection_option(get_option, "port")
    if port not in (None, ""):
        found["connection_port"] = port
    if winrm:
        # pywinrm's own settings, which the winrm plugin keeps as ansible_winrm_* extras.
        extras = _connection_option(get_option, "_extras") or {}
        for option, name in (("operation_timeout", "ansible_winrm_operation_timeout_sec"),):
            if extras.get(name) not in (None, ""):
                found[option] = extras[name]
    return found


def from_windows_task_vars(task_vars, template=None):
    """``from_task_vars`` plus the port and the wire, when the host's ansible_connection is psrp or winrm."""
    template = template or (lambda v: v)
    found = from_task_vars(task_vars, template)
    connection = str(template((task_vars or {}).get("ansible_connection") or ""))
    if connection.endswith(("psrp", "winrm")):
        found["transport"] = "winrm" if connection.endswith("winrm") else "psrp"
        port = (task_vars or {}).get("ansible_port")
        if port not in (None, ""):
            found["connection_port"] = template(port)
    return found


def resolve_windows_settings(params, environ=None, host=None, task_vars=None):
    """Settings for a Windows host's /wsman from the same layers as ``resolve_settings``; returns ``(settings, warnings)``.

    Layers: module options, ``XPHONE_WINDOWS_*`` environment variables, the host's psrp/winrm connection
    (``from_windows_host_connection``), inventory variables (``from_windows_task_vars``).
    """
    return _resolve(WINDOWS, params, environ, host, task_vars)


EXCHANGE = EndpointKind("Exchange server", CONNECTION_OPTIONS, ENV_PREFIX, ENDPOINT_PATH, {"http": 80, "https": 443},
                        CONFIGURATION_NAME, True, _SOURCE_WORDS, _WHERE_TO_SET, "https://ex01.alleo.intern/PowerShell", False)
WINDOWS = EndpointKind("Windows host", WINDOWS_CONNECTION_OPTIONS, WINDOWS_ENV_PREFIX, WINDOWS_ENDPOINT_PATH, WINDOWS_PORTS,
                       WINDOWS_CONFIGURATION_NAME, False, _WINDOWS_SOURCE_WORDS, _WINDOWS_WHERE_TO_SET,
                       "https://xphone01.alleo.intern:5986/wsman", True)

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
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

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


def from_environment(environ):
    """Options given as ``XPHONE_EXCHANGE_<OPTION>`` environment variables."""
    found = {}
    for option in CONNECTION_OPTIONS:
        for name in (option.upper(),) + ENV_ALIASES.get(option, ()):
            value = environ.get(ENV_PREFIX + name)
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
                 domain_controller=None, path=ENDPOINT_PATH, sources=None):
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
            # pypsrp requires the read timeout to outlast the operation timeout.
            read_timeout=self.operation_timeout + 10,
        )
        if self.negotiate_service:
            kwargs["negotiate_service"] = self.negotiate_service
        if self.negotiate_hostname_override:
            kwargs["negotiate_hostname_override"] = self.negotiate_hostname_override
        if self.auth == "certificate":
            kwargs["certificate_pem"] = self.certificate_pem
            kwargs["certificate_key_pem"] = self.certificate_key_pem
        return kwargs

    def describe(self):
        """Safe for logs and results: no password."""
        return dict(url=self.url, username=self.username, auth=self.auth, validate_certs=self.validate_certs,
                    domain_controller=self.domain_controller, sources=dict(self.sources))


def resolve_settings(params, environ=None, host=None, task_vars=None):
    """Merge the layers (each a dict keyed by option name) in precedence order; return ``(settings, warnings)``."""
    layers = (("option", params or {}), ("environment", from_environment(environ or {})),
              ("connection", host or {}), ("inventory", task_vars or {}))
    merged, sources = {}, {}
    for option in CONNECTION_OPTIONS:
        for source, layer in layers:
            value = layer.get(option)
            if value not in (None, ""):
                merged[option] = value
                sources[option] = source
                break

    warnings = []
    server, protocol, path = merged.get("connection_server"), merged.get("protocol"), ENDPOINT_PATH
    port = _as_int("connection_port", merged.get("connection_port"))
    if merged.get("connection_uri"):
        uri = urlsplit(str(merged["connection_uri"]).strip())
        if uri.scheme not in ("http", "https") or not uri.hostname:
            raise InvalidInput("connection_uri", "%r is not an http(s) URL such as https://ex01.alleo.intern/PowerShell"
                               % merged["connection_uri"])
        server, protocol = uri.hostname, uri.scheme
        try:
            port = uri.port
        except ValueError:
            raise InvalidInput("connection_uri", "the port in %r is not a number" % merged["connection_uri"])
        path = uri.path.strip("/") or ENDPOINT_PATH
        sources.update(connection_server="connection_uri", protocol="connection_uri", connection_port="connection_uri")
    if not server:
        raise InvalidInput("connection_server", "no Exchange server given and the host has no address (ansible_host)")
    protocol = str(protocol or "https").lower()
    if protocol not in ("http", "https"):
        raise InvalidInput("protocol", "%r is not http or https" % protocol)
    if port is None:
        port = 443 if protocol == "https" else 80
    if not 1 <= port <= 65535:
        raise InvalidInput("connection_port", "%d is outside 1-65535" % port)
    auth = str(merged.get("auth") or "negotiate").lower()
    if auth not in AUTH_CHOICES:
        raise InvalidInput("auth", "%r is not one of %s" % (auth, ", ".join(AUTH_CHOICES)))
    validate_certs = _as_bool("validate_certs", merged.get("validate_certs"))
    if validate_certs is None:
        validate_certs = True
    if protocol == "https" and not validate_certs:
        warnings.append("validate_certs is false: the Exchange server's certificate is not checked, so the connection to "
                        "%s can be intercepted. Set ca_cert to the issuing CA instead." % server)
    if auth == "certificate" and not (merged.get("certificate_pem") and merged.get("certificate_key_pem")):
        raise InvalidInput("auth", "certificate authentication needs certificate_pem and certificate_key_pem")
    if auth in ("basic", "certificate") and protocol == "http":
        raise InvalidInput("auth", "%s authentication cannot encrypt messages over http; use protocol https" % auth)
    if auth != "certificate" and not merged.get("username"):
        raise InvalidInput("username", "no user name given (option, XPHONE_EXCHANGE_USERNAME or ansible_user)")

    settings = ExchangeSettings(
        server=str(server), port=port, protocol=protocol, username=merged.get("username"), password=merged.get("password"),
        auth=auth, validate_certs=validate_certs, ca_cert=merged.get("ca_cert"),
        certificate_pem=merged.get("certificate_pem"), certificate_key_pem=merged.get("certificate_key_pem"),
        negotiate_service=merged.get("negotiate_service"), negotiate_hostname_override=merged.get("negotiate_hostname_override"),
        connection_timeout=_as_int("connect_timeout", merged.get("connect_timeout")) or 30,
        operation_timeout=_as_int("operation_timeout", merged.get("operation_timeout")) or 20,
        domain_controller=merged.get("domain_controller"), path=path, sources=sources)
    return settings, warnings

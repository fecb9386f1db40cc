# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection settings of a Windows host's /wsman: the same layers as Exchange, the host's port, the wire."""

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import connection
from ansible_collections.xphone.connect.plugins.module_utils.errors import ConfigurationError, InvalidInput


def resolve_both(params=None, env=None, host=None, inventory=None):
    base = dict((k, None) for k in connection.WINDOWS_CONNECTION_OPTIONS)
    base.update(params or {})
    return connection.resolve_windows_settings(base, env or {}, host or {}, inventory or {})


def resolve(params=None, env=None, host=None, inventory=None):
    return resolve_both(params, env, host, inventory)[0]


def options(values):
    def get_option(name):
        if name not in values:
            raise KeyError(name)  # as connection plugins do for options they do not define
        return values[name]
    return get_option


def test_order_option_then_env_then_host_then_inventory():
    layers = dict(
        params={"username": "opt"},
        env={"XPHONE_WINDOWS_USERNAME": "env", "XPHONE_WINDOWS_AUTH": "kerberos", "XPHONE_EXCHANGE_USERNAME": "exchange"},
        host={"username": "host", "auth": "ntlm", "connection_server": "xp01.alleo.intern", "password": "hostpw",
              "connection_port": 5985, "transport": "winrm"},
        inventory={"username": "inv", "connection_server": "10.0.0.2", "password": "invpw", "connection_port": 1234,
                   "transport": "psrp"},
    )
    settings = resolve(**layers)
    assert (settings.username, settings.auth, settings.server, settings.port) == ("opt", "kerberos", "xp01.alleo.intern", 5985)
    assert (settings.transport, settings.url) == ("winrm", "http://xp01.alleo.intern:5985/wsman")
    assert settings.sources["username"] == "option" and settings.sources["auth"] == "environment"
    layers["params"] = {}
    assert resolve(**layers).username == "env"
    layers["env"] = {}
    assert resolve(**layers).username == "host"
    layers["host"] = {}
    settings = resolve(**layers)
    assert (settings.username, settings.port, settings.transport) == ("inv", 1234, "psrp")


def test_defaults_https_5986_psrp_and_the_windows_endpoint():
    settings, warnings = resolve_both({"connection_server": "xphone01", "username": "u", "password": "p"})
    assert settings.url == "https://xphone01:5986/wsman" and warnings == []
    assert (settings.transport, settings.configuration_name, settings.path, settings.confirm_writes) == \
        ("psrp", "Microsoft.PowerShell", "wsman", False)
    assert connection.is_windows_settings(settings)
    kwargs = settings.wsman_kwargs()
    assert (kwargs["path"], kwargs["port"], kwargs["ssl"]) == ("wsman", 5986, True)


@pytest.mark.parametrize("params, url", [
    ({"protocol": "http"}, "http://xphone01:5985/wsman"),
    ({"connection_port": 5985}, "http://xphone01:5985/wsman"),       # as Ansible's psrp/winrm plugins derive it
    ({"connection_port": "8443"}, "https://xphone01:8443/wsman"),
    ({"connection_uri": "http://127.0.0.21:15985/wsman"}, "http://127.0.0.21:15985/wsman"),
    ({"connection_uri": "https://xphone01.alleo.intern", "connection_port": 1}, "https://xphone01.alleo.intern:5986/wsman"),
])
def test_ports_and_protocols(params, url):
    params = dict(params, connection_server="xphone01", username="u", password="p")
    assert resolve(params).url == url


def test_exchange_settings_are_not_windows_settings():
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01", username="u", password="p")
    settings = connection.resolve_settings(params)[0]
    assert not connection.is_windows_settings(settings) and settings.transport == "psrp"


def test_the_transport_crosses_the_socket_and_separates_sessions():
    base = {"connection_server": "xphone01", "username": "u", "password": "p"}
    psrp, winrm = resolve(base), resolve(dict(base, transport="winrm"))
    assert psrp.session_key() != winrm.session_key()
    back = connection.ExchangeSettings.from_dict(winrm.to_dict())
    assert back.transport == "winrm" and back.session_key() == winrm.session_key()
    data = psrp.to_dict()
    del data["transport"]            # a request from before the field existed
    assert connection.ExchangeSettings.from_dict(data).transport == "psrp"


def test_psrp_host_gives_its_port_and_wire():
    found = connection.from_windows_host_connection("ansible.builtin.psrp", options({
        "remote_addr": "xphone01.alleo.intern", "remote_user": "ALLEO\\admin", "remote_password": "pw", "auth": "ntlm",
        "protocol": None, "port": 5985, "cert_validation": "validate", "ca_cert": None}))
    assert found["connection_port"] == 5985 and found["transport"] == "psrp" and found["protocol"] == "http"
    settings = resolve(host=found)
    assert settings.url == "http://xphone01.alleo.intern:5985/wsman" and settings.auth == "ntlm"


def test_winrm_host_gives_its_port_wire_and_pywinrm_extras():
    found = connection.from_windows_host_connection("winrm", options({
        "remote_addr": "xphone01", "remote_user": "ALLEO\\admin", "remote_password": "pw", "transport": ["ntlm"],
        "scheme": None, "port": 5986,
        "_extras": {"ansible_winrm_ca_trust_path": "/etc/ca.pem", "ansible_winrm_operation_timeout_sec": "40",
                    "ansible_winrm_service": "HOST"}}))
    assert (found["transport"], found["connection_port"], found["auth"]) == ("winrm", 5986, "ntlm")
    settings = resolve(host=found)
    assert settings.url == "https://xphone01:5986/wsman" and settings.operation_timeout == 40
    kwargs = settings.winrm_kwargs()
    assert kwargs["endpoint"] == "https://xphone01:5986/wsman" and kwargs["ca_trust_path"] == "/etc/ca.pem"
    assert kwargs["service"] == "HOST" and kwargs["read_timeout_sec"] > kwargs["operation_timeout_sec"] == 40
    assert connection.from_windows_host_connection("ssh", options({})) == {}


def test_inventory_gives_port_and_wire_only_for_a_windows_connection():
    found = connection.from_windows_task_vars({"ansible_host": "10.0.0.21", "ansible_port": "{{ p }}",
                                               "ansible_connection": "ansible.builtin.winrm", "ansible_user": "u"},
                                              lambda v: v.replace("{{ p }}", "5985"))
    assert found == {"connection_server": "10.0.0.21", "username": "u", "connection_port": "5985", "transport": "winrm"}
    found = connection.from_windows_task_vars({"ansible_host": "10.0.0.21", "ansible_port": 22, "ansible_connection": "ssh"})
    assert found == {"connection_server": "10.0.0.21"}


@pytest.mark.parametrize("auth, expected", [("negotiate", "ntlm"), ("ntlm", "ntlm"), ("kerberos", "kerberos"),
                                            ("credssp", "credssp")])
def test_winrm_kwargs_name_pywinrm_transports(auth, expected):
    settings = resolve({"connection_server": "xphone01", "username": "u", "password": "p", "auth": auth,
                        "transport": "winrm", "validate_certs": False})
    kwargs = settings.winrm_kwargs()
    assert kwargs["transport"] == expected and kwargs["server_cert_validation"] == "ignore"
    assert "ca_trust_path" not in kwargs


def test_pywinrm_accepts_the_kwargs_without_sending_anything():
    protocol_module = pytest.importorskip("winrm.protocol")
    settings = resolve({"connection_server": "xphone01", "username": "u", "password": "p", "protocol": "http",
                        "transport": "winrm", "auth": "ntlm"})
    protocol = protocol_module.Protocol(**settings.winrm_kwargs())
    assert protocol.transport.endpoint == "http://xphone01:5985/wsman"


def test_certificate_auth_passes_the_client_certificate():
    settings = resolve({"connection_server": "xphone01", "auth": "certificate", "certificate_pem": "/c.pem",
                        "certificate_key_pem": "/k.pem", "transport": "winrm"})
    kwargs = settings.winrm_kwargs()
    assert (kwargs["transport"], kwargs["cert_pem"], kwargs["cert_key_pem"]) == ("certificate", "/c.pem", "/k.pem")


@pytest.mark.parametrize("params, option", [
    ({"username": "u", "password": "p"}, "connection_server"),
    ({"connection_server": "x", "username": "u", "password": "p", "transport": "ssh"}, "transport"),
    ({"connection_uri": "ftp://x/wsman", "username": "u", "password": "p"}, "connection_uri"),
    ({"connection_server": "x", "username": "u", "password": "p", "auth": "basic", "protocol": "http"}, "auth"),
    ({"connection_server": "x", "username": "u", "password": "p", "connection_port": 0}, "connection_port"),
])
def test_bad_settings_name_the_option(params, option):
    with pytest.raises(InvalidInput) as err:
        resolve(params)
    assert err.value.option == option


def test_missing_credentials_say_where_to_set_them_for_windows():
    with pytest.raises(ConfigurationError, match="XPHONE_WINDOWS_USERNAME"):
        resolve({"connection_server": "xphone01", "auth": "ntlm"})
    with pytest.raises(ConfigurationError, match="XPHONE_WINDOWS_PASSWORD"):
        resolve(env={"XPHONE_WINDOWS_SERVER": "xphone01", "XPHONE_WINDOWS_USERNAME": "u", "XPHONE_WINDOWS_AUTH": "ntlm"})
    # pywinrm's negotiate is NTLM only: over winrm, no user name is no logon at all.
    with pytest.raises(ConfigurationError, match="No user name for negotiate"):
        resolve({"connection_server": "xphone01", "transport": "winrm"})


def test_psrp_negotiate_may_log_on_from_the_ticket_cache_for_windows():
    settings = resolve({"connection_server": "xphone01.alleo.intern"})
    assert (settings.auth, settings.username, settings.password, settings.transport) == ("negotiate", None, None, "psrp")


def test_a_rejected_logon_names_the_windows_variables():
    settings = resolve(env={"XPHONE_WINDOWS_SERVER": "xphone01", "XPHONE_WINDOWS_USERNAME": "u",
                            "XPHONE_WINDOWS_PASSWORD": "Secret-1", "XPHONE_WINDOWS_PORT": "5985"})
    message = settings.rejected_logon_message("401")
    assert "XPHONE_WINDOWS_USERNAME" in message and "http://xphone01:5985/wsman" in message
    assert "Secret-1" not in repr(settings.describe())


def test_validate_certs_false_warns_over_https():
    warnings = resolve_both({"connection_server": "xphone01", "username": "u", "password": "p", "validate_certs": "no"})[1]
    assert warnings and "xphone01" in warnings[0]

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import connection
from ansible_collections.xphone.connect.plugins.module_utils.errors import ConfigurationError, InvalidInput


def resolve_both(params=None, env=None, host=None, inventory=None):
    """Settings from the layers; a user name without a password anywhere gets one (most tests are not about it)."""
    base = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    base.update(params or {})
    layers = [base, env or {}, host or {}, inventory or {}]
    if not any(layer.get("password") or layer.get("XPHONE_EXCHANGE_PASSWORD") for layer in layers):
        base["password"] = "pw"
    return connection.resolve_settings(base, env or {}, host or {}, inventory or {})


def resolve(params=None, env=None, host=None, inventory=None):
    return resolve_both(params, env, host, inventory)[0]


def test_order_option_then_env_then_host_then_inventory():
    layers = dict(
        params={"username": "opt"},
        env={"XPHONE_EXCHANGE_USERNAME": "env", "XPHONE_EXCHANGE_AUTH": "kerberos"},
        host={"username": "host", "auth": "ntlm", "connection_server": "ex01.alleo.intern", "password": "hostpw"},
        inventory={"username": "inv", "connection_server": "10.0.0.2", "password": "invpw"},
    )
    settings = resolve(**layers)
    assert (settings.username, settings.auth, settings.server, settings.password) == ("opt", "kerberos", "ex01.alleo.intern",
                                                                                      "hostpw")
    assert settings.sources["username"] == "option" and settings.sources["auth"] == "environment"
    layers["params"] = {}
    settings = resolve(**layers)
    assert settings.username == "env"
    layers["env"] = {}
    settings = resolve(**layers)
    assert (settings.username, settings.auth) == ("host", "ntlm")
    layers["host"] = {}
    settings = resolve(**layers)
    assert (settings.username, settings.server, settings.password) == ("inv", "10.0.0.2", "invpw")


def test_defaults_https_443_negotiate_validate():
    settings, warnings = resolve_both({"connection_server": "ex01.alleo.intern", "username": "u"})
    assert settings.url == "https://ex01.alleo.intern/PowerShell"
    assert (settings.port, settings.auth, settings.validate_certs) == (443, "negotiate", True)
    assert warnings == []
    kwargs = settings.wsman_kwargs()
    assert kwargs["path"] == "PowerShell" and kwargs["ssl"] is True and kwargs["cert_validation"] is True
    assert kwargs["read_timeout"] > kwargs["operation_timeout"]


def test_http_defaults_to_port_80():
    settings = resolve({"connection_server": "ex01", "username": "u", "protocol": "http"})
    assert settings.url == "http://ex01/PowerShell"


def test_connection_uri_overrides_server_port_protocol():
    settings = resolve({"connection_uri": "http://127.0.0.11:8080/PowerShell", "connection_server": "other",
                        "connection_port": 1, "protocol": "https", "username": "u"})
    assert (settings.server, settings.port, settings.protocol, settings.path) == ("127.0.0.11", 8080, "http", "PowerShell")


def test_env_aliases_for_server_and_port():
    settings = resolve(env={"XPHONE_EXCHANGE_SERVER": "ex02", "XPHONE_EXCHANGE_PORT": "8443",
                            "XPHONE_EXCHANGE_USERNAME": "u", "XPHONE_EXCHANGE_VALIDATE_CERTS": "false"})
    assert (settings.server, settings.port, settings.validate_certs) == ("ex02", 8443, False)


def test_validate_certs_false_warns_and_ca_cert_is_passed():
    warnings = resolve_both({"connection_server": "ex01", "username": "u", "validate_certs": False})[1]
    assert warnings and "validate_certs" in warnings[0]
    settings = resolve({"connection_server": "ex01", "username": "u", "ca_cert": "/etc/ca.pem"})
    assert settings.wsman_kwargs()["cert_validation"] == "/etc/ca.pem"


@pytest.mark.parametrize("params, option", [
    ({"username": "u"}, "connection_server"),
    ({"connection_uri": "ftp://ex01/PowerShell", "username": "u"}, "connection_uri"),
    ({"connection_server": "ex01", "username": "u", "auth": "basic", "protocol": "http"}, "auth"),
    ({"connection_server": "ex01", "username": "u", "auth": "certificate"}, "auth"),
    ({"connection_server": "ex01", "username": "u", "connection_port": 70000}, "connection_port"),
])
def test_bad_settings_name_the_option(params, option):
    with pytest.raises(InvalidInput) as err:
        resolve(params)
    assert err.value.option == option


@pytest.mark.parametrize("params, missing", [
    ({"connection_server": "ex01", "password": "pw", "auth": "ntlm"}, "No user name"),
    ({"connection_server": "ex01", "username": "u", "password": "", "auth": "ntlm"}, "No password for u"),
    ({"connection_server": "ex01", "username": "ALLEO\\u"}, "No password for ALLEO\\u"),
    ({"connection_server": "ex01", "username": "u", "password": "", "auth": "basic"}, "No password for u"),
    ({"connection_server": "ex01", "username": "u", "auth": "credssp"}, "No password for u"),
])
def test_missing_credentials_say_where_to_set_them(params, missing):
    base = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    base.update(params)
    with pytest.raises(ConfigurationError) as err:
        connection.resolve_settings(base, {}, {}, {})
    assert err.value.message.startswith(missing)
    for where in ("ansible_user", "ansible_password", "AWX Machine credential", "XPHONE_EXCHANGE_USERNAME"):
        assert where in err.value.message


def test_kerberos_may_log_on_from_the_ticket_cache():
    base = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    base.update(connection_server="ex01.alleo.intern", auth="kerberos")
    settings = connection.resolve_settings(base, {}, {}, {})[0]
    assert settings.username is None and "ticket cache" in settings.credential_source()


def test_psrp_host_settings():
    options = {"remote_addr": "ex01.alleo.intern", "remote_user": "admin@ALLEO.INTERN", "remote_password": "pw",
               "auth": "kerberos", "protocol": None, "port": 5985, "cert_validation": "ignore", "ca_cert": None,
               "negotiate_service": "HTTP"}
    found = connection.from_host_connection("ansible.builtin.psrp", options.get)
    assert found == {"connection_server": "ex01.alleo.intern", "username": "admin@ALLEO.INTERN", "password": "pw",
                     "auth": "kerberos", "protocol": "http", "validate_certs": "ignore", "negotiate_service": "HTTP"}
    settings, warnings = resolve_both(host=found)
    # The WinRM port never leaks into the Exchange endpoint.
    assert settings.url == "http://ex01.alleo.intern/PowerShell" and settings.validate_certs is False
    assert warnings == []  # no certificate is involved over http


def test_winrm_host_settings_and_unknown_options():
    def get_option(name):
        values = {"remote_addr": "127.0.0.11", "remote_user": "ALLEO\\admin", "remote_password": "pw", "transport": ["ntlm"],
                  "scheme": "https", "_extras": {"ansible_winrm_server_cert_validation": "ignore"}}
        if name not in values:
            raise KeyError(name)
        return values[name]
    found = connection.from_host_connection("winrm", get_option)
    assert found["auth"] == "ntlm" and found["protocol"] == "https" and found["validate_certs"] == "ignore"
    settings, warnings = resolve_both(host=found)
    assert settings.validate_certs is False and warnings
    assert connection.from_host_connection("ssh", get_option) == {}


def test_task_vars_are_templated():
    found = connection.from_task_vars({"ansible_host": "10.0.0.5", "ansible_user": "u", "ansible_password": "{{ pw }}"},
                                      lambda v: v.replace("{{ pw }}", "templated"))
    assert found == {"connection_server": "10.0.0.5", "username": "u", "password": "templated"}


def test_describe_has_no_password():
    settings = resolve({"connection_server": "ex01", "username": "u", "password": "Very-Secret-1"})
    assert "Very-Secret-1" not in repr(settings.describe())

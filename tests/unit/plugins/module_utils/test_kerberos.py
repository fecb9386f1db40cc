# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos: what is refused before anything is sent, how the libraries' texts are classified, the NTLM fallback
warning, and that no Kerberos failure is tried again. The texts are the real ones (notes/kerberos-lab.md); the
integration tests (tests/integration/test_kerberos.py) produce them with the real client and a real KDC."""

from __future__ import annotations

import pytest

from fake_exchange import FakeExchange

from ansible_collections.xphone.connect.plugins.module_utils import connection, errors, kerberos
from ansible_collections.xphone.connect.plugins.module_utils.session import Session

PASSWORD = "Kerb-Secret-1"


def settings(**changes):
    params = dict((k, None) for k in connection.CONNECTION_OPTIONS)
    params.update(connection_server="ex01.alleo.intern", username="Administrator@ALLEO.INTERN", password=PASSWORD,
                  auth="kerberos")
    params.update(changes)
    return connection.resolve_settings(params, {})[0]


def windows_settings(**changes):
    params = dict((k, None) for k in connection.WINDOWS_CONNECTION_OPTIONS)
    params.update(connection_server="xphone01.alleo.intern", username="Administrator@ALLEO.INTERN", password=PASSWORD,
                  auth="kerberos")
    params.update(changes)
    return connection.resolve_windows_settings(params, {})[0]


# -- refused before anything is sent ------------------------------------------------------------------------------

def test_domain_backslash_user_is_refused_with_kerberos_and_the_fix_is_spelled_out():
    with pytest.raises(errors.ConfigurationError) as err:
        settings(username="ALLEO\\Administrator")
    assert "not ALLEO\\Administrator" in err.value.message and "Administrator@<DOMAIN.FQDN>" in err.value.message
    with pytest.raises(errors.ConfigurationError) as err:
        settings(username="alleo.intern\\svc")
    assert "svc@ALLEO.INTERN" in err.value.message
    # The same name is fine for NTLM, and for negotiate (which falls back to NTLM with it).
    assert settings(username="ALLEO\\Administrator", auth="ntlm").username == "ALLEO\\Administrator"
    assert settings(username="ALLEO\\Administrator", auth="negotiate").auth == "negotiate"


@pytest.mark.parametrize("server", ["10.0.0.7", "127.0.0.11", "::1", "fe80::1"])
def test_an_ip_address_with_kerberos_and_no_override_is_refused(server):
    with pytest.raises(errors.ConfigurationError) as err:
        settings(connection_server=server)
    message = err.value.message
    assert "IP address (%s)" % server in message and "ansible_psrp_negotiate_hostname_override" in message
    assert settings(connection_server=server, negotiate_hostname_override="ex01.alleo.intern").server == server
    # negotiate may fall back to NTLM by IP: allowed (the session warns when Kerberos was meant).
    assert settings(connection_server=server, auth="negotiate").server == server


def test_an_ip_address_over_winrm_names_the_winrm_variable():
    with pytest.raises(errors.ConfigurationError) as err:
        windows_settings(connection_server="10.0.0.21", transport="winrm")
    assert "ansible_winrm_kerberos_hostname_override" in err.value.message
    assert "ansible_psrp_negotiate_hostname_override" not in err.value.message


def test_a_name_is_never_mistaken_for_an_address():
    for name in ("ex01", "ex01.alleo.intern", "10.0.0.7.nip.io", "1e100.net"):
        assert settings(connection_server=name).server == name


@pytest.mark.parametrize("auth", ["kerberos", "negotiate"])
def test_ticket_cache_logon_needs_no_user_and_no_password(auth):
    s = settings(username=None, password=None, auth=auth)
    assert (s.username, s.password, s.secrets) == (None, None, [])
    assert "ticket cache" in s.credential_source()
    s = settings(password=None, auth=auth)
    assert s.username == "Administrator@ALLEO.INTERN" and s.password is None


@pytest.mark.parametrize("auth", ["ntlm", "basic", "credssp"])
def test_other_methods_still_need_both(auth):
    with pytest.raises(errors.ConfigurationError, match="No user name for %s" % auth):
        settings(username=None, auth=auth, protocol="https")
    with pytest.raises(errors.ConfigurationError, match="No password for Administrator@ALLEO.INTERN"):
        settings(password=None, auth=auth, protocol="https")


def test_winrm_hosts_spn_settings_reach_the_exchange_endpoint_too():
    values = {"remote_addr": "ex01.alleo.intern", "transport": ["kerberos"], "scheme": "https",
              "_extras": {"ansible_winrm_service": "HTTP", "ansible_winrm_kerberos_hostname_override": "ex01.alleo.intern"}}

    def get_option(name):
        if name not in values:
            raise KeyError(name)
        return values[name]

    found = connection.from_host_connection("ansible.builtin.winrm", get_option)
    assert (found["auth"], found["negotiate_service"], found["negotiate_hostname_override"]) == (
        "kerberos", "HTTP", "ex01.alleo.intern")


# -- which SPN ----------------------------------------------------------------------------------------------------

def test_the_spn_each_path_asks_for():
    assert kerberos.spn_of(settings()) == "host/ex01.alleo.intern"
    assert kerberos.spn_of(settings(negotiate_service="WSMAN")) == "WSMAN/ex01.alleo.intern"
    assert kerberos.spn_of(settings(connection_server="10.0.0.7", negotiate_hostname_override="ex01.alleo.intern")) == \
        "host/ex01.alleo.intern"
    assert kerberos.spn_of(windows_settings(transport="winrm")) == "HTTP/xphone01.alleo.intern"
    assert kerberos.spn_of(windows_settings(transport="psrp")) == "host/xphone01.alleo.intern"


# -- classification of the libraries' texts --------------------------------------------------------------------------

CASES = [
    # (text, class, words that must be in the message)
    ("Preauthentication failed -1765328360", errors.AuthenticationFailed,
     ["rejected the password of Administrator@ALLEO.INTERN", "module option", "not tried again"]),
    ("Client 'nobody@ALLEO.INTERN' not found in Kerberos database -1765328378", errors.AuthenticationFailed,
     ["does not know the user", "nobody@ALLEO.INTERN", "user@REALM", "DOMAIN\\user is not a Kerberos name"]),
    ('Cannot find KDC for realm "alleo.intern" -1765328230', errors.ConfigurationError,
     ["realms are upper case", "Administrator@ALLEO.INTERN"]),
    ('Cannot find KDC for realm "CORP.EXAMPLE" -1765328230', errors.ConfigurationError,
     ["no KDC for the realm CORP.EXAMPLE", "krb5.conf", "KRB5_CONFIG"]),
    ("SpnegoError (4294967295): Major (851968): Unspecified GSS failure.  Minor code may provide more information, "
     "Minor (2529638919): Server host/127.0.0.11@ALLEO.INTERN not found in Kerberos database, Context: Processing "
     "security token", errors.ConfigurationError,
     ["no service principal host/127.0.0.11@ALLEO.INTERN", "IP address", "ansible_psrp_negotiate_hostname_override"]),
    ("Minor (2529638919): Server cifs/ex01.alleo.intern@ALLEO.INTERN not found in Kerberos database",
     errors.ConfigurationError, ["setspn -S cifs/ex01.alleo.intern", "ansible_psrp_negotiate_service"]),
    ("SpnegoError (7): Major (458752): No credentials were supplied, or the credentials were unavailable or inaccessible, "
     "Minor (2529639053): No Kerberos credentials available (default cache: FILE:/tmp/krb5cc_0), Context: Processing "
     "security token", errors.ConfigurationError, ["ticket cache (FILE:/tmp/krb5cc_0) is empty", "kinit", "ansible_user"]),
    ("SpnegoError (7): Major (458752): ..., Minor (2529639053): Can't find client principal Administrator@ALLEO.INTERN "
     "in cache collection, Context: Getting GSSAPI credential", errors.ConfigurationError,
     ["no ticket for Administrator@ALLEO.INTERN", "kinit Administrator@ALLEO.INTERN"]),
    ("SpnegoError (4294967295): Major (851968): ..., Minor (2529638944): Ticket expired, Context: Processing security token",
     errors.AuthenticationFailed, ["has expired", "kinit"]),
    ("SpnegoError (4294967295): ..., Minor (2529638949): Clock skew too great, Context: Processing security token",
     errors.ConfigurationError, ["clock", "NTP"]),
    ("Client's credentials have been revoked -1765328366", errors.AuthenticationFailed,
     ["locked out or disabled", "Unlock-ADAccount"]),
    ("Password has expired -1765328361", errors.AuthenticationFailed, ["has expired in Active Directory"]),
]


@pytest.mark.parametrize("text, cls, words", CASES, ids=[c[0][:40] for c in CASES])
def test_each_kerberos_failure_has_its_own_message(text, cls, words):
    classified = kerberos.classify(text, settings())
    assert isinstance(classified, cls), classified
    assert not isinstance(classified, errors.ConfigurationError if cls is errors.AuthenticationFailed
                          else errors.AuthenticationFailed)
    for word in words:
        assert word in classified.message, (word, classified.message)
    assert "Cannot talk" not in classified.message and "Unexpected failure" not in classified.message


def test_the_messages_differ_from_one_another():
    messages = [kerberos.classify(text, settings()).message.split(" Said:")[0].split(" KDC said:")[0]
                for text, _cls, _words in CASES]
    assert len(set(messages)) == len(messages)


def test_other_failures_are_not_kerberos():
    for text in ("Connection refused", "HTTPSConnectionPool: SSLError(certificate verify failed)",
                 "Received a WSManFault", "The maximum number of concurrent shells for this user has been exceeded"):
        assert kerberos.classify(text, settings()) is None


def test_a_401_after_a_kerberos_handshake_is_the_server_refusing_the_ticket():
    text = "Failed to authenticate the user Administrator@ALLEO.INTERN with kerberos"
    refused = kerberos.classify(text, settings(negotiate_service="WSMAN"))
    assert isinstance(refused, errors.AuthenticationFailed)
    assert "refused the Kerberos ticket" in refused.message and "WSMAN/ex01.alleo.intern" in refused.message
    assert "clock" in refused.message and "setspn -X" in refused.message
    # With negotiate the handshake decides: Kerberos is the server refusing, NTLM is a plain wrong password.
    text = "Failed to authenticate the user ALLEO\\svc with negotiate"
    s = settings(auth="negotiate", username="ALLEO\\svc")
    assert isinstance(kerberos.classify(text, s, negotiated="kerberos"), errors.AuthenticationFailed)
    assert kerberos.classify(text, s, negotiated="ntlm") is None
    assert kerberos.classify(text, s, negotiated=None) is None


def test_the_upper_case_realm_hint_keeps_the_user_part():
    message = kerberos.classify('Cannot find KDC for realm "alleo.intern"', settings(username="svc-xphone@alleo.intern"))
    assert "svc-xphone@ALLEO.INTERN" in message.message


# -- negotiate's silent fallback ------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes, intended", [
    ({"auth": "kerberos"}, True),
    ({"auth": "ntlm"}, False),
    ({"auth": "negotiate"}, True),                                            # Administrator@ALLEO.INTERN
    ({"auth": "negotiate", "username": "Administrator@alleo.intern"}, False),  # a UPN, as NTLM takes it
    ({"auth": "negotiate", "username": "ALLEO\\Administrator"}, False),
    ({"auth": "negotiate", "username": "ALLEO\\Administrator", "negotiate_service": "HTTP"}, True),
    ({"auth": "negotiate", "username": "a@alleo.intern", "negotiate_hostname_override": "ex01.alleo.intern"}, True),
    ({"auth": "negotiate", "username": None, "password": None}, True),         # the ticket cache
    ({"auth": "negotiate", "username": "a@1.2", "password": "x"}, False),     # no letter: not a realm
])
def test_when_the_settings_ask_for_kerberos(changes, intended):
    assert kerberos.kerberos_intended(settings(**changes)) is intended


def test_fallback_warning_only_for_negotiate_ending_in_ntlm_when_kerberos_was_meant():
    by_ip = settings(auth="negotiate", connection_server="10.0.0.7")
    warning = kerberos.fallback_warning(by_ip, "ntlm")
    assert "fell back to NTLM" in warning and "IP address (10.0.0.7)" in warning
    assert "ansible_psrp_negotiate_hostname_override" in warning
    by_name = settings(auth="negotiate", negotiate_service="WSMAN")
    assert "could not give a ticket for WSMAN/ex01.alleo.intern" in kerberos.fallback_warning(by_name, "ntlm")
    assert kerberos.fallback_warning(by_ip, "kerberos") is None
    assert kerberos.fallback_warning(by_ip, None) is None
    assert kerberos.fallback_warning(settings(auth="negotiate", username="ALLEO\\a"), "ntlm") is None
    assert kerberos.fallback_warning(settings(auth="ntlm", protocol="https"), "ntlm") is None


# -- the session: classified, remembered, never tried again -----------------------------------------------------------

class Krb5Error(Exception):
    """Stand-in with the class name of the krb5 library's error (classification reads texts, not types)."""


class Negotiating(FakeExchange):
    def __init__(self, protocol):
        super(Negotiating, self).__init__()
        self.protocol = protocol

    def negotiated(self, pool):
        del pool
        return self.protocol


@pytest.mark.parametrize("text, cls", [
    ("Preauthentication failed -1765328360", errors.AuthenticationFailed),
    ("Minor (2529638949): Clock skew too great, Context: Processing security token", errors.ConfigurationError),
    ("Minor (2529639053): No Kerberos credentials available (default cache: FILE:/tmp/x)", errors.ConfigurationError),
])
def test_a_kerberos_failure_is_not_tried_again_by_the_same_session(text, cls):
    fx = FakeExchange()
    fx.open_faults.extend([Krb5Error(text), Krb5Error(text)])
    sleeps = []
    sess = Session(settings(), transport=fx, sleep=sleeps.append)
    with pytest.raises(cls) as first:
        sess.invoke("Get-RemoteDomain")
    with pytest.raises(cls) as second:
        sess.invoke("Get-RemoteDomain")
    assert first.value.message == second.value.message
    assert fx.open_attempts == 1 and sleeps == [] and len(fx.open_faults) == 1
    assert PASSWORD not in first.value.message


def test_the_session_warns_once_when_negotiate_fell_back_to_ntlm():
    fx = Negotiating("ntlm")
    sess = Session(settings(auth="negotiate", connection_server="10.0.0.7"), transport=fx)
    sess.invoke("Get-RemoteDomain")
    sess.invoke("Get-RemoteDomain")
    assert len(sess.warnings) == 1 and "fell back to NTLM" in sess.warnings[0]
    quiet = Session(settings(auth="negotiate", connection_server="10.0.0.7"), transport=Negotiating("kerberos"))
    quiet.invoke("Get-RemoteDomain")
    assert quiet.warnings == []


def test_negotiated_protocol_of_pools_without_a_spnego_context():
    from ansible_collections.xphone.connect.plugins.module_utils.session import PypsrpTransport

    class Context(object):
        negotiated_protocol = "kerberos"

    class Broken(object):
        @property
        def negotiated_protocol(self):
            raise RuntimeError("not started")

    def pool(contexts):
        auth = type("Auth", (), {"contexts": contexts})()
        session = type("HTTPSession", (), {"auth": auth})()
        transport = type("Transport", (), {"session": session})()
        return type("Pool", (), {"connection": type("WSMan", (), {"transport": transport})()})()

    assert PypsrpTransport.negotiated(pool({"ex01": Context()})) == "kerberos"
    assert PypsrpTransport.negotiated(pool({"ex01": Broken()})) is None
    assert PypsrpTransport.negotiated(pool({})) is None
    assert PypsrpTransport.negotiated(object()) is None      # a pywinrm protocol, a fake: no SPNEGO context at all

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error family and its two classifiers: cmdlet error records (never retried) and transport faults."""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import threading
import time

from urllib.parse import quote, quote_plus

import pytest
import requests
import urllib3

from pypsrp.exceptions import AuthenticationError as PypsrpAuthenticationError
from pypsrp.exceptions import WinRMTransportError as PypsrpWinRMTransportError
from pypsrp.exceptions import WSManFaultError as PypsrpWSManFaultError
from pypsrp.wsman import WSMan

from ansible_collections.xphone.connect.plugins.module_utils import errors

ENDPOINT = "https://ex01.alleo.intern/PowerShell"
TLS_HINT = " Give the CA ... ca_cert."


# Stand-ins with the real class names: classification looks at the names in the cause chain and at ``.code``.
class WSManFaultError(Exception):
    def __init__(self, message, code=None):
        super(WSManFaultError, self).__init__(message)
        self.code = code


class WinRMTransportError(Exception):
    def __init__(self, message, code):
        super(WinRMTransportError, self).__init__(message)
        self.code = code


class AuthenticationError(Exception):
    pass


class InvalidCredentialsError(Exception):
    pass


class ReadTimeout(Exception):
    pass


class RemoteDisconnected(Exception):
    pass


class SSLError(Exception):
    pass


class ConnectionRefusedError(Exception):  # pylint: disable=redefined-builtin
    pass


def transport(err, endpoint=ENDPOINT, tls_hint=TLS_HINT):
    return errors.classify_transport(err, str(err), endpoint, tls_hint)


# -- texts ------------------------------------------------------------------------------------------------
# Exchange 2013+ (AuthZ plugin, PowerShellMaxConcurrency), as the client reads it: proxy prefix, AuthZ prefix,
# the text, then the policy and the budget snapshot.
RUNSPACE_LIMIT = ("[ClientAccessServer=EX01,BackEndServer=ex01.alleo.intern,RequestId=4c1f,TimeStamp=5/2/2025 8:01:02 AM] "
                  "[AuthZRequestId=77a0][FailureCategory=AuthZ-AuthorizationException] Fail to create a runspace because you "
                  "have exceeded the maximum number of connections allowed : 18 for the policy party : MaxConcurrency. "
                  "Please close existing runspace and try again.\r\nPolicy: CN=GlobalThrottlingPolicy_5f1c,CN=Global "
                  "Settings,CN=Alleo,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=alleo,DC=intern; \r\n"
                  "Snapshot: Owner:\tSid~S-1-5-21-1-2-3-500~WSMan~false\r\nActiveRunspaces:\t18/18\r\n")
# Exchange Online's form of the same fault.
RUNSPACE_LIMIT_EXO = ("Fail to create a runspace because you have exceeded the maximum number of connections allowed : 3 for "
                      "the policy party : MaxConcurrency. Please close existing runspace and try again.")
# Exchange 2010's wording.
SHELLS_2010 = ("Connecting to the remote server failed with the following error message. The WS-Management service cannot "
               "process the request. This user is allowed a maximum of 18 concurrent shells, which has been exceeded. Close "
               "existing shells or raise the quota for this user.")
SHELLS_WINRM = ("The WS-Management service cannot process the request. This user is allowed a maximum number of 5 concurrent "
                "shells, which has been exceeded. Close existing shells or raise the quota for this user.")
OPERATIONS = ("The WS-Management service cannot process the request. This user is allowed a maximum number of 1500 concurrent "
              "operations, which has been exceeded. Close existing operations for this user, or raise the quota for this user.")
OPERATIONS_PPQ = ("The WS-Management service cannot process the request. This user has exceeded the maximum number of "
                  "concurrent operations. Retry the request later.")
COMMANDS_PER_SHELL = ("The WS-Management service cannot process the request. The maximum number of concurrent commands per "
                      "shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota.")
SHELL_NOT_FOUND = ("The request for the Windows Remote Shell with ShellId 5A1B failed because the shell was not found on the "
                   "server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server.")

# Ordinary error records of New-/Set-ThrottlingPolicy: they speak of throttling, MaxConcurrency and quotas, and are
# not throttling (they were once read as such, retried and slept on).
THROTTLING_POLICY_RECORDS = [
    ("Cannot bind parameter 'PowerShellMaxConcurrency' to the target. Exception setting \"PowerShellMaxConcurrency\": "
     "\"Cannot convert value \"lots\" to type Unlimited`1[UInt32].\"",
     "System.Management.Automation.ParameterBindingException"),
    ("The value of property 'EwsMaxConcurrency' is out of range: the quota must be between 0 and 2147483647.",
     "Microsoft.Exchange.Data.DataValidationException"),
    ("The throttling policy 'NoThrottlingPolicy' already exists.",
     "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException"),
    ("This user is allowed a maximum of 18 concurrent shells, which has been exceeded.", "System.Exception"),
    ("Fail to create a runspace because you have exceeded the maximum number of connections allowed : 18 for the policy "
     "party : MaxConcurrency.", "System.Exception"),
]

QUOTA_CODES = sorted(errors.QUOTA_CODES)
RUNSPACE_LIMIT_CODE = 0x80540FA0   # the code the lab assumes for a managed exception in the plugin (no capture)


# -- cmdlet error records ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, exc_type, expected", [
    ("The operation couldn't be performed because object 'fax' couldn't be found on 'dc01.alleo.intern'.",
     "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", errors.NotFound),
    ("something went wrong", "ManagementObjectNotFoundException", errors.NotFound),
    ("The operation couldn't be performed because object 'x' couldn't be found on 'dc01'.", "", errors.NotFound),
    ("Cannot find any service with service name 'MSExchangeIMAP4'.", "", errors.NotFound),
    ("The term 'New-SendConnector' is not recognized as the name of a cmdlet, function, script file, or operable program.",
     "System.Management.Automation.CommandNotFoundException", errors.AuthorizationFailed),
    ("Active Directory operation failed on dc01. This error is not retriable. Access is denied. INSUFF_ACCESS_RIGHTS", "",
     errors.AuthorizationFailed),
    ("A parameter cannot be found that matches parameter name 'Bogus'.", "ParameterBindingException", errors.CmdletFailed),
    ("Received a 401 response", "", errors.CmdletFailed),
])
def test_classify_record(text, exc_type, expected):
    err = errors.classify_record(text, "Set-RemoteDomain", exc_type)
    assert err.__class__ is expected
    assert not isinstance(err, errors.Transient) and not err.unreachable


@pytest.mark.parametrize("text, exc_type", THROTTLING_POLICY_RECORDS)
def test_an_error_record_is_never_throttling(text, exc_type):
    err = errors.classify_record(text, "New-ThrottlingPolicy", exc_type)
    assert err.__class__ is errors.CmdletFailed
    assert not isinstance(err, errors.Transient)
    assert err.message == "New-ThrottlingPolicy failed: %s" % text and err.cmdlet == "New-ThrottlingPolicy"


def test_authorization_message_names_the_cmdlet_and_the_missing_role():
    err = errors.classify_record("The term 'Set-RemoteDomain' is not recognized as the name of a cmdlet", "Set-RemoteDomain")
    assert "Set-RemoteDomain" in err.message and "Organization Management" in err.message and "RBAC" in err.message
    denied = errors.classify_record("Access is denied.", "Set-ReceiveConnector")
    assert isinstance(denied, errors.AuthorizationFailed) and "Organization Management" not in denied.message
    assert "denied the change" in denied.message


def test_record_without_cmdlet_keeps_the_text_alone():
    assert errors.classify_record("boom").message == "boom"
    assert errors.classify_record("boom", "Get-X").message == "Get-X failed: boom"


# -- transport faults: throttling, only by code or anchored text ---------------------------------------------------
@pytest.mark.parametrize("code", QUOTA_CODES)
def test_quota_codes_are_throttling(code):
    assert transport(PypsrpWSManFaultError(code, "ex01", "quota", None, None, None)).__class__ is errors.Throttled


@pytest.mark.parametrize("text", [RUNSPACE_LIMIT, RUNSPACE_LIMIT_EXO, SHELLS_2010, SHELLS_WINRM, OPERATIONS, OPERATIONS_PPQ,
                                  COMMANDS_PER_SHELL])
@pytest.mark.parametrize("make", [
    WSManFaultError,
    lambda text: PypsrpWSManFaultError(RUNSPACE_LIMIT_CODE, "ex01", text, None, None, None),
    lambda text: PypsrpWinRMTransportError("http", 500, text),
], ids=["fault-without-code", "fault-with-other-code", "http-500-body"])
def test_quota_texts_are_throttling(text, make):
    err = transport(make(text))
    assert err.__class__ is errors.Throttled
    assert isinstance(err, errors.Transient) and not err.unreachable


@pytest.mark.parametrize("text", [
    "Cannot bind parameter 'PowerShellMaxConcurrency' to the target.",
    "The value of property 'EwsMaxConcurrency' exceeds the quota.",
    "The throttling policy 'NoThrottlingPolicy' already exists.",
    "You have exceeded the maximum number of connections allowed : 18",   # not the anchored sentence
    "the maximum of 18 concurrent shells",
])
def test_texts_that_only_mention_throttling_are_not_throttling(text):
    # The same texts at the transport: a fault that is not a quota is at most an ordinary transient fault ...
    fault = transport(PypsrpWSManFaultError(RUNSPACE_LIMIT_CODE, "ex01", text, None, None, None))
    assert isinstance(fault, errors.Transient) and not isinstance(fault, errors.Throttled)
    # ... and an exception nobody knows is never retried at all.
    unknown = transport(Exception(text))
    assert unknown.__class__ is errors.XPhoneError
    assert text in unknown.message


# -- transport faults: the rest -----------------------------------------------------------------------------------
def test_shell_lost_by_code_and_by_text():
    by_code = transport(PypsrpWSManFaultError(errors.SHELL_NOT_FOUND_CODE, "ex01", "gone", None, None, None))
    assert by_code.__class__ is errors.ShellLost
    lost = transport(WSManFaultError(SHELL_NOT_FOUND))
    assert lost.__class__ is errors.ShellLost and SHELL_NOT_FOUND in lost.message


@pytest.mark.parametrize("err", [
    AuthenticationError("Failed to authenticate the user admin with ntlm"),
    InvalidCredentialsError("the specified credentials were rejected by the server"),
    PypsrpAuthenticationError("Failed to authenticate the user admin with ntlm"),
    WinRMTransportError("401 Unauthorized", 401),
])
def test_rejected_logon_is_authentication_failed(err):
    classified = transport(err)
    assert classified.__class__ is errors.AuthenticationFailed and classified.unreachable


def test_authentication_wins_over_a_quota_text():
    assert transport(AuthenticationError(SHELLS_WINRM)).__class__ is errors.AuthenticationFailed


def test_404_and_missing_resource_uri_are_configuration_errors():
    not_found = transport(PypsrpWinRMTransportError("http", 404, "Not Found"))
    assert not_found.__class__ is errors.ConfigurationError
    assert "404" in not_found.message and "connection_uri" in not_found.message and ENDPOINT in not_found.message
    uri = transport(PypsrpWSManFaultError(errors.RESOURCE_URI_NOT_FOUND_CODE, "ex01",
                                          "The WS-Management service cannot process the request. The resource URI "
                                          "(http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found",
                                          None, None, None))
    assert uri.__class__ is errors.ConfigurationError and "not the expected PowerShell endpoint" in uri.message
    assert not not_found.unreachable and not isinstance(not_found, errors.Transient)


def test_tls_failure_is_unreachable_with_the_ca_cert_hint():
    fake = transport(SSLError("certificate verify failed"))
    real = transport(requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.SSLError(ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")))))
    for err in (fake, real):
        assert err.__class__ is errors.Unreachable and err.unreachable
        assert err.message.startswith("The TLS connection to %s failed" % ENDPOINT)
        assert err.message.endswith(TLS_HINT)
    # OpenSSL's reason, not urllib3's wrapping of it.
    assert "the server's certificate is not trusted (self-signed certificate)." in real.message
    assert "MaxRetryError" not in real.message and "CERTIFICATE_VERIFY_FAILED" not in real.message
    assert "ca_cert" not in transport(SSLError("x"), tls_hint="").message


def test_tls_reason_names_what_is_wrong_with_the_certificate():
    assert errors.tls_reason("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
                             "(_ssl.c:1006)") == "the server's certificate is not trusted (self-signed certificate)"
    assert errors.tls_reason("certificate verify failed: unable to get local issuer certificate') ") == (
        "the server's certificate is not trusted (unable to get local issuer certificate)")
    mismatch = "certificate verify failed: IP address mismatch, certificate is not valid for '127.0.0.1'. (_ssl.c:1006)"
    assert errors.tls_reason(mismatch) == ("the server's certificate was issued for another name "
                                           "(IP address mismatch, certificate is not valid for '127.0.0.1')")
    assert errors.tls_reason("EOF occurred in violation of protocol") == "EOF occurred in violation of protocol"


def test_connection_refused_is_unreachable():
    fake = transport(ConnectionRefusedError("[Errno 111] Connection refused"))
    real = transport(requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: "
                                                                         "[Errno 111] Connection refused"))))
    for err in (fake, real):
        assert err.__class__ is errors.Unreachable
        assert err.message.startswith("Cannot connect to %s" % ENDPOINT)


def test_a_dropped_connection_is_transient_not_unreachable():
    fake = transport(RemoteDisconnected("Remote end closed connection without response"))
    real = transport(requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", http.client.RemoteDisconnected("Remote end closed connection without response"))))
    reset = transport(requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))))
    for err in (fake, real, reset):
        assert err.__class__ is errors.Transient
        assert err.message.startswith("The connection to %s was dropped" % ENDPOINT)
        assert "Cannot connect" not in err.message and "Cannot talk" not in err.message


def test_a_reset_under_max_retries_is_still_transient():
    # urllib3 wraps a reset in MaxRetryError when it has a retry budget (pypsrp mounts one): still not "cannot connect".
    err = transport(requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(
        None, "/PowerShell", urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))))
    assert err.__class__ is errors.Transient


def test_read_timeout_is_transient():
    for raw in (ReadTimeout("Read timed out. (read timeout=30)"),
                requests.exceptions.ReadTimeout(urllib3.exceptions.ReadTimeoutError(None, "/PowerShell", "Read timed out."))):
        err = transport(raw)
        assert err.__class__ is errors.NoAnswer and "did not answer in time" in err.message
        assert isinstance(err, errors.Transient)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_transient(code):
    err = transport(PypsrpWinRMTransportError("http", code, "trouble"))
    assert err.__class__ is errors.Transient and "server error" in err.message and "trouble" in err.message


def test_operation_timeout_and_other_faults_are_transient():
    timed_out = transport(PypsrpWSManFaultError(errors.OPERATION_TIMEOUT_CODE, "ex01", "timed out", None, None, None))
    assert timed_out.__class__ is errors.Transient
    other = transport(PypsrpWSManFaultError(2150858752, "ex01", "internal error", None, None, None))
    assert other.__class__ is errors.Transient and "answered with a fault" in other.message


def test_unknown_failure_is_not_retryable():
    err = transport(ValueError("something odd"))
    assert err.__class__ is errors.XPhoneError and "something odd" in err.message
    assert not isinstance(err, errors.Transient) and not err.unreachable


# -- real exceptions from the real clients, against loopback sockets ----------------------------------------------
class LoopbackServer(object):
    """Accepts HTTP requests on 127.0.0.1 and answers each in one way: close, reset, hang, or an HTTP status."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                conn.recv(65536)
                if self.mode == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif self.mode == "hang":
                    time.sleep(1.5)
                elif self.mode != "close":
                    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\ntrouble" % self.mode)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.sock.close()


def real_failure(mode, ssl_=False):
    """The exception pypsrp's HTTP transport raises for ``mode`` (as the session would see it)."""
    if mode == "refused":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        server = None
    else:
        server = LoopbackServer(mode)
        port = server.port
    wsman = WSMan("127.0.0.1", port=port, ssl=ssl_, auth="basic", username="u", password="Pw-1", operation_timeout=0,
                  connection_timeout=2, read_timeout=0.3, cert_validation=False, encryption="auto" if ssl_ else "never")
    try:
        wsman.transport.send(b"<x/>")
    except Exception as err:  # pylint: disable=broad-except
        return err
    finally:
        if server:
            server.close()
    raise AssertionError("no failure for %s" % mode)


@pytest.mark.parametrize("mode, ssl_, expected, words", [
    ("close", False, errors.Transient, "was dropped"),
    ("reset", False, errors.Transient, "was dropped"),
    ("hang", False, errors.NoAnswer, "did not answer in time"),
    (500, False, errors.Transient, "server error"),
    (503, False, errors.Transient, "server error"),
    (404, False, errors.ConfigurationError, "404 Not Found"),
    (401, False, errors.AuthenticationFailed, "Failed to authenticate"),
    ("refused", False, errors.Unreachable, "Cannot connect"),
    ("close", True, errors.Unreachable, "The TLS connection"),
], ids=["close", "reset", "hang", "500", "503", "404", "401", "refused", "tls"])
def test_real_client_failures(mode, ssl_, expected, words):
    err = transport(real_failure(mode, ssl_))
    assert err.__class__ is expected, err.message
    assert words in err.message


# -- the family -------------------------------------------------------------------------------------------------
def test_only_logon_and_reachability_end_the_host():
    ending = set(cls for cls in errors._CLASSES.values() if cls.unreachable)  # pylint: disable=protected-access
    assert ending == {errors.AuthenticationFailed, errors.Unreachable}
    assert not errors.InvalidInput("x", "y").unreachable


def test_retryable_kinds():
    assert issubclass(errors.Throttled, errors.Transient) and issubclass(errors.ShellLost, errors.Transient)
    for cls in (errors.ReplyLost, errors.CmdletFailed, errors.NotFound, errors.AuthorizationFailed,
                errors.AuthenticationFailed, errors.Unreachable, errors.ConfigurationError):
        assert not issubclass(cls, errors.Transient), cls


@pytest.mark.parametrize("err", [
    errors.InvalidInput("domain_controller", "'dc 01' is not a valid host name", "Set-RemoteDomain"),
    errors.NotFound("object 'fax' couldn't be found", "Get-RemoteDomain"),
    errors.CmdletFailed("Set-RemoteDomain failed: no", "Set-RemoteDomain"),
    errors.AuthorizationFailed("not allowed"),
    errors.AuthenticationFailed("rejected"),
    errors.Unreachable("refused"),
    errors.Transient("dropped"),
    errors.Throttled("quota"),
    errors.ShellLost("lost"),
    errors.ReplyLost("reply lost", "New-RemoteDomain"),
    errors.ConfigurationError("no password"),
    errors.XPhoneError("odd"),
])
def test_as_dict_round_trip(err):
    back = errors.from_dict(err.as_dict())
    assert back.__class__ is err.__class__
    assert (back.message, back.cmdlet, str(back), back.unreachable) == (err.message, err.cmdlet, str(err), err.unreachable)
    if isinstance(err, errors.InvalidInput):
        assert (back.option, back.reason) == ("domain_controller", "'dc 01' is not a valid host name")


def test_unknown_type_becomes_the_base_error():
    back = errors.from_dict(dict(type="SomethingNew", message="text"))
    assert back.__class__ is errors.XPhoneError and back.message == "text"


# -- scrubbing ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["S3cr3t!pw", "p@ss w0rd/+", "Lab-Admin-2019!", "Grüße&=%"])
def test_scrub_removes_plain_and_url_encoded_secret(secret):
    text = "user=admin password=%s url=https://x/?p=%s form=%s" % (secret, quote(secret, safe=""), quote_plus(secret))
    out = errors.scrub(text, [secret, None, ""])
    assert secret not in out
    assert quote(secret, safe="") not in out and quote_plus(secret) not in out
    assert out.count(errors.SECRET_MASK) == 3
    assert out.startswith("user=admin password=")


def test_scrub_leaves_text_without_secrets():
    assert errors.scrub("nothing here", ["hunter22"]) == "nothing here"


def test_scrub_with_an_empty_secret_leaves_the_text_unchanged():
    text = "Set-RemoteDomain failed: the value '' is not valid"
    assert errors.scrub(text, [""]) == text
    assert errors.scrub(text, [None, ""]) == text
    assert errors.scrub(text, []) == text and errors.scrub(None, ["x"]) is None

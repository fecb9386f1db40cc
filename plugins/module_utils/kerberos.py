# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kerberos as the controller's libraries report it, in the words of the person who configured it.

A Kerberos logon can fail at three places, and each needs a different fix:

- the **KDC** refuses the user (wrong password, unknown principal, locked account, clock skew) or does not
  know the server's SPN (connected by IP address, SPN missing): MIT's texts, raised by the ``krb5`` and
  ``gssapi`` libraries under pyspnego, before anything reaches the server;
- the **controller** has no usable credentials (no ticket cache, an expired ticket, no KDC for the realm);
- the **server** refuses a ticket the KDC issued (its clock is off, or its key is stale or belongs to another
  account): an HTTP 401 after the handshake.

``classify`` turns the texts (the MIT krb5 texts, which the Heimdal and Windows libraries share for these
errors) into ``AuthenticationFailed`` (the user's credentials; the host is reported unreachable) or
``ConfigurationError`` (the controller's or the directory's set-up). Neither is retried: every attempt
would count against the account's lockout threshold or fail the same way.
"""

from __future__ import annotations

import re

from ansible_collections.xphone.connect.plugins.module_utils.connection import host_variable, is_ip_address, upn_realm
from ansible_collections.xphone.connect.plugins.module_utils.errors import AuthenticationFailed, ConfigurationError

# The SPN service class each client library asks for when none is given: pypsrp's WSMan (the collection's
# client for Exchange's /PowerShell and for psrp hosts) uses host/; pywinrm (winrm hosts' /wsman) uses HTTP/.
# Ansible's psrp connection plugin sets WSMAN/ itself, and its value arrives through the host's settings.
DEFAULT_SERVICE = {"psrp": "host", "winrm": "HTTP"}

_PREAUTH = re.compile(r"Preauthentication failed")
_CLIENT_UNKNOWN = re.compile(r"Client '([^']*)' not found in Kerberos database")
_NO_KDC = re.compile(r"Cannot find KDC for realm \"([^\"]*)\"")
_SERVER_UNKNOWN = re.compile(r"Server (\S+) not found in Kerberos database")
_NO_CACHE = re.compile(r"No Kerberos credentials available(?: \(default cache: ([^)]*)\))?")
_NOT_IN_CACHE = re.compile(r"Can't find client principal (\S+) in cache collection")
_EXPIRED = re.compile(r"Ticket expired")
_SKEW = re.compile(r"Clock skew too great")
_REVOKED = re.compile(r"[Cc]lient's credentials have been revoked")
_PASSWORD_EXPIRED = re.compile(r"Password has expired")
_SERVER_REFUSED = re.compile(r"Failed to authenticate the user .* with (kerberos|negotiate)")


def service_of(settings):
    """The SPN service class this connection asks the KDC for."""
    return settings.negotiate_service or DEFAULT_SERVICE.get(getattr(settings, "transport", "psrp"), "host")


def spn_of(settings):
    return "%s/%s" % (service_of(settings), settings.negotiate_hostname_override or settings.server)


def _where(settings, psrp_name, winrm_name, option):
    return host_variable(getattr(settings, "transport", "psrp"), psrp_name, winrm_name, option)


def kerberos_intended(settings):
    """Whether the user's settings say Kerberos although ``auth`` is ``negotiate`` (which may fall back to NTLM)."""
    if settings.auth == "kerberos":
        return True
    if settings.auth != "negotiate":
        return False
    if settings.negotiate_hostname_override or settings.negotiate_service or not settings.password:
        return True
    realm = upn_realm(settings.username)
    return bool(realm) and realm == realm.upper() and any(c.isalpha() for c in realm)


def fallback_warning(settings, negotiated):
    """The warning for ``negotiate`` that ended in NTLM where the settings asked for Kerberos (else None)."""
    if settings.auth != "negotiate" or str(negotiated or "").lower() != "ntlm" or not kerberos_intended(settings):
        return None
    why = ("the server was addressed by its IP address (%s), which has no SPN" % settings.server
           if is_ip_address(settings.negotiate_hostname_override or settings.server)
           else "the KDC could not give a ticket for %s" % spn_of(settings))
    return ("auth negotiate fell back to NTLM for %s although the settings ask for Kerberos: %s. NTLM works until the "
            "domain disables it. Set %s to the server's FQDN, fix the SPN, or set auth to kerberos to make this an "
            "error." % (settings.url, why, _where(settings, "ansible_psrp_negotiate_hostname_override",
                                                  "ansible_winrm_kerberos_hostname_override",
                                                  "negotiate_hostname_override")))


def classify(text, settings, negotiated=None):
    """A Kerberos failure (``text`` scrubbed) as AuthenticationFailed or ConfigurationError, or None if it is not one."""
    user = settings.username or "the user of the ticket cache"
    source = settings.credential_source()
    url = settings.url
    not_again = "The logon was not tried again for this host in this run."
    match = _PREAUTH.search(text)
    if match:
        return AuthenticationFailed(
            "The KDC rejected the password of %s (given by %s) for %s: Kerberos pre-authentication failed. Fix the "
            "password there. %s KDC said: %s" % (user, source, url, not_again, text))
    match = _REVOKED.search(text)
    if match:
        return AuthenticationFailed(
            "The KDC refused %s (given by %s): the account is locked out or disabled in Active Directory (\"Client's "
            "credentials have been revoked\"). Unlock or enable it (Unlock-ADAccount, Enable-ADAccount) and check "
            "why it was locked. %s KDC said: %s" % (user, source, not_again, text))
    match = _PASSWORD_EXPIRED.search(text)
    if match:
        return AuthenticationFailed(
            "The password of %s (given by %s) has expired in Active Directory: set a new one, then update it there. "
            "%s KDC said: %s" % (user, source, not_again, text))
    match = _CLIENT_UNKNOWN.search(text)
    if match:
        return AuthenticationFailed(
            "The KDC does not know the user %s (given by %s; Kerberos asked for %s). Give the account as user@REALM: "
            "its sAMAccountName or UPN prefix, then the domain's DNS name in upper case (for example "
            "Administrator@ALLEO.INTERN); DOMAIN\\user is not a Kerberos name. %s KDC said: %s"
            % (user, source, match.group(1), not_again, text))
    match = _NO_KDC.search(text)
    if match:
        realm = match.group(1)
        if realm != realm.upper():
            return ConfigurationError(
                "Kerberos realms are upper case: the user name %s (given by %s) names the realm %s, which has no KDC. "
                "Write it as %s@%s. KDC lookup said: %s" % (user, source, realm, (settings.username or "user").rsplit("@", 1)[0],
                                                            realm.upper(), text))
        return ConfigurationError(
            "The controller knows no KDC for the realm %s: add it to the controller's krb5.conf ([realms] %s = "
            "{ kdc = dc01.example } or dns_lookup_kdc = true; KRB5_CONFIG names another file), or check the realm in "
            "the user name %s (given by %s). Said: %s" % (realm, realm, user, source, text))
    match = _SERVER_UNKNOWN.search(text)
    if match:
        spn = match.group(1)
        host = spn.split("/", 1)[-1].split("@", 1)[0]
        if is_ip_address(host):
            where = _where(settings, "ansible_psrp_negotiate_hostname_override", "ansible_winrm_kerberos_hostname_override",
                           "negotiate_hostname_override")
            hint = ("the server was addressed by its IP address, and an IP address has no SPN: set %s to the server's "
                    "FQDN, or connect by name" % where)
        else:
            where = _where(settings, "ansible_psrp_negotiate_service", "ansible_winrm_service", "negotiate_service")
            hint = ("register it on the server's computer account (setspn -S %s <computer>), or ask for a service "
                    "class it has: %s is %s here; WSMAN, HTTP and host are the usual ones"
                    % (spn.split("@", 1)[0], where, service_of(settings)))
        return ConfigurationError("The KDC has no service principal %s for %s: %s. KDC said: %s" % (spn, url, hint, text))
    match = _NOT_IN_CACHE.search(text)
    if match:
        return ConfigurationError(
            "No password for %s (given by %s) and no ticket for %s in the controller's Kerberos ticket cache: run "
            "kinit %s on the controller (as the user that runs ansible-playbook; KRB5CCNAME names the cache), or give "
            "the password. Said: %s" % (user, source, match.group(1), match.group(1), text))
    match = _NO_CACHE.search(text)
    if match:
        cache = match.group(1)
        return ConfigurationError(
            "No user name and no Kerberos ticket for %s: the controller's ticket cache%s is empty. Run kinit "
            "user@REALM on the controller as the user that runs ansible-playbook (KRB5CCNAME names the cache), or "
            "set the host's ansible_user and ansible_password. Said: %s"
            % (url, " (%s)" % cache if cache else "", text))
    match = _EXPIRED.search(text)
    if match:
        return AuthenticationFailed(
            "The Kerberos ticket of %s in the controller's ticket cache has expired: renew it (kinit, or kinit -R "
            "within its renewable life) and run again. %s Said: %s" % (user, not_again, text))
    match = _SKEW.search(text)
    if match:
        return ConfigurationError(
            "The controller's clock differs from the KDC's by more than Kerberos allows (5 minutes by default): "
            "synchronise the controller's time (NTP, chrony) with the domain. Said: %s" % text)
    match = _SERVER_REFUSED.search(text)
    if match and (settings.auth == "kerberos" or str(negotiated or "").lower() == "kerberos"):
        return AuthenticationFailed(
            "%s refused the Kerberos ticket that the KDC issued for %s to %s (HTTP 401; the KDC accepted the "
            "password). The server could not accept the ticket: its clock is off by more than 5 minutes, or its key "
            "for %s is stale or belongs to another account (a computer-account password changed, or a duplicate SPN: "
            "setspn -X). %s Said: %s" % (url, user, spn_of(settings), spn_of(settings), not_again, text))
    return None

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection options of every module that talks to Exchange's /PowerShell endpoint.
    DOCUMENTATION = r'''
options:
  connection_uri:
    description:
      - Full URL of Exchange's remote PowerShell endpoint, for example V(https://ex01.alleo.intern/PowerShell).
      - Overrides O(connection_server), O(connection_port) and O(protocol).
      - Can also be set with the E(XPHONE_EXCHANGE_CONNECTION_URI) environment variable.
    type: str
  connection_server:
    description:
      - Exchange server to connect to (its FQDN for Kerberos; never a load-balanced name).
      - Defaults to the address of the host the task runs for (C(ansible_host) or its psrp/winrm C(remote_addr)).
      - Can also be set with E(XPHONE_EXCHANGE_CONNECTION_SERVER) or E(XPHONE_EXCHANGE_SERVER).
      - Named C(connection_server) so that it does not clash with the C(server) option of modules that
        manage an object on a server.
    type: str
  connection_port:
    description:
      - TCP port of the endpoint. Defaults to V(443) for V(https) and V(80) for V(http).
      - "The host's WinRM port (5985/5986) is never used: Exchange's /PowerShell endpoint is served by IIS."
      - Can also be set with E(XPHONE_EXCHANGE_CONNECTION_PORT) or E(XPHONE_EXCHANGE_PORT).
    type: int
  protocol:
    description:
      - V(http) or V(https). Defaults to the scheme of the host's psrp/winrm connection, else V(https).
      - Over V(http), pypsrp encrypts every message (Kerberos, NTLM, Negotiate or CredSSP only).
      - Can also be set with E(XPHONE_EXCHANGE_PROTOCOL).
    type: str
    choices: [http, https]
  username:
    description:
      - Account that runs the Exchange cmdlets. For Kerberos as V(user@ALLEO.INTERN), the realm in upper case;
        V(ALLEO\\user) works with V(ntlm) only and is refused with O(auth=kerberos).
      - Defaults to E(XPHONE_EXCHANGE_USERNAME), then the host's C(ansible_user).
      - With O(auth=kerberos) or V(negotiate), leave it unset to log on with the controller's Kerberos ticket cache
        (C(kinit) as the user that runs C(ansible-playbook); E(KRB5CCNAME) names the cache).
    type: str
  password:
    description:
      - Password of O(username). Never logged, and removed from every error message.
      - Defaults to E(XPHONE_EXCHANGE_PASSWORD), then the host's C(ansible_password).
      - With O(auth=kerberos) or V(negotiate) and a user principal name, it may be left unset when the ticket cache
        holds a ticket for that user.
    type: str
  auth:
    description:
      - Authentication protocol. Exchange on-premises supports V(kerberos) (and V(negotiate), which picks it).
      - V(negotiate) falls back to NTLM without a word where Kerberos is not possible (an IP address, a missing SPN);
        the module then warns when the settings ask for Kerberos (a hostname override, a service, a ticket-cache
        logon, or a user as V(user@REALM)). V(kerberos) makes the same situation an error.
      - Defaults to E(XPHONE_EXCHANGE_AUTH), the host's psrp C(auth) or winrm C(transport), else V(negotiate).
    type: str
    choices: [negotiate, kerberos, ntlm, basic, credssp, certificate]
  validate_certs:
    description:
      - Whether to validate the server's TLS certificate. V(false) is accepted with a warning.
      - Defaults to E(XPHONE_EXCHANGE_VALIDATE_CERTS), then the host's C(cert_validation) or
        C(ansible_winrm_server_cert_validation), else V(true).
    type: bool
  ca_cert:
    description:
      - CA bundle (PEM) used to validate the server certificate instead of the system store.
    type: path
  certificate_pem:
    description:
      - Client certificate (PEM) for O(auth=certificate).
    type: path
  certificate_key_pem:
    description:
      - Private key (PEM) of O(certificate_pem).
    type: path
  negotiate_service:
    description:
      - Service part of the Kerberos SPN (C(<service>/<server>)).
      - Defaults to the host's C(ansible_psrp_negotiate_service) (whose own default is V(WSMAN), so a psrp host
        asks for C(WSMAN/<server>)) or C(ansible_winrm_service); without either, pypsrp asks for C(host/<server>).
      - A Windows computer account has C(HOST/) (which also covers C(HTTP/)) and C(WSMAN/) SPNs by default.
    type: str
  negotiate_hostname_override:
    description:
      - Host name used to build the Kerberos SPN instead of O(connection_server).
      - Required for Kerberos when O(connection_server) is an IP address (an address has no SPN); the module refuses
        that combination before connecting. Defaults to the host's C(ansible_psrp_negotiate_hostname_override) or
        C(ansible_winrm_kerberos_hostname_override).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection to the endpoint. Default V(30).
      - Named C(connect_timeout) so that it does not clash with the receive connector option C(connection_timeout).
    type: int
  operation_timeout:
    description:
      - WS-Management operation timeout in seconds. Default V(20).
    type: int
  domain_controller:
    description:
      - Domain controller that every cmdlet reads from and writes to (C(-DomainController)).
      - Pinning one avoids reading an object before it has replicated.
    type: str
requirements:
  - pypsrp >= 0.9 on the controller
notes:
  - "The task runs on the controller and talks to Exchange directly; the host's own Ansible connection is never
    opened. Use C(gather_facts: false) for Exchange hosts."
  - "Connection settings are taken, in this order, from the module options (including C(module_defaults) for
    C(group/xphone.connect.exchange)), E(XPHONE_EXCHANGE_*) environment variables, the host's psrp/winrm
    connection settings, and the host's C(ansible_host)/C(ansible_user)/C(ansible_password)."
'''

    # Support levels of the Exchange modules for the attributes that ansible.builtin.action_common_attributes
    # (and its ACTIONGROUPS, CONN and FLOW parts) describe.
    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: windows
  action_group:
    support: full
    membership:
      - xphone.connect.exchange
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  become:
    support: none
    details: The module runs on the controller and acts on Exchange as the account it connects with; C(become) is
      ignored with a warning.
  connection:
    support: partial
    details: The host's own connection is never opened; its psrp/winrm settings (address, user, password,
      authentication, certificate validation) are read to connect to Exchange's /PowerShell endpoint. One session per
      host is kept for the whole play by the C(xphone.connect.remoting) persistent connection.
  delegation:
    support: none
    details: C(delegate_to) does not change where the module runs (always the controller) or which Exchange server it
      talks to (the task's host, or O(connection_uri)).
'''

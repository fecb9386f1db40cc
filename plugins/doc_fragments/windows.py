# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection options of every module that talks to a Windows host's /wsman endpoint
    # (module_utils/connection.py WINDOWS_CONNECTION_ARGUMENT_SPEC).
    DOCUMENTATION = r'''
options:
  connection_uri:
    description:
      - Full URL of the host's WS-Management endpoint, for example V(https://xphone01.alleo.intern:5986/wsman).
      - Overrides O(connection_server), O(connection_port) and O(protocol).
      - Can also be set with the E(XPHONE_WINDOWS_CONNECTION_URI) environment variable.
    type: str
  connection_server:
    description:
      - Windows host to connect to (its FQDN for Kerberos).
      - Defaults to the address of the host the task runs for (C(ansible_host) or its psrp/winrm C(remote_addr)).
      - Can also be set with E(XPHONE_WINDOWS_CONNECTION_SERVER) or E(XPHONE_WINDOWS_SERVER).
    type: str
  connection_port:
    description:
      - TCP port of the WinRM listener.
      - Defaults to the host's own psrp/winrm port (C(ansible_port)), else V(5986) for V(https) and V(5985) for V(http).
      - Can also be set with E(XPHONE_WINDOWS_CONNECTION_PORT) or E(XPHONE_WINDOWS_PORT).
    type: int
  protocol:
    description:
      - V(http) or V(https). Defaults to the scheme of the host's psrp/winrm connection; without one, V(http) on
        port 5985 and V(https) on any other port, as Ansible's psrp and winrm connections do.
      - Over V(http), every message is encrypted (Kerberos, NTLM, Negotiate or CredSSP only).
      - Can also be set with E(XPHONE_WINDOWS_PROTOCOL).
    type: str
    choices: [http, https]
  transport:
    description:
      - The client library, and with it the wire. V(psrp) (pypsrp) runs each cmdlet as a pipeline of a
        PowerShell Remoting session; V(winrm) (pywinrm) runs the collection's fixed runner script in a WinRS shell.
      - Defaults to the host's C(ansible_connection) (V(psrp) or V(winrm)), else V(psrp).
      - This is not the authentication method that C(ansible_winrm_transport) names; that is O(auth).
      - Can also be set with E(XPHONE_WINDOWS_TRANSPORT).
    type: str
    choices: [psrp, winrm]
  username:
    description:
      - Account that runs the cmdlets on the host. For Kerberos as V(user@ALLEO.INTERN), the realm in upper case;
        V(ALLEO\\user) works with V(ntlm) only and is refused with O(auth=kerberos).
      - Defaults to E(XPHONE_WINDOWS_USERNAME), then the host's C(ansible_user).
      - Over O(transport=psrp) with O(auth=kerberos) or V(negotiate), leave it unset to log on with the controller's
        Kerberos ticket cache (C(kinit)).
    type: str
  password:
    description:
      - Password of O(username). Never logged, and removed from every error message and result.
      - Defaults to E(XPHONE_WINDOWS_PASSWORD), then the host's C(ansible_password).
    type: str
  auth:
    description:
      - Authentication protocol. Over O(transport=winrm), V(negotiate) means V(ntlm) (pywinrm does not negotiate).
      - Over O(transport=winrm), V(kerberos) needs the C(pykerberos) library and a ticket from C(kinit), because
        pywinrm takes no password for Kerberos.
      - Defaults to E(XPHONE_WINDOWS_AUTH), the host's psrp C(auth) or winrm C(transport), else V(negotiate).
    type: str
    choices: [negotiate, kerberos, ntlm, basic, credssp, certificate]
  validate_certs:
    description:
      - Whether to validate the host's TLS certificate. V(false) is accepted with a warning.
      - Defaults to E(XPHONE_WINDOWS_VALIDATE_CERTS), then the host's C(cert_validation) or
        C(ansible_winrm_server_cert_validation), else V(true).
    type: bool
  ca_cert:
    description:
      - CA bundle (PEM) used to validate the host's certificate instead of the system store.
      - Defaults to the host's C(ansible_psrp_ca_cert) or C(ansible_winrm_ca_trust_path).
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
      - Service part of the Kerberos SPN (C(<service>/<host>)).
      - Defaults to the host's C(ansible_psrp_negotiate_service) (whose own default is V(WSMAN)) or
        C(ansible_winrm_service); without either, pypsrp (O(transport=psrp)) asks for C(host/<host>) and pywinrm
        (O(transport=winrm)) for C(HTTP/<host>).
    type: str
  negotiate_hostname_override:
    description:
      - Host name used to build the Kerberos SPN instead of O(connection_server).
      - Required for Kerberos when O(connection_server) is an IP address; the module refuses that combination before
        connecting. Defaults to the host's C(ansible_psrp_negotiate_hostname_override) or
        C(ansible_winrm_kerberos_hostname_override).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection and for the first answer of the host. Default V(30).
    type: int
  operation_timeout:
    description:
      - WS-Management operation timeout in seconds. Default V(20).
    type: int
requirements:
  - pypsrp >= 0.9 on the controller for O(transport=psrp)
  - pywinrm >= 0.5 on the controller for O(transport=winrm)
notes:
  - "The task runs on the controller and talks to the host's WS-Management endpoint directly; the host's own
    Ansible connection is never opened. Use C(gather_facts: false) for these hosts."
  - "Connection settings are taken, in this order, from the module options (including C(module_defaults) for
    C(group/xphone.connect.windows)), E(XPHONE_WINDOWS_*) environment variables, the host's psrp/winrm
    connection settings (including its port), and the host's C(ansible_host)/C(ansible_port)/C(ansible_user)/
    C(ansible_password)."
  - "Transient faults (HTTP 5xx, a dropped connection, WinRM throttling, a lost shell) are retried with a bounded,
    jittered backoff for reads; a change whose reply was lost is never sent again, it is read back instead."
'''

    # Support levels of the Windows modules for the attributes that ansible.builtin.action_common_attributes
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
      - xphone.connect.windows
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  become:
    support: none
    details: The module runs on the controller and acts on the host as the account it connects with; C(become) is
      ignored with a warning.
  connection:
    support: partial
    details: The host's own connection is never opened; its psrp/winrm settings (address, port, user, password,
      authentication, certificate validation) are read to connect to its /wsman endpoint, over psrp or winrm as
      C(ansible_connection) says. One session per host is kept for the whole play by the C(xphone.connect.remoting)
      persistent connection.
  delegation:
    support: none
    details: C(delegate_to) does not change where the module runs (always the controller) or which host it talks to
      (the task's host, or O(connection_uri)).
'''

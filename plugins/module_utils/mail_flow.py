# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mail_flow_plan: the mail_flow role's variables checked and turned into the objects it manages, read-only.

Everything the role would write is derived here first, so that a bad value fails before any task changes
anything: the XPhone server's address (Python's ``ipaddress``; a host name is accepted for the smart host),
the UM domain, the service names (case-insensitive, as Exchange compares names), the ports, and the relay
binding (IPv6 for an IPv6 address). Then the send connectors and remote domains of the organisation are read
to find what the role set up earlier for services that are no longer listed, and whether the relay receive
connector is still needed by services that stay.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

ARGUMENT_SPEC = dict(
    server_address=dict(type="str", required=True),
    um_domain=dict(type="str", required=True),
    um_services=dict(type="list", elements="raw", required=True),
    smart_host_ports=dict(type="dict", default={}),
    smart_host_port=dict(type="raw", default=25),
    receive_connector_port=dict(type="raw", default=2500),
    send_connector_prefix=dict(type="str", default="XPhone "),
    remote_domain_prefix=dict(type="str", default=""),
    unlisted=dict(type="str", default="keep", choices=["keep", "remove"]),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def address_kind(value):
    """``ipv4``, ``ipv6``, ``fqdn`` (a DNS name of two or more labels, the last not all digits) or ``invalid``."""
    text = str(value or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return "ipv%d" % ipaddress.ip_address(text).version
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if len(name) <= 253 and _DOMAIN.match(name) and not name.rsplit(".", 1)[-1].isdigit():
        return "fqdn"
    return "invalid"


def port_number(option, value, minimum=1):
    """A TCP port given as a number (or digits), ``minimum``-65535."""
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise InvalidInput(option, "%r is not a TCP port (a number from %d to 65535)" % (value, minimum))
    number = int(str(value).strip())
    if not minimum <= number <= 65535:
        raise InvalidInput(option, "%d is not a TCP port (a number from %d to 65535)" % (number, minimum))
    return number


def services(value):
    """The service names, lower-case, in order, each once; a name that is no DNS label is refused."""
    if isinstance(value, (str, bytes, dict)) or not value:
        raise InvalidInput("um_services", "must be a non-empty list of UM service names such as [fax, sms]; got %r" % (value,))
    out = []
    for item in value:
        name = str(item).strip().lower()
        if not _LABEL.match(name):
            raise InvalidInput("um_services", "%r is not a DNS label (letters, digits and inner hyphens, at most 63 "
                                              "characters): each service name becomes the first label of its mail domain"
                                              % (item,))
        if name not in out:
            out.append(name)
    return out


def ports(value):
    """The per-service port table with lower-case service names; two spellings of one service are refused."""
    out = {}
    for key, port in (value or {}).items():
        name = str(key).strip().lower()
        if name in out:
            raise InvalidInput("smart_host_ports", "lists service %s twice (%s); service names are case-insensitive"
                                                   % (name, ", ".join(sorted(str(k) for k in value if str(k).strip().lower() == name))))
        out[name] = port_number("smart_host_ports", port)
    return out


def plan(params):
    """The role's objects as the variables describe them, without reading Exchange; raises InvalidInput."""
    address = str(params.get("server_address") or "").strip()
    kind = address_kind(address)
    if kind == "invalid":
        raise InvalidInput("server_address", "%r is neither an IP address nor a fully qualified host name (such as "
                                             "192.168.10.25, 2001:db8::25 or xphone01.alleo.intern)" % (address,))
    if address.startswith("["):
        address = address[1:-1]
    domain = str(params.get("um_domain") or "").strip().lower().rstrip(".")
    if address_kind(domain) != "fqdn":
        raise InvalidInput("um_domain", "%r is not a DNS domain with at least two labels such as alleo.intern"
                                        % (params.get("um_domain"),))
    names = services(params.get("um_services"))
    table = ports(params.get("smart_host_ports"))
    fallback = port_number("smart_host_port", params.get("smart_host_port"))
    relay_port = port_number("receive_connector_port", params.get("receive_connector_port"))
    warnings = []
    entries = []
    for name in names:
        if name not in table and params.get("state") != "absent":
            warnings.append("UM service %s has no entry in mail_flow_smart_host_ports, so its send connector delivers to "
                            "port %d (mail_flow_smart_host_port). Add %s: <port> with the port that service listens on "
                            "(XPhone Connect Server Manager, System settings > UM)." % (name, fallback, name))
        entries.append(dict(name=name, domain="%s.%s" % (name, domain), port=table.get(name, fallback),
                            send_connector="%s%s" % (params.get("send_connector_prefix") or "", name),
                            remote_domain="%s%s" % (params.get("remote_domain_prefix") or "", name)))
    ip = kind in ("ipv4", "ipv6")
    binding = "[::]:%d" % relay_port if kind == "ipv6" else "0.0.0.0:%d" % relay_port
    return dict(address=address, address_kind=kind, domain=domain, services=entries, bindings=[binding],
                remote_ip_ranges=[address] if ip else [], warnings=warnings)


def _integration_label(connector, domain, prefix, address):
    """The service a send connector serves for this integration (its one address-space label under the UM domain,
    when it is named with the prefix or routes to the XPhone server), or None."""
    spaces = c.MultiValued().items(connector.get("AddressSpaces"))
    labels = set()
    for space in spaces:
        text = str(space)
        match = re.match(r"^(smtp:)?([^;]+)(;\d+)?$", text, re.IGNORECASE)
        host = (match.group(2) if match else text).strip().lower().rstrip(".")
        if not host.endswith("." + domain) or "." in host[:-len(domain) - 1]:
            return None
        labels.add(host[:-len(domain) - 1])
    if len(labels) != 1:
        return None
    named = prefix and str(connector.get("Name") or "").lower().startswith(prefix.lower())
    hosts = [c.smart_host_key(h) for h in c.MultiValued().items(connector.get("SmartHosts"))]
    routed = c.smart_host_key(address) in hosts
    return labels.pop() if named or routed else None


def run(session, params, check_mode=False, diff_mode=False):
    del check_mode, diff_mode  # read-only
    result = plan(params)
    listed = dict((s["name"], s) for s in result["services"])
    absent = params.get("state") == "absent"
    domains = session.invoke("Get-RemoteDomain")
    found = []
    for connector in session.invoke("Get-SendConnector"):
        label = _integration_label(connector, result["domain"], params.get("send_connector_prefix"), result["address"])
        if label is None:
            continue
        covering = next((str(d.get("Name")) for d in domains
                         if str(d.get("DomainName") or "").lower() == "%s.%s" % (label, result["domain"])), None)
        found.append(dict(name=label, domain="%s.%s" % (label, result["domain"]), send_connector=str(connector.get("Name")),
                          remote_domain=covering))
    found.sort(key=lambda f: (f["name"], f["send_connector"].lower()))
    unlisted = [f for f in found if f["name"] not in listed]
    if unlisted and not absent:
        what = ", ".join("%s (send connector %r%s)" % (
            f["name"], f["send_connector"], ", remote domain %r" % f["remote_domain"] if f["remote_domain"] else "")
            for f in unlisted)
        if params.get("unlisted") == "remove":
            result["warnings"].append("UM services no longer in xphone_um_services are removed "
                                      "(mail_flow_unlisted_services: remove): %s" % what)
        else:
            result["warnings"].append("UM services no longer in xphone_um_services are left as they are and no longer "
                                      "managed: %s. Set mail_flow_unlisted_services: remove to remove them, or list "
                                      "them again." % what)
    # The relay receive connector serves every service: removing some services keeps it while others remain.
    remaining = [f["name"] for f in found if not (absent and f["name"] in listed)]
    if not absent:
        remaining = sorted(set(remaining) | set(listed))
    result["unlisted"] = unlisted if params.get("unlisted") == "remove" and not absent else []
    result["kept_unlisted"] = unlisted if params.get("unlisted") != "remove" and not absent else []
    result["remaining_services"] = sorted(set(remaining))
    result["relay_needed"] = bool(remaining)
    result["changed"] = False
    warnings = result.pop("warnings")
    if warnings:
        result["warnings"] = warnings
    return result

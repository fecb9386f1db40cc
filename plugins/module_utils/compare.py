# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed normalisers for Exchange values, so that equal values compare equal the way Exchange stores them.

Each ``Kind`` turns a user value into the parameter value sent to a cmdlet (``to_param``, which also
validates), and both user and Exchange values into a comparable key (``key``). Exchange returns many
values as display strings (``25 MB (26,214,400 bytes)``, ``SMTP:fax.alleo.intern;1``, ``[10.0.0.5]``);
the keys make those equal to what a user writes.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

UNLIMITED = "unlimited"

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(r"^(?:\*\.)?%s(?:\.%s)*\.?$" % (_LABEL, _LABEL))
_FQDN_RE = re.compile(r"^%s(?:\.%s)*\.?$" % (_LABEL, _LABEL))
_TIMESPAN_RE = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?$")
_SIZE_RE = re.compile(r"^\s*([\d.,]+)\s*([KMGT]?B|bytes?|(?:kilo|mega|giga|tera)bytes?)?\s*(?:\(([\d,.]+) bytes\))?\s*$", re.I)
_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}
_SIZE_WORDS = {"byte": "B", "kilo": "KB", "mega": "MB", "giga": "GB", "tera": "TB"}
_SPAN_WORDS_RE = re.compile(r"^(\d+)\s*(second|minute|hour|day)s?$", re.I)
_SPAN_WORDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_INT_RE = re.compile(r"^\s*(-?[\d,]+)\s*(?:percent|%)?\s*$", re.I)
_NAME_FORBIDDEN = re.compile(r"[\\/*?\"<>|\x00-\x1f]")


def _text(value):
    """Exchange objects arrive as their display string; lists of one may arrive for scalars."""
    if value is None:
        return None
    return str(value).strip()


def validate_name(option, value, max_length=64):
    """Names Exchange stores as an AD common name: at most 64 characters, no path or wildcard characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(option, "must be a non-empty string")
    if value != value.strip():
        raise InvalidInput(option, "must not start or end with white space (Exchange trims it, so the name would never match)")
    if len(value) > max_length:
        raise InvalidInput(option, "is %d characters long; Exchange allows at most %d" % (len(value), max_length))
    bad = _NAME_FORBIDDEN.search(value)
    if bad:
        raise InvalidInput(option, "contains %r, which Exchange does not accept in a name" % bad.group(0))
    return value


def validate_domain(option, value, allow_wildcard=True, allow_star=False):
    """An SMTP domain such as ``fax.alleo.intern`` (``*.alleo.intern`` with subdomains; ``*`` for Default)."""
    text = _text(value)
    if allow_star and text == "*":
        return text
    if not text or len(text) > 255 or not _DOMAIN_RE.match(text) or (text.startswith("*.") and not allow_wildcard):
        raise InvalidInput(option, "%r is not a valid SMTP domain (expected e.g. fax.alleo.intern)" % (value,))
    return text.rstrip(".")


def validate_fqdn(option, value):
    text = _text(value)
    if not text or len(text) > 255 or not _FQDN_RE.match(text):
        raise InvalidInput(option, "%r is not a valid host name" % (value,))
    return text.rstrip(".")


class Kind(object):
    """A scalar compared as text, exactly."""

    name = "str"

    def to_param(self, option, value):
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidInput(option, "must be a string")
        return str(value)

    def key(self, value):
        return _text(value)

    def show(self, value):
        """How a value is shown in differences and diffs (JSON-friendly)."""
        return value if value is None or isinstance(value, (bool, int, str)) else _text(value)


class IText(Kind):
    """Text Exchange compares case-insensitively (names, host names, enum names)."""

    name = "istr"

    def key(self, value):
        text = _text(value)
        return text.lower() if text is not None else None


class NullableText(Kind):
    """A string where the empty string and $null mean the same (Comment, Banner)."""

    name = "text"

    def key(self, value):
        text = _text(value)
        return text or None

    def to_param(self, option, value):
        if value is None or value == "":
            return None
        return Kind.to_param(self, option, value)


class Uri(NullableText):
    """An absolute http(s) URL (OwaServerUrl); empty or null clears it."""

    name = "uri"

    def to_param(self, option, value):
        text = NullableText.to_param(self, option, value)
        if text is not None and not re.match(r"^https?://[^/\s]+(/\S*)?$", text, re.IGNORECASE):
            raise InvalidInput(option, "%r is not an http(s) URL such as https://mail.alleo.intern/owa" % (value,))
        return text

    def key(self, value):
        text = NullableText.key(self, value)
        return text.lower().rstrip("/") if text else None


class Fqdn(IText):
    name = "fqdn"

    def to_param(self, option, value):
        if value is None or value == "":
            return None
        return validate_fqdn(option, value)

    def key(self, value):
        text = IText.key(self, value)
        return text.rstrip(".") if text else None


class Choice(IText):
    """An enum: the user may write any case; the canonical spelling is sent."""

    name = "enum"

    def __init__(self, choices):
        self.choices = tuple(choices)

    def to_param(self, option, value):
        for choice in self.choices:
            if str(value).lower() == choice.lower():
                return choice
        raise InvalidInput(option, "%r is not one of %s" % (value, ", ".join(self.choices)))


class Flags(Choice):
    """A [Flags] enum such as PermissionGroups or AuthMechanism: a set of names, shown comma-separated by Exchange."""

    name = "flags"

    def to_param(self, option, value):
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        out = []
        for item in items:
            canonical = Choice.to_param(self, option, str(item).strip())
            if canonical not in out:
                out.append(canonical)
        if len(out) > 1 and "None" in out:
            out.remove("None")
        return ", ".join(out)

    def key(self, value):
        if value is None:
            return frozenset(["none"])
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        names = frozenset(str(i).strip().lower() for i in items if str(i).strip())
        return (names - frozenset(["none"])) or frozenset(["none"])

    def show(self, value):
        if value is None:
            return None
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        return [str(i).strip() for i in items if str(i).strip()]


class Bool(Kind):
    name = "bool"

    def to_param(self, option, value):
        if isinstance(value, bool):
            return value
        raise InvalidInput(option, "must be true or false")

    def key(self, value):
        if isinstance(value, bool) or value is None:
            return value
        text = str(value).strip().lower().lstrip("$")
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        return text


class TriState(Bool):
    """TNEFEnabled: true, false, or $null ("unset": follow the sender's format)."""

    name = "tristate"

    def to_param(self, option, value):
        text = str(value).lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        if text in ("unset", "none", "null", "$null"):
            return None
        raise InvalidInput(option, "must be true, false or unset")

    def show(self, value):
        key = self.key(value)
        return "unset" if key is None else key


class Int(Kind):
    name = "int"

    def __init__(self, minimum=None, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def to_param(self, option, value):
        try:
            number = int(str(value).strip().replace(",", ""))
        except (TypeError, ValueError):
            raise InvalidInput(option, "%r is not an integer" % (value,))
        if self.minimum is not None and number < self.minimum or self.maximum is not None and number > self.maximum:
            raise InvalidInput(option, "%d is outside the range %s to %s" % (number, self.minimum, self.maximum))
        return number

    def key(self, value):
        if value is None:
            return None
        if isinstance(value, bool):
            return _text(value)
        match = _INT_RE.match(str(value))
        return int(match.group(1).replace(",", "")) if match else _text(value)


class Unlimited(Int):
    """``Unlimited<int>``: a number or ``unlimited`` (any case)."""

    name = "unlimited"

    def to_param(self, option, value):
        if str(value).strip().lower() == UNLIMITED:
            return "Unlimited"
        return Int.to_param(self, option, value)

    def key(self, value):
        if value is None or str(value).strip().lower() == UNLIMITED:
            return UNLIMITED
        return Int.key(self, value)

    def show(self, value):
        key = self.key(value)
        return "unlimited" if key == UNLIMITED else key


def parse_size(value):
    """Bytes from ``26214400``, ``25MB``, ``25 MB`` or Exchange's ``25 MB (26,214,400 bytes)``."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(value)
    if match.group(3):
        return int(match.group(3).replace(",", "").split(".")[0])
    number = float(match.group(1).replace(",", ""))
    unit = (match.group(2) or "B").lower()
    unit = next((v for k, v in _SIZE_WORDS.items() if unit.startswith(k)), unit.upper())
    return int(round(number * _SIZE_UNITS[unit]))


class Size(Kind):
    """ByteQuantifiedSize, optionally ``Unlimited``; sent as a byte count, compared in bytes."""

    name = "size"

    def __init__(self, unlimited=True, minimum=None, maximum=None):
        self.unlimited = unlimited
        self.minimum = minimum
        self.maximum = maximum

    def to_param(self, option, value):
        if self.unlimited and str(value).strip().lower() == UNLIMITED:
            return "Unlimited"
        try:
            size = parse_size(value)
        except ValueError:
            raise InvalidInput(option, "%r is not a size (use bytes, e.g. 26214400, or '25MB'%s)"
                               % (value, ", or unlimited" if self.unlimited else ""))
        if self.minimum is not None and size < self.minimum or self.maximum is not None and size > self.maximum:
            raise InvalidInput(option, "%d bytes is outside the range %s to %s bytes" % (size, self.minimum, self.maximum))
        # An integer binds like PowerShell's 25MB literal: a byte count.
        return size

    def key(self, value):
        if value is None or str(value).strip().lower() == UNLIMITED:
            return UNLIMITED
        try:
            return parse_size(value)
        except ValueError:
            return _text(value)

    def show(self, value):
        return self.key(value)


def parse_timespan(value):
    """Seconds from ``[d.]hh:mm:ss`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    # Also accepted as input in the words the Exchange docs use ("5 seconds"; "ten minutes" is not parsed).
    words = _SPAN_WORDS_RE.match(text)
    if words:
        return int(words.group(1)) * _SPAN_WORDS[words.group(2).lower()]
    match = _TIMESPAN_RE.match(text)
    if not match:
        raise ValueError(value)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError(value)
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def format_timespan(seconds):
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = "%02d:%02d:%02d" % (hours, minutes, secs)
    return "%d.%s" % (days, text) if days else text


class TimeSpan(Kind):
    name = "timespan"

    def __init__(self, minimum=None, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def to_param(self, option, value):
        try:
            seconds = parse_timespan(value)
        except ValueError:
            raise InvalidInput(option, "%r is not a time span (use hh:mm:ss, d.hh:mm:ss or seconds)" % (value,))
        if self.minimum is not None and seconds < self.minimum or self.maximum is not None and seconds > self.maximum:
            raise InvalidInput(option, "%s is outside the range %s to %s" % (
                format_timespan(seconds), format_timespan(self.minimum or 0), format_timespan(self.maximum or 0)))
        return format_timespan(seconds)

    def key(self, value):
        if value is None:
            return None
        try:
            return parse_timespan(value)
        except ValueError:
            return _text(value)

    def show(self, value):
        key = self.key(value)
        return format_timespan(key) if isinstance(key, int) else key


# --- multi-valued items ------------------------------------------------------------------------

def normalize_address_space(option, value):
    """``fax.alleo.intern`` -> ``SMTP:fax.alleo.intern;1``; type and cost are kept when given."""
    text = _text(value)
    if not text:
        raise InvalidInput(option, "an address space must not be empty")
    kind, rest = "SMTP", text
    match = re.match(r"^([A-Za-z][A-Za-z0-9-]*):(.*)$", text)
    if match:
        kind, rest = match.group(1), match.group(2)
    cost = 1
    if ";" in rest:
        rest, cost_text = rest.rsplit(";", 1)
        if not cost_text.strip().isdigit() or not 1 <= int(cost_text) <= 100:
            raise InvalidInput(option, "%r: the cost after ';' must be a number from 1 to 100" % (value,))
        cost = int(cost_text)
    if kind.upper() == "SMTP":
        kind = "SMTP"
        rest = "*" if rest.strip() == "*" else validate_domain(option, rest.strip())
    elif not rest.strip():
        raise InvalidInput(option, "%r has no address after the type" % (value,))
    return "%s:%s;%d" % (kind, rest.strip(), cost)


def address_space_key(value):
    try:
        text = normalize_address_space("address_spaces", value)
    except InvalidInput:
        return _text(value).lower()
    return text.lower()


def normalize_smart_host(option, value):
    text = _text(value)
    if text and text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    return validate_fqdn(option, text)


def smart_host_key(value):
    try:
        return normalize_smart_host("smart_hosts", value).lower()
    except InvalidInput:
        return _text(value).lower()


def parse_binding(option, value):
    """``0.0.0.0:2500`` or ``[::]:25`` -> (ip_address, port)."""
    text = _text(value) or ""
    match = re.match(r"^\[([0-9A-Fa-f:.]+)\]:(\d+)$", text) or re.match(r"^([0-9.]+):(\d+)$", text)
    if not match:
        raise InvalidInput(option, "%r is not a binding (expected address:port, e.g. 0.0.0.0:2500 or [::]:25)" % (value,))
    try:
        address = ipaddress.ip_address(match.group(1))
    except ValueError:
        raise InvalidInput(option, "%r: %s is not an IP address" % (value, match.group(1)))
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        raise InvalidInput(option, "%r: port %d is outside 1-65535" % (value, port))
    return address, port


def format_binding(address, port):
    return "[%s]:%d" % (address, port) if address.version == 6 else "%s:%d" % (address, port)


def normalize_binding(option, value):
    return format_binding(*parse_binding(option, value))


def binding_key(value):
    try:
        return normalize_binding("bindings", value)
    except InvalidInput:
        return _text(value).lower()


def parse_ip_range(option, value):
    """A single address, CIDR or ``a-b`` range -> (version, first, last) as integers."""
    text = (_text(value) or "").replace(" ", "")
    try:
        if "-" in text:
            first_text, last_text = text.split("-", 1)
            first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
            if first.version != last.version:
                raise ValueError("mixed IPv4 and IPv6")
            if int(last) < int(first):
                raise ValueError("the range ends before it starts")
            return first.version, int(first), int(last)
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            return network.version, int(network.network_address), int(network.broadcast_address)
        address = ipaddress.ip_address(text)
        return address.version, int(address), int(address)
    except ValueError as err:
        raise InvalidInput(option, "%r is not an IP address, CIDR block or a-b range (%s)" % (value, err))


def format_ip_range(version, first, last):
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    if first == last:
        return str(cls(first))
    size = last - first + 1
    if size & (size - 1) == 0 and first % size == 0:
        bits = 32 if version == 4 else 128
        return "%s/%d" % (cls(first), bits - size.bit_length() + 1)
    return "%s-%s" % (cls(first), cls(last))


def normalize_ip_range(option, value):
    return format_ip_range(*parse_ip_range(option, value))


def ip_range_key(value):
    try:
        return parse_ip_range("remote_ip_ranges", value)
    except InvalidInput:
        return _text(value).lower()


def ip_range_size(value):
    _version, first, last = parse_ip_range("remote_ip_ranges", value)
    return last - first + 1


def ranges_overlap(left, right):
    return left[0] == right[0] and left[1] <= right[2] and right[1] <= left[2]


class MultiValued(Kind):
    """A MultiValuedProperty compared as a set; options take a list (= set) or {add, remove, set}."""

    name = "list"

    def __init__(self, normalize=None, item_key=None, item_validator=None):
        self._normalize = normalize or (lambda option, v: Kind().to_param(option, v))
        self._item_key = item_key or (lambda v: _text(v).lower())
        self._item_validator = item_validator

    def items(self, value):
        if value is None:
            return []
        if isinstance(value, (list, tuple, set, frozenset)):
            return [v for v in value if v is not None and _text(v) != ""]
        return [value]

    def normalize_items(self, option, values):
        out, seen = [], set()
        for value in self.items(values):
            normalized = self._normalize(option, value)
            if self._item_validator:
                self._item_validator(option, normalized)
            key = self._item_key(normalized)
            if key not in seen:
                seen.add(key)
                out.append(normalized)
        return out

    def resolve(self, option, value, current):
        """The list the object should end up with, from a list or an add/remove/set dict."""
        if isinstance(value, dict):
            unknown = set(value) - {"add", "remove", "set"}
            if unknown:
                raise InvalidInput(option, "unknown key(s) %s; use add, remove or set" % ", ".join(sorted(unknown)))
            if "set" in value and value["set"] is not None:
                if value.get("add") or value.get("remove"):
                    raise InvalidInput(option, "'set' cannot be combined with 'add' or 'remove'")
                return self.normalize_items(option, value["set"])
            add = self.normalize_items(option, value.get("add"))
            remove_keys = set(self._item_key(v) for v in self.normalize_items(option, value.get("remove")))
            result = [v for v in self.items(current) if self._item_key(v) not in remove_keys]
            keys = set(self._item_key(v) for v in result)
            for item in add:
                if self._item_key(item) not in keys and self._item_key(item) not in remove_keys:
                    result.append(item)
                    keys.add(self._item_key(item))
            return result
        if isinstance(value, (list, tuple)) or isinstance(value, str):
            return self.normalize_items(option, value)
        raise InvalidInput(option, "must be a list, or a dict with add, remove or set")

    def to_param(self, option, value):
        return self.normalize_items(option, value)

    def key(self, value):
        return frozenset(self._item_key(v) for v in self.items(value))

    def show(self, value):
        return [_text(v) for v in self.items(value)]


def address_spaces():
    return MultiValued(normalize_address_space, address_space_key)


def smart_hosts():
    return MultiValued(normalize_smart_host, smart_host_key)


def bindings():
    return MultiValued(normalize_binding, binding_key)


def ip_ranges():
    return MultiValued(normalize_ip_range, ip_range_key)


def names():
    return MultiValued(lambda option, v: validate_name(option, _text(v), max_length=256), lambda v: _text(v).lower())


class Domain(IText):
    """SmtpDomainWithSubdomains (TlsDomain, DomainName): ``alleo.intern`` or ``*.alleo.intern``.

    ``allow_star``: ``*`` alone, which only the Default remote domain has.
    """

    name = "domain"

    def __init__(self, allow_star=False):
        self.allow_star = allow_star

    def to_param(self, option, value):
        if value is None or value == "":
            return None
        return validate_domain(option, value, allow_star=self.allow_star)

    def key(self, value):
        text = IText.key(self, value)
        return text.rstrip(".") if text else None


class IPAddress(IText):
    name = "ip"

    def to_param(self, option, value):
        if value is None or value == "":
            return None
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            raise InvalidInput(option, "%r is not an IP address" % (value,))

    def key(self, value):
        text = _text(value)
        if not text:
            return None
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return text.lower()

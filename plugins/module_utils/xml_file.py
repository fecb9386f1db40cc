# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""windows_xml_file: set an element's attribute or text in an XML file on a Windows host, keeping everything else.

The file is read as bytes over the host's /wsman (Get-Content -Encoding Byte -Raw), edited on the controller with
lxml (comments, layout, declaration and encoding kept, a UTF-8 byte order mark kept when there was one), and written
back only when it changed: a backup copy first (Copy-Item), the new bytes to a temporary file next to it
(Set-Content -Encoding Byte), then moved over the original (Move-Item -Force), so that a reader never sees half a file.
A file that is not well-formed XML is reported and left untouched.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.xphone.connect.plugins.module_utils.connection import WINDOWS_CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.windows_session import host_name
from ansible_collections.xphone.connect.plugins.module_utils.errors import ConfigurationError, InvalidInput, XPhoneError

ENDPOINT = "windows"
_PATH = re.compile(r"^[A-Za-z]:\\[^\x00<>\"|?*]+$")
# A path of plain steps, each optionally with [@attr='value'] predicates: what can be created when missing.
_STEP = re.compile(r"^([A-Za-z_][\w.-]*)((?:\[@[A-Za-z_][\w.-]*='[^']*'\])*)$")
_PRED = re.compile(r"\[@([A-Za-z_][\w.-]*)='([^']*)'\]")

ARGUMENT_SPEC = dict(
    path=dict(type="str", required=True),
    xpath=dict(type="str", required=True),
    attribute=dict(type="str"),
    value=dict(type="str", required=True),
    create=dict(type="bool", default=True),
    backup=dict(type="bool", default=True),
)
ARGUMENT_SPEC.update(WINDOWS_CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def _lxml():
    try:
        from lxml import etree  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise ConfigurationError("The lxml Python library is required on the controller for windows_xml_file "
                                 "(pip install -r requirements.txt).")
    return etree


def normalize_path(value):
    text = str(value or "").strip().replace("/", "\\")
    if not _PATH.match(text):
        raise InvalidInput("path", "%r is not an absolute Windows file path such as C:\\Program Files\\App\\app.config" % (value,))
    return text


def _steps(xpath):
    if not xpath.startswith("/") or xpath.startswith("//"):
        return None
    steps = []
    for part in xpath[1:].split("/"):
        match = _STEP.match(part)
        if not match:
            return None
        steps.append((match.group(1), _PRED.findall(match.group(2))))
    return steps


def _escape(text, quote='"'):
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace(quote, "&quot;" if quote == '"' else "&apos;")


def _parse(etree, data):
    try:
        return etree.ElementTree(etree.fromstring(data, etree.XMLParser(remove_blank_text=False)))
    except etree.XMLSyntaxError as err:
        raise InvalidInput("path", "the file is not well-formed XML (%s); it was left untouched" % err)


def _select(etree, tree, xpath):
    try:
        found = tree.xpath(xpath)
    except etree.XPathError as err:
        raise InvalidInput("xpath", "%r is not an XPath expression: %s" % (xpath, err))
    if not isinstance(found, list) or any(not isinstance(f, etree._Element) for f in found):  # pylint: disable=protected-access
        raise InvalidInput("xpath", "%r must select elements" % xpath)
    if len(found) > 1:
        raise InvalidInput("xpath", "%r matches %d elements; make it select one" % (xpath, len(found)))
    return found[0] if found else None


def _start_tag(text, element):
    """(start, end) of the element's start tag in ``text``: the first ``<tag`` at or after its source line."""
    offset = 0
    for _line in range(element.sourceline - 1):
        offset = text.index("\n", offset) + 1
    match = re.compile(r"<%s(?=[\s/>])[^>]*>" % re.escape(element.tag)).search(text, offset)
    return match.start(), match.end()


def edit(data, xpath, attribute, value, create=True):
    """The file's new bytes (the same bytes when nothing changes) and the value before.

    The change is made in the file's own text - the one attribute value or element text, or one new line for a
    created element - so that everything else (comments, layout, quoting, the declaration, a byte order mark, line
    ends) stays byte for byte; lxml finds the element and checks the result."""
    etree = _lxml()
    bom = data.startswith(b"\xef\xbb\xbf")
    raw = data[3:] if bom else data
    tree = _parse(etree, raw)
    encoding = tree.docinfo.encoding or "utf-8"
    text = raw.decode(encoding)
    element = _select(etree, tree, xpath)
    if element is None:
        if not create:
            raise InvalidInput("xpath", "%r matches nothing in the file (create is false)" % xpath)
        before, text = None, _insert(etree, tree, text, xpath, attribute, value)
    else:
        before = element.get(attribute) if attribute else element.text
        if before == value:
            return data, before
        start, end = _start_tag(text, element)
        tag = text[start:end]
        if attribute:
            found = re.search(r"(\s%s\s*=\s*)([\"'])(.*?)\2" % re.escape(attribute), tag, re.S)
            if found:
                quote = found.group(2)
                tag = tag[:found.start(3)] + _escape(value, quote) + tag[found.end(3):]
            else:
                close = len(tag) - (2 if tag.endswith("/>") else 1)
                tag = tag[:close].rstrip() + ' %s="%s"' % (attribute, _escape(value)) + (" " if tag.endswith(" />") else "") + tag[close:]
            text = text[:start] + tag + text[end:]
        elif tag.endswith("/>"):
            text = text[:start] + tag[:-2].rstrip() + ">" + _escape(value, "\x00") + "</%s>" % element.tag + text[end:]
        else:
            closing = text.index("</%s" % element.tag, end)
            text = text[:end] + _escape(value, "\x00") + text[closing:]
    new = text.encode(encoding)
    check = _select(etree, _parse(etree, new), xpath)
    if check is None or (check.get(attribute) if attribute else check.text) != value:
        raise InvalidInput("xpath", "%r could not be changed in place in this file's layout; it was left untouched" % xpath)
    return (b"\xef\xbb\xbf" + new) if bom else new, before


def _insert(etree, tree, text, xpath, attribute, value):
    """``text`` with the element ``xpath`` names added as the last child of its parent, on a line of its own."""
    steps = _steps(xpath)
    if not steps or len(steps) < 2:
        raise InvalidInput("xpath", "%r matches nothing, and only a path of plain steps from the root element (such as "
                                    "/configuration/appSettings/add[@key='ProtocolLog']) can be created" % xpath)
    parent_path = "/" + "/".join(tag + "".join("[@%s='%s']" % p for p in preds) for tag, preds in steps[:-1])
    parent = _select(etree, tree, parent_path)
    if parent is None:
        raise InvalidInput("xpath", "%r matches nothing and its parent %s is missing too; only the last step is created"
                           % (xpath, parent_path))
    tag, preds = steps[-1]
    attrs = "".join(' %s="%s"' % (k, _escape(v)) for k, v in preds)
    if attribute:
        element = "<%s%s %s=\"%s\" />" % (tag, attrs, attribute, _escape(value))
    else:
        element = "<%s%s>%s</%s>" % (tag, attrs, _escape(value, "\x00"), tag)
    newline = "\r\n" if "\r\n" in text else "\n"
    start, end = _start_tag(text, parent)
    line_start = text.rfind("\n", 0, start) + 1
    indent = re.match(r"[ \t]*", text[line_start:]).group(0)
    if text[start:end].endswith("/>"):
        head = text[start:end][:-2].rstrip() + ">"
        return text[:start] + head + newline + indent + "  " + element + newline + indent + "</%s>" % parent.tag + text[end:]
    closing = text.index("</%s" % parent.tag, end)
    closing_line = text.rfind("\n", 0, closing) + 1
    if text[closing_line:closing].strip():
        return text[:closing] + newline + indent + "  " + element + newline + indent + text[closing:]
    return text[:closing_line] + indent + "  " + element + newline + text[closing_line:]


def run(session, params, check_mode=False, diff_mode=False):
    path = normalize_path(params["path"])
    xpath = str(params["xpath"])
    attribute = params.get("attribute") or None
    value = str(params["value"])
    found = session.invoke("Test-Path", [("Path", path), ("PathType", "Leaf")])
    if not (found and found[0]):
        raise InvalidInput("path", "%s does not exist on the host" % path)
    raw = session.invoke("Get-Content", [("Path", path), ("Encoding", "Byte"), ("Raw", True)])
    data = bytes(bytearray(raw[0] if raw and isinstance(raw[0], list) else raw))
    new, before = edit(data, xpath, attribute, value, params.get("create", True))
    label = "%s in %s on %s" % (xpath + ("/@" + attribute if attribute else ""), path,
                                host_name(session))
    result = dict(changed=new != data, path=path, xpath=xpath, attribute=attribute, before=before, value=value,
                  object=label, backup_file=None,
                  differences=[] if new == data else [dict(option="value", parameter=xpath, before=before, after=value)])
    if new != data and not check_mode:
        if params.get("backup", True):
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            result["backup_file"] = "%s.%s.bak" % (path, stamp)
            session.invoke("Copy-Item", [("Path", path), ("Destination", result["backup_file"])])
        temporary = path + ".xphone-new"
        try:
            session.invoke("Set-Content", [("Path", temporary), ("Encoding", "Byte"), ("Value", bytearray(new))])
            session.invoke("Move-Item", [("Path", temporary), ("Destination", path), ("Force", True)])
        except XPhoneError:
            session.invoke("Remove-Item", [("Path", temporary)], not_found_ok=True)
            raise
    if result["changed"] and "\\microsoft\\exchange server\\" in path.lower():
        # Microsoft: customisations in web.config or exe.config files are server-specific and lost at the next CU.
        session.warnings.append("%s belongs to Exchange's installation: the next cumulative update replaces it and this "
                                "change is lost, so run this task again after every CU (for IMAP4 protocol logging, "
                                "Set-ImapSettings -ProtocolLogEnabled is the supported way and survives updates)" % path)
    if diff_mode:
        result["diff"] = dict(before=_text(data), after=_text(new), before_header="%s on %s" % (path, label.rsplit(" on ", 1)[-1]),
                              after_header="%s on %s" % (path, label.rsplit(" on ", 1)[-1]))
    if session.warnings:
        result["warnings"] = list(session.warnings)
    return result


def _text(data):
    return data.lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")

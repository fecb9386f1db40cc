"""windows_xml_file against the lab over the real clients: the vendor document's ProtocolLog key in the IMAP4 exe.config,
every other byte kept, a backup, written through a temporary file, idempotent; a broken file left untouched."""

from __future__ import annotations

import base64

import pytest

CONFIG = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\ClientAccess\\PopImap\\Microsoft.Exchange.Imap4.exe.config"
XPATH = "/configuration/appSettings/add[@key='ProtocolLog']"


def files(handle, host="EX01"):
    return handle.state()["hosts"][host]["files"]


def content(handle, path=CONFIG, host="EX01"):
    return base64.b64decode(files(handle, host)[path.lower()]["data"])


def test_protocol_log_the_vendor_way(shared_labs, module_runner):
    handle = shared_labs("xml")
    handle.reset()
    original = content(handle)
    assert original.startswith(b"\xef\xbb\xbf") and b'key="ProtocolLog" value="false"' in original
    run = module_runner(handle, "windows_xml_file")
    result = run(path=CONFIG, xpath=XPATH, attribute="value", value="true")
    assert result["changed"] is True and result["before"] == "false", result
    assert any("cumulative update replaces it" in w for w in result["warnings"])
    after = content(handle)
    assert after == original.replace(b'key="ProtocolLog" value="false"', b'key="ProtocolLog" value="true"')
    assert content(handle, result["backup_file"]) == original
    assert not any(p.endswith(".xphone-new") for p in files(handle))
    writes = [a["cmdlet"] for a in handle.audit() if a["cmdlet"] in ("Copy-Item", "Set-Content", "Move-Item")]
    assert writes == ["Copy-Item", "Set-Content", "Move-Item"]
    again = run(path=CONFIG, xpath=XPATH, attribute="value", value="true")
    assert again["changed"] is False and content(handle) == after


def test_a_new_key_on_a_line_of_its_own(shared_labs, module_runner):
    handle = shared_labs("xml")
    handle.reset()
    run = module_runner(handle, "windows_xml_file")
    result = run(path=CONFIG, xpath="/configuration/appSettings/add[@key='XPhone']", attribute="value", value="a&b",
                 backup=False)
    assert result["changed"] is True and result["before"] is None and result.get("backup_file") is None
    assert b'    <add key="XPhone" value="a&amp;b" />\r\n  </appSettings>' in content(handle)


def test_a_broken_file_is_left_untouched(shared_labs, module_runner):
    handle = shared_labs("xml")
    handle.reset()
    with handle.lab.store.write() as data:
        entry = data["hosts"]["EX01"]["files"][CONFIG.lower()]
        entry["data"] = base64.b64encode(base64.b64decode(entry["data"]).replace(b"</appSettings>", b"")).decode()
    broken = content(handle)
    result = module_runner(handle, "windows_xml_file")(path=CONFIG, xpath=XPATH, attribute="value", value="true")
    assert result.get("failed") and "not well-formed XML" in result["msg"] and "left untouched" in result["msg"]
    assert content(handle) == broken and len(files(handle)) == len(files(handle))


@pytest.mark.parametrize("args, option, words", [
    (dict(path="relative\\file.xml", xpath=XPATH, value="x"), "path", "not an absolute Windows file path"),
    (dict(path="C:\\nowhere\\x.config", xpath=XPATH, value="x"), "path", "does not exist"),
    (dict(path=CONFIG, xpath="/configuration/appSettings/add", attribute="value", value="x"), "xpath", "matches 8 elements"),
    (dict(path=CONFIG, xpath="/configuration/nothing/here", value="x"), "xpath", "parent"),
    (dict(path=CONFIG, xpath="//[", value="x"), "xpath", "not an XPath expression"),
])
def test_bad_input_changes_nothing(shared_labs, module_runner, args, option, words):
    handle = shared_labs("xml")
    handle.reset()
    state = handle.state()
    result = module_runner(handle, "windows_xml_file")(**args)
    assert result.get("failed") and result.get("option") == option and words in result["msg"], result
    assert handle.state() == state

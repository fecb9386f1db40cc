# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.xphone.connect.plugins.module_utils import errors


@pytest.mark.parametrize("text, exc_type, expected", [
    ("The operation couldn't be performed because object 'fax' couldn't be found on 'dc01'.",
     "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException", errors.NotFound),
    ("something", "ManagementObjectNotFoundException", errors.NotFound),
    ("This user is allowed a maximum of 18 concurrent shells, which has been exceeded.", "", errors.Throttled),
    ("The maximum number of concurrent commands per shell has been exceeded. Retry the request later", "", errors.Throttled),
    ("The request for the Windows Remote Shell with ShellId X failed because the shell was not found on the server.",
     "", errors.ShellLost),
    ("The term 'New-SendConnector' is not recognized as the name of a cmdlet, function, script file, or operable program.",
     "System.Management.Automation.CommandNotFoundException", errors.AuthorizationFailed),
    ("Active Directory operation failed on dc01. This error is not retriable. Access is denied. INSUFF_ACCESS_RIGHTS", "",
     errors.AuthorizationFailed),
    ("Received a 401 response", "", errors.AuthenticationFailed),
    ("errorcode 0x80090322 occurred while using Kerberos authentication: An unknown security error occurred.", "",
     errors.AuthenticationFailed),
    ("A parameter cannot be found that matches parameter name 'Bogus'.", "ParameterBindingException", errors.CmdletFailed),
])
def test_classify(text, exc_type, expected):
    err = errors.classify(text, "Set-RemoteDomain", exc_type)
    assert type(err) is expected  # pylint: disable=unidiomatic-typecheck
    assert err.final is (expected not in (errors.Throttled, errors.ShellLost))


def test_shell_lost_by_code():
    assert isinstance(errors.classify("fault", code=errors.SHELL_NOT_FOUND_CODE), errors.ShellLost)


def test_authorization_message_names_the_missing_role():
    err = errors.classify("The term 'Set-RemoteDomain' is not recognized as the name of a cmdlet", "Set-RemoteDomain")
    assert "Set-RemoteDomain" in err.message and "Organization Management" in err.message


def test_spn_message_names_spn():
    err = errors.classify("0x80090322 An unknown security error occurred")
    assert "SPN" in err.message


@pytest.mark.parametrize("secret", ["S3cr3t!pw", "p@ss w0rd/+", "Lab-Admin-2019!"])
def test_scrub_removes_plain_and_url_encoded_secret(secret):
    from urllib.parse import quote
    text = "user=admin password=%s url=https://x/?p=%s" % (secret, quote(secret, safe=""))
    out = errors.scrub(text, [secret, None, ""])
    assert secret not in out
    assert quote(secret, safe="") not in out
    assert "********" in out


def test_scrub_leaves_text_without_secrets():
    assert errors.scrub("nothing here", ["hunter22"]) == "nothing here"

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `ansible-doc -t role` shows is what the role does: every default in meta/argument_specs.yml is the one in
defaults/main.yml, and every variable the role's defaults set is documented."""

from __future__ import annotations

import os

import pytest
import yaml

ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))), "roles")


def _roles():
    return sorted(r for r in os.listdir(ROLES) if os.path.isfile(os.path.join(ROLES, r, "meta", "argument_specs.yml")))


@pytest.mark.parametrize("role", _roles())
def test_argument_spec_defaults_are_the_real_defaults(role):
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml")) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    with open(os.path.join(ROLES, role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    undocumented = sorted(set(defaults) - set(options))
    assert undocumented == []
    wrong = dict((name, (options[name].get("default"), value)) for name, value in defaults.items()
                 if options[name].get("default") != value)
    assert wrong == {}
    # Documented defaults that the role does not set are only the shared variables it reads (xphone_*).
    assert sorted(n for n, o in options.items() if "default" in o and n not in defaults and not n.startswith("xphone_")) == []


def test_the_roles_are_found():
    assert "mail_flow" in _roles()

# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs xphone.connect.windows_xml_file in-process on the controller, over the host's /wsman."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import xml_file
from ansible_collections.xphone.connect.plugins.plugin_utils.action import XPhoneAction


class ActionModule(XPhoneAction):
    CORE = xml_file

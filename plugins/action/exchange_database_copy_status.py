# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs xphone.connect.exchange_database_copy_status in-process on the controller; the host's connection is never opened."""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import database_copies
from ansible_collections.xphone.connect.plugins.plugin_utils.action import XPhoneAction


class ActionModule(XPhoneAction):
    CORE = database_copies

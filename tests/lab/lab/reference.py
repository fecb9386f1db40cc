"""Read access to the cmdlet reference facts (tests/lab/reference/*.json), loaded once per process."""

from __future__ import annotations

import functools
import json
import os
import typing as t

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "reference")
FILES = {"exchange": "exchange-cmdlets.json", "windows": "windows-cmdlets.json"}


@functools.lru_cache(maxsize=None)
def load(reference: str) -> dict[str, t.Any]:
    with open(os.path.join(REFERENCE_DIR, FILES[reference]), encoding="utf-8") as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def _index(reference: str) -> dict[str, str]:
    return {name.lower(): name for name in load(reference)["cmdlets"]}


def cmdlet(reference: str, name: str) -> dict[str, t.Any] | None:
    """The facts of one cmdlet (case-insensitive name), or None when the reference does not list it."""
    canonical = _index(reference).get(name.lower())
    return load(reference)["cmdlets"][canonical] if canonical else None


def cmdlet_names(reference: str) -> list[str]:
    return sorted(load(reference)["cmdlets"])


def parameter(reference: str, cmdlet_name: str, parameter_name: str) -> dict[str, t.Any] | None:
    facts = cmdlet(reference, cmdlet_name)
    if not facts:
        return None
    for name, value in facts["parameters"].items():
        if name.lower() == parameter_name.lower():
            return value
    return None


def default_value(reference: str, cmdlet_name: str, parameter_name: str, context: str | None = None) -> t.Any:
    """The documented default as the doc writes it (``$true``, ``25 MB``...), by context when one matches."""
    facts = parameter(reference, cmdlet_name, parameter_name) or {}
    if context:
        for key, value in (facts.get("default_by_context") or {}).items():
            if context.lower() in key.lower():
                return value
    return facts.get("default")

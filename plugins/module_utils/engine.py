# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read/compare/write engine fed by a declarative property table per module.

A module describes each property once (``Prop``); the engine validates the user's values, compares
them with what the Get- cmdlet returned, and builds the New-/Set- parameters for only the
differences. ``changed`` comes from that comparison, never from cmdlet output.
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput

ALL_VERSIONS = ("2016", "2019")


class Prop(object):
    """One option of a module and the Exchange property behind it.

    ``new``/``set`` say which cmdlet accepts the parameter; ``versions`` the Exchange versions whose
    reference lists it; ``spec`` is the option's argument spec (generated from the kind when omitted).
    """

    def __init__(self, option, parameter, kind, new=True, set=True, versions=ALL_VERSIONS, spec=None, read_as=None):
        self.option = option
        self.parameter = parameter
        self.kind = kind
        self.new = new
        self.set = set  # pylint: disable=redefined-builtin
        self.versions = tuple(versions)
        self.read_as = read_as or parameter
        self._spec = spec

    @property
    def is_list(self):
        return isinstance(self.kind, compare.MultiValued)

    @property
    def spec(self):
        if self._spec is not None:
            return dict(self._spec)
        kind = self.kind
        if isinstance(kind, compare.TriState):
            return dict(type="raw")
        if isinstance(kind, compare.Bool):
            return dict(type="bool")
        if isinstance(kind, (compare.MultiValued, compare.Flags)):
            return dict(type="raw")
        if isinstance(kind, compare.Choice):
            return dict(type="str", choices=list(kind.choices))
        if isinstance(kind, (compare.Unlimited, compare.Size, compare.TimeSpan)):
            return dict(type="str")
        if isinstance(kind, compare.Int):
            return dict(type="int")
        return dict(type="str")


def argument_spec(table):
    return dict((prop.option, prop.spec) for prop in table)


class Difference(object):
    def __init__(self, prop, before, after, value):
        self.prop = prop
        self.before = before
        self.after = after
        self.value = value

    def as_dict(self):
        return dict(option=self.prop.option, parameter=self.prop.parameter, before=self.before, after=self.after)


def validate(table, params):
    """Check every given value before connecting; raises InvalidInput naming the option."""
    for prop in table:
        value = params.get(prop.option)
        if value is None:
            continue
        if prop.is_list:
            prop.kind.resolve(prop.option, value, [])
        else:
            prop.kind.to_param(prop.option, value)


def compute(table, params, current, version=None):
    """Differences between the wanted values and ``current`` (None when the object does not exist yet)."""
    differences = []
    for prop in table:
        value = params.get(prop.option)
        if value is None:
            continue
        if version and version not in prop.versions:
            raise InvalidInput(prop.option, "Exchange %s has no %s parameter" % (version, prop.parameter))
        if current is not None and not prop.set:
            # New-only parameters (Usage, Server) are not properties Exchange lets us change later.
            continue
        kind = prop.kind
        existing = None if current is None else current.get(prop.read_as)
        if prop.is_list:
            wanted = kind.resolve(prop.option, value, existing)
        else:
            wanted = kind.to_param(prop.option, value)
        if current is not None and kind.key(wanted) == kind.key(existing):
            continue
        differences.append(Difference(prop, None if current is None else kind.show(existing), kind.show(wanted), wanted))
    return differences


def snapshot(table, obj):
    """The object's table properties under option names, as shown in diffs."""
    if obj is None:
        return {}
    return dict((prop.option, prop.kind.show(obj.get(prop.read_as))) for prop in table if prop.read_as in obj)


def predict(table, obj, differences):
    after = snapshot(table, obj)
    for diff in differences:
        after[diff.prop.option] = diff.after
    return after


class Outcome(object):
    """What a module run found and did; ``result()`` is what the module returns."""

    def __init__(self, key):
        self.key = key
        # Survives reset(): a write made before the shell was lost still changed the object.
        self.wrote = False
        self.reset()

    def reset(self):
        self.changed = False
        self.differences = []
        self.before = {}
        self.after = {}
        self.obj = None
        self.extra = {}

    def write(self, session, cmdlet, parameters):
        """Run a changing cmdlet and remember that something was written."""
        self.wrote = True
        return session.invoke(cmdlet, parameters)

    def add(self, differences):
        for diff in differences:
            self.differences.append(diff.as_dict() if isinstance(diff, Difference) else diff)
        if differences:
            self.changed = True

    def result(self, diff_mode=False, warnings=None):
        out = dict(changed=self.changed or self.wrote, differences=self.differences)
        out[self.key] = self.obj
        out.update(self.extra)
        if diff_mode:
            out["diff"] = dict(before=self.before, after=self.after)
        if warnings:
            out["warnings"] = list(warnings)
        return out


def set_parameters(differences, on_create=False):
    """Parameters for the New- (``on_create``) or Set- cmdlet from the differences it may carry."""
    params = []
    for diff in differences:
        if (on_create and diff.prop.new) or (not on_create and diff.prop.set):
            params.append((diff.prop.parameter, diff.value))
    return params


def leftover_after_create(differences):
    """Differences New- cannot carry and a following Set- must."""
    return [d for d in differences if not d.prop.new and d.prop.set]

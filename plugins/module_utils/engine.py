# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one engine that owns an Exchange object's lifecycle.

A module declares its object once (``ObjectType``): how to find it, which cmdlets create, change and
remove it (or that it cannot be created or removed), its property table (``Prop``), the memberships
written one member at a time (``Membership``), and hooks for the few rules that are its own. The
engine does the rest: validate → find → compare → (check mode stops here) → write only the
difference → read back → diff → result. ``changed`` comes from the comparison and from whether
anything was written, never from cmdlet output.
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound, ReplyLost

# Add-X right after New-X may reach a domain controller that has not replicated the new object yet.
FRESH_OBJECT_DELAYS = (2, 4, 8)


class Prop(object):
    """One option of a module and the Exchange property behind it.

    ``new``/``set`` say which cmdlet accepts the parameter (a Prop with ``set=False`` is written only when
    the object is created); ``read_as`` is the property Get- returns when it differs from the parameter;
    ``spec`` is the option's argument spec (generated from the kind when omitted).
    """

    def __init__(self, option, parameter, kind, new=True, set=True, spec=None, read_as=None):  # pylint: disable=redefined-builtin
        self.option = option
        self.parameter = parameter
        self.kind = kind
        self.new = new
        self.set = set
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

    def validate(self, params):
        value = params.get(self.option)
        if value is None:
            return
        if self.is_list:
            self.kind.resolve(self.option, value, [])
        else:
            self.kind.to_param(self.option, value)

    def wanted(self, value, existing):
        """The value to send: a list resolved against what the object holds, or the scalar as Exchange takes it."""
        if self.is_list:
            return self.kind.resolve(self.option, value, existing)
        return self.kind.to_param(self.option, value)


class Membership(object):
    """A multi-valued property written one member at a time with Add-X/Remove-X instead of Set-.

    ``get`` lists the object's entries (``-Identity <object>`` plus the ``fixed`` parameters, such as
    Get-ADPermission's ``-User``); the members are the ``read_as`` values of the entries ``keep`` accepts.
    ``add``/``remove`` are called once per member with ``-Identity <object>``, ``fixed`` and
    ``-<member> <one member>``. The option takes a list (the whole set) or add/remove/set, as multi-valued
    properties do; with ``switch`` it is a bool that grants (true) or takes away (false) that one member
    and leaves every other member alone.
    """

    def __init__(self, option, get, add, remove, member, read_as, kind=None, fixed=(), keep=None, switch=None):
        self.option = option
        self.get = get
        self.add = add
        self.remove = remove
        self.member = member
        self.read_as = read_as
        self.kind = kind or compare.MultiValued()
        self.fixed = list(fixed)
        self.keep = keep
        self.switch = switch

    @property
    def parameter(self):
        return "%s %s" % (self.member, self.switch) if self.switch else self.member

    @property
    def spec(self):
        return dict(type="bool") if self.switch else dict(type="raw")

    def validate(self, params):
        value = params.get(self.option)
        if value is None:
            return
        if self.switch:
            compare.Bool().to_param(self.option, value)
        else:
            self.kind.resolve(self.option, value, [])

    def read(self, session, names):
        """The members the object has now (``names``: the parameters that name the object)."""
        members = []
        for entry in session.invoke(self.get, names + self.fixed):
            if self.keep is not None and not self.keep(entry):
                continue
            value = entry.get(self.read_as)
            members.extend(value if isinstance(value, (list, tuple)) else str(value or "").split(","))
        return [m.strip() for m in members if str(m).strip()]

    def wanted(self, value, members):
        if self.switch:
            value = {"add": [self.switch]} if value else {"remove": [self.switch]}
        return self.kind.resolve(self.option, value, members)

    def show(self, members):
        if self.switch:
            return self.kind.key([self.switch]) <= self.kind.key(members)
        return self.kind.show(members)


class Difference(object):
    """One option whose value differs; ``value`` is what is sent (for a membership: (to_add, to_remove))."""

    def __init__(self, prop, before, after, value):
        self.prop = prop
        self.before = before
        self.after = after
        self.value = value

    def as_dict(self):
        return dict(option=self.prop.option, parameter=self.prop.parameter, before=self.before, after=self.after)


class Step(object):
    """One pass of find → compare → write, as the hooks see it.

    ``params`` is the module's parameters with the create defaults applied; ``prepare`` may rewrite them.
    ``found`` is everything the scoped Get- returned (other connectors on the server, for instance).
    """

    def __init__(self, object_type, session, params, scope, found, current):
        self.object_type = object_type
        self.session = session
        self.params = params
        self.scope = scope
        self.found = found
        self.current = current
        self.differences = []
        # Set when the object is removed and created again (a New-only property changes, and recreate is true).
        self.recreate = False

    @property
    def absent(self):
        return self.params.get("state") == "absent"

    @property
    def creating(self):
        return self.current is None and not self.absent

    def final(self, option):
        """The value ``option`` will have after the write: as it is sent, or as Get- showed it."""
        for diff in self.differences:
            if diff.prop.option == option:
                return diff.value
        if self.current is None:
            return None
        prop = next(p for p in self.object_type.table if p.option == option)
        return self.current.get(prop.read_as)

    def warn(self, text):
        if text not in self.session.warnings:
            self.session.warnings.append(text)


class Outcome(object):
    """What a run found and did. ``before`` and ``differences`` are kept from the first pass when a lost
    reply makes the engine read again: they describe the object as the task found it."""

    def __init__(self, key):
        self.key = key
        self.label = None
        self.wrote = False
        self.reported = False
        self.differences = []
        self.before = {}
        self.after = {}
        self.obj = None

    def report(self, before, differences):
        if not self.reported:
            self.reported = True
            self.before = before
            self.differences = [d.as_dict() for d in differences]

    def write(self, session, cmdlet, parameters):
        # Marked before the call: a write whose reply is lost may still have changed the object.
        self.wrote = True
        return session.invoke(cmdlet, parameters)

    def result(self, diff_mode=False, warnings=None):
        out = dict(changed=bool(self.differences) or self.wrote, differences=self.differences)
        out[self.key] = self.obj
        if self.label:
            out["object"] = self.label
        if diff_mode:
            out["diff"] = dict(before=self.before, after=self.after)
            if self.label:
                out["diff"].update(before_header=self.label, after_header=self.label)
        if warnings:
            out["warnings"] = list(warnings)
        return out


# Creating or removing the object is reported as a difference of the state option; adopting an object found by
# what it does (adopt_by) renames it, a difference of the name.
STATE = Prop("state", None, compare.Kind())
NAME = Prop("name", "Name", compare.Kind(), new=False)


def _same(left, right):
    return str(left or "").strip().lower() == str(right or "").strip().lower()


class ObjectType(object):
    """How one kind of Exchange object is found, created, changed and removed.

    - ``key``: the result key holding the object (``remote_domain``); ``noun``: its name in messages.
    - ``get``, ``new``, ``set``, ``remove``: the cmdlets. ``new=None``: the object always exists (per-server
      settings such as Set-ImapSettings); ``remove=None``: it cannot be removed.
    - ``scope``: the parameters that narrow Get- to where the object lives, each with how to get its value
      from the session and the module's parameters (``{"Server": resolve_server}``; resolving a name may
      need Exchange). New- gets them too.
    - ``named``: the object is matched by its Name (the ``name`` option, case-insensitively), New- gets
      ``-Name`` and Set-/Remove- get ``-Identity``. An object that is not named (per-server settings) is
      the one object its scoped Get- returns, and Set- names it by the scope parameters.
    - ``identity(scope, name)``: the -Identity of an object not read yet (just created); default the name.
    - ``table``: the Props; ``memberships``: the Memberships.
    - ``create_defaults``: option values applied only when the object is created;
      ``required_to_create``: options without which it cannot be created.
    - ``adoptable``: options by which an object that does not have the name yet may be found (the module's
      ``adopt_by``): the one object whose property equals the wanted value is renamed to the name.
    - ``recreate_on``: New-only options (``set=False``) whose change needs the object removed and created again,
      each with Exchange's reason; done only when the module's ``recreate`` is true, refused otherwise.
    - hooks: ``validate(params)`` before connecting; ``prepare(step)`` after the read, before comparing
      (rewrite wanted values that need Exchange); ``check(step)`` after comparing, before any write (guard
      rails on the final values; also called for state=absent).
    """

    def __init__(self, key, noun, table, get, set, new=None, remove=None, scope=None, named=True, identity=None,  # pylint: disable=redefined-builtin
                 memberships=(), create_defaults=None, required_to_create=(), validate=None, prepare=None, check=None,
                 adoptable=(), recreate_on=None):
        self.key = key
        self.noun = noun
        self.table = list(table)
        self.get = get
        self.set = set
        self.new = new
        self.remove = remove
        self.scope = dict(scope or {})
        self.named = named
        self.identity = identity
        self.memberships = list(memberships)
        self.create_defaults = dict(create_defaults or {})
        self.required_to_create = tuple(required_to_create)
        self.validate_hook = validate
        self.prepare = prepare
        self.check = check
        self.adoptable = tuple(adoptable)
        self.recreate_on = dict(recreate_on or {})

    @property
    def options(self):
        return [p.option for p in self.table] + [m.option for m in self.memberships]

    def argument_spec(self):
        return dict((p.option, p.spec) for p in self.table + self.memberships)

    def validate(self, params):
        """Every given value, before connecting; raises InvalidInput naming the option."""
        if self.named:
            compare.validate_name("name", params.get("name"))
        if params.get("state") == "absent" and self.remove is None:
            raise InvalidInput("state", "the %s always exists; it cannot be removed" % self.noun)
        if params.get("adopt_by") and params["adopt_by"] not in self.adoptable:
            raise InvalidInput("adopt_by", "a %s can be found by %s, not by %r" % (
                self.noun, " or ".join(self.adoptable) or "its name only", params["adopt_by"]))
        if self.validate_hook is not None:
            self.validate_hook(params)
        for prop in self.table + self.memberships:
            prop.validate(params)

    def label(self, scope, name):
        """The object as messages and diffs name it: ``send connector "XPhone fax"``, ``receive connector "EX02\\Relay"``."""
        if not self.named:
            return "%s on %s" % (self.noun, ", ".join(str(v) for v in scope.values()) or "the organisation")
        return '%s "%s"' % (self.noun, self.identity(scope, name) if self.identity else name)

    def run(self, session, params, check_mode=False, diff_mode=False):
        """Ensure the object; returns the module result."""
        self.validate(params)
        outcome = Outcome(self.key)
        try:
            self._pass(session, params, check_mode, outcome)
        except ReplyLost:
            # Whether the write took effect is unknown: read again and write only what still differs.
            self._pass(session, params, check_mode, outcome)
        return outcome.result(diff_mode=diff_mode, warnings=session.warnings)

    # -- one pass ------------------------------------------------------------------------------------
    def _find(self, session, scope, name):
        found = session.invoke(self.get, scope or None)
        if not self.named:
            return found, (found[0] if found else None)
        return found, next((obj for obj in found if _same(obj.get("Name"), name)), None)

    def _adopt(self, step):
        """The object that does what this one should (``adopt_by``), when none has its name yet; renamed by the write."""
        option = step.params.get("adopt_by")
        if not option or step.current is not None or step.absent:
            return
        prop = next(p for p in self.table if p.option == option)
        wanted = step.params.get(option)
        if wanted is None:
            raise InvalidInput("adopt_by", "is %s, so %s must be given too" % (option, option))
        matches = [obj for obj in step.found
                   if prop.kind.key(prop.wanted(wanted, obj.get(prop.read_as))) == prop.kind.key(obj.get(prop.read_as))]
        if len(matches) > 1:
            raise InvalidInput("adopt_by", "%d %ss have the %s %s (%s); remove or change all but one, or set adopt_by "
                                           "to null to create %r beside them" % (
                                               len(matches), self.noun, option, prop.kind.show(wanted),
                                               ", ".join(sorted(str(m.get("Name")) for m in matches)), step.params["name"]))
        if matches:
            step.current = matches[0]
            step.differences.append(Difference(NAME, str(matches[0].get("Name")), step.params["name"], step.params["name"]))

    def _names(self, step):
        """The parameters that name the object for Set-, Remove- and memberships."""
        if not self.named:
            return list(step.scope.items())
        name = step.params["name"]
        if step.current is not None and step.current.get("Identity"):
            return [("Identity", step.current["Identity"])]
        return [("Identity", self.identity(step.scope, name) if self.identity else name)]

    def _snapshot(self, obj):
        if obj is None:
            return {}
        return dict((p.option, p.kind.show(obj.get(p.read_as))) for p in self.table if p.read_as in obj)

    def _pass(self, session, params, check_mode, outcome):
        scope = dict((name, value(session, params)) for name, value in self.scope.items())
        found, current = self._find(session, scope, params.get("name"))
        step = Step(self, session, dict(params), scope, found, current)
        outcome.label = self.label(scope, params.get("name"))
        self._adopt(step)
        current = step.current
        if step.absent:
            self._remove(step, check_mode, outcome)
            return
        if current is None:
            self._require_creatable(step)
        if self.prepare is not None:
            self.prepare(step)
        members = self._compare(step)
        if self.check is not None:
            self.check(step)

        before = self._snapshot(current)
        if current is not None:
            before.update((m.option, m.show(have)) for m, have, _want in members)
        outcome.report(before, ([] if current is not None else [Difference(STATE, "absent", "present", None)])
                       + step.differences)
        outcome.after = self._snapshot(current)
        outcome.after.update((d.prop.option, d.after) for d in step.differences)
        outcome.after.update((m.option, m.show(want)) for m, _have, want in members)
        if check_mode:
            placeholder = dict(step.scope, Name=params["name"]) if self.named else dict(step.scope)
            outcome.obj = current if current is not None and not step.recreate else placeholder
            return
        if step.recreate:
            self._recreate(step, outcome)
            current = self._find(session, scope, params.get("name"))[1]
        elif self._write(step, outcome):
            current = self._find(session, scope, params.get("name"))[1]
        outcome.obj = current

    def _recreate(self, step, outcome):
        """Remove the object and create it with every given value (a New-only property cannot change otherwise).

        Should the New- fail after the Remove-, the object is absent and the next run creates it."""
        outcome.write(step.session, self.remove, self._names(step))
        fresh = Step(self, step.session, dict(step.params), step.scope, [], None)
        self._require_creatable(fresh)
        if self.prepare is not None:
            self.prepare(fresh)
        self._compare(fresh)
        self._write(fresh, outcome)

    def _remove(self, step, check_mode, outcome):
        if self.check is not None:
            self.check(step)
        differences = [Difference(STATE, "present", "absent", None)] if step.current is not None else []
        outcome.report(self._snapshot(step.current), differences)
        outcome.after = {}
        if step.current is not None and not check_mode:
            outcome.write(step.session, self.remove, self._names(step))

    def _require_creatable(self, step):
        if self.new is None:
            raise NotFound("%s found no %s (%s)" % (self.get, self.noun, ", ".join(
                "-%s %s" % pair for pair in step.scope.items()) or "no scope"))
        for option, value in self.create_defaults.items():
            if step.params.get(option) is None:
                step.params[option] = value
        for option in self.required_to_create:
            if step.params.get(option) in (None, "", [], {}):
                raise InvalidInput(option, "is required to create the %s %r" % (self.noun, step.params.get("name")))

    def _compare(self, step):
        """Fill ``step.differences``; returns (membership, members now, members wanted) per given membership."""
        current = step.current
        for prop in self.table:
            value = step.params.get(prop.option)
            if value is not None and current is not None and prop.option in self.recreate_on:
                self._compare_recreate(step, prop, value)
                continue
            if value is None or (current is not None and not prop.set):
                # A New-only parameter (Usage) is no property Exchange lets anyone change later.
                continue
            existing = None if current is None else current.get(prop.read_as)
            wanted = prop.wanted(value, existing)
            if current is not None and prop.kind.key(wanted) == prop.kind.key(existing):
                continue
            step.differences.append(Difference(prop, None if current is None else prop.kind.show(existing),
                                               prop.kind.show(wanted), wanted))
        members = []
        for membership in self.memberships:
            value = step.params.get(membership.option)
            if value is None:
                continue
            # Nothing to read on an object that does not exist yet.
            have = membership.read(step.session, self._names(step)) if current is not None else []
            want = membership.wanted(value, have)
            kind = membership.kind
            to_add = [m for m in want if kind.key([m]) - kind.key(have)]
            to_remove = [m for m in have if kind.key([m]) - kind.key(want)]
            members.append((membership, have, want))
            if to_add or to_remove:
                step.differences.append(Difference(membership, membership.show(have) if current is not None else None,
                                                   membership.show(want), (to_add, to_remove)))
        return members

    def _compare_recreate(self, step, prop, value):
        existing = step.current.get(prop.read_as)
        wanted = prop.wanted(value, existing)
        if prop.kind.key(wanted) == prop.kind.key(existing):
            return
        if not step.params.get("recreate"):
            raise InvalidInput(prop.option, "%s %r has %s %s; %s. Set recreate: true to remove it and create it again "
                                            "with %s" % (self.noun, step.params.get("name"), prop.option,
                                                         prop.kind.show(existing), self.recreate_on[prop.option],
                                                         prop.kind.show(wanted)))
        step.recreate = True
        step.differences.append(Difference(prop, prop.kind.show(existing), prop.kind.show(wanted), wanted))

    def _write(self, step, outcome):
        """Write the differences; returns whether anything was written."""
        session = step.session
        props = [d for d in step.differences if isinstance(d.prop, Prop)]
        if step.current is None:
            head = [("Name", step.params["name"])] if self.named else []
            outcome.write(session, self.new, head + list(step.scope.items())
                          + [(d.prop.parameter, d.value) for d in props if d.prop.new])
            # Parameters New- does not take go to a Set- right after it.
            props = [d for d in props if not d.prop.new]
        if props:
            outcome.write(session, self.set, self._names(step) + [(d.prop.parameter, d.value) for d in props])
        names = self._names(step)
        for diff in step.differences:
            if isinstance(diff.prop, Membership):
                to_add, to_remove = diff.value
                for cmdlet, items in ((diff.prop.add, to_add), (diff.prop.remove, to_remove)):
                    for member in items:
                        self._write_member(step, outcome, cmdlet, names + diff.prop.fixed + [(diff.prop.member, member)])
        return bool(step.differences) or step.current is None

    def _write_member(self, step, outcome, cmdlet, parameters):
        delays = FRESH_OBJECT_DELAYS if step.current is None else ()
        for delay in delays + (None,):
            try:
                outcome.write(step.session, cmdlet, parameters)
                return
            except NotFound:
                if delay is None:
                    raise
                step.session.sleep(delay)

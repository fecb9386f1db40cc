# -*- coding: utf-8 -*-
# Copyright: xphone.connect contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""exchange_throttling: a Regular throttling policy, its settings, and the users associated with it.

The vendor document ("Exchange Mailbox Store Limits"; "4. Mailbox Policy") creates ``NoThrottlingPolicy`` with seven
settings Unlimited and assigns it to the service account only. A setting of a Regular policy that is not set ($null)
is inherited from the global policy, which is not the same as Unlimited: the comparison keeps the two apart.
The global and organisation policies are never changed (Set- on the global policy needs -ForceSettingGlobal and is
undone by the next cumulative update; an organisation policy applies to every user). Removal first resets the
association of the given users (Exchange refuses to remove a policy that users are associated with) and leaves a
policy that other users still use in place, with a warning.
"""

from __future__ import annotations

from ansible_collections.xphone.connect.plugins.module_utils import compare as c
from ansible_collections.xphone.connect.plugins.module_utils import engine
from ansible_collections.xphone.connect.plugins.module_utils.connection import CONNECTION_ARGUMENT_SPEC
from ansible_collections.xphone.connect.plugins.module_utils.errors import InvalidInput, NotFound, ReplyLost

UINT32_MAX = 4294967295


class ThrottlingValue(c.Unlimited):
    """A throttling setting: a number, ``Unlimited``, or null (not set: inherited from the global policy)."""

    name = "throttling"

    def to_param(self, option, value):
        if value is None or str(value).strip() == "":
            return None
        return c.Unlimited.to_param(self, option, value)

    def key(self, value):
        if value is None or str(value).strip() == "":
            return None
        return c.Unlimited.key(self, value)

    def show(self, value):
        return None if self.key(value) is None else c.Unlimited.show(self, value)


# Every Set-ThrottlingPolicy setting the reference marks for Exchange 2016 and 2019, with its documented range where
# it has one (else 0 to 2^32-1). Exchange takes Unlimited for each: the vendor document sets EWSMaxConcurrency,
# CPAMaxConcurrency and RCAMaxConcurrency, typed UInt32 in the reference, to Unlimited.
SETTINGS = (
    "AnonymousCutoffBalance", "AnonymousMaxBurst", ("AnonymousMaxConcurrency", 0, 2147483647),
    "AnonymousRechargeRate", "BookingSelfServiceCutoffBalance", "BookingSelfServiceMaxBurst",
    "BookingSelfServiceMaxConcurrency", "BookingSelfServiceRechargeRate", "ComplianceMaxExpansionDGRecipients",
    "ComplianceMaxExpansionNestedDGs", "ConsensusCutoffBalance", "ConsensusMaxBurst", "ConsensusMaxConcurrency",
    "ConsensusRechargeRate", "CpaCutoffBalance", "CpaMaxBurst", ("CPAMaxConcurrency", 0, 2147483647),
    "CpaRechargeRate", "DiscoveryMaxConcurrency", "DiscoveryMaxKeywords", "DiscoveryMaxKeywordsPerPage",
    "DiscoveryMaxMailboxes", "DiscoveryMaxPreviewSearchMailboxes", "DiscoveryMaxRefinerResults",
    "DiscoveryMaxSearchQueueDepth", "DiscoveryMaxStatsSearchMailboxes", "DiscoveryPreviewSearchResultsPageSize",
    "DiscoverySearchTimeoutPeriod", "EasCutoffBalance", "EasMaxBurst", ("EASMaxConcurrency", 0, 2147483647),
    "EASMaxDeviceDeletesPerMonth", "EASMaxDevices", "EasMaxInactivityForDeviceCleanup", "EasRechargeRate",
    "EncryptionRecipientCutoffBalance", "EncryptionRecipientMaxBurst", "EncryptionRecipientMaxConcurrency",
    "EncryptionRecipientRechargeRate", "EncryptionSenderCutoffBalance", "EncryptionSenderMaxBurst",
    "EncryptionSenderMaxConcurrency", "EncryptionSenderRechargeRate", "EwsCostThreshold", "EwsCutoffBalance",
    "EwsMaxBurst", ("EWSMaxConcurrency", 0, 2147483647), "EWSMaxSubscriptions", "EwsRechargeRate",
    "ExchangeMaxCmdlets", "ForwardeeLimit", "ImapCutoffBalance", "ImapMaxBurst",
    ("IMAPMaxConcurrency", 0, 2147483647), "ImapRechargeRate", "MessageRateLimit", "OutlookServiceCutoffBalance",
    "OutlookServiceMaxBurst", "OutlookServiceMaxConcurrency", "OutlookServiceMaxSocketConnectionsPerDevice",
    "OutlookServiceMaxSocketConnectionsPerUser", "OutlookServiceMaxSubscriptions", "OutlookServiceRechargeRate",
    "OwaCutoffBalance", "OwaMaxBurst", ("OWAMaxConcurrency", 0, 2147483647), "OwaRechargeRate",
    "OwaVoiceCutoffBalance", "OwaVoiceMaxBurst", ("OwaVoiceMaxConcurrency", 0, 2147483647), "OwaVoiceRechargeRate",
    "PopCutoffBalance", "PopMaxBurst", ("POPMaxConcurrency", 0, 2147483647), "PopRechargeRate",
    "PowerShellCutoffBalance", "PowerShellMaxBurst", "PowerShellMaxCmdletQueueDepth", "PowerShellMaxCmdlets",
    "PowerShellMaxCmdletsTimePeriod", "PowerShellMaxConcurrency", "PowerShellMaxDestructiveCmdlets",
    "PowerShellMaxDestructiveCmdletsTimePeriod", "PowerShellMaxOperations", "PowerShellMaxRunspaces",
    "PowerShellMaxRunspacesTimePeriod", ("PowerShellMaxTenantConcurrency", 0, 100), "PowerShellMaxTenantRunspaces",
    "PowerShellRechargeRate", "PswsMaxConcurrency", "PswsMaxRequest", "PswsMaxRequestTimePeriod",
    "PushNotificationCutoffBalance", "PushNotificationMaxBurst", "PushNotificationMaxBurstPerDevice",
    "PushNotificationMaxConcurrency", "PushNotificationRechargeRate", "PushNotificationRechargeRatePerDevice",
    "PushNotificationSamplingPeriodPerDevice", "RcaCutoffBalance", "RcaMaxBurst", "RCAMaxConcurrency",
    "RcaRechargeRate", "RcaSharedCutoffBalance", "RcaSharedMaxBurst", "RcaSharedMaxConcurrency",
    "RcaSharedRechargeRate", "RecipientRateLimit", "SchedulesCutoffBalance", "SchedulesMaxBurst",
    "SchedulesMaxConcurrency", "SchedulesRechargeRate",
)
# The vendor document's seven settings.
VENDOR_SETTINGS = ("RCAMaxConcurrency", "EWSMaxConcurrency", "EWSMaxSubscriptions", "CPAMaxConcurrency",
                   "EwsCutoffBalance", "EwsMaxBurst", "EwsRechargeRate")


def _prop(entry):
    name, minimum, maximum = entry if isinstance(entry, tuple) else (entry, 0, UINT32_MAX)
    return engine.Prop(name, name, ThrottlingValue(minimum=minimum, maximum=maximum))


TABLE = [_prop(entry) for entry in SETTINGS] + [
    engine.Prop("ThrottlingPolicyScope", "ThrottlingPolicyScope", c.Choice(["Regular"])),
    engine.Prop("IsServiceAccount", "IsServiceAccount", c.Bool()),
]
_BY_LOWER = dict((p.option.lower(), p.option) for p in TABLE if p.option != "ThrottlingPolicyScope")


def _check(step):
    if step.current is None:
        return
    scope = str(step.current.get("ThrottlingPolicyScope") or "Regular")
    if scope.lower() != "regular":
        raise InvalidInput("name", "%s is the %s throttling policy, which applies to %s; this module changes only Regular "
                                   "policies assigned to single users" % (
                                       step.params["name"], scope,
                                       "every user without another policy" if scope.lower() == "global" else
                                       "every user of the organisation"))


POLICY = engine.ObjectType(
    "throttling_policy", "throttling policy", TABLE,
    get="Get-ThrottlingPolicy", new="New-ThrottlingPolicy", set="Set-ThrottlingPolicy", remove="Remove-ThrottlingPolicy",
    create_defaults={"ThrottlingPolicyScope": "Regular"}, check=_check)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    settings=dict(type="dict", default={}),
    is_service_account=dict(type="bool"),
    users=dict(type="list", elements="str", default=[]),
)
ARGUMENT_SPEC.update(CONNECTION_ARGUMENT_SPEC)
REQUIRED_IF = []


def engine_params(params):
    """The module's parameters with each setting under its Exchange name (any case accepted), checked."""
    out = dict((k, v) for k, v in params.items() if k not in ("settings", "is_service_account"))
    given = params.get("settings") or {}
    if not isinstance(given, dict):
        raise InvalidInput("settings", "must be a dictionary of setting: value, such as {RCAMaxConcurrency: Unlimited}")
    for key, value in given.items():
        canonical = _BY_LOWER.get(str(key).lower())
        if canonical is None:
            near = sorted(n for n in _BY_LOWER.values() if str(key).lower()[:6] in n.lower())[:5]
            raise InvalidInput("settings", "%r is not a throttling policy setting of Exchange 2016/2019%s" % (
                key, "; did you mean %s?" % ", ".join(near) if near else ""))
        if value is None:
            raise InvalidInput("settings", "%s: give a number or Unlimited (a setting cannot be unset here)" % canonical)
        out[canonical] = value
    if params.get("is_service_account") is not None:
        out["IsServiceAccount"] = params["is_service_account"]
    try:
        POLICY.validate(out)
    except InvalidInput as err:
        if err.option in _BY_LOWER.values():
            raise InvalidInput("settings", "%s: %s" % (err.option, err.message))
        raise
    return out


def _policy_of(session, user, check_mode=False):
    try:
        found = session.invoke("Get-ThrottlingPolicyAssociation", [("Identity", user)])
    except NotFound:
        found = []
    if not found and check_mode:
        # A check-mode run of a play that creates the account first: the account does not exist yet.
        session.warnings.append("user %s does not exist (yet): in check mode its association is shown as it would be "
                                "made once a task before this one created the account" % user)
        return None
    if not found:
        raise InvalidInput("users", "no user %r was found (give the account's name, alias or UPN)" % user)
    return policy_name(found[0].get("ThrottlingPolicyId")) or None


def policy_name(value):
    """The policy's name from an association's ThrottlingPolicyId (an ADObjectId: shown as the name, a canonical name
    such as alleo.intern/Configuration/.../NoThrottlingPolicy, or a DN)."""
    text = str(value or "").strip()
    if text.upper().startswith("CN="):
        return text[3:].split(",", 1)[0]
    return text.rsplit("/", 1)[-1]


def _associate(session, user, name):
    """Set the user's policy (None resets it); a lost reply is followed by a read, never by a second send."""
    try:
        session.invoke("Set-ThrottlingPolicyAssociation", [("Identity", user), ("ThrottlingPolicy", name)])
    except ReplyLost:
        if not _same(_policy_of(session, user), name):
            raise


def _same(left, right):
    return policy_name(left).lower() == policy_name(right).lower()


def run(session, params, check_mode=False, diff_mode=False):
    """Ensure the policy and the given users' association with it (or, absent, undo both)."""
    wanted = engine_params(params)
    name = params["name"]
    users = list(params.get("users") or [])
    associations = [(user, _policy_of(session, user, check_mode)) for user in users]
    if params.get("state") == "absent":
        return _absent(session, wanted, associations, check_mode, diff_mode)
    result = POLICY.run(session, wanted, check_mode=check_mode, diff_mode=diff_mode)
    moved = [(user, before) for user, before in associations if not _same(before, name)]
    for user, before in moved:
        result["differences"].append(dict(option="users", parameter="ThrottlingPolicy (%s)" % user, before=before, after=name))
        if not check_mode:
            _associate(session, user, name)
    result["changed"] = result["changed"] or bool(moved)
    result["users"] = users
    return result


def _absent(session, wanted, associations, check_mode, diff_mode):
    name = wanted["name"]
    differences = []
    for user, before in associations:
        if _same(before, name):
            differences.append(dict(option="users", parameter="ThrottlingPolicy (%s)" % user, before=name, after=None))
            if not check_mode:
                _associate(session, user, None)
    if not any(_same(p.get("Name"), name) for p in session.invoke("Get-ThrottlingPolicy")):
        return POLICY.run(session, wanted, check_mode=check_mode, diff_mode=diff_mode)
    mine = set(str(user).lower() for user, before in associations if _same(before, name))
    others = [str(a.get("Name") or a.get("Identity")) for a in session.invoke(
        "Get-ThrottlingPolicyAssociation", [("ThrottlingPolicy", name), ("ResultSize", "Unlimited")])
        if str(a.get("Name") or "").lower() not in mine and str(a.get("Identity") or "").lower() not in mine]
    if others:
        session.warnings.append("throttling policy %s is kept: %s still associated with it (%s); reset them with "
                                "Set-ThrottlingPolicyAssociation or Set-Mailbox -ThrottlingPolicy $null to remove it"
                                % (name, "a user is" if len(others) == 1 else "%d users are" % len(others),
                                   ", ".join(sorted(others)[:10])))
        return dict(changed=bool(differences), differences=differences, throttling_policy=None, kept=True,
                    object='throttling policy "%s"' % name, warnings=list(session.warnings))
    result = POLICY.run(session, wanted, check_mode=check_mode, diff_mode=diff_mode)
    result["differences"] = differences + result["differences"]
    result["changed"] = result["changed"] or bool(differences)
    result["kept"] = False
    return result

"""What the station accepts of a SetChargingProfile (K01), and which installed profiles a GetChargingProfiles
(K09) or ClearChargingProfile (K10) means. Pure: the station's situation comes in as a `StationView`.

A refusal carries a reasonCode (StatusInfoType, at most 20 characters) and a sentence naming the rule.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from evse.smartcharging.model import (
    CSO,
    ClearCriteria,
    InstalledProfile,
    Kind,
    Profile,
    Purpose,
    ReportCriteria,
)
from evse.smartcharging.schedule import utc


@dataclass(frozen=True)
class StationView:
    """The station as the rules need it: its EVSEs, running transactions and SmartChargingCtrlr limits."""

    evse_ids: frozenset[int]
    transactions: Mapping[int, str]  # evse_id -> transactionId of the transaction running there
    rate_units: frozenset[str] = frozenset({"A", "W"})  # SmartChargingCtrlr.RateUnit
    periods_per_schedule: int = 24  # SmartChargingCtrlr.PeriodsPerSchedule
    max_entries: int = 64  # SmartChargingCtrlr.Entries[ChargingProfiles] maxLimit
    max_stack_level: int = 9  # SmartChargingCtrlr.ProfileStackLevel
    phase_switching: bool = False  # SmartChargingCtrlr.ACPhaseSwitchingSupported
    phases: Mapping[int, int] | None = None  # evse_id -> phases the EVSE has


@dataclass(frozen=True)
class Verdict:
    """Accepted, or Rejected with a reasonCode and why. `replaces` is the id of the profile it supersedes."""

    accepted: bool
    reason: str | None = None
    detail: str | None = None
    replaces: int | None = None


def _no(reason: str, detail: str) -> Verdict:
    return Verdict(False, reason, detail)


def check_set_profile(
    evse_id: int, profile: Profile, installed: Sequence[InstalledProfile], view: StationView
) -> Verdict:
    """SetChargingProfile: Accepted (replacing the profile of the same id, K01.FR.05) or Rejected."""
    purpose = profile.purpose
    if evse_id != 0 and evse_id not in view.evse_ids:
        return _no("UnknownEvse", f"no EVSE {evse_id} (K01.FR.28)")
    if purpose is Purpose.ChargingStationExternalConstraints:
        return _no("InvalidProfile", "ChargingStationExternalConstraints are set by local sources only (K01.FR.22)")
    if purpose is Purpose.ChargingStationMaxProfile:
        if evse_id != 0:
            return _no("InvalidProfile", "a ChargingStationMaxProfile goes on EVSE 0 (K01.FR.03)")
        if profile.kind is Kind.Relative:
            return _no("InvalidProfile", "a ChargingStationMaxProfile cannot be Relative (K01.FR.38)")
    if purpose is Purpose.TxProfile:
        verdict = _check_tx_profile(evse_id, profile, view)
        if verdict is not None:
            return verdict
    elif profile.transaction_id is not None:
        return _no("InvalidProfile", "only a TxProfile names a transaction")
    verdict = check_schedule(profile, view, evse_id)
    if verdict is not None:
        return verdict
    others = [p for p in installed if p.profile.id != profile.id]
    replaced = next((p.profile.id for p in installed if p.profile.id == profile.id), None)
    clash = _clash(evse_id, profile, others)
    if clash is not None:
        return clash
    if len(others) + 1 > view.max_entries:
        return _no("OutOfMemory", f"at most {view.max_entries} charging profiles (SmartChargingCtrlr.Entries)")
    return Verdict(True, replaces=replaced)


def _check_tx_profile(evse_id: int, profile: Profile, view: StationView) -> Verdict | None:
    if evse_id == 0:
        return _no("InvalidProfile", "a TxProfile goes on the EVSE of its transaction, not EVSE 0 (K01.FR.16)")
    running = view.transactions.get(evse_id)
    if profile.transaction_id is None:
        return _no("InvalidProfile", "a TxProfile names its transaction (K01.FR.03)")
    if running is None:
        return _no("NoTransaction", f"no transaction on EVSE {evse_id} (K01.FR.09)")
    if profile.transaction_id != running:
        return _no("TxNotFound", f"transaction {profile.transaction_id} is not running on EVSE {evse_id} (K01.FR.33)")
    return None


def check_schedule(profile: Profile, view: StationView, evse_id: int = 0) -> Verdict | None:
    """The schedule's own rules (kind, start, periods, unit, phases); None when it may be installed."""
    kind = profile.kind
    if len(profile.schedules) != 1:
        return _no("InvalidSchedule", "one chargingSchedule per profile (more come only with ISO 15118)")
    schedule = profile.schedules[0]
    if kind is Kind.Relative and schedule.start is not None:
        return _no("InvalidSchedule", "a Relative profile has no startSchedule (K01.FR.41)")
    if kind in (Kind.Absolute, Kind.Recurring) and schedule.start is None:
        # RequestStartTransaction's TxProfile may come without one: remote_start_profile() admits that.
        return _no("InvalidSchedule", f"an {kind.value} profile needs a startSchedule (K01.FR.40)")
    if kind is Kind.Recurring and profile.recurrency is None:
        return _no("InvalidSchedule", "a Recurring profile needs a recurrencyKind")
    return check_periods(profile, view, evse_id)


def check_periods(profile: Profile, view: StationView, evse_id: int = 0) -> Verdict | None:
    schedule = profile.schedules[0]
    if schedule.rate_unit.value not in view.rate_units:
        return _no("UnsupportedRateUnit", f"chargingRateUnit {schedule.rate_unit.value} is not supported (K01.FR.26)")
    periods = schedule.periods
    if not periods:
        return _no("InvalidSchedule", "a schedule has at least one period")
    if len(periods) > view.periods_per_schedule:
        return _no(
            "InvalidSchedule", f"at most {view.periods_per_schedule} periods (SmartChargingCtrlr.PeriodsPerSchedule)"
        )
    if periods[0].start_period != 0:
        return _no("InvalidSchedule", "the first period starts at 0 (K01.FR.31)")
    if any(b.start_period <= a.start_period for a, b in itertools.pairwise(periods)):
        return _no("InvalidSchedule", "periods in increasing startPeriod (K01.FR.35)")
    if schedule.duration is not None and schedule.duration <= 0:
        return _no("InvalidSchedule", "duration must be positive")
    if profile.stack_level < 0 or profile.stack_level > view.max_stack_level:
        return _no("InvalidStackLevel", f"stackLevel 0..{view.max_stack_level} (SmartChargingCtrlr.ProfileStackLevel)")
    if (
        profile.valid_from is not None
        and profile.valid_to is not None
        and utc(profile.valid_to) <= utc(profile.valid_from)
    ):
        return _no("InvalidProfile", "validTo is not after validFrom")
    evse_phases = (view.phases or {}).get(evse_id, 3)
    for period in periods:
        if period.limit < 0 or (schedule.min_charging_rate is not None and schedule.min_charging_rate < 0):
            return _no("InvalidValue", "limits are not negative")
        if period.number_phases is not None and not 1 <= period.number_phases <= 3:
            return _no("InvalidSchedule", "numberPhases is 1, 2 or 3")
        if period.number_phases is not None and period.number_phases > evse_phases and evse_id != 0:
            return _no("InvalidSchedule", f"EVSE {evse_id} has {evse_phases} phase(s)")
        if period.phase_to_use is not None:
            if period.number_phases != 1:
                return _no("InvalidSchedule", "phaseToUse only with numberPhases 1 (K01.FR.19)")
            if not view.phase_switching:
                return _no("UnsupportedParam", "phaseToUse needs ACPhaseSwitchingSupported (K01.FR.20)")
    return None


def _clash(evse_id: int, profile: Profile, others: Sequence[InstalledProfile]) -> Verdict | None:
    """K01.FR.06/39/52/53: two profiles of the same purpose and stack level may not be valid at once on the
    same EVSE (for TxProfiles: the same transaction); a TxDefaultProfile on EVSE 0 and one on an EVSE clash too."""
    purpose = profile.purpose
    for other in others:
        theirs = other.profile
        if theirs.purpose is not purpose or theirs.stack_level != profile.stack_level:
            continue
        if purpose is Purpose.TxProfile:
            same_place = theirs.transaction_id == profile.transaction_id
        elif purpose is Purpose.TxDefaultProfile:
            same_place = other.evse_id == evse_id or 0 in (other.evse_id, evse_id)
        else:
            same_place = other.evse_id == evse_id
        if same_place and _overlap(theirs, profile):
            return _no(
                "DuplicateProfile",
                f"profile {theirs.id} has stackLevel {profile.stack_level} and purpose {purpose.value} for the same "
                "time (K01.FR.06)",
            )
    return None


def _overlap(a: Profile, b: Profile) -> bool:
    start_a, start_b = _bound(a.valid_from), _bound(b.valid_from)
    end_a, end_b = _bound(a.valid_to), _bound(b.valid_to)
    return (end_b is None or start_a is None or start_a < end_b) and (
        end_a is None or start_b is None or start_b < end_a
    )


def _bound(moment: datetime | None) -> datetime | None:
    return utc(moment) if moment is not None else None


# ---- K09 / K10: which profiles a request means ----------------------------------------------------------
def reported(
    installed: Sequence[InstalledProfile], evse_id: int | None, criteria: ReportCriteria
) -> list[InstalledProfile]:
    """GetChargingProfiles (K09): the profiles on `evse_id` (all EVSEs when None) matching every criterion
    given; chargingProfileId alone identifies profiles (K09.FR.03)."""
    found = []
    for item in installed:
        profile = item.profile
        if evse_id is not None and item.evse_id != evse_id:
            continue
        if criteria.profile_ids is not None:
            if profile.id in criteria.profile_ids:
                found.append(item)
            continue
        if criteria.stack_level is not None and profile.stack_level != criteria.stack_level:
            continue
        if criteria.purpose is not None and profile.purpose is not criteria.purpose:
            continue
        if criteria.limit_sources is not None and CSO not in criteria.limit_sources:
            continue
        found.append(item)
    return found


def cleared(installed: Sequence[InstalledProfile], criteria: ClearCriteria) -> list[InstalledProfile]:
    """ClearChargingProfile (K10): the profile of the id, else those matching every criterion given (all
    of them when none is). ChargingStationExternalConstraints are not the CSMS's to clear."""
    clearable = [p for p in installed if p.profile.purpose is not Purpose.ChargingStationExternalConstraints]
    if criteria.profile_id is not None:
        return [p for p in clearable if p.profile.id == criteria.profile_id]
    return [
        p
        for p in clearable
        if (criteria.evse_id is None or p.evse_id == criteria.evse_id)
        and (criteria.stack_level is None or p.profile.stack_level == criteria.stack_level)
        and (criteria.purpose is None or p.profile.purpose is criteria.purpose)
    ]


def check_remote_start_profile(evse_id: int, profile: Profile, view: StationView) -> Verdict:
    """The chargingProfile of a RequestStartTransaction (F01/K05): a TxProfile, for a transaction that has
    no id yet, so none is named; its schedule follows the same rules, but an Absolute one may leave its
    start to the transaction."""
    if profile.purpose is not Purpose.TxProfile:
        return _no("InvalidProfile", "only a TxProfile comes with RequestStartTransaction (F01)")
    if profile.transaction_id is not None:
        return _no("InvalidProfile", "the transaction of a remote start has no id yet")
    if len(profile.schedules) != 1:
        return _no("InvalidSchedule", "one chargingSchedule per profile (more come only with ISO 15118)")
    if profile.kind is Kind.Recurring:
        return check_schedule(profile, view, evse_id) or Verdict(True)
    return check_periods(profile, view, evse_id) or Verdict(True)

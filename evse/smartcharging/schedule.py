"""What one charging profile says over time: the period in force at an instant, and the instants at which
that may change. Pure: no clock, no I/O; time comes in as arguments.

The schedule's origin depends on the profile's kind (OCPP 2.0.1 K01): Absolute starts at startSchedule,
Recurring repeats from startSchedule every day or week (in both directions: a Daily profile whose
startSchedule is tomorrow 18:00 also holds today from 18:00), Relative starts with the session (the
transaction; before one, at the moment asked about). Only the first chargingSchedule is used: more than
one comes only with ISO 15118 SASchedules, which profile_rules refuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from evse.smartcharging.model import Kind, Profile, RateUnit, Recurrency, SchedulePeriod

DAY_S = 86_400
WEEK_S = 7 * DAY_S


@dataclass(frozen=True)
class PeriodInForce:
    """The schedule period a profile has in force at an instant, with what its schedule adds to it."""

    limit: float
    unit: RateUnit
    number_phases: int | None
    phase_to_use: int | None
    min_charging_rate: float | None


def utc(moment: datetime) -> datetime:
    """A timestamp without offset is read as UTC (OCPP timestamps are UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def valid_at(profile: Profile, at: datetime) -> bool:
    """Inside [validFrom, validTo)."""
    if profile.valid_from is not None and at < utc(profile.valid_from):
        return False
    return profile.valid_to is None or at < utc(profile.valid_to)


def recurrence_s(profile: Profile) -> int:
    return WEEK_S if profile.recurrency is Recurrency.Weekly else DAY_S


def schedule_origin(profile: Profile, at: datetime, session_start: datetime) -> datetime:
    """Where the schedule's startPeriod 0 lies for the instant `at` (for Recurring: the cycle covering it)."""
    schedule = profile.schedules[0]
    if profile.kind is Kind.Relative or schedule.start is None:
        # A RequestStartTransaction TxProfile may come Absolute without startSchedule: the session is its origin.
        return session_start
    start = utc(schedule.start)
    if profile.kind is Kind.Recurring:
        period = recurrence_s(profile)
        cycles = math.floor((at - start).total_seconds() / period)
        return start + timedelta(seconds=cycles * period)
    return start


def period_at(profile: Profile, at: datetime, session_start: datetime) -> PeriodInForce | None:
    """The period `profile` has in force at `at`, or None (not valid then, before its start, after its
    duration)."""
    if not valid_at(profile, at):
        return None
    schedule = profile.schedules[0]
    elapsed = (at - schedule_origin(profile, at, session_start)).total_seconds()
    if elapsed < 0 or (schedule.duration is not None and elapsed >= schedule.duration):
        return None
    chosen: SchedulePeriod | None = None
    for period in schedule.periods:
        if period.start_period <= elapsed and (chosen is None or period.start_period >= chosen.start_period):
            chosen = period
    if chosen is None:
        return None
    return PeriodInForce(
        chosen.limit, schedule.rate_unit, chosen.number_phases, chosen.phase_to_use, schedule.min_charging_rate
    )


def changes(profile: Profile, start: datetime, end: datetime, session_start: datetime) -> list[datetime]:
    """Every instant in (start, end) at which `period_at` may give another answer; sorted."""
    found: set[datetime] = set()
    if profile.valid_from is not None:
        found.add(utc(profile.valid_from))
    if profile.valid_to is not None:
        found.add(utc(profile.valid_to))
    schedule = profile.schedules[0]
    offsets = [p.start_period for p in schedule.periods]
    if schedule.duration is not None:
        offsets.append(schedule.duration)
    if profile.kind is Kind.Recurring and schedule.start is not None:
        step = timedelta(seconds=recurrence_s(profile))
        origin = schedule_origin(profile, start, session_start)
        while origin < end:
            found.add(origin)
            found.update(origin + timedelta(seconds=offset) for offset in offsets)
            origin += step
    else:
        origin = schedule_origin(profile, start, session_start)
        found.add(origin)
        found.update(origin + timedelta(seconds=offset) for offset in offsets)
    return sorted(t for t in found if start < t < end)

"""The current limit a TxProfile (RequestStartTransaction.chargingProfile, F01/K) imposes right now.

Pure: given the profile, when the transaction started, the time now and the phases in use, the limit in
amperes per phase of the period in force, or None when no period applies (before validFrom / after the
schedule's duration). Full smart charging (stack levels, composite schedules, SetChargingProfile) is
its own use-case block; this covers the profile that comes with a remote start.
"""

from __future__ import annotations

from datetime import datetime

from evse.ocpp.v201 import messages as m

NOMINAL_VOLTAGE_V = 230.0


def tx_profile_limit_a(
    profile: m.ChargingProfileType, tx_started: datetime, now: datetime, phases: int
) -> float | None:
    if profile.validFrom is not None and now < profile.validFrom:
        return None
    if profile.validTo is not None and now >= profile.validTo:
        return None
    schedule = profile.chargingSchedule[0]
    start = schedule.startSchedule or tx_started
    elapsed = (now - start).total_seconds()
    if elapsed < 0 or (schedule.duration is not None and elapsed >= schedule.duration):
        return None
    in_force = [p for p in schedule.chargingSchedulePeriod if p.startPeriod <= elapsed]
    if not in_force:
        return None
    period = max(in_force, key=lambda p: p.startPeriod)
    if schedule.chargingRateUnit is m.ChargingRateUnitEnumType.A:
        return period.limit
    used = period.numberPhases or phases
    return period.limit / (NOMINAL_VOLTAGE_V * used)

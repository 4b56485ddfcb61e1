"""OCPP 1.6 charging profiles as the smart-charging engine's (evse/smartcharging/model.py), and its composite
schedule as 1.6's ChargingSchedule.

The engine already does what 1.6 needs: stack levels, the three purposes, Absolute / Recurring / Relative
schedules. 1.6 names the station-wide limit ChargePointMaxProfile, puts one schedule in a profile, and names a
transaction by the CSMS's integer id (the station's own id is looked up first).
"""

from __future__ import annotations

from typing import Any

from evse.ocpp.v16 import messages as m16
from evse.smartcharging.model import (
    CompositeSchedule,
    Kind,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    Schedule,
    SchedulePeriod,
)

PURPOSE_FROM_16 = {
    "ChargePointMaxProfile": Purpose.ChargingStationMaxProfile,
    "TxDefaultProfile": Purpose.TxDefaultProfile,
    "TxProfile": Purpose.TxProfile,
}


def profile_from_16(profile: m16.ChargingProfile, local_tx_id: str | None = None) -> Profile:
    """The engine's profile; `local_tx_id` is the station's id of the transaction a TxProfile is for."""
    schedule = profile.chargingSchedule
    recurrency = profile.recurrencyKind
    return Profile(
        id=profile.chargingProfileId,
        stack_level=profile.stackLevel,
        purpose=PURPOSE_FROM_16[profile.chargingProfilePurpose.value],
        kind=Kind(profile.chargingProfileKind.value),
        schedules=(
            Schedule(
                id=profile.chargingProfileId,  # one schedule per 1.6 profile: it takes the profile's id
                rate_unit=RateUnit(schedule.chargingRateUnit.value),
                periods=tuple(
                    SchedulePeriod(start_period=p.startPeriod, limit=p.limit, number_phases=p.numberPhases)
                    for p in schedule.chargingSchedulePeriod
                ),
                start=schedule.startSchedule,
                duration=schedule.duration,
                min_charging_rate=schedule.minChargingRate,
            ),
        ),
        recurrency=Recurrency(recurrency.value) if recurrency is not None else None,
        valid_from=profile.validFrom,
        valid_to=profile.validTo,
        transaction_id=local_tx_id,
    )


def schedule_to_16(composite: CompositeSchedule) -> dict[str, Any]:
    """A composite schedule as a 1.6 ChargingSchedule (JSON-ready, limits as the engine computed them)."""
    return {
        "chargingRateUnit": composite.rate_unit.value,
        "chargingSchedulePeriod": [
            {"startPeriod": p.start_period, "limit": p.limit, "numberPhases": p.phases} for p in composite.periods
        ],
        "duration": composite.duration,
        "startSchedule": composite.start,
    }

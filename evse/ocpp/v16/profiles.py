"""OCPP 1.6 charging profiles as the smart-charging engine's (the 2.0.1 ChargingProfileType it stores).

The engine (evse/smartcharging) already does what 1.6 needs: stack levels, the three purposes, Absolute /
Recurring / Relative schedules. 1.6 names the station-wide limit ChargePointMaxProfile, puts one schedule
in a profile, and names a transaction by the CSMS's integer id (the station's own id is looked up first).
"""

from __future__ import annotations

from typing import Any

from evse.ocpp.v16 import messages as m16
from evse.ocpp.v201 import messages as m

PURPOSE_TO_201 = {
    "ChargePointMaxProfile": "ChargingStationMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
PURPOSE_TO_16 = {value: key for key, value in PURPOSE_TO_201.items()}
UNIT_TO_201 = {"A": "A", "W": "W"}


def profile_from_16(profile: m16.ChargingProfile, local_tx_id: str | None = None) -> m.ChargingProfileType:
    source = profile.model_dump(mode="json", exclude_none=True)
    schedule: dict[str, Any] = dict(source["chargingSchedule"])
    schedule["id"] = profile.chargingProfileId  # one schedule per 1.6 profile: it takes the profile's id
    body: dict[str, Any] = {
        "id": profile.chargingProfileId,
        "stackLevel": profile.stackLevel,
        "chargingProfilePurpose": PURPOSE_TO_201[profile.chargingProfilePurpose.value],
        "chargingProfileKind": profile.chargingProfileKind.value,
        "chargingSchedule": [schedule],
    }
    for key in ("recurrencyKind", "validFrom", "validTo"):
        if key in source:
            body[key] = source[key]
    if local_tx_id is not None:
        body["transactionId"] = local_tx_id
    return m.ChargingProfileType.model_validate(body)


def schedule_to_16(schedule: dict[str, Any]) -> dict[str, Any]:
    """A 2.0.1 CompositeScheduleType/ChargingScheduleType (JSON) as a 1.6 ChargingSchedule (JSON)."""
    out: dict[str, Any] = {
        "chargingRateUnit": schedule["chargingRateUnit"],
        "chargingSchedulePeriod": [
            {k: v for k, v in period.items() if k in ("startPeriod", "limit", "numberPhases")}
            for period in schedule["chargingSchedulePeriod"]
        ],
    }
    for key in ("duration", "minChargingRate"):
        if key in schedule:
            out[key] = schedule[key]
    if "scheduleStart" in schedule:
        out["startSchedule"] = schedule["scheduleStart"]
    elif "startSchedule" in schedule:
        out["startSchedule"] = schedule["startSchedule"]
    return out

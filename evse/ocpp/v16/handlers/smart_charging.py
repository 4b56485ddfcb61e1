"""OCPP 1.6 Smart Charging profile: SetChargingProfile, ClearChargingProfile, GetCompositeSchedule.

All three run on the station's smart-charging engine (`station.smart_charging`), the one the 2.0.1 handlers
use, so a profile is checked, stored, stacked and applied to the pilot offer the same way under both
versions. What is 1.6's own (OCPP 1.6 sections 3.13, 5.5, 5.7, 5.16):

- connectorId is the EVSE id (one connector per EVSE); 0 is the charge point. ChargePointMaxProfile goes on
  connectorId 0 only, TxDefaultProfile on 0 or a connector, TxProfile on the connector of a running
  transaction only (TC_058_1_CS): named by the CSMS's transactionId (looked up in `tx_ids`), or, without
  one, the transaction running there.
- a ChargingSchedule without startSchedule is "relative to the start of charging": an Absolute Tx or
  TxDefault profile without one becomes Relative; a ChargePointMaxProfile, which has no charging to start
  with, starts when it arrives.
- answers carry no reason: Rejected says it all; with SmartChargingCtrlr.Enabled false SetChargingProfile is
  NotSupported, ClearChargingProfile a CALLERROR NotSupported (its answer has no such status) and
  GetCompositeSchedule Rejected.
- limits carry one decimal (the schemas' multipleOf 0.1); the composite is rounded down, never up.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from evse.ocpp.calls import CallError
from evse.ocpp.rpc import Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.profiles import PURPOSE_FROM_16, profile_from_16, schedule_to_16
from evse.ocpp.v16.tx_ids import TxIds
from evse.smartcharging.model import ClearCriteria, Kind, Profile, Purpose, RateUnit
from evse.station.shell.station import Station

_Purpose16 = m16.ChargingProfilePurposeType
_Status = m16.ChargingProfileStatus


def tenths_down(value: float) -> float:
    """A limit as 1.6 carries it: one decimal, rounded down so the station never promises more."""
    return math.floor(round(value * 10, 6)) / 10


def register(router: Router, station: Station, tx_ids: TxIds) -> None:
    """Attach the three Smart Charging handlers; `tx_ids` names transactions by the CSMS's ids."""
    smart = station.smart_charging

    def enabled() -> bool:
        return station.dm.get_bool("SmartChargingCtrlr", "Enabled")

    def transaction_for(request: m16.SetChargingProfileRequest) -> str | None:
        """The station's id of the transaction a TxProfile is for, or None when it names none running."""
        running = station.transaction_id_on(request.connectorId) if request.connectorId != 0 else None
        named = request.csChargingProfiles.transactionId
        if named is None:
            return running
        return running if running is not None and tx_ids.local_id(named) == running else None

    async def set_profile(request: m16.SetChargingProfileRequest) -> m16.SetChargingProfileResponse:
        if not enabled():
            return m16.SetChargingProfileResponse(status=_Status.NotSupported)
        connector, profile16 = request.connectorId, request.csChargingProfiles
        if connector != 0 and connector not in station.evses:
            return m16.SetChargingProfileResponse(status=_Status.Rejected)
        local_tx: str | None = None
        if profile16.chargingProfilePurpose is _Purpose16.TxProfile:
            local_tx = transaction_for(request)
            if local_tx is None:
                return m16.SetChargingProfileResponse(status=_Status.Rejected)
        elif profile16.transactionId is not None:
            return m16.SetChargingProfileResponse(status=_Status.Rejected)  # only a TxProfile names one
        verdict = smart.set_profile(connector, with_start(profile_from_16(profile16, local_tx), station.clock.now()))
        return m16.SetChargingProfileResponse(status=_Status.Accepted if verdict.accepted else _Status.Rejected)

    async def clear_profile(request: m16.ClearChargingProfileRequest) -> m16.ClearChargingProfileResponse:
        if not enabled():
            raise CallError("NotSupported", "ClearChargingProfile: smart charging is disabled")
        purpose = request.chargingProfilePurpose
        criteria = ClearCriteria(
            profile_id=request.id,
            evse_id=request.connectorId,
            purpose=PURPOSE_FROM_16[purpose.value] if purpose is not None else None,
            stack_level=request.stackLevel,
        )
        cleared = smart.clear(criteria)
        status = m16.ClearChargingProfileStatus.Accepted if cleared else m16.ClearChargingProfileStatus.Unknown
        return m16.ClearChargingProfileResponse(status=status)

    async def composite(request: m16.GetCompositeScheduleRequest) -> m16.GetCompositeScheduleResponse:
        rejected = m16.GetCompositeScheduleResponse(status=m16.GetCompositeScheduleStatus.Rejected)
        connector, unit16 = request.connectorId, request.chargingRateUnit
        if not enabled() or (connector != 0 and connector not in station.evses) or request.duration <= 0:
            return rejected
        if unit16 is not None and unit16.value not in station.dm.get_list("SmartChargingCtrlr", "RateUnit"):
            return rejected  # ChargingScheduleAllowedChargingRateUnit
        unit = RateUnit(unit16.value) if unit16 is not None else None
        schedule = smart.composite(connector, request.duration, unit)
        charging_schedule = _tenths(schedule_to_16(schedule))
        return m16.GetCompositeScheduleResponse(
            status=m16.GetCompositeScheduleStatus.Accepted,
            connectorId=connector,
            scheduleStart=schedule.start,
            chargingSchedule=m16.ChargingSchedule.model_validate(charging_schedule),
        )

    router.register(m16.SetChargingProfileRequest, set_profile)
    router.register(m16.ClearChargingProfileRequest, clear_profile)
    router.register(m16.GetCompositeScheduleRequest, composite)


def with_start(profile: Profile, now: datetime) -> Profile:
    """1.6's reading of a schedule without startSchedule (see the module docstring); `now` is its arrival."""
    schedule = profile.schedules[0]
    if profile.kind is not Kind.Absolute or schedule.start is not None:
        return profile
    if profile.purpose is Purpose.ChargingStationMaxProfile:
        return replace(profile, schedules=(replace(schedule, start=now), *profile.schedules[1:]))
    return replace(profile, kind=Kind.Relative)


def _tenths(schedule: dict[str, Any]) -> dict[str, Any]:
    for period in schedule["chargingSchedulePeriod"]:
        period["limit"] = tenths_down(float(period["limit"]))
    if "minChargingRate" in schedule:
        schedule["minChargingRate"] = tenths_down(float(schedule["minChargingRate"]))
    return schedule

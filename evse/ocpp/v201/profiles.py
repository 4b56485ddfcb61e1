"""OCPP 2.0.1 charging profiles, schedules and criteria <-> the smart-charging engine's own
(evse/smartcharging/model.py). The names are the same on both sides; only the classes differ.

What the engine does not keep: customData and an ISO 15118 salesTariff (the station has no use for either),
so a profile reported back (ReportChargingProfiles) comes without them.
"""

from __future__ import annotations

from evse.ocpp.v201 import messages as m
from evse.smartcharging.model import (
    ClearCriteria,
    CompositeSchedule,
    Kind,
    Profile,
    Purpose,
    RateUnit,
    Recurrency,
    ReportCriteria,
    Schedule,
    SchedulePeriod,
)


def profile_from_201(profile: m.ChargingProfileType) -> Profile:
    return Profile(
        id=profile.id,
        stack_level=profile.stackLevel,
        purpose=Purpose(profile.chargingProfilePurpose.value),
        kind=Kind(profile.chargingProfileKind.value),
        schedules=tuple(schedule_from_201(s) for s in profile.chargingSchedule),
        recurrency=Recurrency(profile.recurrencyKind.value) if profile.recurrencyKind is not None else None,
        valid_from=profile.validFrom,
        valid_to=profile.validTo,
        transaction_id=profile.transactionId,
    )


def schedule_from_201(schedule: m.ChargingScheduleType) -> Schedule:
    return Schedule(
        id=schedule.id,
        rate_unit=RateUnit(schedule.chargingRateUnit.value),
        periods=tuple(
            SchedulePeriod(p.startPeriod, p.limit, p.numberPhases, p.phaseToUse)
            for p in schedule.chargingSchedulePeriod
        ),
        start=schedule.startSchedule,
        duration=schedule.duration,
        min_charging_rate=schedule.minChargingRate,
    )


def profile_to_201(profile: Profile) -> m.ChargingProfileType:
    return m.ChargingProfileType(
        id=profile.id,
        stackLevel=profile.stack_level,
        chargingProfilePurpose=m.ChargingProfilePurposeEnumType(profile.purpose.value),
        chargingProfileKind=m.ChargingProfileKindEnumType(profile.kind.value),
        chargingSchedule=[schedule_to_201(s) for s in profile.schedules],
        recurrencyKind=m.RecurrencyKindEnumType(profile.recurrency.value) if profile.recurrency is not None else None,
        validFrom=profile.valid_from,
        validTo=profile.valid_to,
        transactionId=profile.transaction_id,
    )


def schedule_to_201(schedule: Schedule) -> m.ChargingScheduleType:
    return m.ChargingScheduleType(
        id=schedule.id,
        chargingRateUnit=m.ChargingRateUnitEnumType(schedule.rate_unit.value),
        chargingSchedulePeriod=[
            m.ChargingSchedulePeriodType(
                startPeriod=p.start_period, limit=p.limit, numberPhases=p.number_phases, phaseToUse=p.phase_to_use
            )
            for p in schedule.periods
        ],
        startSchedule=schedule.start,
        duration=schedule.duration,
        minChargingRate=schedule.min_charging_rate,
    )


def composite_to_201(composite: CompositeSchedule) -> m.CompositeScheduleType:
    return m.CompositeScheduleType(
        evseId=composite.evse_id,
        duration=composite.duration,
        scheduleStart=composite.start,
        chargingRateUnit=m.ChargingRateUnitEnumType(composite.rate_unit.value),
        chargingSchedulePeriod=[
            m.ChargingSchedulePeriodType(startPeriod=p.start_period, limit=p.limit, numberPhases=p.phases)
            for p in composite.periods
        ],
    )


def report_criteria_from_201(criteria: m.ChargingProfileCriterionType) -> ReportCriteria:
    purpose = criteria.chargingProfilePurpose
    sources = criteria.chargingLimitSource
    return ReportCriteria(
        profile_ids=tuple(criteria.chargingProfileId) if criteria.chargingProfileId is not None else None,
        stack_level=criteria.stackLevel,
        purpose=Purpose(purpose.value) if purpose is not None else None,
        limit_sources=tuple(s.value for s in sources) if sources is not None else None,
    )


def clear_criteria_from_201(request: m.ClearChargingProfileRequest) -> ClearCriteria:
    criteria = request.chargingProfileCriteria
    if criteria is None:
        return ClearCriteria(profile_id=request.chargingProfileId)
    purpose = criteria.chargingProfilePurpose
    return ClearCriteria(
        profile_id=request.chargingProfileId,
        evse_id=criteria.evseId,
        purpose=Purpose(purpose.value) if purpose is not None else None,
        stack_level=criteria.stackLevel,
    )

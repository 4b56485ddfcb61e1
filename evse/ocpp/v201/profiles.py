"""OCPP 2.0.1 charging profiles, schedules and criteria <-> the smart-charging engine's own
(evse/smartcharging/model.py). The names are the same on both sides; only the classes differ.

customData and an ISO 15118 salesTariff, which the station does not read, ride along as JSON (vendor_data,
sales_tariff), so a profile is reported back (ReportChargingProfiles) as the CSMS set it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

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
        vendor_data=_json(profile.customData),
    )


def _json(model: BaseModel | None) -> dict[str, Any] | None:
    return model.model_dump(mode="json", exclude_none=True) if model is not None else None


def _custom(data: Any) -> m.CustomDataType | None:
    return m.CustomDataType.model_validate(data) if data is not None else None


def schedule_from_201(schedule: m.ChargingScheduleType) -> Schedule:
    return Schedule(
        id=schedule.id,
        rate_unit=RateUnit(schedule.chargingRateUnit.value),
        periods=tuple(
            SchedulePeriod(p.startPeriod, p.limit, p.numberPhases, p.phaseToUse, _json(p.customData))
            for p in schedule.chargingSchedulePeriod
        ),
        start=schedule.startSchedule,
        duration=schedule.duration,
        min_charging_rate=schedule.minChargingRate,
        sales_tariff=_json(schedule.salesTariff),
        vendor_data=_json(schedule.customData),
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
        customData=_custom(profile.vendor_data),
    )


def schedule_to_201(schedule: Schedule) -> m.ChargingScheduleType:
    return m.ChargingScheduleType(
        id=schedule.id,
        chargingRateUnit=m.ChargingRateUnitEnumType(schedule.rate_unit.value),
        chargingSchedulePeriod=[
            m.ChargingSchedulePeriodType(
                startPeriod=p.start_period,
                limit=p.limit,
                numberPhases=p.number_phases,
                phaseToUse=p.phase_to_use,
                customData=_custom(p.vendor_data),
            )
            for p in schedule.periods
        ],
        startSchedule=schedule.start,
        duration=schedule.duration,
        minChargingRate=schedule.min_charging_rate,
        salesTariff=m.SalesTariffType.model_validate(schedule.sales_tariff)
        if schedule.sales_tariff is not None
        else None,
        customData=_custom(schedule.vendor_data),
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

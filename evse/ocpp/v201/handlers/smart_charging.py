"""Smart charging messages (K01, K05, K08-K10): translation to evse.station.shell.smart_charging.

With SmartChargingCtrlr.Enabled false the station answers them with a CALLERROR NotSupported, as a station
without smart charging does (TC_K_15).
"""

from __future__ import annotations

from evse.ocpp.calls import CallError
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import (
    clear_criteria_from_201,
    composite_to_201,
    profile_from_201,
    profile_to_201,
    report_criteria_from_201,
)
from evse.smartcharging.model import RateUnit
from evse.station.shell.station import Station

_REASON_MAX = 20  # StatusInfoType.reasonCode maxLength
_INFO_MAX = 512  # StatusInfoType.additionalInfo maxLength


def _info(reason: str, detail: str | None) -> m.StatusInfoType:
    return m.StatusInfoType(reasonCode=reason[:_REASON_MAX], additionalInfo=detail[:_INFO_MAX] if detail else None)


def register(router: Router, station: Station) -> None:
    """Attach SetChargingProfile, GetChargingProfiles, ClearChargingProfile and GetCompositeSchedule."""
    smart = station.smart_charging

    def enabled(action: str) -> None:
        if not station.dm.get_bool("SmartChargingCtrlr", "Enabled"):
            raise CallError("NotSupported", f"{action}: smart charging is disabled (SmartChargingCtrlr.Enabled)")

    async def set_profile(request: m.SetChargingProfileRequest) -> m.SetChargingProfileResponse:
        enabled(request.ACTION)
        verdict = smart.set_profile(request.evseId, profile_from_201(request.chargingProfile))
        if verdict.accepted:
            return m.SetChargingProfileResponse(status=m.ChargingProfileStatusEnumType.Accepted)
        return m.SetChargingProfileResponse(
            status=m.ChargingProfileStatusEnumType.Rejected,
            statusInfo=_info(verdict.reason or "Rejected", verdict.detail),
        )

    async def get_profiles(request: m.GetChargingProfilesRequest) -> m.GetChargingProfilesResponse | Reply:
        enabled(request.ACTION)
        # One ReportChargingProfiles holds one EVSE's profiles of one source; long lists are cut at the
        # station's report size (ItemsPerMessage of GetReport: no instance of its own in OCPP 2.0.1).
        per_message = station.dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", variable_instance="GetReport")
        reports = smart.report(request.evseId, report_criteria_from_201(request.chargingProfile), per_message)
        if not reports:
            return m.GetChargingProfilesResponse(status=m.GetChargingProfileStatusEnumType.NoProfiles)

        async def send_reports() -> None:  # after the CSMS has its answer (K09: the reports follow it)
            for index, report in enumerate(reports):
                station.messages.enqueue(
                    m.ReportChargingProfilesRequest(
                        requestId=request.requestId,
                        chargingLimitSource=m.ChargingLimitSourceEnumType(report.source),
                        evseId=report.evse_id,
                        chargingProfile=[profile_to_201(p) for p in report.profiles],
                        tbc=True if index + 1 < len(reports) else None,
                    )
                )

        return Reply(
            m.GetChargingProfilesResponse(status=m.GetChargingProfileStatusEnumType.Accepted), then=send_reports
        )

    async def clear_profile(request: m.ClearChargingProfileRequest) -> m.ClearChargingProfileResponse:
        enabled(request.ACTION)
        if smart.clear(clear_criteria_from_201(request)):
            return m.ClearChargingProfileResponse(status=m.ClearChargingProfileStatusEnumType.Accepted)
        return m.ClearChargingProfileResponse(
            status=m.ClearChargingProfileStatusEnumType.Unknown,
            statusInfo=_info("NotFound", "no charging profile matches"),
        )

    async def composite(request: m.GetCompositeScheduleRequest) -> m.GetCompositeScheduleResponse:
        enabled(request.ACTION)
        rejected = m.GenericStatusEnumType.Rejected
        if request.evseId != 0 and request.evseId not in station.evses:
            return m.GetCompositeScheduleResponse(
                status=rejected, statusInfo=_info("UnknownEvse", f"no EVSE {request.evseId}")
            )
        unit = request.chargingRateUnit
        if unit is not None and unit.value not in station.dm.get_list("SmartChargingCtrlr", "RateUnit"):
            detail = f"chargingRateUnit {unit.value} is not supported (SmartChargingCtrlr.RateUnit)"
            return m.GetCompositeScheduleResponse(status=rejected, statusInfo=_info("UnsupportedRateUnit", detail))
        if request.duration <= 0:
            return m.GetCompositeScheduleResponse(
                status=rejected, statusInfo=_info("InvalidValue", "duration must be positive")
            )
        schedule = smart.composite(request.evseId, request.duration, RateUnit(unit.value) if unit is not None else None)
        return m.GetCompositeScheduleResponse(
            status=m.GenericStatusEnumType.Accepted, schedule=composite_to_201(schedule)
        )

    router.register(m.SetChargingProfileRequest, set_profile)
    router.register(m.GetChargingProfilesRequest, get_profiles)
    router.register(m.ClearChargingProfileRequest, clear_profile)
    router.register(m.GetCompositeScheduleRequest, composite)

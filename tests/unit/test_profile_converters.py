"""The edges of the smart-charging engine: 2.0.1 (evse/ocpp/v201/profiles.py, the charging wire) and 1.6
(evse/ocpp/v16/profiles.py) profiles, criteria and schedules in the engine's terms and back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evse.ocpp.calls import OcppMessage
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.profiles import profile_from_16, schedule_to_16
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import (
    clear_criteria_from_201,
    composite_to_201,
    profile_from_201,
    profile_to_201,
    report_criteria_from_201,
)
from evse.ocpp.v201.schemas import validate_request
from evse.ocpp.v201.wire.charging import Charging201
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import (
    ClearCriteria,
    CompositePeriod,
    CompositeSchedule,
    Kind,
    Purpose,
    RateUnit,
    ReportCriteria,
    Schedule,
    SchedulePeriod,
)
from tests.charging_profiles import profile_201, wire_profile

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class NoCalls:
    """A CallSender for a wire that only renders."""

    async def call(self, request: OcppMessage, response_type: type[Any]) -> Any:
        raise AssertionError(f"unexpected CALL {request.ACTION}")


WIRE = Charging201(NoCalls())


@pytest.mark.parametrize(
    "given",
    [
        profile_201(1, "ChargingStationMaxProfile", [(0, 32.0), (600, 16.0, 1)], start=T0, duration=3600),
        profile_201(2, "TxDefaultProfile", [(0, 7400.0)], unit="W", kind="Recurring", recurrency="Daily", start=T0),
        profile_201(3, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="tx-1", min_rate=6.0),
        profile_201(4, "TxDefaultProfile", [(0, 8.0)], valid_from=T0, valid_to=T0 + timedelta(days=1), stack_level=5),
    ],
    ids=lambda p: str(p.id),
)
def test_a_2_0_1_profile_goes_to_the_engine_and_back_unchanged(given: m.ChargingProfileType) -> None:
    assert profile_to_201(profile_from_201(given)) == given


def test_a_2_0_1_profile_in_the_engines_terms() -> None:
    body = wire_profile(7, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="tx-1")
    body["chargingSchedule"][0]["chargingSchedulePeriod"][0].update(numberPhases=1, phaseToUse=3)
    engine = profile_from_201(m.ChargingProfileType.model_validate(body))
    assert (engine.purpose, engine.kind, engine.transaction_id, engine.stack_level) == (
        Purpose.TxProfile,
        Kind.Relative,
        "tx-1",
        0,
    )
    assert engine.schedules[0].periods == (SchedulePeriod(0, 10.0, 1, 3),)


def test_get_charging_profiles_criteria() -> None:
    criteria = m.ChargingProfileCriterionType(
        chargingProfilePurpose=m.ChargingProfilePurposeEnumType.TxDefaultProfile,
        stackLevel=2,
        chargingProfileId=[4, 5],
        chargingLimitSource=[m.ChargingLimitSourceEnumType.EMS, m.ChargingLimitSourceEnumType.CSO],
    )
    assert report_criteria_from_201(criteria) == ReportCriteria((4, 5), 2, Purpose.TxDefaultProfile, ("EMS", "CSO"))
    assert report_criteria_from_201(m.ChargingProfileCriterionType()) == ReportCriteria()


def test_clear_charging_profile_criteria() -> None:
    by_id = m.ClearChargingProfileRequest(chargingProfileId=9)
    assert clear_criteria_from_201(by_id) == ClearCriteria(profile_id=9)
    by_criteria = m.ClearChargingProfileRequest(
        chargingProfileCriteria=m.ClearChargingProfileType(
            evseId=1, stackLevel=2, chargingProfilePurpose=m.ChargingProfilePurposeEnumType.TxProfile
        )
    )
    assert clear_criteria_from_201(by_criteria) == ClearCriteria(None, 1, Purpose.TxProfile, 2)


COMPOSITE = CompositeSchedule(
    evse_id=1,
    duration=3600,
    start=T0,
    rate_unit=RateUnit.W,
    periods=(CompositePeriod(0, 11040.0, 3), CompositePeriod(1800, 3680.45, 1)),
)


def test_the_composite_schedule_in_2_0_1() -> None:
    assert composite_to_201(COMPOSITE).model_dump(mode="json", exclude_none=True) == {
        "evseId": 1,
        "duration": 3600,
        "scheduleStart": "2026-03-02T12:00:00Z",
        "chargingRateUnit": "W",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11040.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 3680.45, "numberPhases": 1},
        ],
    }


def test_the_composite_schedule_in_1_6() -> None:
    schedule = m16.ChargingSchedule.model_validate(schedule_to_16(COMPOSITE))
    assert schedule.model_dump(mode="json", exclude_none=True) == {
        "chargingRateUnit": "W",
        "duration": 3600,
        "startSchedule": "2026-03-02T12:00:00Z",
        "chargingSchedulePeriod": [
            {"startPeriod": 0, "limit": 11040.0, "numberPhases": 3},
            {"startPeriod": 1800, "limit": 3680.45, "numberPhases": 1},
        ],
    }


def test_a_1_6_profile_in_the_engines_terms() -> None:
    body = {
        "chargingProfileId": 12,
        "transactionId": 4711,
        "stackLevel": 1,
        "chargingProfilePurpose": "ChargePointMaxProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "validTo": "2026-04-01T00:00:00Z",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "startSchedule": "2026-03-02T12:00:00Z",
            "duration": 600,
            "minChargingRate": 6.0,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 1}],
        },
    }
    engine = profile_from_16(m16.ChargingProfile.model_validate(body), local_tx_id="local-1")
    assert (engine.id, engine.purpose, engine.kind, engine.stack_level) == (
        12,
        Purpose.ChargingStationMaxProfile,
        Kind.Recurring,
        1,
    )
    assert engine.transaction_id == "local-1"  # the station's id, never the CSMS's integer
    assert engine.valid_to == datetime(2026, 4, 1, tzinfo=UTC)
    assert engine.schedules == (
        Schedule(12, RateUnit.A, (SchedulePeriod(0, 16.0, 1),), start=T0, duration=600, min_charging_rate=6.0),
    )


def payload(message: OcppMessage) -> dict[str, Any]:
    data = message.model_dump(mode="json", exclude_none=True)
    validate_request(message.ACTION, data)
    return data


def test_the_schedule_the_ev_accepted_in_2_0_1() -> None:
    schedule = Schedule(
        3, RateUnit.A, (SchedulePeriod(0, 16.0, 3), SchedulePeriod(900, 0.0, 3)), start=T0, duration=1800
    )
    assert payload(WIRE.ev_charging_schedule(2, T0, schedule)) == {
        "timeBase": "2026-03-02T12:00:00Z",
        "evseId": 2,
        "chargingSchedule": {
            "id": 3,
            "chargingRateUnit": "A",
            "startSchedule": "2026-03-02T12:00:00Z",
            "duration": 1800,
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16.0, "numberPhases": 3},
                {"startPeriod": 900, "limit": 0.0, "numberPhases": 3},
            ],
        },
    }


def test_external_limits_in_2_0_1() -> None:
    limit = ExternalLimit("EMS", 0, amps=20.0, is_grid_critical=True)
    assert payload(WIRE.charging_limit(limit, [])) == {
        "chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True}
    }
    assert payload(WIRE.charging_limit_cleared(ExternalLimit("SO", 2, amps=10.0))) == {
        "chargingLimitSource": "SO",
        "evseId": 2,
    }

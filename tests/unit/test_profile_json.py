"""The profile store's JSON (evse/smartcharging/profile_json.py): what earlier releases wrote (2.0.1's
ChargingProfileType, dumped by pydantic) reads back, and what this release writes is the same text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import profile_from_201, profile_to_201
from evse.smartcharging.model import Kind, Purpose, Recurrency
from evse.smartcharging.profile_json import ProfileJsonError, profile_from_json, profile_to_json
from tests.charging_profiles import wire_profile

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROFILES: list[dict[str, Any]] = [
    wire_profile(1, "ChargingStationMaxProfile", [(0, 32.0), (3600, 16.5, 1)], start=T0),
    wire_profile(
        2,
        "TxDefaultProfile",
        [(0, 11000.0)],
        kind="Recurring",
        recurrency="Weekly",
        unit="W",
        start=T0 + timedelta(milliseconds=123),  # wire_profile writes milliseconds
        duration=7200,
        valid_from=T0,
        valid_to=T0 + timedelta(days=3),
        min_rate=1400.0,
        stack_level=3,
    ),
    wire_profile(3, "TxProfile", [(0, 10)], kind="Relative", transaction_id="tx-9"),
]


def _previous_release(body: dict[str, Any]) -> str:
    """A row as the previous release stored it: the 2.0.1 model's JSON."""
    return m.ChargingProfileType.model_validate(body).model_dump_json(exclude_none=True)


@pytest.mark.parametrize("body", PROFILES, ids=lambda b: str(b["id"]))
def test_a_row_of_the_previous_release_reads_back_and_is_written_again_unchanged(body: dict[str, Any]) -> None:
    stored = _previous_release(body)
    profile = profile_from_json(json.loads(stored))
    assert profile == profile_from_201(m.ChargingProfileType.model_validate(body))
    assert json.dumps(profile_to_json(profile), separators=(",", ":")) == stored


def test_fields_come_back_as_the_engine_uses_them() -> None:
    profile = profile_from_json(json.loads(_previous_release(PROFILES[1])))
    assert (profile.purpose, profile.kind, profile.recurrency) == (
        Purpose.TxDefaultProfile,
        Kind.Recurring,
        Recurrency.Weekly,
    )
    schedule = profile.schedules[0]
    assert schedule.start == T0 + timedelta(milliseconds=123)
    assert (schedule.duration, schedule.min_charging_rate, schedule.periods[0].limit) == (7200, 1400.0, 11000.0)
    assert profile.valid_to == T0 + timedelta(days=3)


def test_an_offset_other_than_utc_is_kept() -> None:
    body = wire_profile(1, "TxDefaultProfile", [(0, 10.0)])
    body["chargingSchedule"][0]["startSchedule"] = "2026-03-02T14:00:00+02:00"
    profile = profile_from_json(body)
    assert profile.schedules[0].start == datetime(2026, 3, 2, 14, tzinfo=timezone(timedelta(hours=2)))
    assert profile_to_json(profile)["chargingSchedule"][0]["startSchedule"] == "2026-03-02T14:00:00+02:00"


@pytest.mark.parametrize(
    "broken",
    [
        {"id": 7},
        {**wire_profile(1, "TxDefaultProfile", [(0, 10.0)]), "chargingProfilePurpose": "Nonsense"},
        {**wire_profile(1, "TxDefaultProfile", [(0, 10.0)]), "chargingSchedule": []},
        {**wire_profile(1, "TxDefaultProfile", [(0, 10.0)]), "stackLevel": "high"},
        {**wire_profile(1, "TxDefaultProfile", [(0, 10.0)]), "validTo": "tomorrow"},
        [1, 2],
    ],
)
def test_what_is_no_profile_raises_profile_json_error(broken: Any) -> None:
    with pytest.raises(ProfileJsonError):
        profile_from_json(broken)


def _with_extras() -> dict[str, Any]:
    """A profile with what the station does not read: customData everywhere and an ISO 15118 salesTariff."""
    body = wire_profile(8, "TxDefaultProfile", [(0, 16.0), (600, 8.0)], start=T0)
    body["customData"] = {"vendorId": "org.example", "fleet": "north"}
    schedule = body["chargingSchedule"][0]
    schedule["customData"] = {"vendorId": "org.example", "tier": 2}
    schedule["chargingSchedulePeriod"][1]["customData"] = {"vendorId": "org.example", "note": "night"}
    schedule["salesTariff"] = {
        "id": 1,
        "salesTariffEntry": [{"relativeTimeInterval": {"start": 0, "duration": 600}, "ePriceLevel": 1}],
        "numEPriceLevels": 2,
    }
    return body


def test_what_the_station_does_not_read_is_kept_so_it_is_reported_back_as_set() -> None:
    given = m.ChargingProfileType.model_validate(_with_extras())
    engine = profile_from_201(given)
    assert engine.schedules[0].sales_tariff is not None
    assert profile_to_201(engine) == given
    stored = given.model_dump_json(exclude_none=True)
    assert profile_from_json(json.loads(stored)) == engine
    assert json.dumps(profile_to_json(engine), separators=(",", ":")) == stored

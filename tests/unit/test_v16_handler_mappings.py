"""The pure mappings of the 1.6 Local Auth List, Reservation and Smart Charging handlers: 1.6 values in the
station's terms (evse/ocpp/v16/handlers/local_list.py, reservation.py, smart_charging.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.handlers.local_list import list_entry
from evse.ocpp.v16.handlers.reservation import reservation_from_16
from evse.ocpp.v16.handlers.smart_charging import tenths_down, with_start
from evse.ocpp.v16.profiles import profile_from_16
from evse.smartcharging.model import Kind, Profile
from evse.station.core.reservation_book import IdToken
from evse.station.core.tokens import token_key
from evse.station.core.tokens_neutral import TokenStatus
from evse.station.shell.station import ID_TAG_TYPE_16

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_local_list_entry_is_the_token_a_1_6_card_presents() -> None:
    """The stored key must equal the key of an idTag presented under 1.6, or the list never matches."""
    entry = m16.AuthorizationData.model_validate(
        {"idTag": "AABBCCDD", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET", "expiryDate": NOW.isoformat()}}
    )
    data = list_entry(entry)
    assert token_key(data.token.value, data.token.kind) == token_key("aabbccdd", ID_TAG_TYPE_16)
    assert data.verdict is not None
    assert data.verdict.status is TokenStatus.Blocked
    assert data.verdict.expires == NOW
    assert data.verdict.group is not None and data.verdict.group.value == "FLEET"


def test_local_list_entry_without_info_removes() -> None:
    assert list_entry(m16.AuthorizationData(idTag="AABBCCDD")).verdict is None


def test_reservation_of_connector_zero_is_not_evse_specific() -> None:
    request = m16.ReserveNowRequest(
        connectorId=0, expiryDate=datetime(2026, 3, 1, 13, 0), idTag="AABBCCDD", reservationId=3, parentIdTag="FLEET"
    )
    reservation = reservation_from_16(request)
    assert reservation.evse_id is None
    assert reservation.expiry.tzinfo is UTC  # a naive expiryDate is UTC
    # A card of the same parent holds it: the group is typed as a parentIdTag from the CSMS is.
    assert reservation.held_by(IdToken("OTHER", ID_TAG_TYPE_16), IdToken("fleet", "Central"))
    assert not reservation.held_by(IdToken("OTHER", ID_TAG_TYPE_16), None)


@pytest.mark.parametrize(
    ("value", "expected"), [(10.0, 10.0), (13.33, 13.3), (5.79999, 5.7), (0.3, 0.3), (4140.06, 4140.0), (7.7, 7.7)]
)
def test_limits_round_down_to_one_decimal(value: float, expected: float) -> None:
    assert tenths_down(value) == expected


def _profile(purpose: str, kind: str = "Absolute", start: datetime | None = None) -> Profile:
    schedule: dict[str, object] = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}
    if start is not None:
        schedule["startSchedule"] = start.isoformat()
    body = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
    }
    return profile_from_16(m16.ChargingProfile.model_validate(body))


def test_absolute_schedule_without_start_is_relative_to_charging() -> None:
    profile = with_start(_profile("TxDefaultProfile"), NOW)
    assert profile.kind is Kind.Relative
    assert profile.schedules[0].start is None


def test_charge_point_max_profile_without_start_starts_on_arrival() -> None:
    profile = with_start(_profile("ChargePointMaxProfile"), NOW)
    assert profile.kind is Kind.Absolute
    assert profile.schedules[0].start == NOW


def test_schedule_with_start_is_left_alone() -> None:
    given = _profile("TxDefaultProfile", start=NOW)
    assert with_start(given, datetime(2030, 1, 1, tzinfo=UTC)) == given

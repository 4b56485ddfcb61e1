"""OCPP 1.6 Smart Charging over loopback: SetChargingProfile, ClearChargingProfile and GetCompositeSchedule
against the 1.6 dev CSMS, on the station's smart-charging engine, down to the simulated pilot's offer.
OCPP 1.6 sections 3.13, 5.5, 5.7, 5.16; test ids from the OCA 1.6 test case document."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.exceptions import NotSupportedError
from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest

EVSE_MAX_A = 32.0  # the test station's EVSE rating (config default)


def ago(seconds: float = 5) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def profile(
    profile_id: int,
    purpose: str,
    limits: list[tuple[int, float]],
    *,
    stack_level: int = 0,
    unit: str = "A",
    kind: str = "Absolute",
    start: str | None = "now",
    **extra: Any,
) -> dict[str, Any]:
    """A 1.6 ChargingProfile (camelCase, as on the wire); `start` "now": a few seconds ago."""
    schedule: dict[str, Any] = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": limit} for s, limit in limits],
    }
    if start is not None:
        schedule["startSchedule"] = ago() if start == "now" else start
    return {
        "chargingProfileId": profile_id,
        "stackLevel": stack_level,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": kind,
        "chargingSchedule": schedule,
        **extra,
    }


async def set_profile(csms16: DevCsms16, connector_id: int, body: dict[str, Any]) -> str:
    request = call.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=body)
    return str((await csms16.call(STATION_ID, request)).status)


async def clear(csms16: DevCsms16, **criteria: Any) -> str:
    return str((await csms16.call(STATION_ID, call.ClearChargingProfile(**criteria))).status)


async def composite(csms16: DevCsms16, connector_id: int = 1, duration: int = 400, unit: str | None = "A") -> Any:
    return await csms16.call(
        STATION_ID, call.GetCompositeSchedule(connector_id=connector_id, duration=duration, charging_rate_unit=unit)
    )


def first_limit(answer: Any) -> float:
    return float(answer.charging_schedule["charging_schedule_period"][0]["limit"])


async def until_true(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the board's offer is state, not an event source
            await asyncio.sleep(0.05)


def offered(station16: StationUnderTest) -> float | None:
    return station16.d.board.snapshot(1)["offered_current_a"]


async def charge(csms16: DevCsms16, station16: StationUnderTest, id_tag: str = "AABBCCDD") -> int:
    """Start a session on connector 1; the CSMS's transactionId."""
    station16.d.board.swipe(1, id_tag)
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    await csms16.wait_for("StartTransaction", timeout=5)
    await until_true(lambda: bool(csms16.transactions16))
    return max(csms16.transactions16)


async def test_charge_point_max_profile_limits_the_offer(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A ChargePointMaxProfile of 10 A makes the pilot offer 10 A; it goes on connectorId 0 only."""
    await charge(csms16, station16)
    await until_true(lambda: offered(station16) == EVSE_MAX_A)
    assert await set_profile(csms16, 1, profile(1, "ChargePointMaxProfile", [(0, 10.0)])) == "Rejected"
    assert await set_profile(csms16, 0, profile(1, "ChargePointMaxProfile", [(0, 10.0)])) == "Accepted"
    await until_true(lambda: offered(station16) == 10.0)
    assert await clear(csms16, id=1) == "Accepted"
    await until_true(lambda: offered(station16) == EVSE_MAX_A)


async def test_TC_056_CS_tx_default_profile(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A TxDefaultProfile (here on connectorId 0, for every connector) limits the transactions that follow."""
    assert await set_profile(csms16, 0, profile(2, "TxDefaultProfile", [(0, 8.0)])) == "Accepted"
    assert await set_profile(csms16, 7, profile(3, "TxDefaultProfile", [(0, 8.0)])) == "Rejected"  # no such connector
    await charge(csms16, station16)
    await until_true(lambda: offered(station16) == 8.0)
    assert first_limit(await composite(csms16)) == 8.0


async def test_TC_057_CS_tx_profile(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A TxProfile names the running transaction by the CSMS's transactionId; another id is Rejected, and
    a TxProfile outranks the TxDefaultProfile while it lasts."""
    assert await set_profile(csms16, 1, profile(4, "TxDefaultProfile", [(0, 16.0)])) == "Accepted"
    transaction_id = await charge(csms16, station16)
    await until_true(lambda: offered(station16) == 16.0)
    wrong = profile(5, "TxProfile", [(0, 7.0)], transactionId=transaction_id + 1)
    assert await set_profile(csms16, 1, wrong) == "Rejected"
    right = profile(5, "TxProfile", [(0, 7.0)], transactionId=transaction_id)
    assert await set_profile(csms16, 0, right) == "Rejected"  # a TxProfile goes on its connector
    assert await set_profile(csms16, 1, right) == "Accepted"
    await until_true(lambda: offered(station16) == 7.0)
    # Without a transactionId, a TxProfile is for the transaction running on the connector (1.6 section 5.16).
    assert await set_profile(csms16, 1, profile(6, "TxProfile", [(0, 9.0)], stack_level=1)) == "Accepted"
    await until_true(lambda: offered(station16) == 9.0)
    csms16.assert_no_failures()


async def test_TC_058_1_CS_tx_profile_without_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await set_profile(csms16, 1, profile(7, "TxProfile", [(0, 7.0)], transactionId=1001)) == "Rejected"
    assert await set_profile(csms16, 1, profile(7, "TxProfile", [(0, 7.0)])) == "Rejected"


async def test_only_a_tx_profile_names_a_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    transaction_id = await charge(csms16, station16)
    body = profile(8, "TxDefaultProfile", [(0, 7.0)], transactionId=transaction_id)
    assert await set_profile(csms16, 1, body) == "Rejected"


async def test_schedule_without_start_is_relative_to_charging(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 ChargingSchedule.startSchedule: "if absent the schedule will be relative to start of charging"."""
    body = profile(9, "TxDefaultProfile", [(0, 12.0), (3600, 6.0)], start=None)
    assert await set_profile(csms16, 1, body) == "Accepted"
    assert await set_profile(csms16, 0, profile(10, "ChargePointMaxProfile", [(0, 20.0)], start=None)) == "Accepted"
    await charge(csms16, station16)
    await until_true(lambda: offered(station16) == 12.0)
    answer = await composite(csms16, duration=7200)
    periods = answer.charging_schedule["charging_schedule_period"]
    assert [float(p["limit"]) for p in periods] == [12.0, 6.0]
    assert 3590 <= periods[1]["start_period"] <= 3600  # an hour after the transaction started


async def test_TC_066_CS_get_composite_schedule(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """The composite of a ChargePointMaxProfile and a TxDefaultProfile, in A and in W, limits with one decimal."""
    assert await set_profile(csms16, 0, profile(11, "ChargePointMaxProfile", [(0, 10.0)])) == "Accepted"
    assert await set_profile(csms16, 1, profile(12, "TxDefaultProfile", [(0, 6.0), (100, 8.0), (200, 16.0)])) == (
        "Accepted"
    )
    answer = await composite(csms16, duration=400)
    assert (answer.status, answer.connector_id) == ("Accepted", 1)
    schedule = answer.charging_schedule
    assert (schedule["duration"], schedule["charging_rate_unit"]) == (400, "A")
    assert answer.schedule_start is not None
    limits = [float(p["limit"]) for p in schedule["charging_schedule_period"]]
    assert limits == [6.0, 8.0, 10.0]  # the TxDefaultProfile under the ChargePointMaxProfile's 10 A
    watts = await composite(csms16, duration=400, unit="W")
    assert watts.charging_schedule["charging_rate_unit"] == "W"
    assert [float(p["limit"]) for p in watts.charging_schedule["charging_schedule_period"]] == [
        a * 230 * 3 for a in limits
    ]
    csms16.assert_no_failures()  # the dev CSMS checked every answer against the 1.6 schemas (multipleOf 0.1)


async def test_get_composite_schedule_rejected(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert (await composite(csms16, connector_id=7)).status == "Rejected"
    assert (await composite(csms16, connector_id=0, unit=None)).status == "Accepted"


async def test_TC_067_CS_clear_charging_profile(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """By id, by purpose and stack level, by connector; Unknown when nothing matches."""
    assert await set_profile(csms16, 1, profile(13, "TxDefaultProfile", [(0, 6.0)], stack_level=1)) == "Accepted"
    assert await set_profile(csms16, 1, profile(14, "TxDefaultProfile", [(0, 8.0)], stack_level=2)) == "Accepted"
    assert await set_profile(csms16, 0, profile(15, "ChargePointMaxProfile", [(0, 10.0)])) == "Accepted"
    assert first_limit(await composite(csms16)) == 8.0
    assert await clear(csms16, id=14) == "Accepted"
    assert first_limit(await composite(csms16)) == 6.0
    assert await clear(csms16, id=14) == "Unknown"
    assert await clear(csms16, charging_profile_purpose="TxDefaultProfile", stack_level=2) == "Unknown"
    assert await clear(csms16, charging_profile_purpose="TxDefaultProfile", stack_level=1) == "Accepted"
    assert first_limit(await composite(csms16)) == 10.0
    assert await clear(csms16, connector_id=1) == "Unknown"  # the ChargePointMaxProfile is on connectorId 0
    assert await clear(csms16, connector_id=0, charging_profile_purpose="ChargePointMaxProfile") == "Accepted"
    assert first_limit(await composite(csms16)) == EVSE_MAX_A


async def test_limits_carry_one_decimal(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """The 1.6 schema's multipleOf 0.1: a limit with two decimals is a CALLERROR, one with one decimal is kept."""
    # The library refuses to send such a CALL: it goes out raw, and the station's CALLERROR comes back raw.
    payload = {"connectorId": 0, "csChargingProfiles": profile(16, "ChargePointMaxProfile", [(0, 10.05)])}
    await csms16.send_raw(STATION_ID, json.dumps([2, "two-decimals", "SetChargingProfile", payload]))
    frame = json.loads(await csms16.next_raw(STATION_ID))
    while frame[1] != "two-decimals":  # the station's own CALLs (StatusNotification ...) may come first
        frame = json.loads(await csms16.next_raw(STATION_ID))
    assert frame[:3] == [4, "two-decimals", "PropertyConstraintViolation"]
    assert await set_profile(csms16, 0, profile(16, "ChargePointMaxProfile", [(0, 10.3)])) == "Accepted"
    assert first_limit(await composite(csms16)) == 10.3


async def test_smart_charging_disabled(make_station16: Factory, csms16: DevCsms16) -> None:
    await make_station16(device_model={"SmartChargingCtrlr.Enabled": False})
    await csms16.wait_for("StatusNotification", timeout=10)
    assert await set_profile(csms16, 0, profile(17, "ChargePointMaxProfile", [(0, 10.0)])) == "NotSupported"
    with pytest.raises(NotSupportedError):
        await clear(csms16, id=17)
    assert (await composite(csms16)).status == "Rejected"


async def test_stack_level_within_charge_profile_max_stack_level(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    answer = await csms16.call(STATION_ID, call.GetConfiguration(key=["ChargeProfileMaxStackLevel"]))
    most = int(answer.configuration_key[0]["value"])
    assert await set_profile(csms16, 1, profile(18, "TxDefaultProfile", [(0, 8.0)], stack_level=most + 1)) == (
        "Rejected"
    )
    assert await set_profile(csms16, 1, profile(18, "TxDefaultProfile", [(0, 8.0)], stack_level=most)) == "Accepted"

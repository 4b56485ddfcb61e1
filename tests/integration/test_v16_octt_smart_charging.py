"""OCPP 1.6 Smart Charging OCTT Charge Point cases on the wire that test_v16_smart_charging.py left open: a
TxProfile naming the wrong transaction, RemoteStartTransaction with a charging profile (followed, or refused
for the wrong purpose), stacking, and a TxDefaultProfile arriving during a transaction. Each is checked down to
the simulated pilot's offer or the GetCompositeSchedule answer. OCPP 1.6 sections 3.13, 5.11, 5.16; test ids
from the OCA 1.6 test case document."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.integration.test_v16_core import TAG, actions
from tests.integration.test_v16_smart_charging import (
    EVSE_MAX_A,
    charge,
    composite,
    first_limit,
    offered,
    profile,
    set_profile,
    until_true,
)


def with_duration(body: dict[str, Any], seconds: int) -> dict[str, Any]:
    body["chargingSchedule"]["duration"] = seconds
    return body


def limits(answer: Any) -> list[float]:
    return [float(p["limit"]) for p in answer.charging_schedule["charging_schedule_period"]]


async def test_TC_058_2_CS_tx_profile_with_the_wrong_transaction_id(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """A TxProfile whose transactionId is not the transaction running on the connector is Rejected and
    changes nothing: the offer and the composite schedule stay at the EVSE's rating."""
    transaction_id = await charge(csms16, station16)
    await until_true(lambda: offered(station16) == EVSE_MAX_A)
    wrong = profile(21, "TxProfile", [(0, 6.0)], transactionId=transaction_id + 7)
    assert await set_profile(csms16, 1, wrong) == "Rejected"
    await asyncio.sleep(0.3)  # a wrongly installed profile would lower the offer by now
    assert offered(station16) == EVSE_MAX_A
    assert first_limit(await composite(csms16)) == EVSE_MAX_A


async def test_TC_059_CS_remote_start_with_a_charging_profile(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """RemoteStartTransaction with a TxProfile: the transaction starts, the pilot offers the profile's limit
    and GetCompositeSchedule for the connector reports it (1.6 section 5.11)."""
    tx_profile = profile(22, "TxProfile", [(0, 6.0), (3600, 10.0)], kind="Relative", start=None)
    request = call.RemoteStartTransaction(id_tag=TAG, connector_id=1, charging_profile=tx_profile)
    assert (await csms16.call(STATION_ID, request)).status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == TAG
    await until_true(lambda: offered(station16) == 6.0)
    answer = await composite(csms16, duration=600)
    assert (answer.status, answer.connector_id) == ("Accepted", 1)
    schedule = answer.charging_schedule
    assert (schedule["duration"], schedule["charging_rate_unit"]) == (600, "A")
    assert limits(answer) == [6.0]  # the 10 A period starts an hour in, after the 600 s asked for
    csms16.assert_no_failures()


async def test_TC_060_CS_remote_start_with_a_charging_profile_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """A charging profile in RemoteStartTransaction must be a TxProfile: a TxDefaultProfile makes the
    request Rejected, and nothing starts."""
    default = profile(23, "TxDefaultProfile", [(0, 6.0)], kind="Relative", start=None)
    request = call.RemoteStartTransaction(id_tag=TAG, connector_id=1, charging_profile=default)
    assert (await csms16.call(STATION_ID, request)).status == "Rejected"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)  # a wrongly accepted remote start would have authorized and started by now
    assert "Authorize" not in actions(csms16) and "StartTransaction" not in actions(csms16)
    assert first_limit(await composite(csms16)) == EVSE_MAX_A  # and the profile was not installed


async def test_TC_072_CS_stacking_charging_profiles(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Two TxDefaultProfiles on the connector: stack level 1 (150 s) prevails while it lasts, then stack
    level 0 (400 s) shows through (1.6 section 3.13.2). Both start a few seconds ago, so each duration has
    those seconds added, as the OCTT adds its time deviation; stack level 0 also outlasts the 400 s asked for by
    the time the messages take (30 s of slack: with none, a second's delay on a busy machine let the EVSE's
    own 32 A show at the end of the window)."""
    low = with_duration(profile(24, "TxDefaultProfile", [(0, 6.0), (100, 8.0), (200, 10.0)], stack_level=0), 435)
    high = with_duration(profile(25, "TxDefaultProfile", [(0, 12.0), (100, 9.0)], stack_level=1), 155)
    assert await set_profile(csms16, 1, low) == "Accepted"
    assert await set_profile(csms16, 1, high) == "Accepted"
    answer = await composite(csms16, duration=400)
    assert answer.status == "Accepted"
    assert limits(answer) == [12.0, 9.0, 8.0, 10.0]
    starts = [p["start_period"] for p in answer.charging_schedule["charging_schedule_period"]]
    assert starts[0] == 0 and starts == sorted(starts)
    # stack level 1 ends 155 s after its startSchedule, counted here from the composite's scheduleStart
    began = datetime.fromisoformat(high["chargingSchedule"]["startSchedule"])
    offset = (datetime.fromisoformat(answer.schedule_start) - began).total_seconds()
    assert abs(starts[2] - (155 - offset)) <= 1


async def test_TC_082_CS_tx_default_profile_during_a_transaction(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """A TxDefaultProfile set while a transaction runs without a TxProfile applies to it at once."""
    await charge(csms16, station16)
    await until_true(lambda: offered(station16) == EVSE_MAX_A)
    assert await set_profile(csms16, 1, profile(26, "TxDefaultProfile", [(0, 7.0)])) == "Accepted"
    await until_true(lambda: offered(station16) == 7.0)
    assert first_limit(await composite(csms16)) == 7.0
    csms16.assert_no_failures()

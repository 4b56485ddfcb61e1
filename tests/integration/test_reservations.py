"""Block H over loopback: reservations reach the connector status, the transaction and a reboot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

TOKEN = {"id_token": "AABBCCDD", "type": "ISO14443"}


def expiry(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def status_is(status: str, evse_id: int = 1) -> Any:
    return lambda p: p["connectorStatus"] == status and p["evseId"] == evse_id


async def reserve(csms: DevCsms, rid: int, seconds: float = 60, evse_id: int | None = 1, **extra: Any) -> str:
    request = call.ReserveNow(id=rid, expiry_date_time=expiry(seconds), id_token=TOKEN, evse_id=evse_id, **extra)
    return str((await csms.call(STATION_ID, request)).status)


async def test_TC_H_01_CS_reserved_evse_charges_for_its_token(csms: DevCsms, station: StationUnderTest) -> None:
    assert await reserve(csms, 5) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    station.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=5)
    assert started["reservationId"] == 5
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.3)
    assert station.d.board.contactor(1).is_closed


async def test_TC_H_02_CS_reserved_evse_refuses_another_token(csms: DevCsms, station: StationUnderTest) -> None:
    assert await reserve(csms, 6) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    station.d.board.swipe(1, "04A2B3C4D5E6F7")  # valid at the CSMS, but not the reserved one
    await csms.wait_for("Authorize", timeout=5)
    await asyncio.sleep(0.3)
    assert station.d.station.evses[1].state.token is None
    assert csms.received("TransactionEvent") == []


async def test_TC_H_03_CS_and_TC_H_04_CS_reserving_a_reserved_or_occupied_evse(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert await reserve(csms, 7) == "Accepted"
    assert await reserve(csms, 8) == "Occupied"
    assert (await csms.call(STATION_ID, call.CancelReservation(reservation_id=7))).status == "Accepted"
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)
    assert await reserve(csms, 9) == "Occupied"


async def test_TC_H_07_CS_reservation_expires(csms: DevCsms, station: StationUnderTest) -> None:
    assert await reserve(csms, 10, seconds=1.5) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    update = await csms.wait_for("ReservationStatusUpdate", timeout=5)
    assert (update["reservationId"], update["reservationUpdateStatus"]) == (10, "Expired")
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)


async def test_TC_H_17_CS_and_TC_H_18_CS_cancel_reservation(csms: DevCsms, station: StationUnderTest) -> None:
    assert await reserve(csms, 11) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    assert (await csms.call(STATION_ID, call.CancelReservation(reservation_id=11))).status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert (await csms.call(STATION_ID, call.CancelReservation(reservation_id=11))).status == "Rejected"


async def test_TC_H_21_CS_station_cancels_reservation_when_unavailable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert await reserve(csms, 12) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    update = await csms.wait_for("ReservationStatusUpdate", timeout=5)
    assert (update["reservationId"], update["reservationUpdateStatus"]) == (12, "Removed")


async def test_TC_B_24_CS_reserved_persists_reset(csms: DevCsms, station: StationUnderTest) -> None:
    assert await reserve(csms, 13, seconds=120) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
    assert await station.wait_exit() is Exit.RESET
    csms.skip("StatusNotification")
    await station.start()
    await csms.wait_for("BootNotification", timeout=10)
    assert (await csms.wait_for("StatusNotification", timeout=5))["connectorStatus"] == "Reserved"

"""OCPP 1.6 Reservation over loopback: ReserveNow and CancelReservation against the 1.6 dev CSMS, on the
station's reservation book. OCPP 1.6 sections 3.11, 5.2, 5.13; test ids from the OCA 1.6 test case document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest

ID_TAG = "AABBCCDD"
OTHER_TAG = "DEADBEEF"


def expiry(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def status_is(status: str, connector_id: int = 1) -> Any:
    return lambda p: p["status"] == status and p["connectorId"] == connector_id


async def reserve(csms16: DevCsms16, rid: int, connector_id: int = 1, seconds: float = 60, **extra: Any) -> str:
    request = call.ReserveNow(
        connector_id=connector_id, expiry_date=expiry(seconds), id_tag=ID_TAG, reservation_id=rid, **extra
    )
    return str((await csms16.call(STATION_ID, request)).status)


async def cancel(csms16: DevCsms16, rid: int) -> str:
    return str((await csms16.call(STATION_ID, call.CancelReservation(reservation_id=rid))).status)


async def test_TC_046_1_CS_reserved_connector_local_start(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Only the reserved idTag charges on the reserved connector; its StartTransaction.req carries the
    reservationId (1.6 section 5.13), and the reservation is used up."""
    board = station16.d.board
    assert await reserve(csms16, 31) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    board.swipe(1, OTHER_TAG)  # valid at the CSMS, but not the reserved one
    board.plug(1)
    board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    assert csms16.received("StartTransaction") == []
    board.swipe(1, ID_TAG)
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["connectorId"], start["reservationId"]) == (ID_TAG, 1, 31)
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    assert await cancel(csms16, 31) == "Rejected"  # used: no longer held
    csms16.assert_no_failures()


async def test_TC_046_2_CS_reserved_connector_remote_start(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await reserve(csms16, 32) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=ID_TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (ID_TAG, 32)


async def test_reserved_for_a_parent_id_tag(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A card whose idTagInfo names the reservation's parentIdTag may use it (1.6 section 5.13)."""
    csms16.respond("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET1"}})
    assert await reserve(csms16, 33, parent_id_tag="FLEET1") == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    station16.d.board.swipe(1, OTHER_TAG)
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (OTHER_TAG, 33)


async def test_TC_047_CS_reservation_expires(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Unused until its expiryDate, the reservation ends and the connector is Available again; 1.6 has no
    ReservationStatusUpdate, so nothing else is sent."""
    assert await reserve(csms16, 34, seconds=1.5) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    csms16.skip("StatusNotification")  # the Available of before the reservation
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert await cancel(csms16, 34) == "Rejected"
    csms16.assert_no_failures()


async def test_TC_048_1_CS_reserve_faulted_connector(csms16: DevCsms16, station16: StationUnderTest) -> None:
    station16.d.board.raise_fault(1, "rcd_trip")
    await csms16.wait_for("StatusNotification", predicate=status_is("Faulted"), timeout=5)
    assert await reserve(csms16, 35) == "Faulted"


async def test_TC_048_2_CS_reserve_occupied_connector(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Occupied as 1.6 reads it: Preparing with a driver authorized and no EV yet, or with the EV plugged."""
    station16.d.board.swipe(1, OTHER_TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    assert await reserve(csms16, 36) == "Occupied"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    assert await reserve(csms16, 36) == "Occupied"


async def test_reserve_connector_with_ev_plugged(csms16: DevCsms16, station16: StationUnderTest) -> None:
    station16.d.board.plug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    assert await reserve(csms16, 36) == "Occupied"


async def test_TC_048_3_CS_reserve_unavailable_connector(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    assert await reserve(csms16, 37) == "Unavailable"


async def test_reserve_now_rejected(make_station16: Factory, csms16: DevCsms16) -> None:
    """Rejected: a connector the station lacks, connectorId 0 without ReserveConnectorZeroSupported, and
    anything while reservations are switched off."""
    await make_station16()
    await csms16.wait_for("StatusNotification", timeout=10)
    assert await reserve(csms16, 38, connector_id=7) == "Rejected"
    answer = await csms16.call(STATION_ID, call.GetConfiguration(key=["ReserveConnectorZeroSupported"]))
    assert answer.configuration_key[0]["value"] == "false"
    assert await reserve(csms16, 39, connector_id=0) == "Rejected"


async def test_reserve_now_rejected_while_disabled(make_station16: Factory, csms16: DevCsms16) -> None:
    await make_station16(device_model={"ReservationCtrlr.Enabled": False})
    await csms16.wait_for("StatusNotification", timeout=10)
    assert await reserve(csms16, 40) == "Rejected"


async def test_TC_049_CS_reserve_charge_point(make_station16: Factory, csms16: DevCsms16) -> None:
    """connectorId 0 with ReserveConnectorZeroSupported: with one connector, that connector is held."""
    sut = await make_station16(device_model={"ReservationCtrlr.NonEvseSpecific": True})
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    assert await reserve(csms16, 41, connector_id=0) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    sut.d.board.swipe(1, ID_TAG)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["reservationId"] == 41


async def test_TC_051_CS_and_TC_052_CS_cancel_reservation(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await reserve(csms16, 42) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    csms16.skip("StatusNotification")  # the Available of before the reservation
    assert await cancel(csms16, 43) == "Rejected"  # not the reservation held
    assert await cancel(csms16, 42) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    station16.d.board.swipe(1, OTHER_TAG)
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == OTHER_TAG and "reservationId" not in start


async def test_TC_050_3_CS_reserve_unavailable_charge_point(make_station16: Factory, csms16: DevCsms16) -> None:
    """connectorId 0 while the charge point is Inoperative: Unavailable, not Rejected."""
    await make_station16(device_model={"ReservationCtrlr.NonEvseSpecific": True})
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    assert await reserve(csms16, 44, connector_id=0) == "Unavailable"


async def test_reserve_occupied_charge_point(make_station16: Factory, csms16: DevCsms16) -> None:
    """connectorId 0 while every connector is in use: Occupied."""
    sut = await make_station16(device_model={"ReservationCtrlr.NonEvseSpecific": True})
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    sut.d.board.swipe(1, OTHER_TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    assert await reserve(csms16, 45, connector_id=0) == "Occupied"

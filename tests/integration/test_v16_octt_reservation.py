"""OCPP 1.6 Reservation OCTT Charge Point cases on the wire that test_v16_reservation.py left open: a
reservation refused, the charge point (connectorId 0) Faulted, Occupied or Rejected, a reserved connector used
by a card of the reservation's parentIdTag, locally and remotely, and a remote start for someone else on a
reserved connector. OCPP 1.6 sections 3.11, 5.11, 5.13; test ids from the OCA 1.6 test case document."""

from __future__ import annotations

import asyncio

from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest
from tests.integration.test_v16_core import actions, configure
from tests.integration.test_v16_local_list import entry, send
from tests.integration.test_v16_reservation import ID_TAG, OTHER_TAG, reserve, status_is

ANY_CONNECTOR = {"ReservationCtrlr.NonEvseSpecific": True}  # ReserveConnectorZeroSupported true
PARENT = "FLEET1"


async def test_TC_048_4_CS_reservation_of_a_connector_rejected(make_station16: Factory, csms16: DevCsms16) -> None:
    """A Charge Point that takes no reservations answers Rejected; the connector stays Available and
    anyone may charge on it."""
    sut = await make_station16(device_model={"ReservationCtrlr.Enabled": False})
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    assert await reserve(csms16, 51) == "Rejected"
    sut.d.board.swipe(1, OTHER_TAG)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == OTHER_TAG and "reservationId" not in start
    assert not any(p["status"] == "Reserved" for p in csms16.received("StatusNotification"))


async def test_TC_050_1_CS_reservation_of_a_charge_point_faulted(make_station16: Factory, csms16: DevCsms16) -> None:
    """connectorId 0 with ReserveConnectorZeroSupported while every connector is Faulted: Faulted."""
    sut = await make_station16(evses=2, device_model=ANY_CONNECTOR)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available", 2), timeout=10)
    sut.d.board.raise_fault(1, "rcd_trip")
    await csms16.wait_for("StatusNotification", predicate=status_is("Faulted", 1), timeout=5)
    assert await reserve(csms16, 52, connector_id=0) == "Accepted"  # connector 2 can still take it
    assert (await csms16.call(STATION_ID, call.CancelReservation(reservation_id=52))).status == "Accepted"
    sut.d.board.raise_fault(2, "rcd_trip")
    await csms16.wait_for("StatusNotification", predicate=status_is("Faulted", 2), timeout=5)
    assert await reserve(csms16, 53, connector_id=0) == "Faulted"


async def test_TC_050_2_CS_reservation_of_a_charge_point_occupied(make_station16: Factory, csms16: DevCsms16) -> None:
    """connectorId 0 while every connector is in use (one charging, one with an EV plugged): Occupied."""
    sut = await make_station16(evses=2, device_model=ANY_CONNECTOR)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available", 2), timeout=10)
    board = sut.d.board
    board.plug(1)
    board.swipe(1, OTHER_TAG)
    board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging", 1), timeout=5)
    assert await reserve(csms16, 54, connector_id=0) == "Accepted"  # connector 2 is free
    assert (await csms16.call(STATION_ID, call.CancelReservation(reservation_id=54))).status == "Accepted"
    board.plug(2)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing", 2), timeout=5)
    assert await reserve(csms16, 55, connector_id=0) == "Occupied"


async def test_TC_050_4_CS_reservation_of_a_charge_point_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """ReserveConnectorZeroSupported false: a reservation of connectorId 0 is Rejected, nothing is held."""
    answer = await csms16.call(STATION_ID, call.GetConfiguration(key=["ReserveConnectorZeroSupported"]))
    assert answer.configuration_key[0]["value"] == "false"
    assert await reserve(csms16, 56, connector_id=0) == "Rejected"
    await asyncio.sleep(0.3)  # a wrongly taken reservation would turn the connector Reserved
    assert not any(p["status"] == "Reserved" for p in csms16.received("StatusNotification"))


async def test_TC_053_1_CS_reserved_connector_used_with_parent_id_tag_local(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Reserved for an idTag with a parentIdTag: another card whose Authorize.conf names that parentIdTag
    charges on it, and its StartTransaction.req carries the reservationId."""
    csms16.respond("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": PARENT}})
    assert await reserve(csms16, 57, parent_id_tag=PARENT) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    board = station16.d.board
    board.swipe(1, OTHER_TAG)
    await csms16.wait_for("Authorize", predicate=lambda p: p["idTag"] == OTHER_TAG, timeout=5)
    board.plug(1)
    board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (OTHER_TAG, 57)
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    csms16.assert_no_failures()


async def test_TC_053_2_CS_reserved_connector_used_with_parent_id_tag_remote(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """The same by RemoteStartTransaction: with AuthorizeRemoteTxRequests the station authorizes the
    idTag, learns its parentIdTag and starts on the reservation."""
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "true") == "Accepted"
    csms16.respond("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": PARENT}})
    assert await reserve(csms16, 58, parent_id_tag=PARENT) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=OTHER_TAG, connector_id=1))
    assert answer.status == "Accepted"
    await csms16.wait_for("Authorize", predicate=lambda p: p["idTag"] == OTHER_TAG, timeout=5)
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (OTHER_TAG, 58)


async def test_remote_start_for_another_id_tag_on_a_reserved_connector_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """A RemoteStartTransaction for an idTag that does not hold the connector's reservation is Rejected
    (it could never start there); the reserved idTag's is Accepted and uses the reservation."""
    assert await reserve(csms16, 59) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=OTHER_TAG, connector_id=1))
    assert answer.status == "Rejected"
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=ID_TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (ID_TAG, 59)
    assert actions(csms16).count("StartTransaction") == 1


async def test_remote_start_with_a_parent_id_tag_known_from_the_local_list(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests false: no Authorize.req comes before the start, so the parentIdTag the
    Local Authorization List gives the idTag is what lets it use a reservation made for that parentIdTag."""
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "false") == "Accepted"
    assert await send(csms16, 1, "Full", [entry(OTHER_TAG, parentIdTag=PARENT)]) == "Accepted"
    assert await reserve(csms16, 60, parent_id_tag=PARENT) == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Reserved"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag="0BADF00D", connector_id=1))
    assert answer.status == "Rejected"  # unknown here: nothing ties it to the reservation
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=OTHER_TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["idTag"], start["reservationId"]) == (OTHER_TAG, 60)
    assert "Authorize" not in actions(csms16)

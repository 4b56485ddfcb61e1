"""OCTT block E, TxStartPoint options (E01-E02): the transaction starts exactly when the configured
condition first holds, and its Started reports what made it true."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, status, until
from tests.integration.conftest import StationUnderTest


async def boot(csms: DevCsms, make_station: Any, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def test_TC_E_01_CS_start_point_power_path_closed(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.01/E01.FR.16: with TxStartPoint PowerPathClosed neither the cable nor the card alone starts
    a transaction; both together do, and the Started carries the idToken and the EVSE."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "PowerPathClosed"})
    sut.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status("Occupied"), timeout=5)
    assert csms.received("TransactionEvent") == []
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"], started["seqNo"]) == ("Started", "Authorized", 0)
    assert started["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert started["evse"] == {"id": 1, "connectorId": 1}
    sut.d.board.set_ev_state(1, "C")
    updated = await csms.wait_for("TransactionEvent", timeout=5)
    assert (updated["triggerReason"], updated["transactionInfo"]["chargingState"]) == (
        "ChargingStateChanged",
        "Charging",
    )
    await until(lambda: sut.d.board.contactor(1).is_closed, "contactor closed")
    csms.assert_no_failures()


async def test_TC_E_01_CS_start_point_power_path_closed_completed_by_the_cable(
    csms: DevCsms, make_station: Any
) -> None:
    """E01.FR.16 with the card first: the cable completes the condition, so the Started says
    CablePluggedIn (E02.FR.02), not Authorized."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "PowerPathClosed"})
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    await asyncio.sleep(0.2)  # the answer reaches the station before the cable does
    sut.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "CablePluggedIn")
    assert started["idToken"]["idToken"] == CARD


async def test_TC_E_02_CS_start_point_energy_transfer(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.06/07/16 with TxStartPoint EnergyTransfer (reusable state Authorized first): plugging in is
    only a status change; the station offers current (IEC 61851-1: an EV draws only after the PWM offer),
    and the EV drawing power starts the transaction: Started with chargingState Charging."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "EnergyTransfer"})
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    sut.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status("Occupied"), timeout=5)
    await until(lambda: sut.d.board.snapshot(1)["offered_current_a"] is not None, "current offered on the pilot")
    assert csms.received("TransactionEvent") == []
    sut.d.board.set_ev_state(1, "C")
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "ChargingStateChanged")
    assert started["transactionInfo"]["chargingState"] == "Charging"
    assert started["idToken"]["idToken"] == CARD
    await until(lambda: sut.d.board.contactor(1).is_closed, "contactor closed")


async def test_TC_E_09_CS_start_point_ev_connected(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.01/E02.FR.02 with TxStartPoint EVConnected: plugging in starts the transaction at once,
    without idToken, triggerReason CablePluggedIn, chargingState EVConnected, seqNo 0."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "EVConnected"})
    sut.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"], started["seqNo"]) == ("Started", "CablePluggedIn", 0)
    assert started["transactionInfo"]["chargingState"] == "EVConnected"
    assert "idToken" not in started
    assert started["evse"] == {"id": 1, "connectorId": 1}
    assert not sut.d.board.contactor(1).is_closed
    csms.assert_no_failures()


async def test_TC_E_10_CS_start_point_authorized_local(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.01/E03 with TxStartPoint Authorized: the accepted card starts the transaction before any
    cable: triggerReason Authorized, idToken, chargingState Idle; plugging in does not start another."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "Authorized"})
    sut.d.board.swipe(1, CARD)
    authorize = await csms.wait_for("Authorize", timeout=5)
    assert authorize["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
    assert started["transactionInfo"]["chargingState"] == "Idle"
    assert started["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    sut.d.board.plug(1)
    updated = await csms.wait_for("TransactionEvent", timeout=5)
    assert updated["eventType"] == "Updated"
    assert updated["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    csms.assert_no_failures()


async def test_TC_E_12_CS_start_point_parking_bay_occupied(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.01 with TxStartPoint ParkingBayOccupancy: the bay sensor seeing a vehicle starts the
    transaction before any cable or card, triggerReason EVDetected."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStartPoint": "ParkingBayOccupancy"})
    sut.d.board.set_input(1, "parking_bay", True)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "EVDetected")
    assert started["transactionInfo"]["chargingState"] == "Idle"
    assert "idToken" not in started
    csms.assert_no_failures()


async def test_TC_E_13_CS_start_point_authorized_remote(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.01/F01.FR.01 with TxStartPoint Authorized: RequestStartTransaction starts the transaction,
    triggerReason RemoteStart, with the remoteStartId and the idToken of the request."""
    sut = await boot(
        csms, make_station, **{"TxCtrlr.TxStartPoint": "Authorized", "AuthCtrlr.AuthorizeRemoteStart": False}
    )
    request = call.RequestStartTransaction(id_token={"id_token": CARD, "type": "ISO14443"}, remote_start_id=31)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")
    assert started["transactionInfo"]["remoteStartId"] == 31
    assert started["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert not sut.d.board.contactor(1).is_closed
    csms.assert_no_failures()

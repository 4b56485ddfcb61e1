"""OCTT block E, local start (E02 cable first, E03 identification first): the order of the messages,
their triggerReason and chargingState, and when the contactor closes."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, events_of, status, tx, until
from tests.integration.conftest import StationUnderTest

ISO_CARD = {"idToken": CARD, "type": "ISO14443"}


async def test_TC_E_03_CS_local_start_cable_plugin_first(csms: DevCsms, station: StationUnderTest) -> None:
    """E02.FR.01-03: plugging in reports Occupied and starts the transaction (CablePluggedIn,
    EVConnected, no idToken, seqNo 0); the card is authorized (Authorize) and reported in an Updated
    (Authorized, idToken); the power path closes only when the EV asks for power."""
    board = station.d.board
    board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status("Occupied"), timeout=5)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"], started["seqNo"]) == ("Started", "CablePluggedIn", 0)
    assert started["transactionInfo"]["chargingState"] == "EVConnected" and "idToken" not in started
    board.swipe(1, CARD)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == ISO_CARD
    authorized = await csms.wait_for("TransactionEvent", timeout=5)
    assert (authorized["eventType"], authorized["triggerReason"], authorized["seqNo"]) == ("Updated", "Authorized", 1)
    assert authorized["idToken"] == ISO_CARD
    assert not board.contactor(1).is_closed  # the EV is still in state B
    board.set_ev_state(1, "C")
    charging = await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    assert charging["triggerReason"] == "ChargingStateChanged"
    await until(lambda: board.contactor(1).is_closed and board.snapshot(1)["locked"], "contactor closed, locked")
    tx_id = started["transactionInfo"]["transactionId"]
    assert [p["seqNo"] for p in events_of(csms, tx_id)] == list(range(len(events_of(csms, tx_id))))
    csms.assert_no_failures()


async def test_TC_E_04_CS_local_start_authorization_first(csms: DevCsms, station: StationUnderTest) -> None:
    """E03.FR.01-02: the card first starts the transaction (Authorized, idToken, chargingState Idle);
    plugging in is then an Updated with triggerReason CablePluggedIn; the EV drawing power closes the
    contactor (ChargingStateChanged, Charging)."""
    board = station.d.board
    board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "Authorized")
    assert started["transactionInfo"]["chargingState"] == "Idle" and started["idToken"] == ISO_CARD
    board.plug(1)
    plugged = await csms.wait_for("TransactionEvent", timeout=5)
    assert (plugged["eventType"], plugged["triggerReason"]) == ("Updated", "CablePluggedIn")
    board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await until(lambda: board.contactor(1).is_closed, "contactor closed")


async def test_TC_E_05_CS_local_start_authorization_first_cable_plugin_timeout(
    csms: DevCsms, make_station: Any
) -> None:
    """E03.FR.05: the card starts the transaction, no cable comes within EVConnectionTimeOut: Ended with
    triggerReason EVConnectTimeout and stoppedReason Timeout; a later plug-in does not charge on it."""
    sut: StationUnderTest = await make_station(device_model={"TxCtrlr.EVConnectionTimeOut": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")


async def test_TC_E_38_CS_local_start_ev_not_ready(csms: DevCsms, station: StationUnderTest) -> None:
    """E03 with an EV that does not ask for power: after the card and the cable the station offers
    current, reports CablePluggedIn / SuspendedEV (the cable is what changed) and keeps the
    contactor open."""
    board = station.d.board
    board.swipe(1, CARD)
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    board.plug(1)  # the EV stays in state B: not ready
    suspended = await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="SuspendedEV"), timeout=5)
    assert suspended["triggerReason"] == "CablePluggedIn"
    await until(lambda: board.snapshot(1)["offered_current_a"] is not None, "current offered on the pilot")
    assert not board.contactor(1).is_closed
    csms.assert_no_failures()


async def test_TC_E_52_CS_local_start_disable_remote_authorization(csms: DevCsms, make_station: Any) -> None:
    """C01/C13 with AuthCtrlr.DisableRemoteAuthorization true: a card of the local list is accepted
    without any Authorize, and a card the station does not know is refused without asking the CSMS."""
    sut: StationUnderTest = await make_station(device_model={"AuthCtrlr.DisableRemoteAuthorization": True})
    await csms.wait_for("StatusNotification", timeout=10)
    entry = {"id_token": {"id_token": CARD, "type": "ISO14443"}, "id_token_info": {"status": "Accepted"}}
    listed = call.SendLocalList(version_number=1, update_type="Full", local_authorization_list=[entry])
    assert (await csms.call(STATION_ID, listed)).status == "Accepted"
    sut.d.board.swipe(1, "DEADBEEF")  # accepted by the CSMS, but the station may not ask it
    await asyncio.sleep(0.3)  # give a wrong Authorize the time to show
    assert csms.received("TransactionEvent") == []
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"], started["idToken"]) == ("Started", "Authorized", ISO_CARD)
    assert csms.received("Authorize") == []
    csms.assert_no_failures()

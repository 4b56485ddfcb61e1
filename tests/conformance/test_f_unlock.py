"""OCTT block F, UnlockConnector (F05): the answer, and what the connector lock on the board does."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import STATION_ID, charging, events_of, tx, until
from tests.integration.conftest import StationUnderTest


async def unlock(csms: DevCsms, evse_id: int = 1, connector_id: int = 1) -> str:
    result = await csms.call(STATION_ID, call.UnlockConnector(evse_id=evse_id, connector_id=connector_id))
    status: str = result.status
    return status


async def test_TC_F_05_CS_unlock_connector_with_ongoing_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    """F05.FR.02: an authorized transaction runs on the connector: OngoingAuthorizedTransaction; the
    cable stays locked, the power flows on and the transaction does not end."""
    tx_id = await charging(csms, station)
    assert await unlock(csms) == "OngoingAuthorizedTransaction"
    await asyncio.sleep(0.3)  # time for a wrong unlock to happen
    assert station.d.board.snapshot(1)["locked"] and station.d.board.contactor(1).is_closed
    assert not any(p["eventType"] == "Ended" for p in events_of(csms, tx_id))
    csms.assert_no_failures()


async def test_TC_F_06_CS_unlock_connector_without_transaction_accepted(csms: DevCsms, make_station: Any) -> None:
    """F05.FR.01/04: a cable left locked in the socket with no transaction (the EV left first,
    UnlockOnEVSideDisconnect false): UnlockConnector answers Unlocked and releases it."""
    sut: StationUnderTest = await make_station(device_model={"OCPPCommCtrlr.UnlockOnEVSideDisconnect": False})
    await csms.wait_for("StatusNotification", timeout=10)
    await charging(csms, sut)
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")
    assert sut.d.board.snapshot(1)["locked"]
    assert await unlock(csms) == "Unlocked"
    await until(lambda: not sut.d.board.snapshot(1)["locked"], "cable released")
    csms.assert_no_failures()


async def test_TC_F_07_CS_unlock_connector_without_transaction_no_cable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """F05.FR.04: nothing plugged: UnlockConnector still answers Unlocked (the lock is open) and starts
    nothing."""
    assert await unlock(csms) == "Unlocked"
    assert not station.d.board.snapshot(1)["locked"]
    assert csms.received("TransactionEvent") == []
    csms.assert_no_failures()


async def test_TC_F_10_CS_unlock_connector_unknown_connector(csms: DevCsms, station: StationUnderTest) -> None:
    """F05.FR.06: an EVSE or connector the station does not have: UnknownConnector."""
    assert await unlock(csms, connector_id=5) == "UnknownConnector"
    assert await unlock(csms, evse_id=7) == "UnknownConnector"
    csms.assert_no_failures()

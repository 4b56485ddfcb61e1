"""OCTT block E, GetTransactionStatus (E14): ongoingIndicator and messagesInQueue for an unknown, a
running and an ended transaction, and for the station as a whole, with and without queued messages.

A message stays queued here because the CSMS refuses the TransactionEvent (a scripted CALLERROR) and
the station waits MessageAttemptInterval before its next attempt."""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import InternalError
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, tx
from tests.integration.conftest import StationUnderTest

HOLD = {
    "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 5,
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 60,
}


def refuse(payload: dict[str, Any]) -> dict[str, Any]:
    raise InternalError(description="the CSMS cannot take it now")


async def status_of(csms: DevCsms, transaction_id: str | None = None) -> tuple[bool | None, bool]:
    result = await csms.call(STATION_ID, call.GetTransactionStatus(transaction_id=transaction_id))
    return result.ongoing_indicator, result.messages_in_queue


async def started(csms: DevCsms, station: StationUnderTest) -> str:
    station.d.board.plug(1)
    payload = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    transaction_id: str = payload["transactionInfo"]["transactionId"]
    return transaction_id


async def held(csms: DevCsms, make_station: Any) -> StationUnderTest:
    """A station whose next TransactionEvent the CSMS refuses, so it stays in the queue."""
    sut: StationUnderTest = await make_station(device_model=HOLD)
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", refuse)
    return sut


async def test_TC_E_28_CS_transaction_status_unknown_id(csms: DevCsms, station: StationUnderTest) -> None:
    """E14.FR.02/06: an id the station never had: ongoingIndicator false, messagesInQueue false."""
    assert await status_of(csms, "c0ffee00-unknown") == (False, False)


async def test_TC_E_29_CS_transaction_status_ongoing_with_message_in_queue(csms: DevCsms, make_station: Any) -> None:
    """E14.FR.02/03: a running transaction whose Started is still queued: ongoing true, messages true."""
    sut = await held(csms, make_station)
    tx_id = await started(csms, sut)
    assert await status_of(csms, tx_id) == (True, True)
    csms.assert_no_failures()


async def test_TC_E_30_CS_transaction_status_ongoing_without_message_in_queue(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """E14.FR.02/04: a running transaction, every message delivered: ongoing true, messages false."""
    tx_id = await started(csms, station)
    station.d.board.swipe(1, CARD)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"), timeout=5)
    assert await status_of(csms, tx_id) == (True, False)


async def test_TC_E_31_CS_transaction_status_ended_with_message_in_queue(csms: DevCsms, make_station: Any) -> None:
    """E14.FR.02/03: an ended transaction whose Ended is still queued: ongoing false, messages true."""
    sut: StationUnderTest = await make_station(device_model=HOLD)
    await csms.wait_for("StatusNotification", timeout=10)
    tx_id = await started(csms, sut)
    csms.respond("TransactionEvent", refuse)
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert await status_of(csms, tx_id) == (False, True)


async def test_TC_E_32_CS_transaction_status_ended_without_message_in_queue(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """E14.FR.02/04: an ended transaction, every message delivered: ongoing false, messages false."""
    tx_id = await started(csms, station)
    station.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert await status_of(csms, tx_id) == (False, False)


async def test_TC_E_33_CS_transaction_status_without_id_with_message_in_queue(csms: DevCsms, make_station: Any) -> None:
    """E14.FR.05/06: no transactionId, some transaction message queued: messagesInQueue true and no
    ongoingIndicator."""
    sut = await held(csms, make_station)
    await started(csms, sut)
    assert await status_of(csms) == (None, True)


async def test_TC_E_34_CS_transaction_status_without_id_without_message_in_queue(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """E14.FR.05/06: no transactionId and nothing queued: messagesInQueue false, no ongoingIndicator,
    also while a delivered transaction runs."""
    assert await status_of(csms) == (None, False)
    await started(csms, station)
    assert await status_of(csms) == (None, False)

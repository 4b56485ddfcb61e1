"""OCPP 1.6 Core, offline OCTT cases on the wire: the Central System names a transaction in
StartTransaction.conf, so a transaction started or stopped while it cannot be reached is queued and later
refers to the id it gets once the Charge Point is back (1.6 sections 3.6, 4.8)."""

from __future__ import annotations

import asyncio

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.integration.test_v16_core import TAG, actions, configure, start_charging, status_is


async def go_offline(csms16: DevCsms16) -> int:
    """Stop the Central System (the Charge Point loses its connection); returns its port to come back on."""
    port = csms16.port
    await csms16.stop()
    return port


async def come_back(csms16: DevCsms16, port: int) -> None:
    await csms16.start(port=port)
    await csms16.wait_connected(STATION_ID, timeout=20)


async def test_TC_037_1_CS_offline_start_transaction_valid_idtag(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Offline, an idTag the Charge Point may accept offline starts charging; once back, StartTransaction
    goes first and every later message quotes the transactionId it got."""
    assert await configure(csms16, "AllowOfflineTxForUnknownId", "true") == "Accepted"
    assert await configure(csms16, "LocalAuthorizeOffline", "true") == "Accepted"
    port = await go_offline(csms16)
    board = station16.d.board
    board.plug(1)
    board.swipe(1, TAG)
    board.set_ev_state(1, "C")
    board.set_power(1, 7000)
    await asyncio.sleep(0.5)
    assert board.contactor(1).is_closed  # charging without the Central System
    await come_back(csms16, port)
    start = await csms16.wait_for("StartTransaction", timeout=20)
    assert (start["connectorId"], start["idTag"]) == (1, TAG)
    tx_id = next(iter(csms16.transactions16))
    board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert stop["transactionId"] == tx_id
    assert actions(csms16).count("StartTransaction") == 1
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_037_3_CS_offline_start_invalid_idtag_stop_transaction_on_invalid_id(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Started offline with an idTag the Central System then answers Invalid: with StopTransactionOnInvalidId
    the Charge Point stops the transaction, reason DeAuthorized (1.6 section 3.6.1)."""
    assert await configure(csms16, "AllowOfflineTxForUnknownId", "true") == "Accepted"
    assert await configure(csms16, "StopTransactionOnInvalidId", "true") == "Accepted"
    port = await go_offline(csms16)
    board = station16.d.board
    board.plug(1)
    board.swipe(1, "0BADCAFE")
    board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert board.contactor(1).is_closed
    await come_back(csms16, port)
    start = await csms16.wait_for("StartTransaction", timeout=20)
    assert start["idTag"] == "0BADCAFE"
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert stop["reason"] == "DeAuthorized"
    await asyncio.sleep(0.2)
    assert not board.contactor(1).is_closed
    csms16.assert_transactions_complete()


async def test_TC_038_CS_offline_stop_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Started online, stopped offline: the StopTransaction is delivered once back, with the known id."""
    tx_id = await start_charging(csms16, station16)
    port = await go_offline(csms16)
    station16.d.board.unplug(1)
    await asyncio.sleep(0.3)
    await come_back(csms16, port)
    stop = await csms16.wait_for("StopTransaction", timeout=20)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "EVDisconnected")
    csms16.assert_transactions_complete()


async def test_TC_039_CS_offline_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Started and stopped offline: once back, StartTransaction first, then MeterValues and StopTransaction
    carrying the transactionId the StartTransaction.conf gave, each exactly once."""
    assert await configure(csms16, "AllowOfflineTxForUnknownId", "true") == "Accepted"
    port = await go_offline(csms16)
    board = station16.d.board
    board.plug(1)
    board.swipe(1, TAG)
    board.set_ev_state(1, "C")
    board.set_power(1, 7000)
    await asyncio.sleep(1.5)
    board.unplug(1)
    await asyncio.sleep(0.3)
    await come_back(csms16, port)
    stop = await csms16.wait_for("StopTransaction", timeout=20)
    [(tx_id, record)] = csms16.transactions16.items()
    assert stop["transactionId"] == tx_id and record.start["idTag"] == TAG
    sent = [a for a in actions(csms16) if a in ("StartTransaction", "StopTransaction")]
    assert sent == ["StartTransaction", "StopTransaction"]
    assert all(mv["transactionId"] == tx_id for mv in record.meter_values)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()

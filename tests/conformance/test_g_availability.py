"""Block G over the wire, where the tests in tests/integration/test_availability_reset.py stop short of what the
OCTT checks: an inoperative EVSE refuses a whole session (card and EV asking for power), a Scheduled change
waits for the transaction and reports Unavailable only after its Ended, and a lock that fails keeps the
power off."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


async def change(csms: DevCsms, status: str, evse: dict[str, int] | None = None) -> str:
    request = call.ChangeAvailability(operational_status=status, evse=evse)
    return str((await csms.call(STATION_ID, request)).status)


def status_is(status: str, evse_id: int = 1) -> Any:
    return lambda p: p["connectorStatus"] == status and p["evseId"] == evse_id and p["connectorId"] == 1


async def charging(csms: DevCsms, sut: StationUnderTest) -> str:
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.3)
    assert sut.d.board.contactor(1).is_closed
    return str(started["transactionInfo"]["transactionId"])


def started(csms: DevCsms) -> int:
    return len([p for p in csms.received("TransactionEvent") if p["eventType"] == "Started"])


async def refuses_a_session(csms: DevCsms, sut: StationUnderTest) -> None:
    """Cable, card, EV asks for power: nothing starts and the contactor stays open."""
    before = started(csms)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert sut.d.station.evses[1].state.tx is None
    assert not sut.d.board.contactor(1).is_closed
    assert started(csms) == before


async def scheduled_until_the_transaction_ends(csms: DevCsms, sut: StationUnderTest, evse: Any) -> None:
    """Scheduled (G03/G04): the session goes on, the EVSE becomes Unavailable after Ended."""
    tx_id = await charging(csms, sut)
    assert await change(csms, "Inoperative", evse) == "Scheduled"
    await asyncio.sleep(0.3)
    assert sut.d.board.contactor(1).is_closed  # the running session is not cut
    assert [p for p in csms.received("StatusNotification") if p["connectorStatus"] == "Unavailable"] == []
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"))
    order = [
        (f.action, "Ended" in f.raw)
        for f in csms.log
        if f.message_type == 2 and ('"Ended"' in f.raw or '"Unavailable"' in f.raw)
    ]
    assert order == [("TransactionEvent", True), ("StatusNotification", False)]  # Ended, then Unavailable
    await refuses_a_session(csms, sut)
    csms.assert_no_failures()


async def test_TC_G_03_CS_evse_inoperative_refuses_a_whole_session(csms: DevCsms, station: StationUnderTest) -> None:
    """G03: Inoperative for the EVSE is Accepted, reported Unavailable, and the EVSE starts no transaction
    and closes no contactor for a driver with a valid card whose EV asks for power."""
    assert await change(csms, "Inoperative", {"id": 1}) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"))
    await refuses_a_session(csms, station)
    csms.assert_no_failures()


async def test_TC_G_11_CS_evse_inoperative_with_transaction_waits_for_it(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """G03: with a transaction on the EVSE the answer is Scheduled; Unavailable follows its Ended."""
    await scheduled_until_the_transaction_ends(csms, station, {"id": 1})


async def test_TC_G_14_CS_station_inoperative_with_transaction_waits_for_it(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """G03 for the whole station: Scheduled, the session goes on, Unavailable after its Ended."""
    await scheduled_until_the_transaction_ends(csms, station, None)


async def test_TC_G_17_CS_connector_inoperative_with_transaction_waits_for_it(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """G03 for a connector: Scheduled, the session goes on, Unavailable after its Ended."""
    await scheduled_until_the_transaction_ends(csms, station, {"id": 1, "connector_id": 1})


async def test_TC_G_20_CS_lock_failure_keeps_the_power_off_and_reports_faulted(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """G01 with a lock failure: the connector is reported Faulted (StatusNotification) and the
    ConnectorPlugRetentionLock Problem is notified (NotifyEvent); a driver with a valid card whose EV asks
    for power gets no power, since the plug cannot be held."""
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"))
    station.d.board.raise_fault(1, "lock_failure")
    await csms.wait_for("StatusNotification", predicate=status_is("Faulted"))
    event = (await csms.wait_for("NotifyEvent"))["eventData"][0]
    assert (event["component"]["name"], event["variable"]["name"], event["actualValue"]) == (
        "ConnectorPlugRetentionLock",
        "Problem",
        "true",
    )
    station.d.board.swipe(1, "AABBCCDD")
    station.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert not station.d.board.contactor(1).is_closed
    assert not station.d.board.lock(1).is_locked
    csms.assert_no_failures()

"""Block B, resetting one EVSE (B11/B12 with evseId, TC_B_25-27) and the station (TC_B_41) over the wire."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


def status_of(evse_id: int) -> Any:
    return lambda p: p["evseId"] == evse_id


def tx_event(kind: str) -> Any:
    return lambda p: p["eventType"] == kind


async def charging(csms: DevCsms, sut: StationUnderTest, evse_id: int, token: str = "AABBCCDD") -> str:
    """Cable, card, EV asks for power: a transaction with the contactor closed; returns its id."""
    sut.d.board.plug(evse_id)
    sut.d.board.swipe(evse_id, token)
    started = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["eventType"] == "Started" and p["evse"]["id"] == evse_id
    )
    tx_id = str(started["transactionInfo"]["transactionId"])
    sut.d.board.set_ev_state(evse_id, "C")
    await csms.wait_for("TransactionEvent", predicate=lambda p: of_tx(p, tx_id, chargingState="Charging"))
    assert sut.d.board.contactor(evse_id).is_closed
    return tx_id


def of_tx(p: dict[str, Any], tx_id: str, **info: Any) -> bool:
    """The TransactionEvent belongs to tx_id (evse is only sent once, E01.FR.16) and carries these fields."""
    tx = p["transactionInfo"]
    return bool(tx["transactionId"] == tx_id and all(tx.get(k) == v for k, v in info.items()))


async def two_evse_station(csms: DevCsms, make_station: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=2)
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", predicate=status_of(1))
    await csms.wait_for("StatusNotification", predicate=status_of(2))
    return sut


def statuses(csms: DevCsms, evse_id: int, after: int = 0) -> list[str]:
    return [p["connectorStatus"] for p in csms.received("StatusNotification") if p["evseId"] == evse_id][after:]


async def test_TC_B_25_CS_reset_evse_without_transaction(csms: DevCsms, make_station: Any) -> None:
    """B11.FR.10: the EVSE announces AllowReset, so a Reset with its evseId is Accepted and resets that EVSE
    alone: it reports Unavailable, then Available again; the station does not reboot and the other EVSE
    is untouched."""
    sut = await two_evse_station(csms, make_station)
    assert sut.d.dm.get_bool("EVSE", "AllowReset", evse_id=1)
    result = await csms.call(STATION_ID, call.Reset(type="OnIdle", evse_id=1))
    assert result.status == "Accepted"
    await csms.wait_for(
        "StatusNotification", predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Unavailable"
    )
    await csms.wait_for(
        "StatusNotification", predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Available"
    )
    await asyncio.sleep(0.3)
    assert statuses(csms, 1) == ["Available", "Unavailable", "Available"]
    assert statuses(csms, 2) == ["Available"]
    assert len(csms.received("BootNotification")) == 1
    assert sut.task is not None and not sut.task.done()
    assert sut.d.station.evses[1].state.operative
    csms.assert_no_failures()


async def test_TC_B_26_CS_reset_evse_on_idle_waits_for_its_transaction(csms: DevCsms, make_station: Any) -> None:
    """B12: OnIdle with a transaction on that EVSE answers Scheduled and the transaction goes on; once
    it has ended (EV unplugged) the EVSE resets (Unavailable, then Available), without a reboot."""
    sut = await two_evse_station(csms, make_station)
    tx_id = await charging(csms, sut, 1)
    result = await csms.call(STATION_ID, call.Reset(type="OnIdle", evse_id=1))
    assert result.status == "Scheduled"
    await asyncio.sleep(0.3)
    assert sut.d.board.contactor(1).is_closed  # the session is not cut
    assert not [p for p in csms.received("TransactionEvent") if p["eventType"] == "Ended"]
    seen = len(statuses(csms, 1))
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=tx_event("Ended"))
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    await csms.wait_for(
        "StatusNotification", predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Unavailable"
    )
    await csms.wait_for(
        "StatusNotification",
        predicate=lambda p: (
            p["evseId"] == 1 and p["connectorStatus"] == "Available" and statuses(csms, 1)[-2] == "Unavailable"
        ),
    )
    assert statuses(csms, 1, seen)[-2:] == ["Unavailable", "Available"]
    assert not sut.d.board.contactor(1).is_closed
    assert len(csms.received("BootNotification")) == 1 and sut.task is not None and not sut.task.done()
    csms.assert_no_failures()


async def test_TC_B_27_CS_reset_evse_immediate_ends_its_transaction(csms: DevCsms, make_station: Any) -> None:
    """B12: Immediate with a transaction on that EVSE: Accepted, the transaction ends at once with
    triggerReason ResetCommand and stoppedReason ImmediateReset, the contactor opens, and only that EVSE
    resets: the transaction on the other EVSE goes on and the station does not reboot."""
    sut = await two_evse_station(csms, make_station)
    tx_1 = await charging(csms, sut, 1)
    tx_2 = await charging(csms, sut, 2, token="DEADBEEF")
    result = await csms.call(STATION_ID, call.Reset(type="Immediate", evse_id=1))
    assert result.status == "Accepted"
    ended = await csms.wait_for("TransactionEvent", predicate=tx_event("Ended"))
    assert ended["transactionInfo"]["transactionId"] == tx_1
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("ResetCommand", "ImmediateReset")
    # The EVSE reports its reset although the EV is still plugged in (inoperative comes before Occupied).
    await csms.wait_for(
        "StatusNotification", predicate=lambda p: p["evseId"] == 1 and p["connectorStatus"] == "Unavailable"
    )
    await asyncio.sleep(0.3)
    assert not sut.d.board.contactor(1).is_closed
    assert sut.d.board.contactor(2).is_closed
    assert sut.d.station.evses[2].state.tx is not None
    assert sut.d.station.evses[2].state.tx.transaction_id == tx_2
    assert sut.d.station.evses[1].state.operative  # back after the reset
    assert len(csms.received("BootNotification")) == 1 and sut.task is not None and not sut.task.done()
    csms.assert_no_failures()


async def test_TC_B_41_CS_reset_on_idle_waits_for_every_transaction(csms: DevCsms, make_station: Any) -> None:
    """B12: a station Reset OnIdle with transactions on two EVSEs answers Scheduled and reboots only
    after the last of them has ended, each ended by its own stop point (EVDisconnected), none by the reset."""
    sut = await two_evse_station(csms, make_station)
    tx_1 = await charging(csms, sut, 1)
    tx_2 = await charging(csms, sut, 2, token="DEADBEEF")
    result = await csms.call(STATION_ID, call.Reset(type="OnIdle"))
    assert result.status == "Scheduled"
    sut.d.board.unplug(1)
    first = await csms.wait_for("TransactionEvent", predicate=tx_event("Ended"))
    assert of_tx(first, tx_1, stoppedReason="EVDisconnected")
    await asyncio.sleep(0.5)
    assert sut.task is not None and not sut.task.done()  # EVSE 2 still charges
    assert sut.d.board.contactor(2).is_closed
    sut.d.board.unplug(2)
    second = await csms.wait_for("TransactionEvent", predicate=tx_event("Ended"))
    assert of_tx(second, tx_2, stoppedReason="EVDisconnected")
    assert await sut.wait_exit() is Exit.RESET
    await sut.start()
    boot = await csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "RemoteReset"
    csms.assert_no_failures()

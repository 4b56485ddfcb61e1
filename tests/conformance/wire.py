"""Steps shared by the OCTT wire tests: message predicates, waiting on the simulated board, and the
reusable states of OCPP 2.0.1 Part 6 (EVConnectedPreSession, Authorized, EnergyTransferStarted ...)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

__all__ = ["CARD", "STATION_ID", "charging", "events_of", "status", "suspended", "tx", "until"]

#: A card the dev CSMS accepts (DEFAULT_TOKENS).
CARD = "AABBCCDD"

Predicate = Callable[[dict[str, Any]], bool]


def tx(event_type: str, **fields: Any) -> Predicate:
    """A TransactionEvent of ``event_type`` whose top-level or transactionInfo fields have these values."""

    def match(p: dict[str, Any]) -> bool:
        if p["eventType"] != event_type:
            return False
        info = p["transactionInfo"]
        return all(p.get(k) == v or info.get(k) == v for k, v in fields.items())

    return match


def status(connector_status: str, evse_id: int = 1) -> Predicate:
    """A StatusNotification of ``connector_status`` for connector 1 of ``evse_id``."""
    return lambda p: (p["connectorStatus"], p["evseId"], p["connectorId"]) == (connector_status, evse_id, 1)


def events_of(csms: DevCsms, transaction_id: str) -> list[dict[str, Any]]:
    """Every TransactionEvent of one transaction received so far, in the order they arrived."""
    return [p for p in csms.received("TransactionEvent") if p["transactionInfo"]["transactionId"] == transaction_id]


async def until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Wait until the board shows ``check`` (the hardware moves after the message that decided it)."""
    try:
        async with asyncio.timeout(timeout):
            while not check():  # noqa: ASYNC110 - the board is state, not an event source
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"the board never showed: {what}") from None


async def charging(csms: DevCsms, station: StationUnderTest, evse_id: int = 1, card: str = CARD) -> str:
    """Reusable state EnergyTransferStarted: plugged, authorized by ``card``, the EV draws power.

    Returns the transactionId; every message up to here has been consumed.
    """
    board = station.d.board
    assert board is not None
    board.plug(evse_id)
    board.swipe(evse_id, card)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    board.set_ev_state(evse_id, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await until(lambda: board.contactor(evse_id).is_closed, "contactor closed")
    csms.skip()
    transaction_id: str = started["transactionInfo"]["transactionId"]
    return transaction_id


async def suspended(csms: DevCsms, station: StationUnderTest, evse_id: int = 1) -> str:
    """Reusable state EnergyTransferSuspended: charged, then the EV paused (state B); cable still locked.

    Returns the transactionId; every message up to here has been consumed.
    """
    board = station.d.board
    assert board is not None
    transaction_id = await charging(csms, station, evse_id)
    board.set_ev_state(evse_id, "B")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="SuspendedEV"), timeout=5)
    await until(lambda: not board.contactor(evse_id).is_closed, "contactor open")
    assert board.snapshot(evse_id)["locked"]
    csms.skip()
    return transaction_id

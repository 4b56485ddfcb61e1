"""OCTT block E, the cable pulled at the EV side (E09 deauthorize, E10 suspend): what the transaction
does under StopTxOnEVSideDisconnect, and what the connector lock does under UnlockOnEVSideDisconnect."""

from __future__ import annotations

import asyncio
from typing import Any

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, events_of, status, suspended, tx, until
from tests.integration.conftest import StationUnderTest


async def suspended_on(csms: DevCsms, make_station: Any, **device_model: Any) -> tuple[StationUnderTest, str]:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut, await suspended(csms, sut)


async def test_TC_E_24_CS_ev_side_disconnect_deauthorize_unlock_true(csms: DevCsms, make_station: Any) -> None:
    """E09.FR.01/02/04: StopTxOnEVSideDisconnect true: the EV-side disconnect ends the transaction
    (EVCommunicationLost, chargingState Idle, stoppedReason EVDisconnected); UnlockOnEVSideDisconnect
    true releases the cable; the connector is Available."""
    sut, tx_id = await suspended_on(
        csms,
        make_station,
        **{"TxCtrlr.StopTxOnEVSideDisconnect": True, "OCPPCommCtrlr.UnlockOnEVSideDisconnect": True},
    )
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", timeout=5)
    assert ended["eventType"] == "Ended" and ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["triggerReason"] == "EVCommunicationLost"
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    await until(lambda: not sut.d.board.snapshot(1)["locked"], "cable unlocked")
    csms.assert_no_failures()


async def test_TC_E_25_CS_ev_side_disconnect_deauthorize_unlock_false(csms: DevCsms, make_station: Any) -> None:
    """E09.FR.01/03/04: as E_24 but UnlockOnEVSideDisconnect false: the cable stays locked at the station
    after the transaction ended, until the driver presents the card that started it."""
    sut, tx_id = await suspended_on(
        csms,
        make_station,
        **{"TxCtrlr.StopTxOnEVSideDisconnect": True, "OCPPCommCtrlr.UnlockOnEVSideDisconnect": False},
    )
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", timeout=5)
    assert (ended["eventType"], ended["triggerReason"]) == ("Ended", "EVCommunicationLost")
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")
    await asyncio.sleep(0.3)  # time for a wrong unlock to happen
    assert sut.d.board.snapshot(1)["locked"]
    sut.d.board.swipe(1, CARD)
    await until(lambda: not sut.d.board.snapshot(1)["locked"], "cable unlocked by the card")
    assert events_of(csms, tx_id)[-1] == ended  # the card did not start anything
    csms.assert_no_failures()


async def test_TC_E_26_CS_ev_side_disconnect_suspend_transaction(csms: DevCsms, make_station: Any) -> None:
    """E10.FR.01/03: StopTxOnEVSideDisconnect false (TxStopPoint Authorized): the EV-side disconnect only
    suspends: Updated EVCommunicationLost / Idle, connector Available, cable kept locked; the EV
    plugged back is an Updated CablePluggedIn / SuspendedEV (the offer is back, the EV not yet drawing),
    and it charges again."""
    sut, tx_id = await suspended_on(
        csms,
        make_station,
        **{
            "TxCtrlr.TxStopPoint": "Authorized",
            "TxCtrlr.StopTxOnEVSideDisconnect": False,
            "OCPPCommCtrlr.UnlockOnEVSideDisconnect": False,
        },
    )
    sut.d.board.unplug(1)
    lost = await csms.wait_for("TransactionEvent", timeout=5)
    assert (lost["eventType"], lost["triggerReason"]) == ("Updated", "EVCommunicationLost")
    assert lost["transactionInfo"]["chargingState"] == "Idle"
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    assert sut.d.board.snapshot(1)["locked"]
    sut.d.board.plug(1)
    back = await csms.wait_for("TransactionEvent", timeout=5)
    assert (back["eventType"], back["triggerReason"]) == ("Updated", "CablePluggedIn")
    assert back["transactionInfo"]["chargingState"] == "SuspendedEV"
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await until(lambda: sut.d.board.contactor(1).is_closed, "contactor closed again")
    assert all(p["transactionInfo"]["transactionId"] == tx_id for p in csms.received("TransactionEvent"))


async def test_TC_E_27_CS_ev_side_disconnect_suspend_fixed_cable_timeout(csms: DevCsms, make_station: Any) -> None:
    """E10.FR.02/03: as E_26 but the EV does not come back within EVConnectionTimeOut: the transaction
    is deauthorized and ends (EVConnectTimeout / Timeout)."""
    sut, tx_id = await suspended_on(
        csms,
        make_station,
        **{
            "TxCtrlr.TxStopPoint": "Authorized",
            "TxCtrlr.StopTxOnEVSideDisconnect": False,
            "TxCtrlr.EVConnectionTimeOut": 1,
            "OCPPCommCtrlr.UnlockOnEVSideDisconnect": False,
        },
    )
    sut.d.board.unplug(1)
    lost = await csms.wait_for("TransactionEvent", timeout=5)
    assert (lost["eventType"], lost["triggerReason"]) == ("Updated", "EVCommunicationLost")
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")

"""OCPP 1.6 transactions on the wire: the CSMS's transactionId, offline starts, an invalid id, SIGKILLs.

The rules that make 1.6 hard in practice (issue 13 section 2): the CSMS names the transaction in
StartTransaction.conf, so a transaction started offline is reported once the link is back and everything
after its StartTransaction refers to the id the CSMS gave; StopTransactionOnInvalidId decides what an
invalid idTagInfo in StartTransaction.conf does; nothing is lost or doubled across SIGKILLs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.exceptions import InternalError

from evse.devcsms.frames import Direction, MessageType
from evse.devcsms.server16 import DevCsms16
from hil.kill_soak import run_kill_soak
from tests.integration.conftest import StationUnderTest

FAST = {"SampledDataCtrlr.TxUpdatedInterval": 1}


def calls(csms: DevCsms16, actions: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """The station's CALLs of these actions, in the order the CSMS received them."""
    return [
        (f.action, f.payload)
        for f in csms.log
        if f.direction is Direction.RECEIVED and f.message_type is MessageType.CALL and f.action in actions
    ]


async def charge(sut: StationUnderTest, seconds: float = 2.5) -> None:
    sut.d.board.swipe(1, "AABBCCDD")
    await asyncio.sleep(0.3)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.set_power(1, 7000)
    await asyncio.sleep(seconds)


async def test_TC_003_CS_online_session_start_meter_values_stop_refer_to_the_csms_id(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """1.6 5.16/6.46: StartTransaction.conf gives the transactionId; MeterValues and StopTransaction carry it."""
    await charge(station16)
    station16.d.board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    [(tx_id, record)] = csms16.transactions16.items()
    assert stop["transactionId"] == tx_id and stop["reason"] == "EVDisconnected"
    assert record.start["idTag"] == "AABBCCDD" and record.start["connectorId"] == 1
    values = record.meter_values
    assert values and all(v["transactionId"] == tx_id for v in values)
    assert stop["meterStop"] > record.start["meterStart"]  # 7 kW for a few seconds
    await csms16.wait_for(
        "StatusNotification",
        predicate=lambda p: p["status"] == "Available" and p["timestamp"] >= stop["timestamp"],
        timeout=5,
    )
    statuses = [p["status"] for _, p in calls(csms16, {"StatusNotification"}) if p["connectorId"] == 1]
    # 1.6 4.9: Available -> Preparing (card) -> Charging (the EV draws) -> Available (unplugged, nothing to finish)
    assert statuses[0] == "Available" and "Preparing" in statuses and statuses[-1] == "Available"
    assert statuses.index("Preparing") < statuses.index("Charging")
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_offline_start_is_reported_once_the_csms_is_back_and_later_messages_use_its_id(
    csms16: DevCsms16, make_station16: Any
) -> None:
    """1.6 4.8/3.13: a transaction started offline (AllowOfflineTxForUnknownId) queues StartTransaction;
    its MeterValues and StopTransaction wait behind it and go out with the id the CSMS then gives."""
    sut: StationUnderTest = await make_station16(
        device_model={**FAST, "AuthCtrlr.OfflineTxForUnknownIdEnabled": True, "AuthCtrlr.LocalAuthorizeOffline": True}
    )
    await csms16.wait_for("StatusNotification", timeout=10)
    port = csms16.port
    await csms16.stop()
    await asyncio.sleep(0.3)
    await charge(sut, 3.0)
    sut.d.board.unplug(1)
    await asyncio.sleep(0.5)
    assert csms16.transactions16 == {}
    await csms16.start(port=port)
    stop = await csms16.wait_for("StopTransaction", timeout=20)
    [(tx_id, record)] = csms16.transactions16.items()
    assert stop["transactionId"] == tx_id and len(record.stops) == 1
    assert len(record.meter_values) >= 2 and all(v["transactionId"] == tx_id for v in record.meter_values)
    order = [a for a, _ in calls(csms16, {"StartTransaction", "MeterValues", "StopTransaction"})]
    assert order[0] == "StartTransaction" and order[-1] == "StopTransaction"
    assert stop["timestamp"] > record.start["timestamp"]  # the times of the events, not of the sending
    csms16.assert_transactions_complete()


async def test_invalid_id_in_start_transaction_conf_stops_the_transaction(
    csms16: DevCsms16, make_station16: Any
) -> None:
    """StopTransactionOnInvalidId true: an idTagInfo other than Accepted in StartTransaction.conf ends the
    transaction with reason DeAuthorized (1.6 section 9.1.37)."""
    sut: StationUnderTest = await make_station16(device_model={"TxCtrlr.StopTxOnInvalidId": True})
    await csms16.wait_for("StatusNotification", timeout=10)
    csms16.respond("StartTransaction", {"transactionId": 77, "idTagInfo": {"status": "Invalid"}})
    await charge(sut, 1.0)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert stop["transactionId"] == 77 and stop["reason"] == "DeAuthorized"
    await asyncio.sleep(0.3)
    assert not sut.d.board.contactor(1).is_closed


async def test_invalid_id_without_stop_on_invalid_id_suspends_the_power(csms16: DevCsms16, make_station16: Any) -> None:
    """StopTransactionOnInvalidId false: the transaction goes on, the energy is held back after
    MaxEnergyOnInvalidId (0 here): SuspendedEVSE, and no StopTransaction until the EV leaves."""
    sut: StationUnderTest = await make_station16(
        device_model={"TxCtrlr.StopTxOnInvalidId": False, "TxCtrlr.MaxEnergyOnInvalidId": 0}
    )
    await csms16.wait_for("StatusNotification", timeout=10)
    csms16.respond("StartTransaction", {"transactionId": 78, "idTagInfo": {"status": "Blocked"}})
    await charge(sut, 1.5)
    await csms16.wait_for("StatusNotification", predicate=lambda p: p["status"] == "SuspendedEVSE", timeout=10)
    assert csms16.received("StopTransaction") == []
    sut.d.board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert stop["transactionId"] == 78 and stop["reason"] == "EVDisconnected"


async def test_start_transaction_given_up_after_transaction_message_attempts_drops_the_rest(
    csms16: DevCsms16, make_station16: Any
) -> None:
    """TransactionMessageAttempts: a StartTransaction the CSMS keeps failing is given up; what follows of
    that transaction cannot name an id, so it is not sent (no stray MeterValues/StopTransaction)."""
    sut: StationUnderTest = await make_station16(
        device_model={
            **FAST,
            "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 2,
            "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 0,
        }
    )
    await csms16.wait_for("StatusNotification", timeout=10)

    def refuse(_payload: dict[str, Any]) -> dict[str, Any]:
        raise InternalError(description="try later")

    csms16.respond("StartTransaction", refuse)
    await charge(sut, 2.0)
    sut.d.board.unplug(1)
    await asyncio.sleep(1.5)
    assert len(csms16.received("StartTransaction")) == 2
    assert csms16.received("StopTransaction") == []
    csms16.assert_transactions_complete()  # nothing named an id the CSMS never gave


async def test_kill_soak_16_every_transaction_started_and_stopped_exactly_once() -> None:
    """SIGKILLs at random moments of sessions, the 1.6 CSMS on and off: each transaction the CSMS gave an
    id to has one StartTransaction and one StopTransaction, meterStop >= meterStart (`make soak` runs 200)."""
    result = await run_kill_soak(8, seed=3, ocpp_version="1.6")  # 8 rounds: more chances for a session to start
    assert result.kills == 8
    assert result.problems == []
    assert result.transactions >= 1

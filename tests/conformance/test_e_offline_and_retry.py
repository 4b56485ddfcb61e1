"""OCTT block E, offline behaviour (E11-E13 ... offline flag, queueing, seqNo) and the retry of a
TransactionEvent the CSMS did not process (E12: no answer, or a CALLERROR)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ocpp.exceptions import InternalError
from ocpp.v201 import call

from evse.devcsms.journal import Direction
from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, charging, events_of, tx, until
from tests.integration.conftest import StationUnderTest

RETRY = {
    "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 3,
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
    "OCPPCommCtrlr.MessageTimeout[Default]": 1,
    "SampledDataCtrlr.TxUpdatedInterval": 0,  # no periodic Updated among the attempts
}


def sent(csms: DevCsms, action: str) -> list[dict[str, Any]]:
    """Every copy the station sent, answered or not: a copy left unanswered for MessageTimeout makes the
    station drop the connection, so the CSMS's late answer never completes that CALL."""
    return [f.payload for f in csms.log if f.direction is Direction.RECEIVED and f.action == action]


async def go_offline(csms: DevCsms) -> int:
    port = csms.port
    await csms.stop()
    return port


async def back_online(csms: DevCsms, port: int) -> None:
    await csms.start(port=port)
    await csms.wait_connected(STATION_ID, timeout=15)


def assert_numbered(events: list[dict[str, Any]]) -> None:
    """E01.FR.?/E12: seqNo counts 0, 1, 2 ... over the transaction's events, in the order received."""
    assert [p["seqNo"] for p in events] == list(range(len(events)))


async def test_TC_E_40_CS_offline_connection_loss_during_transaction(csms: DevCsms, make_station: Any) -> None:
    """E11.FR.01/02/06: the connection drops while charging; the periodic meter values of the running
    transaction are queued and, once the connection is back, delivered in order with offline true and
    seqNo continuing without a gap; the transaction goes on."""
    sut: StationUnderTest = await make_station(device_model={"SampledDataCtrlr.TxUpdatedInterval": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    tx_id = await charging(csms, sut)
    port = await go_offline(csms)
    queued = len(sut.d.station.outbox)
    await until(lambda: len(sut.d.station.outbox) >= queued + 2, "periodic meter values queued offline")
    await back_online(csms, port)
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(tx_id), "queue emptied", timeout=10)
    events = events_of(csms, tx_id)
    assert_numbered(events)
    offline = [p for p in events if p.get("offline")]
    assert len(offline) >= 2
    assert {p["triggerReason"] for p in offline} == {"MeterValuePeriodic"}
    assert all(p["eventType"] == "Updated" for p in offline)
    assert sut.d.board.contactor(1).is_closed  # charging never stopped
    csms.assert_no_failures()


async def test_TC_E_41_CS_retry_transaction_message_max_attempts_no_answer(csms: DevCsms, make_station: Any) -> None:
    """E12.FR.01-02: the CSMS does not answer the Started within MessageTimeout: the station sends the
    same message MessageAttempts times in all, then gives it up and goes on with the next one."""

    async def too_late(payload: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(1.5)  # past MessageTimeout: the station has stopped waiting
        return {}

    sut: StationUnderTest = await make_station(device_model=RETRY)
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", too_late)
    sut.d.board.plug(1)
    await until(lambda: len(sent(csms, "TransactionEvent")) >= 3, "three attempts", timeout=15)
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(None), "message given up", timeout=10)
    attempts = sent(csms, "TransactionEvent")
    assert len(attempts) == 3
    assert len({json.dumps(p, sort_keys=True) for p in attempts}) == 1  # the very same message each time
    csms.respond("TransactionEvent", None)
    # The last unanswered copy also cost the connection (dropped after MessageTimeout): wait for the new one.
    await until(lambda: not csms.connected(STATION_ID), "the connection dropped", timeout=5)
    await until(lambda: sut.d.station.is_online(), "the station online again", timeout=10)
    sut.d.board.swipe(1, CARD)
    authorized = await csms.wait_for(
        "TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"), timeout=10
    )
    assert authorized["seqNo"] == 1


async def test_TC_E_42_CS_retry_transaction_message_success_before_max_no_answer(
    csms: DevCsms, make_station: Any
) -> None:
    """E12.FR.01: the first attempt gets no answer in time, the second one is answered: two identical
    sends, nothing left in the queue."""
    answered: list[int] = []

    async def late_once(payload: dict[str, Any]) -> dict[str, Any]:
        if not answered:
            answered.append(1)
            await asyncio.sleep(1.5)
        return {}

    sut: StationUnderTest = await make_station(device_model=RETRY)
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", late_once)
    sut.d.board.plug(1)
    await until(lambda: len(sent(csms, "TransactionEvent")) >= 2, "a second attempt", timeout=10)
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(None), "message delivered")
    await asyncio.sleep(1.5)  # the time a needless third attempt would take
    attempts = sent(csms, "TransactionEvent")
    assert len(attempts) == 2 and attempts[0] == attempts[1]


def refuse(payload: dict[str, Any]) -> dict[str, Any]:
    raise InternalError(description="CSMS trouble")


async def test_TC_E_50_CS_retry_transaction_message_max_attempts_call_error(csms: DevCsms, make_station: Any) -> None:
    """E12.FR.01-02: every attempt is answered with a CALLERROR: MessageAttempts identical sends, then
    the message is given up (nothing left queued)."""
    sut: StationUnderTest = await make_station(device_model=RETRY)
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", refuse)
    sut.d.board.plug(1)
    await until(lambda: len(csms.received("TransactionEvent")) >= 3, "three attempts", timeout=10)
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(None), "message given up")
    attempts = csms.received("TransactionEvent")
    assert len(attempts) == 3 and len({json.dumps(p, sort_keys=True) for p in attempts}) == 1
    csms.assert_no_failures()


async def test_TC_E_51_CS_retry_transaction_message_success_before_max_call_error(
    csms: DevCsms, make_station: Any
) -> None:
    """E12.FR.01: the first attempt gets a CALLERROR, the retry is accepted: two identical sends."""
    refused: list[int] = []

    def refuse_once(payload: dict[str, Any]) -> dict[str, Any]:
        if not refused:
            refused.append(1)
            refuse(payload)
        return {}

    sut: StationUnderTest = await make_station(device_model=RETRY)
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", refuse_once)
    sut.d.board.plug(1)
    await until(lambda: len(csms.received("TransactionEvent")) >= 2, "a second attempt")
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(None), "message delivered")
    await asyncio.sleep(1.5)  # the time a needless third attempt would take
    attempts = csms.received("TransactionEvent")
    assert len(attempts) == 2 and attempts[0] == attempts[1]
    csms.assert_no_failures()


async def local_list(csms: DevCsms, *entries: dict[str, Any]) -> None:
    request = call.SendLocalList(version_number=1, update_type="Full", local_authorization_list=list(entries))
    assert (await csms.call(STATION_ID, request)).status == "Accepted"


def entry(token: str, group: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"status": "Accepted"}
    if group is not None:
        info["group_id_token"] = {"id_token": group, "type": "Central"}
    return {"id_token": {"id_token": token, "type": "ISO14443"}, "id_token_info": info}


async def test_TC_E_43_CS_offline_transaction_during_offline_period(csms: DevCsms, make_station: Any) -> None:
    """E12/C13: a whole transaction (plug, card of the local list, charge, card, unplug) while offline:
    on reconnection Started ... Ended are delivered in order, every one with offline true."""
    sut: StationUnderTest = await make_station(device_model={"AuthCtrlr.LocalAuthorizeOffline": True})
    await csms.wait_for("StatusNotification", timeout=10)
    await local_list(csms, entry(CARD))
    port = await go_offline(csms)
    board = sut.d.board
    board.plug(1)
    board.swipe(1, CARD)
    board.set_ev_state(1, "C")
    await until(lambda: board.contactor(1).is_closed, "contactor closed while offline")
    board.swipe(1, CARD)
    await until(lambda: not board.contactor(1).is_closed, "contactor open")
    board.unplug(1)
    await back_online(csms, port)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=15)
    events = events_of(csms, ended["transactionInfo"]["transactionId"])
    assert_numbered(events)
    assert events[0]["eventType"] == "Started"
    assert all(p["offline"] is True for p in events)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    csms.assert_no_failures()


async def test_TC_E_44_CS_offline_stop_transaction_during_offline_period(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """E07/E12: started online, stopped offline by the same card (no authorization needed for that):
    the power path opens at once; on reconnection the Ended arrives with offline true, seqNo following."""
    tx_id = await charging(csms, station)
    port = await go_offline(csms)
    station.d.board.swipe(1, CARD)
    await until(lambda: not station.d.board.contactor(1).is_closed, "contactor open while offline")
    await back_online(csms, port)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=15)
    assert ended["offline"] is True and ended["transactionInfo"]["transactionId"] == tx_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    assert_numbered(events_of(csms, tx_id))
    csms.assert_no_failures()


async def test_TC_E_45_CS_offline_stop_transaction_same_group_id(csms: DevCsms, make_station: Any) -> None:
    """C09/E07.FR.?: offline, a different card of the same GroupId (local list) stops the transaction;
    the Ended (offline true) carries the idToken that stopped it."""
    sut: StationUnderTest = await make_station(device_model={"AuthCtrlr.LocalAuthorizeOffline": True})
    await csms.wait_for("StatusNotification", timeout=10)
    group = {"idToken": "GROUP-1", "type": "Central"}
    csms.respond("Authorize", {"idTokenInfo": {"status": "Accepted", "groupIdToken": group}})
    await local_list(csms, entry(CARD, "GROUP-1"), entry("DEADBEEF", "GROUP-1"))
    tx_id = await charging(csms, sut)
    port = await go_offline(csms)
    sut.d.board.swipe(1, "DEADBEEF")
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open while offline")
    await back_online(csms, port)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=15)
    assert ended["offline"] is True and ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["triggerReason"] == "StopAuthorized"
    assert ended["idToken"] == {"idToken": "DEADBEEF", "type": "ISO14443"}

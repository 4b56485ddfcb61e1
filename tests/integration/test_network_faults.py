"""Network faults between station and CSMS: the station notices, reconnects, and no TransactionEvent is
lost or doubled.

A real daemon talks to the dev CSMS through tests/integration/fault_proxy.py. Each test runs a charging
session across the fault and then compares what the CSMS received, (transactionId, seqNo) by
(transactionId, seqNo), against the station's own transaction journal in its SQLite file: every seqNo
from 0 to the journal's next_seq_no - 1 arrived, and a seqNo that arrived twice arrived byte-identical
(a resend after an answer that got lost, which the CSMS drops by seqNo; E12 / Part 4 "message timeout").

The bounds are generous on purpose: they mean "it did notice / it did reconnect", not "fast enough".
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call_result

from evse.devcsms.frames import Direction, MessageType
from evse.devcsms.server import DevCsms
from evse.storage import DB_FILENAME
from tests.integration.conftest import PASSWORD, StationUnderTest
from tests.integration.fault_proxy import FaultProxy

PING_S = 1
MESSAGE_TIMEOUT_S = 2
# Generous: ping interval + pong timeout + close handshake, on a machine shared with other test runs.
NOTICE_WITHIN_S = 30.0
RECONNECT_WITHIN_S = 30.0

FAULT_DEVICE_MODEL = {
    "OCPPCommCtrlr.WebSocketPingInterval": PING_S,
    "OCPPCommCtrlr.MessageTimeout[Default]": MESSAGE_TIMEOUT_S,
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
    "SampledDataCtrlr.TxUpdatedInterval": 1,  # Updated events keep coming while the link is down
}


@pytest.fixture
async def proxy(csms: DevCsms) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(csms.port)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.stop()


async def until(condition: Callable[[], bool], within: float, what: str) -> None:
    try:
        async with asyncio.timeout(within):
            while not condition():  # noqa: ASYNC110  the daemon's state is polled, it has no event for tests
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {within}s") from None


async def booted_through(proxy: FaultProxy, csms: DevCsms, make_station: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(
        csms={"url": proxy.url, "security_profile": 1, "basic_auth_password": PASSWORD},
        device_model=FAULT_DEVICE_MODEL,
    )
    await csms.wait_for("BootNotification", timeout=15)
    await csms.wait_for("StatusNotification", timeout=15)
    return sut


async def start_charging(sut: StationUnderTest, csms: DevCsms) -> None:
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.set_power(1, 7000)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=15)


async def through_fault(
    sut: StationUnderTest, apply: Callable[[], None], heal: Callable[[], None], *, connections_before: int
) -> None:
    """Apply a fault, see the station notice it, let the session run offline a while, heal, see it back."""
    apply()
    await until(lambda: not sut.d.connection.is_connected, NOTICE_WITHIN_S, "station noticed the dead link")
    await asyncio.sleep(2.0)  # the charging session goes on; its Updated events queue up
    heal()
    await until(
        lambda: sut.d.connection.is_connected and sut.d.connection.attempts > connections_before,
        RECONNECT_WITHIN_S,
        "station reconnected",
    )


async def end_charging_and_drain(sut: StationUnderTest, csms: DevCsms) -> None:
    sut.d.board.set_ev_state(1, "B")
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=30)
    await until(lambda: len(sut.d.station.outbox) == 0, 30.0, "outbox delivered")


def transaction_events_received(csms: DevCsms) -> list[dict[str, Any]]:
    """Every TransactionEvent CALL that reached the CSMS, answered or not (from the frame log)."""
    return [
        frame.payload
        for frame in csms.log
        if frame.direction is Direction.RECEIVED
        and frame.message_type is MessageType.CALL
        and frame.action == "TransactionEvent"
    ]


def journal_seq_nos(state_dir: Path) -> dict[str, int]:
    """transactionId -> next_seq_no, read from the station's own SQLite file."""
    with sqlite3.connect(state_dir / DB_FILENAME) as db:
        return dict(db.execute("SELECT transaction_id, next_seq_no FROM transactions").fetchall())


def assert_nothing_lost_or_doubled(csms: DevCsms, sut: StationUnderTest) -> None:
    copies: dict[tuple[str, int], set[str]] = defaultdict(set)
    for payload in transaction_events_received(csms):
        key = (payload["transactionInfo"]["transactionId"], payload["seqNo"])
        copies[key].add(json.dumps(payload, sort_keys=True))
    doubled = {key: texts for key, texts in copies.items() if len(texts) > 1}
    assert doubled == {}, "a seqNo was sent twice with different content"
    journal = journal_seq_nos(sut.settings.state_dir)
    assert journal, "the station journaled no transaction"
    received: dict[str, set[int]] = defaultdict(set)
    for tx_id, seq_no in copies:
        received[tx_id].add(seq_no)
    assert set(received) == set(journal)
    for tx_id, next_seq_no in journal.items():
        assert received[tx_id] == set(range(next_seq_no)), f"seqNo gap in {tx_id}"
    csms.assert_no_failures()


async def run_session_across(
    proxy: FaultProxy,
    csms: DevCsms,
    make_station: Any,
    apply: Callable[[], None],
) -> StationUnderTest:
    sut = await booted_through(proxy, csms, make_station)
    await start_charging(sut, csms)
    await asyncio.sleep(1.5)  # a few Updated events on the healthy link first
    await through_fault(sut, apply, proxy.heal, connections_before=sut.d.connection.attempts)
    await asyncio.sleep(1.5)
    await end_charging_and_drain(sut, csms)
    assert_nothing_lost_or_doubled(csms, sut)
    return sut


async def test_blackhole_is_noticed_by_ping_and_no_transaction_event_is_lost(
    proxy: FaultProxy, csms: DevCsms, make_station: Any
) -> None:
    """Packets dropped both ways, no FIN: only the websocket ping can tell (WebSocketPingInterval)."""
    await run_session_across(proxy, csms, make_station, proxy.blackhole)
    assert proxy.dropped_bytes > 0


async def test_half_open_connection_is_noticed_and_replaced(
    proxy: FaultProxy, csms: DevCsms, make_station: Any
) -> None:
    """The CSMS end is gone, the station's TCP connection stays up and silent: a half-open connection."""
    await run_session_across(proxy, csms, make_station, proxy.half_open)


async def test_long_delay_is_noticed_and_the_session_survives_it(
    proxy: FaultProxy, csms: DevCsms, make_station: Any
) -> None:
    """Every chunk is held back longer than the ping may take to come back."""
    await run_session_across(proxy, csms, make_station, lambda: proxy.delay(4 * PING_S))


async def test_reset_mid_frame_reconnects_and_resends(proxy: FaultProxy, csms: DevCsms, make_station: Any) -> None:
    """Half a frame reaches the CSMS, then an RST: the station sees the reset at once and reconnects."""
    await run_session_across(proxy, csms, make_station, proxy.reset_mid_frame)
    assert proxy.resets == 1


async def test_very_slow_csms_is_noticed_by_message_timeout(
    proxy: FaultProxy, csms: DevCsms, make_station: Any
) -> None:
    """The CSMS's bytes trickle at 5 B/s: no answer within MessageTimeout, so the station reconnects."""
    await run_session_across(proxy, csms, make_station, lambda: proxy.throttle(5))


async def test_slow_csms_within_message_timeout_loses_nothing(
    proxy: FaultProxy, csms: DevCsms, make_station: Any
) -> None:
    """Slow but within the timeouts (400 B/s): the session goes on over the same connection."""
    sut = await booted_through(proxy, csms, make_station)
    proxy.throttle(400)
    await start_charging(sut, csms)
    await asyncio.sleep(3.0)
    await end_charging_and_drain(sut, csms)
    assert_nothing_lost_or_doubled(csms, sut)


class Unanswered:
    """A `DevCsms.respond` function that never answers the first `count` TransactionEvents it gets.

    It answers once released (at the end of the test), by then on a connection the station has left:
    the dev CSMS reads one message at a time, like many CSMSs, so a held CALL stops that connection.
    """

    def __init__(self, csms: DevCsms, count: int = 1) -> None:
        self._csms = csms
        self._count = count
        self.held = 0
        self.released = asyncio.Event()

    async def __call__(self, payload: dict[str, Any]) -> Any:
        if self.held < self._count:
            self.held += 1
            await self.released.wait()
        id_token = payload.get("idToken")
        if id_token is None:
            return call_result.TransactionEvent()
        return call_result.TransactionEvent(id_token_info=self._csms.behaviour.id_token_info(id_token))


async def test_csms_that_never_answers_a_call_is_left_after_message_timeout_and_the_call_resent(
    csms: DevCsms, make_station: Any
) -> None:
    """A TransactionEvent left unanswered times out after MessageTimeout; the station drops that connection,
    reconnects and the outbox resends the same message, identical (E12, OCPP-J message timeout)."""
    sut: StationUnderTest = await make_station(device_model=FAULT_DEVICE_MODEL)
    await csms.wait_for("StatusNotification", timeout=15)
    await start_charging(sut, csms)
    connections_before = sut.d.connection.attempts
    hold = Unanswered(csms)
    csms.respond("TransactionEvent", hold)
    try:
        await until(lambda: hold.held == 1, 15.0, "an Updated reached the CSMS")
        await until(lambda: not sut.d.connection.is_connected, NOTICE_WITHIN_S, "station gave up the connection")
        await until(
            lambda: sut.d.connection.is_connected and sut.d.connection.attempts > connections_before,
            RECONNECT_WITHIN_S,
            "station reconnected",
        )
        await asyncio.sleep(1.5)
        await end_charging_and_drain(sut, csms)
    finally:
        hold.released.set()
    assert_nothing_lost_or_doubled(csms, sut)
    held_seq_nos = [p["seqNo"] for p in transaction_events_received(csms)]
    assert len(held_seq_nos) > len(set(held_seq_nos))  # the unanswered one was sent again

"""Replay after reconnect: a station boots with 10,000 TransactionEvents in its outbox and delivers them.

The state_dir is prepared with the station's own classes, as a station that charged offline for a week
would have left it: one long transaction (Started seqNo 0, Updated 1..9998 each with a periodic meter
sample, Ended 9999), all queued offline, the transaction closed in the TxJournal with next_seq_no 10000.
Closed, because the Ended is already queued: an open journal entry would make the station append a
PowerLoss Ended of its own at start-up (TransactionMessages.recover), after an Ended.

Measured from the BootNotification received by the CSMS to the last TransactionEvent received by it,
against the development CSMS (ocpp library) and a bare websocket CSMS answering every CALL at once;
the daemon's peak RSS (VmHWM) is read when the last event arrived, its RSS also at the 1,000th event:
RSS that still grows between the two would be memory kept per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import config, proc_cpu_s, proc_status_kb, start_station, state_dir, stop_station
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from drivers.interfaces import MeterReading
from evse.devcsms.frames import Direction, MessageType
from evse.devcsms.server import DevCsms
from evse.ocpp.outbox import Outbox
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.samples import meter_value_from_sample
from evse.station.core.meter_values import energy_sample, periodic_sample
from evse.station.shell.tx_journal import TxJournal
from evse.storage import open_database

EVENTS = 10_000
ID_TOKEN = ("AABBCCDD", "ISO14443")  # one the dev CSMS accepts
POWER_W = 11_040.0
SAMPLE_INTERVAL = timedelta(seconds=60)  # TxUpdatedInterval's default
# A replay slower than this is reported as "incomplete" with what arrived, so `make bench` stays bounded.
REPLAY_LIMIT_S = 90.0
EARLY = EVENTS // 10  # the event at which RSS is sampled once more
BARE_RUNS = 3


@dataclass
class ReplayResult:
    csms: str
    delivered: int = 0
    seconds: float = 0.0  # BootNotification -> last TransactionEvent received
    peak_rss_kb: int = 0  # VmHWM of the daemon
    rss_kb: int = 0  # VmRSS of the daemon when the last event arrived
    early_rss_kb: int = 0  # VmRSS of the daemon when the EARLY-th event arrived
    cpu_s: float = 0.0  # CPU seconds of the daemon from the BootNotification to the last event
    seq_in_order: bool = True  # seqNo 0, 1, 2 ... without gap or repeat
    failures: int = 0  # schema/framing failures the dev CSMS saw
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def fill_outbox(directory: Path, events: int = EVENTS) -> str:
    """Queue `events` TransactionEvents of one closed transaction in the station database under `directory`."""
    conn = open_database(directory)
    outbox, journal = Outbox(conn), TxJournal(conn)
    transaction_id = str(uuid.uuid4())
    started_at = datetime(2026, 1, 1, tzinfo=UTC)
    energy = 1_234_500.0
    token = m.IdTokenType(idToken=ID_TOKEN[0], type=m.IdTokenEnumType(ID_TOKEN[1]))

    def reading(at_energy: float) -> MeterReading:
        return MeterReading(at_energy, 0.0, POWER_W, (230.0, 230.0, 230.0), (16.0, 16.0, 16.0), 50.0, 0.0)

    with journal.atomic():
        journal.open(transaction_id, 1, 1, ID_TOKEN, None, "Charging", energy)
        for i in range(events):
            seq_no = journal.take_seq_no(transaction_id)
            at = started_at + i * SAMPLE_INTERVAL
            now = reading(energy + POWER_W * i * SAMPLE_INTERVAL.total_seconds() / 3600)
            if i == 0:
                kind, trigger, state = "Started", "Authorized", "Charging"
                meter = meter_value_from_sample(energy_sample(now, "Transaction.Begin", at))
            elif i == events - 1:
                kind, trigger, state = "Ended", "EVCommunicationLost", "Idle"
                meter = meter_value_from_sample(energy_sample(now, "Transaction.End", at))
            else:
                kind, trigger, state = "Updated", "MeterValuePeriodic", "Charging"
                meter = meter_value_from_sample(periodic_sample(now, at))
            request = m.TransactionEventRequest(
                eventType=m.TransactionEventEnumType(kind),
                timestamp=at,
                triggerReason=m.TriggerReasonEnumType(trigger),
                seqNo=seq_no,
                transactionInfo=m.TransactionType(
                    transactionId=transaction_id,
                    chargingState=m.ChargingStateEnumType(state),
                    stoppedReason=m.ReasonEnumType.EVDisconnected if kind == "Ended" else None,
                ),
                offline=True,
                idToken=token if kind != "Updated" else None,
                evse=m.EVSEType(id=1, connectorId=1) if kind == "Started" else None,
                meterValue=[meter],
            )
            outbox.put(
                request.ACTION, request.model_dump(mode="json", exclude_none=True), transaction_id=transaction_id
            )
            for sample in meter.sampledValue:
                if sample.measurand in (None, m.MeasurandEnumType.Energy_Active_Import_Register):
                    journal.record_energy(transaction_id, sample.value)
        journal.close(transaction_id)
    conn.close()
    return transaction_id


async def replay_dev_csms(tmp: Path) -> ReplayResult:
    result = ReplayResult("dev CSMS (ocpp library)")
    state = tmp / "replay-dev"
    fill_outbox(state_dir(state))
    csms = DevCsms()
    port = await csms.start()
    proc = await start_station(config(state, port))
    try:
        await csms.wait_for("BootNotification", timeout=30)
        frames = csms.log
        boot = next(f for f in frames if f.action == "BootNotification" and f.direction is Direction.RECEIVED)
        seq_nos: list[int] = []
        last_at, scanned = boot.monotonic, 0
        deadline = time.monotonic() + REPLAY_LIMIT_S
        while len(seq_nos) < EVENTS and time.monotonic() < deadline and proc.returncode is None:
            await asyncio.sleep(0.05)
            for frame in frames[scanned:]:
                if (
                    frame.direction is Direction.RECEIVED
                    and frame.message_type is MessageType.CALL
                    and frame.action == "TransactionEvent"
                ):
                    seq_nos.append(frame.payload.get("seqNo", -1))
                    last_at = frame.monotonic
            scanned = len(frames)
            if not result.early_rss_kb and len(seq_nos) >= EARLY:
                result.early_rss_kb = proc_status_kb(proc.pid, "VmRSS")
        result.peak_rss_kb = proc_status_kb(proc.pid, "VmHWM")
        result.rss_kb = proc_status_kb(proc.pid, "VmRSS")
        result.delivered, result.seconds = len(seq_nos), last_at - boot.monotonic
        result.seq_in_order = seq_nos == list(range(len(seq_nos)))
        result.failures = len(csms.failures)
        if len(seq_nos) < EVENTS:
            result.notes.append(f"incomplete: {len(seq_nos)} of {EVENTS} within {REPLAY_LIMIT_S:.0f} s")
    finally:
        await stop_station(proc)
        await csms.stop()
    return result


BARE_ANSWERS: dict[str, dict[str, Any]] = {
    "BootNotification": {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"},
    "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"},
}


async def _serve_until(
    handler: Any, ocpp_version: str, state: Path, done: asyncio.Event, result: ReplayResult, pids: list[int]
) -> None:
    """Serve `handler` to a station started on `state` until `done` (or REPLAY_LIMIT_S); its RSS into `result`."""
    subprotocol = Subprotocol("ocpp1.6" if ocpp_version == "1.6" else "ocpp2.0.1")
    async with serve(handler, "127.0.0.1", 0, subprotocols=[subprotocol]) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        proc = await start_station(config(state, port, ocpp_version))
        pids.append(proc.pid)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), REPLAY_LIMIT_S)
            result.peak_rss_kb = proc_status_kb(proc.pid, "VmHWM")
            result.rss_kb = proc_status_kb(proc.pid, "VmRSS")
        finally:
            await stop_station(proc)


async def replay_bare_csms(tmp: Path, run: int = 1) -> ReplayResult:
    """The same against a websocket server that answers each CALL at once with a minimal valid payload
    ({} for TransactionEvent, StatusNotification, NotifyEvent ...): the station's own throughput."""
    result = ReplayResult(f"bare websocket CSMS, run {run}")
    state = tmp / f"replay-bare-{run}"
    fill_outbox(state_dir(state))
    boot_at: list[float] = []
    boot_cpu: list[float] = []
    seq_nos: list[int] = []
    last_at = [0.0]
    done = asyncio.Event()
    pids: list[int] = []

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # the station is terminated at the end
            async for message in ws:
                frame = json.loads(message)
                if frame[0] != 2:
                    continue
                action = frame[2]
                if action == "BootNotification":
                    boot_at.append(time.monotonic())
                    boot_cpu.append(proc_cpu_s(pids[0]) if pids else 0.0)
                elif action == "TransactionEvent":
                    seq_nos.append(frame[3].get("seqNo", -1))
                    last_at[0] = time.monotonic()
                    if len(seq_nos) == EARLY and pids:
                        result.early_rss_kb = proc_status_kb(pids[0], "VmRSS")
                    if len(seq_nos) == EVENTS:
                        result.cpu_s = proc_cpu_s(pids[0]) - boot_cpu[0] if pids and boot_cpu else 0.0
                        done.set()
                await ws.send(json.dumps([3, frame[1], BARE_ANSWERS.get(action, {})]))

    await _serve_until(handler, "2.0.1", state, done, result, pids)
    result.delivered = len(seq_nos)
    result.seconds = last_at[0] - boot_at[0] if boot_at and seq_nos else 0.0
    result.seq_in_order = seq_nos == list(range(len(seq_nos)))
    if len(seq_nos) < EVENTS:
        result.notes.append(f"incomplete: {len(seq_nos)} of {EVENTS} within {REPLAY_LIMIT_S:.0f} s")
    return result


BARE_ANSWERS_16: dict[str, Any] = {
    "BootNotification": {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"},
    "Heartbeat": {"currentTime": "2026-01-01T00:00:00Z"},
    "StartTransaction": {"transactionId": 1, "idTagInfo": {"status": "Accepted"}},
}


async def replay_bare_csms16(tmp: Path) -> ReplayResult:
    """The same queue delivered to a bare websocket server speaking 1.6: one StartTransaction, 9,998
    MeterValues and one StopTransaction, each said in 1.6 by the station's adapter at send time."""
    result = ReplayResult("bare websocket CSMS, OCPP 1.6J")
    state = tmp / "replay-bare-16"
    fill_outbox(state_dir(state))
    boot_at: list[float] = []
    actions: list[str] = []
    last_at = [0.0]
    done = asyncio.Event()
    pids: list[int] = []

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                frame = json.loads(message)
                if frame[0] != 2:
                    continue
                action = frame[2]
                if action == "BootNotification":
                    boot_at.append(time.monotonic())
                elif action in ("StartTransaction", "MeterValues", "StopTransaction"):
                    actions.append(action)
                    last_at[0] = time.monotonic()
                    if action == "StopTransaction":
                        done.set()
                await ws.send(json.dumps([3, frame[1], BARE_ANSWERS_16.get(action, {})]))

    await _serve_until(handler, "1.6", state, done, result, pids)
    result.delivered = len(actions)
    result.seconds = last_at[0] - boot_at[0] if boot_at and actions else 0.0
    expected = ["StartTransaction", *["MeterValues"] * (EVENTS - 2), "StopTransaction"]
    result.seq_in_order = actions == expected
    if actions != expected:
        result.notes.append(f"{len(actions)} transaction messages, not Start + {EVENTS - 2} MeterValues + Stop")
    return result


async def replays(tmp: Path) -> tuple[ReplayResult, list[ReplayResult]]:
    """One replay against the dev CSMS, then BARE_RUNS against the bare one (the target's figure is
    their median: other work on the machine moves a single run by seconds)."""
    dev = await replay_dev_csms(tmp)
    return dev, [await replay_bare_csms(tmp, run) for run in range(1, BARE_RUNS + 1)]


__all__ = ["BARE_RUNS", "EVENTS", "ReplayResult", "fill_outbox", "replay_bare_csms16", "replays"]

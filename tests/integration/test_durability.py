"""Nothing lost, nothing doubled: crashes, power cuts and CSMS outages around transactions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from evse.devcsms.server import DevCsms
from evse.ocpp.outbox import Outbox
from evse.storage import open_database
from hil.kill_soak import run_kill_soak
from tests.conformance.wire import until
from tests.integration.conftest import StationUnderTest


def ended(p: dict[str, object]) -> bool:
    return p["eventType"] == "Ended"


async def test_power_loss_ends_the_interrupted_transaction_once_with_its_last_energy(
    csms: DevCsms, station: StationUnderTest
) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", timeout=5)
    station.d.board.set_ev_state(1, "C")
    await asyncio.sleep(2.5)
    await station.stop()  # the process dies: no Ended was decided
    sent = [p for p in csms.received("TransactionEvent")]
    assert not any(ended(p) for p in sent)
    last_energy = max(
        s["value"]
        for p in sent
        for mv in p.get("meterValue", [])
        for s in mv["sampledValue"]
        if s.get("measurand") == "Energy.Active.Import.Register"
    )
    await station.start()
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=10)
    tx_id = started["transactionInfo"]["transactionId"]
    assert end["transactionInfo"] == {
        "transactionId": tx_id,
        "chargingState": "Idle",
        "stoppedReason": "PowerLoss",
    }
    assert end["seqNo"] == max(p["seqNo"] for p in sent) + 1  # numbering continues, no gap
    assert end["meterValue"][0]["sampledValue"][0]["value"] == last_energy
    await station.stop()
    await station.start()
    await asyncio.sleep(1.0)
    # Only one Ended exists; a copy is possible if the stop came between the CSMS's answer and the
    # outbox removal, and then it is byte-identical (same seqNo), so the CSMS can drop it.
    copies = {json.dumps(p, sort_keys=True) for p in csms.received("TransactionEvent") if ended(p)}
    assert len(copies) == 1


async def test_transaction_events_queued_offline_are_replayed_in_order_after_reconnect(
    csms: DevCsms, station: StationUnderTest
) -> None:
    port = csms.port
    await csms.stop()
    await asyncio.sleep(0.3)
    station.d.board.plug(1)  # starts a transaction (EVConnected) while offline
    await asyncio.sleep(1.5)
    station.d.board.unplug(1)
    await asyncio.sleep(0.3)
    assert station.d.station.outbox.__len__() >= 2
    await csms.start(port=port)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=15)
    events = [
        p
        for p in csms.received("TransactionEvent")
        if p["transactionInfo"]["transactionId"] == end["transactionInfo"]["transactionId"]
    ]
    assert [p["seqNo"] for p in events] == list(range(len(events)))
    assert all(p["offline"] for p in events)


async def test_kill_daemon_at_random_moments_loses_and_doubles_nothing() -> None:
    result = await run_kill_soak(6, seed=3)
    assert result.kills == 6
    assert result.transactions >= 1
    assert result.problems == []


async def test_TC_E_41_CS_and_TC_E_50_CS_transaction_message_dropped_after_message_attempts(
    csms: DevCsms, make_station: Any
) -> None:
    from ocpp.exceptions import InternalError

    def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        raise InternalError(description="CSMS trouble")

    sut: StationUnderTest = await make_station(
        device_model={
            "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 3,
            "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": 1,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    csms.respond("TransactionEvent", refuse)
    sut.d.board.plug(1)
    await asyncio.sleep(7.5)  # attempts at 0 s, +1 s, +2 s: then given up
    attempts = [p for p in csms.received("TransactionEvent") if p["eventType"] == "Started"]
    assert len(attempts) == 3
    assert len({json.dumps(p, sort_keys=True) for p in attempts}) == 1  # every retry identical
    # Every transaction message the refusing CSMS saw is given up after its attempts, the later ones (an
    # Updated the plugged EV caused meanwhile) as well: the outbox ends up with none.
    await until(lambda: not sut.d.station.outbox.has_transaction_messages(None), "all given up", timeout=15)


async def test_ended_samples_collected_before_a_crash_reach_the_power_loss_ended(
    csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station(
        device_model={
            "SampledDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register",
            "SampledDataCtrlr.TxEndedInterval": 1,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["triggerReason"] == "Authorized", timeout=5)
    await asyncio.sleep(3.5)  # a few TxEnded samples are collected (and journaled)
    await sut.stop()
    await sut.start()
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=10)
    contexts = [mv["sampledValue"][0]["context"] for mv in end["meterValue"]]
    assert contexts.count("Sample.Periodic") >= 2 and contexts[-1] == "Transaction.End"
    values = [mv["sampledValue"][0]["value"] for mv in end["meterValue"]]
    assert values == sorted(values)  # energy never goes down, the end value included


async def test_an_unsendable_outbox_entry_is_dropped_not_a_restart_loop(csms: DevCsms, make_station: Any) -> None:
    """A queued message that is no valid OCPP message (a queue written by another firmware version) must
    not stop the sender, let alone crash the daemon into a restart loop: it is dropped, the rest goes out."""
    sut: StationUnderTest = await make_station(start=False)
    outbox = Outbox(open_database(Path(sut.settings.state_dir)))
    outbox.put("StatusNotification", {"timestamp": "not a time", "connectorStatus": "Sleeping"})
    outbox.put("Heartbeat", {})
    await sut.start()
    await csms.wait_for("Heartbeat", timeout=10)  # queued behind the broken entry: the queue moved on
    assert not [p for p in csms.received("StatusNotification") if p.get("connectorStatus") == "Sleeping"]
    assert sut.task is not None and not sut.task.done()

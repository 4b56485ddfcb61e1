"""Block J over the wire: clock-aligned values in the Ended event (TC_J_03) and SendDuringIdle (TC_J_06)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from evse.devcsms.server import DevCsms
from tests.integration.conftest import StationUnderTest

ENERGY = "Energy.Active.Import.Register"


async def charging(csms: DevCsms, sut: StationUnderTest) -> str:
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started")
    sut.d.board.set_ev_state(1, "C")
    return str(started["transactionInfo"]["transactionId"])


async def test_TC_J_03_CS_clock_aligned_values_in_the_ended_event(csms: DevCsms, make_station: Any) -> None:
    """J01 with AlignedDataCtrlr.TxEndedInterval/TxEndedMeasurands: the Ended event carries the
    clock-aligned samples taken during the transaction (context Sample.Clock, timestamps on the aligned
    boundaries, in order, the configured measurand), next to the Transaction.End value."""
    sut = await make_station(
        device_model={
            "AlignedDataCtrlr.TxEndedInterval": 1,
            "AlignedDataCtrlr.TxEndedMeasurands": ENERGY,
            "SampledDataCtrlr.TxEndedMeasurands": ENERGY,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    tx_id = await charging(csms, sut)
    await asyncio.sleep(3.2)
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    assert ended["transactionInfo"]["transactionId"] == tx_id
    clock = [mv for mv in ended["meterValue"] if mv["sampledValue"][0]["context"] == "Sample.Clock"]
    assert len(clock) >= 2
    for mv in clock:
        assert {s.get("measurand", ENERGY) for s in mv["sampledValue"]} == {ENERGY}
        assert datetime.fromisoformat(mv["timestamp"]).microsecond == 0  # on the 1 s boundary
    stamps = [datetime.fromisoformat(mv["timestamp"]) for mv in ended["meterValue"]]
    assert stamps == sorted(stamps)
    assert ended["meterValue"][-1]["sampledValue"][0]["context"] == "Transaction.End"
    energies = [mv["sampledValue"][0]["value"] for mv in clock]
    assert energies == sorted(energies)  # the register only grows while charging
    csms.assert_no_failures()


async def test_TC_J_06_CS_no_clock_aligned_values_during_a_transaction(csms: DevCsms, make_station: Any) -> None:
    """J01 with AlignedDataCtrlr.SendDuringIdle true: clock-aligned MeterValues while idle, none at all (no
    MeterValues, no TransactionEvent MeterValueClock) while a transaction runs, again once it has ended."""
    sut = await make_station(
        device_model={
            "AlignedDataCtrlr.Interval": 1,
            "AlignedDataCtrlr.Measurands": ENERGY,
            "AlignedDataCtrlr.SendDuringIdle": True,
        }
    )
    idle = await csms.wait_for("MeterValues", timeout=10)
    assert idle["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    await charging(csms, sut)
    await asyncio.sleep(0.2)  # a sample in flight when the transaction began may still arrive
    during = len(csms.received("MeterValues"))
    await asyncio.sleep(2.5)
    assert len(csms.received("MeterValues")) == during
    assert [p for p in csms.received("TransactionEvent") if p["triggerReason"] == "MeterValueClock"] == []
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    csms.skip("MeterValues")
    after = await csms.wait_for("MeterValues", timeout=5)
    assert after["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"
    csms.assert_no_failures()

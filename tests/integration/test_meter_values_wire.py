"""Block J over loopback: sampled and clock-aligned meter values as configured in the device model."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from evse.devcsms.server import DevCsms
from tests.integration.conftest import StationUnderTest

ALL = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage"


def measurands(meter_value: dict[str, Any]) -> set[str]:
    return {s.get("measurand", "Energy.Active.Import.Register") for s in meter_value["sampledValue"]}


async def charge(sut: StationUnderTest, csms: DevCsms) -> None:
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=5)
    sut.d.board.set_ev_state(1, "C")


async def test_TC_J_07_CS_TC_J_09_CS_TC_J_10_CS_sampled_values_started_updated_ended(
    csms: DevCsms, make_station: Any
) -> None:
    sut = await make_station(
        device_model={
            "SampledDataCtrlr.TxStartedMeasurands": "Energy.Active.Import.Register,Voltage",
            "SampledDataCtrlr.TxUpdatedMeasurands": ALL,
            "SampledDataCtrlr.TxUpdatedInterval": 1,
            "SampledDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register,Power.Active.Import",
            "SampledDataCtrlr.TxEndedInterval": 1,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    await charge(sut, csms)
    started = csms.received("TransactionEvent")[0]
    begin = started["meterValue"][0]
    assert measurands(begin) == {"Energy.Active.Import.Register", "Voltage"}
    assert {s["context"] for s in begin["sampledValue"]} == {"Transaction.Begin"}
    periodic = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "MeterValuePeriodic", timeout=5
    )
    assert measurands(periodic["meterValue"][0]) == set(ALL.split(","))
    phases = {s.get("phase") for s in periodic["meterValue"][0]["sampledValue"] if s["measurand"] == "Voltage"}
    assert phases == {"L1-N", "L2-N", "L3-N"}
    await asyncio.sleep(2.5)
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    contexts = [mv["sampledValue"][0]["context"] for mv in ended["meterValue"]]
    assert contexts[-1] == "Transaction.End" and contexts.count("Sample.Periodic") >= 2
    stamps = [datetime.fromisoformat(mv["timestamp"]) for mv in ended["meterValue"]]
    assert stamps == sorted(stamps)


async def test_TC_J_01_CS_clock_aligned_values_without_transaction(csms: DevCsms, make_station: Any) -> None:
    await make_station(
        device_model={"AlignedDataCtrlr.Interval": 2, "AlignedDataCtrlr.Measurands": "Energy.Active.Import.Register"}
    )
    values = await csms.wait_for("MeterValues", timeout=8)
    sample = values["meterValue"][0]
    assert sample["sampledValue"][0]["context"] == "Sample.Clock"
    stamp = datetime.fromisoformat(sample["timestamp"])
    assert stamp.second % 2 == 0 and stamp.microsecond == 0  # on the clock-aligned slot


async def test_TC_J_02_CS_clock_aligned_values_during_a_transaction(csms: DevCsms, make_station: Any) -> None:
    sut = await make_station(
        device_model={"AlignedDataCtrlr.Interval": 2, "AlignedDataCtrlr.Measurands": "Energy.Active.Import.Register"}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    await charge(sut, csms)
    event = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "MeterValueClock", timeout=8
    )
    assert event["meterValue"][0]["sampledValue"][0]["context"] == "Sample.Clock"

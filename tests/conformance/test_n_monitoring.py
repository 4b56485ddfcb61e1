"""Block N, variable monitoring (N02-N08) as the OCTT drives it from the CSMS side: SetVariableMonitoring,
ClearVariableMonitoring, SetMonitoringBase, SetMonitoringLevel, GetMonitoringReport, and the NotifyEvent a
monitor raises when the simulated board moves the value it watches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v201 import call

from evse import control
from evse.devcsms.server import DevCsms
from evse.devicemodel.monitoring import HARD_WIRED_ID_BASE, PRECONFIGURED_ID_BASE
from tests.conformance.octt import until, wire_checked
from tests.integration.conftest import STATION_ID, StationUnderTest

__all__ = ["wire_checked"]

Payload = dict[str, Any]
VALID = "AABBCCDD"


def monitor(
    component: str,
    variable: str,
    kind: str,
    value: float,
    severity: int = 5,
    *,
    evse: int | None = None,
    **extra: Any,
) -> Payload:
    comp: Payload = {"name": component}
    if evse is not None:
        comp["evse"] = {"id": evse}
    return {
        "component": comp,
        "variable": {"name": variable},
        "type": kind,
        "value": value,
        "severity": severity,
        **extra,
    }


async def set_monitoring(csms: DevCsms, *items: Payload) -> list[Payload]:
    result = await csms.call(STATION_ID, call.SetVariableMonitoring(set_monitoring_data=list(items)))
    return list(result.set_monitoring_result)


async def clear_monitoring(csms: DevCsms, *ids: int) -> list[Payload]:
    result = await csms.call(STATION_ID, call.ClearVariableMonitoring(id=list(ids)))
    return list(result.clear_monitoring_result)


async def monitoring_report(csms: DevCsms, request_id: int, **criteria: Any) -> tuple[str, list[Payload]]:
    """GetMonitoringReport's status and, if Accepted, the monitor items of every NotifyMonitoringReport of
    the request, checking the framing: same requestId, seqNo 0.., tbc on all but the last."""
    answer = await csms.call(STATION_ID, call.GetMonitoringReport(request_id=request_id, **criteria))
    if answer.status != "Accepted":
        return answer.status, []
    parts: list[Payload] = []
    while not parts or parts[-1].get("tbc"):
        parts.append(await csms.wait_for("NotifyMonitoringReport", predicate=lambda p: p["requestId"] == request_id))
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    return answer.status, [item for part in parts for item in part["monitor"]]


def monitors_in(items: list[Payload]) -> dict[int, Payload]:
    """id -> variableMonitoring with its component and variable, from report items."""
    return {
        m["id"]: {**m, "component": item["component"], "variable": item["variable"]}
        for item in items
        for m in item["variableMonitoring"]
    }


def events(csms: DevCsms, monitor_id: int) -> list[Payload]:
    return [
        e for p in csms.received("NotifyEvent") for e in p["eventData"] if e.get("variableMonitoringId") == monitor_id
    ]


async def event_of(csms: DevCsms, monitor_id: int, timeout: float = 6.0, **fields: Any) -> Payload:
    """The next NotifyEvent carrying an event of the monitor (with the given fields)."""

    def match(payload: Payload) -> bool:
        return any(
            e.get("variableMonitoringId") == monitor_id and all(e.get(k) == v for k, v in fields.items())
            for e in payload["eventData"]
        )

    payload = await csms.wait_for("NotifyEvent", predicate=match, timeout=timeout)
    return next(e for e in payload["eventData"] if e.get("variableMonitoringId") == monitor_id)


async def metered(sut: StationUnderTest) -> None:
    """The meter of EVSE 1 has been read once, so a monitor set now starts from a known value."""
    await until(lambda: sut.d.station.evses[1].reading is not None)


async def charging(csms: DevCsms, sut: StationUnderTest, watts: float) -> str:
    """EnergyTransferStarted on EVSE 1 with the EV drawing `watts`."""
    sut.d.board.plug(1)
    sut.d.board.swipe(1, VALID)
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started")
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.set_power(1, watts)
    await until(lambda: sut.d.board.contactor(1).is_closed)
    return str(started["transactionInfo"]["transactionId"])


# ---- SetVariableMonitoring (N04) --------------------------------------------------------------------------


async def test_TC_N_08_CS_set_variable_monitoring_one_element(csms: DevCsms, station: StationUnderTest) -> None:
    """N04: one monitor is Accepted with an id the station chose, and a report lists it as set."""
    [result] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    assert result["status"] == "Accepted"
    assert (result["type"], result["severity"]) == ("UpperThreshold", 4)
    _, items = await monitoring_report(
        csms, 1, component_variable=[{"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}]
    )
    reported = monitors_in(items)[result["id"]]
    assert (reported["type"], reported["value"], reported["severity"], reported["transaction"]) == (
        "UpperThreshold",
        5000,
        4,
        False,
    )


async def test_TC_N_09_CS_TC_N_10_CS_multiple_elements_also_on_one_variable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """N04: several monitors in one request, two of them on the same component/variable (other type or
    severity), each Accepted with its own id."""
    results = await set_monitoring(
        csms,
        monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1),
        monitor("EVSE", "Power", "LowerThreshold", 100, 4, evse=1),
        monitor("EVSE", "Power", "UpperThreshold", 9000, 2, evse=1),
        monitor("ChargingStation", "AvailabilityState", "Delta", 0, 6),
    )
    assert [r["status"] for r in results] == ["Accepted"] * 4
    assert len({r["id"] for r in results}) == 4


async def test_TC_N_11_CS_TC_N_37_CS_unknown_component_or_variable(csms: DevCsms, station: StationUnderTest) -> None:
    results = await set_monitoring(
        csms,
        monitor("FluxCapacitor", "Power", "UpperThreshold", 5, 4),
        monitor("EVSE", "Warp", "UpperThreshold", 5, 4, evse=1),
        monitor("EVSE", "Power", "UpperThreshold", 5, 4, evse=9),  # no EVSE 9
    )
    assert [r["status"] for r in results] == ["UnknownComponent", "UnknownVariable", "UnknownComponent"]


async def test_TC_N_12_CS_TC_N_13_CS_value_out_of_range(csms: DevCsms, station: StationUnderTest) -> None:
    """A delta larger than the variable's range or negative, a threshold past its maxLimit or below its
    minLimit: Rejected, with a statusInfo saying why."""
    results = await set_monitoring(
        csms,
        monitor("EVSE", "Power", "Delta", 10_000_000, 4, evse=1),
        monitor("EVSE", "Power", "Delta", -1, 5, evse=1),
        monitor("EVSE", "Power", "UpperThreshold", 10_000_000, 4, evse=1),
        monitor("EVSE", "Power", "LowerThreshold", -5, 4, evse=1),
    )
    assert [r["status"] for r in results] == ["Rejected"] * 4
    assert all(r["status_info"]["reason_code"] == "InvalidValue" for r in results)


async def test_TC_N_15_CS_duplicate_type_and_severity(csms: DevCsms, station: StationUnderTest) -> None:
    [first] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    [second] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 6000, 4, evse=1))
    assert (first["status"], second["status"]) == ("Accepted", "Duplicate")


async def test_TC_N_38_CS_monitor_type_not_supported(csms: DevCsms, station: StationUnderTest) -> None:
    """A threshold on a variable that is not a number (an OptionList) is UnsupportedMonitorType; a variable
    that does not support monitoring at all is Rejected."""
    results = await set_monitoring(
        csms,
        monitor("ChargingStation", "AvailabilityState", "UpperThreshold", 1, 4),
        monitor("EVSE", "SupplyPhases", "Delta", 1, 4, evse=1),
    )
    assert [r["status"] for r in results] == ["UnsupportedMonitorType", "Rejected"]


async def test_TC_N_39_CS_TC_N_40_CS_replace_a_monitor_by_id(csms: DevCsms, station: StationUnderTest) -> None:
    """An id names the monitor to replace (TC_N_40); an id whose monitor watches another component/variable
    is Rejected and changes nothing (TC_N_39)."""
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    [replaced] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 7000, 3, evse=1, id=made["id"]))
    [elsewhere] = await set_monitoring(
        csms, monitor("EVSE", "ACCurrent", "UpperThreshold", 20, 3, evse=1, id=made["id"])
    )
    assert (replaced["status"], replaced["id"]) == ("Accepted", made["id"])
    assert elsewhere["status"] == "Rejected"
    _, items = await monitoring_report(csms, 2, monitoring_criteria=["ThresholdMonitoring"])
    assert (monitors_in(items)[made["id"]]["value"], monitors_in(items)[made["id"]]["severity"]) == (7000, 3)


async def test_TC_N_41_CS_return_to_factory_default(csms: DevCsms, station: StationUnderTest) -> None:
    """A preconfigured monitor changed by the CSMS gets its original value back with SetMonitoringBase
    FactoryDefault."""
    preconfigured = PRECONFIGURED_ID_BASE + 1  # EVSE 1's upper voltage monitor
    [changed] = await set_monitoring(
        csms, monitor("EVSE", "ACVoltage", "UpperThreshold", 260, 3, evse=1, id=preconfigured)
    )
    assert changed["status"] == "Accepted"
    _, items = await monitoring_report(csms, 3)
    assert monitors_in(items)[preconfigured]["value"] == 260
    answer = await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="FactoryDefault"))
    assert answer.status == "Accepted"
    _, items = await monitoring_report(csms, 4)
    assert monitors_in(items)[preconfigured]["value"] == 253


async def test_TC_N_43_CS_first_and_third_valid_second_out_of_range(csms: DevCsms, station: StationUnderTest) -> None:
    results = await set_monitoring(
        csms,
        monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1),
        monitor("EVSE", "Power", "UpperThreshold", 99_999_999, 3, evse=1),
        monitor("EVSE", "Power", "LowerThreshold", 10, 4, evse=1),
    )
    assert [r["status"] for r in results] == ["Accepted", "Rejected", "Accepted"]
    _, items = await monitoring_report(csms, 5, monitoring_criteria=["ThresholdMonitoring"])
    custom = [i for i in monitors_in(items) if i < PRECONFIGURED_ID_BASE]
    assert sorted(custom) == sorted([results[0]["id"], results[2]["id"]])


async def test_set_variable_monitoring_over_items_per_message_is_refused(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """MonitoringCtrlr.ItemsPerSetVariableMonitoring (20): a longer request is a CALLERROR, nothing is set."""
    items = [monitor("EVSE", "Power", "UpperThreshold", 1000 + i, i % 10, evse=1) for i in range(21)]
    with pytest.raises(OCPPError) as refused:
        await set_monitoring(csms, *items)
    assert type(refused.value).__name__ == "OccurrenceConstraintViolationError"
    _, items_reported = await monitoring_report(csms, 6, monitoring_criteria=["ThresholdMonitoring"])
    assert [i for i in monitors_in(items_reported) if i < PRECONFIGURED_ID_BASE] == []


# ---- SetMonitoringLevel (N03), ClearVariableMonitoring (N05), SetMonitoringBase (N02) ---------------------


async def test_TC_N_16_CS_TC_N_17_CS_set_monitoring_level(csms: DevCsms, station: StationUnderTest) -> None:
    accepted = await csms.call(STATION_ID, call.SetMonitoringLevel(severity=4))
    too_high = await csms.call(STATION_ID, call.SetMonitoringLevel(severity=10))
    negative = await csms.call(STATION_ID, call.SetMonitoringLevel(severity=-1))
    assert (accepted.status, too_high.status, negative.status) == ("Accepted", "Rejected", "Rejected")
    assert station.d.dm.get_int("MonitoringCtrlr", "ActiveMonitoringLevel") == 4


async def test_TC_N_18_CS_TC_N_19_CS_TC_N_44_CS_clear_monitoring(csms: DevCsms, station: StationUnderTest) -> None:
    """A custom monitor is cleared (Accepted, gone from the report); an unknown id is NotFound; a
    hard-wired monitor is Rejected and stays."""
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    hard_wired = HARD_WIRED_ID_BASE + 1
    results = await clear_monitoring(csms, made["id"], 424242, hard_wired)
    assert [(r["id"], r["status"]) for r in results] == [
        (made["id"], "Accepted"),
        (424242, "NotFound"),
        (hard_wired, "Rejected"),
    ]
    _, items = await monitoring_report(csms, 7)
    assert made["id"] not in monitors_in(items)
    assert hard_wired in monitors_in(items)


async def test_clear_a_preconfigured_monitor_until_set_monitoring_base(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """A preconfigured monitor the CSMS clears is gone from the report, also after a restart; SetMonitoringBase
    All activates every preconfigured monitor again."""
    preconfigured = PRECONFIGURED_ID_BASE + 1
    [result] = await clear_monitoring(csms, preconfigured)
    assert result["status"] == "Accepted"
    _, items = await monitoring_report(csms, 20)
    assert preconfigured not in monitors_in(items)
    [again] = await clear_monitoring(csms, preconfigured)
    assert again["status"] == "NotFound"
    await station.stop()
    csms.skip()
    await station.start()
    await csms.wait_for("BootNotification", timeout=10)
    _, items = await monitoring_report(csms, 21)
    assert preconfigured not in monitors_in(items)
    assert (await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="All"))).status == "Accepted"
    _, items = await monitoring_report(csms, 22)
    assert monitors_in(items)[preconfigured]["value"] == 253


async def test_TC_N_05_CS_TC_N_06_CS_set_monitoring_base(csms: DevCsms, station: StationUnderTest) -> None:
    """All keeps custom monitors; HardWiredOnly removes them and leaves only the hard-wired monitors;
    FactoryDefault brings the factory-default preconfigured ones back (not the others)."""
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    assert (await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="All"))).status == "Accepted"
    _, items = await monitoring_report(csms, 8)
    assert made["id"] in monitors_in(items)
    assert (await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="HardWiredOnly"))).status == "Accepted"
    _, items = await monitoring_report(csms, 9)
    kinds = {i // PRECONFIGURED_ID_BASE for i in monitors_in(items)}
    assert kinds == {HARD_WIRED_ID_BASE // PRECONFIGURED_ID_BASE}
    assert (await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="FactoryDefault"))).status == "Accepted"
    _, items = await monitoring_report(csms, 10)
    ids = set(monitors_in(items))
    assert {PRECONFIGURED_ID_BASE + 1, PRECONFIGURED_ID_BASE + 1001} <= ids  # the voltage monitors
    assert PRECONFIGURED_ID_BASE + 2001 not in ids  # the overcurrent monitor is not a factory default
    assert made["id"] not in ids


async def test_TC_N_07_CS_set_monitoring_base_unknown_type(csms: DevCsms, station: StationUnderTest) -> None:
    """An unknown monitoringBase fails the schema: a CALLERROR, and the base stays what it was."""
    with pytest.raises(OCPPError):
        await csms.call(STATION_ID, call.SetMonitoringBase(monitoring_base="Everything"))
    assert station.d.dm.get_str("MonitoringCtrlr", "ActiveMonitoringBase") == "All"


# ---- GetMonitoringReport (N02) ------------------------------------------------------------------------


async def test_TC_N_01_CS_TC_N_02_CS_TC_N_03_CS_monitoring_report_by_criteria_and_component(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """By criterion (only monitors of that kind), by component/variable (only that variable's), and both
    (the monitors passing each)."""
    made = await set_monitoring(
        csms,
        monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1),
        monitor("EVSE", "Power", "Delta", 500, 5, evse=1),
        monitor("EVSE", "Power", "Periodic", 60, 7, evse=1),
    )
    upper, delta, periodic = (r["id"] for r in made)
    _, items = await monitoring_report(csms, 11, monitoring_criteria=["DeltaMonitoring", "PeriodicMonitoring"])
    found = monitors_in(items)
    assert {delta, periodic} <= set(found) and upper not in found
    assert all(m["type"] in {"Delta", "Periodic", "PeriodicClockAligned"} for m in found.values())
    power = [{"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"}}]
    _, items = await monitoring_report(csms, 12, component_variable=power)
    assert set(monitors_in(items)) == {upper, delta, periodic}
    assert {(i["component"]["name"], i["variable"]["name"]) for i in items} == {("EVSE", "Power")}
    _, items = await monitoring_report(csms, 13, component_variable=power, monitoring_criteria=["ThresholdMonitoring"])
    assert set(monitors_in(items)) == {upper}


async def test_TC_N_04_CS_monitoring_report_unknown_component(csms: DevCsms, station: StationUnderTest) -> None:
    status, _ = await monitoring_report(csms, 14, component_variable=[{"component": {"name": "FluxCapacitor"}}])
    assert status == "EmptyResultSet"


async def test_TC_N_47_CS_monitoring_report_all(csms: DevCsms, make_station: Any) -> None:
    """Without criteria or components every monitor is reported: hard-wired (the fault variables),
    preconfigured and custom; with MonitoringCtrlr.ItemsPerMessage[GetMonitoringReport] at 2 the report
    spans several messages (seqNo, tbc)."""
    await make_station(device_model={"MonitoringCtrlr.ItemsPerMessage[GetMonitoringReport]": 2})
    await csms.wait_for("StatusNotification", timeout=10)
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    _, items = await monitoring_report(csms, 15)
    found = monitors_in(items)
    assert made["id"] in found
    assert any(i > HARD_WIRED_ID_BASE for i in found)
    assert any(PRECONFIGURED_ID_BASE < i < HARD_WIRED_ID_BASE for i in found)
    parts = csms.received("NotifyMonitoringReport")
    assert len(parts) > 2 and all(len(p["monitor"]) <= 2 for p in parts)
    rcd = [i for i in items if i["component"]["name"] == "RCD"]
    assert rcd and rcd[0]["variableMonitoring"][0]["severity"] == 0  # a tripped RCD is a danger


# ---- monitors at work (N07, N08) -------------------------------------------------------------------------


async def test_TC_N_20_CS_alert_event_threshold_exceeded(csms: DevCsms, station: StationUnderTest) -> None:
    """N07: the EV draws more than the UpperThreshold (driven as a technician does, `evse sim meter 1
    --power 7000` over the control socket): NotifyEvent Alerting with the value, the monitor's id and
    CustomMonitor; once it draws less again, the same event cleared."""
    await metered(station)
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1))
    await charging(csms, station, 1000)
    sim_meter = {"cmd": "sim.meter", "evse": 1, "power": 7000}
    await asyncio.to_thread(control.request, station.settings.socket_path, sim_meter)
    raised = await event_of(csms, made["id"], cleared=False)
    assert (raised["trigger"], raised["eventNotificationType"]) == ("Alerting", "CustomMonitor")
    assert float(raised["actualValue"]) > 5000
    assert raised["component"] == {"name": "EVSE", "evse": {"id": 1}}
    assert raised["variable"] == {"name": "Power"}
    station.d.board.set_power(1, 1000)
    back = await event_of(csms, made["id"], cleared=True)
    assert back["trigger"] == "Alerting" and float(back["actualValue"]) <= 5000
    assert back["eventId"] != raised["eventId"]


async def test_lower_threshold_alert_event(csms: DevCsms, station: StationUnderTest) -> None:
    """N07, LowerThreshold: set while the EV draws 5 kW in a transaction, the draw then falls under the
    threshold: Alerting with the transactionId (transaction flag), then cleared when it is back above."""
    tx_id = await charging(csms, station, 5000)
    await until(lambda: (r := station.d.station.evses[1].reading) is not None and r.power_w > 4000)
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "LowerThreshold", 2000, 4, evse=1, transaction=True))
    station.d.board.set_power(1, 500)
    low = await event_of(csms, made["id"], cleared=False)
    assert (low["trigger"], low["transactionId"]) == ("Alerting", tx_id)
    assert float(low["actualValue"]) < 2000
    station.d.board.set_power(1, 4000)
    back = await event_of(csms, made["id"], cleared=True)
    assert float(back["actualValue"]) >= 2000
    assert [e["cleared"] for e in events(csms, made["id"])] == [False, True]


async def test_TC_N_21_CS_alert_event_hard_wired(csms: DevCsms, station: StationUnderTest) -> None:
    """A hardware fault (RCD tripped on the simulated board) raises a NotifyEvent from the hard-wired
    monitor on RCD.Tripped: HardWiredMonitor, and the id the monitoring report lists for it; clearing the
    fault clears the event."""
    rcd = [{"component": {"name": "RCD", "evse": {"id": 1}}, "variable": {"name": "Tripped"}}]
    _, items = await monitoring_report(csms, 16, component_variable=rcd)
    [hard_wired] = monitors_in(items).values()
    assert hard_wired["type"] == "Delta" and hard_wired["id"] > HARD_WIRED_ID_BASE
    station.d.board.raise_fault(1, "rcd_trip")
    event = await event_of(csms, hard_wired["id"])
    assert (event["variable"]["name"], event["actualValue"], event["trigger"]) == ("Tripped", "true", "Delta")
    assert event["eventNotificationType"] == "HardWiredMonitor"
    station.d.board.clear_fault(1, "rcd_trip")
    cleared = await event_of(csms, hard_wired["id"], cleared=True)
    assert cleared["actualValue"] == "false"


async def test_TC_N_45_CS_alert_event_delta_exceeded(csms: DevCsms, station: StationUnderTest) -> None:
    """N07: Delta on a number: an event once the value moved by more than the delta from the value at set
    time (or the last report), then not again until it moves that much from the reported value."""
    await metered(station)
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "Delta", 2000, 5, evse=1))
    await charging(csms, station, 4000)
    first = await event_of(csms, made["id"])
    assert first["trigger"] == "Delta" and first["eventNotificationType"] == "CustomMonitor"
    assert float(first["actualValue"]) > 2000
    station.d.board.set_power(1, 5000)  # +1000 from the reported value: not enough
    station.d.board.set_power(1, 9000)
    second = await event_of(csms, made["id"], timeout=6)
    assert float(second["actualValue"]) > float(first["actualValue"]) + 2000


async def test_TC_N_56_CS_alert_event_delta_not_numeric(csms: DevCsms, station: StationUnderTest) -> None:
    """Delta on a value that is not a number (EVSE.AvailabilityState): any change is an event."""
    [made] = await set_monitoring(csms, monitor("EVSE", "AvailabilityState", "Delta", 0, 5, evse=1))
    station.d.board.plug(1)
    event = await event_of(csms, made["id"])
    assert (event["trigger"], event["actualValue"]) == ("Delta", "Occupied")
    station.d.board.unplug(1)
    event = await event_of(csms, made["id"], actualValue="Available")
    assert event["trigger"] == "Delta"


async def test_TC_N_24_CS_periodic_event(csms: DevCsms, station: StationUnderTest) -> None:
    """N08: a Periodic monitor reports the value every `value` seconds, trigger Periodic."""
    [made] = await set_monitoring(csms, monitor("EVSE", "ACVoltage", "Periodic", 1, 7, evse=1))
    first = await event_of(csms, made["id"])
    second = await event_of(csms, made["id"])
    assert first["trigger"] == second["trigger"] == "Periodic"
    assert first["actualValue"] == "230"
    assert first["eventId"] != second["eventId"]


async def test_periodic_clock_aligned_event(csms: DevCsms, station: StationUnderTest) -> None:
    """N08: PeriodicClockAligned reports on the multiples of `value` seconds of the clock."""
    [made] = await set_monitoring(csms, monitor("EVSE", "ACVoltage", "PeriodicClockAligned", 1, 7, evse=1))
    event = await event_of(csms, made["id"])
    assert event["trigger"] == "Periodic" and event["actualValue"] == "230"


async def test_many_monitors_firing_at_once_are_split(csms: DevCsms, station: StationUnderTest) -> None:
    """25 monitors reporting in the same second (clock-aligned): several NotifyEvents of at most 20 events
    each, every monitor's event among them."""
    variables = ("Power", "ACCurrent", "ACVoltage")
    made = [
        monitor("EVSE", variables[i % 3], "PeriodicClockAligned", 1, i // 3, evse=1)  # distinct type/severity
        for i in range(25)
    ]
    ids = [r["id"] for r in await set_monitoring(csms, *made[:20]) + await set_monitoring(csms, *made[20:])]

    def one_pass() -> dict[str, set[int]]:
        by_time: dict[str, set[int]] = {}
        for p in csms.received("NotifyEvent"):
            by_time.setdefault(p["generatedAt"], set()).update(e.get("variableMonitoringId", 0) for e in p["eventData"])
        return by_time

    await until(lambda: any(set(ids) <= found for found in one_pass().values()), timeout=6)
    assert all(len(p["eventData"]) <= 20 for p in csms.received("NotifyEvent"))


async def test_monitoring_level_filters_events(csms: DevCsms, station: StationUnderTest) -> None:
    """N03: with SetMonitoringLevel 3 a severity-7 monitor stays silent while a severity-2 one reports."""
    assert (await csms.call(STATION_ID, call.SetMonitoringLevel(severity=3))).status == "Accepted"
    quiet, loud = await set_monitoring(
        csms,
        monitor("EVSE", "ACVoltage", "Periodic", 1, 7, evse=1),
        monitor("EVSE", "ACVoltage", "Periodic", 1, 2, evse=1),
    )
    await event_of(csms, loud["id"])
    await event_of(csms, loud["id"])
    assert events(csms, quiet["id"]) == []


async def test_monitoring_disabled_raises_no_events(csms: DevCsms, station: StationUnderTest) -> None:
    """MonitoringCtrlr.Enabled false (SetVariables): monitors stay set but fire nothing; true again, they do."""
    [made] = await set_monitoring(csms, monitor("EVSE", "ACVoltage", "Periodic", 1, 7, evse=1))
    enabled = {"component": {"name": "MonitoringCtrlr"}, "variable": {"name": "Enabled"}}
    answer = await csms.call(STATION_ID, call.SetVariables(set_variable_data=[{**enabled, "attribute_value": "false"}]))
    assert answer.set_variable_result[0]["attribute_status"] == "Accepted"
    await until(lambda: len(station.d.station.outbox) == 0)  # what fired before the change has arrived
    before = len(events(csms, made["id"]))
    await asyncio.sleep(2.2)  # two passes of a 1 s period
    assert len(events(csms, made["id"])) == before
    await csms.call(STATION_ID, call.SetVariables(set_variable_data=[{**enabled, "attribute_value": "true"}]))
    await event_of(csms, made["id"])


async def test_transaction_monitor_only_during_a_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    """N04: a monitor with the transaction flag is silent outside a transaction; inside, its events carry
    the transactionId."""
    [made] = await set_monitoring(csms, monitor("EVSE", "ACVoltage", "Periodic", 1, 7, evse=1, transaction=True))
    await asyncio.sleep(2.2)  # two evaluations of a 1 s period: a monitor that ignored the flag would fire
    assert events(csms, made["id"]) == []
    tx_id = await charging(csms, station, 3000)
    event = await event_of(csms, made["id"])
    assert event["transactionId"] == tx_id


async def test_TC_N_51_CS_TC_N_52_CS_modify_then_remove_a_monitor(csms: DevCsms, station: StationUnderTest) -> None:
    """A monitor changed by id fires at its new threshold (TC_N_51); once cleared it fires no more (TC_N_52)."""
    await metered(station)
    [made] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 20000, 4, evse=1))
    await charging(csms, station, 6000)
    [changed] = await set_monitoring(csms, monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1, id=made["id"]))
    assert changed["status"] == "Accepted"
    raised = await event_of(csms, made["id"], cleared=False)
    assert float(raised["actualValue"]) > 5000
    [cleared] = await clear_monitoring(csms, made["id"])
    assert cleared["status"] == "Accepted"
    before = len(events(csms, made["id"]))
    station.d.board.set_power(1, 1000)  # would clear the alert: a removed monitor says nothing
    station.d.board.set_power(1, 8000)
    reading = lambda: station.d.station.evses[1].reading  # noqa: E731
    await until(lambda: (r := reading()) is not None and r.power_w > 7000)
    await asyncio.sleep(1.2)  # one more evaluation after the value came back over the threshold
    assert len(events(csms, made["id"])) == before


async def test_TC_N_53_CS_alert_event_persistent_over_reboot(csms: DevCsms, make_station: Any) -> None:
    """A custom monitor survives a restart of the station and fires after it."""
    sut = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    [made] = await set_monitoring(csms, monitor("EVSE", "ACVoltage", "Periodic", 1, 7, evse=1))
    await sut.stop()
    csms.skip()  # what the first run sent
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)
    event = await event_of(csms, made["id"])
    assert event["trigger"] == "Periodic"


async def test_TC_N_61_CS_alert_event_on_a_numeric_configuration_variable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """N07 on a number the CSMS itself sets (our reading of the case's title): an UpperThreshold on
    OCPPCommCtrlr.HeartbeatInterval fires as soon as a SetVariables takes it over the threshold (the
    change is evaluated when it happens, not at the next once-a-second pass), and clears when set back."""
    [made] = await set_monitoring(csms, monitor("OCPPCommCtrlr", "HeartbeatInterval", "UpperThreshold", 1000, 4))
    assert made["status"] == "Accepted"
    answer = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                    "attribute_value": "2000",
                }
            ]
        ),
    )
    assert answer.set_variable_result[0]["attribute_status"] == "Accepted"
    raised = await event_of(csms, made["id"], cleared=False)
    assert (raised["actualValue"], raised["trigger"]) == ("2000", "Alerting")


async def test_TC_N_48_CS_alert_event_on_a_write_only_variable(csms: DevCsms, station: StationUnderTest) -> None:
    """N07 on a WriteOnly variable: a Delta on SecurityCtrlr.BasicAuthPassword reports that it changed,
    with an empty actualValue: the password never leaves the station."""
    [made] = await set_monitoring(csms, monitor("SecurityCtrlr", "BasicAuthPassword", "Delta", 0, 4))
    assert made["status"] == "Accepted"
    secret = "a-new-password-0002"
    answer = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "BasicAuthPassword"},
                    "attribute_value": secret,
                }
            ]
        ),
    )
    assert answer.set_variable_result[0]["attribute_status"] == "Accepted"
    assert csms.basic_auth is not None
    csms.basic_auth[STATION_ID] = secret  # the station reconnects with it at once (A01)
    event = await event_of(csms, made["id"])
    assert (event["trigger"], event["actualValue"]) == ("Delta", "")
    assert all(secret not in str(p) for p in csms.received("NotifyEvent"))


async def test_monitor_of_a_removed_evse_is_left_out(csms: DevCsms, make_station: Any) -> None:
    """A custom monitor on EVSE 2 after the technician reconfigures the station to one EVSE: the station
    boots, reports only what it can watch, and monitors EVSE 1 as before."""
    sut = await make_station(evses=2)
    await csms.wait_for("StatusNotification", timeout=10)
    gone, kept = await set_monitoring(
        csms,
        monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=2),
        monitor("EVSE", "Power", "UpperThreshold", 5000, 4, evse=1),
    )
    await sut.stop()
    csms.skip()
    await make_station(evses=1)
    await csms.wait_for("StatusNotification", timeout=10)
    _, items = await monitoring_report(csms, 30, monitoring_criteria=["ThresholdMonitoring"])
    assert kept["id"] in monitors_in(items) and gone["id"] not in monitors_in(items)


# ---- offline (N07: OfflineQueuingSeverity) -------------------------------------------------------------


async def test_TC_N_22_CS_TC_N_23_CS_offline_queuing_by_severity(csms: DevCsms, make_station: Any) -> None:
    """While offline, events of severity <= OfflineQueuingSeverity wait in the outbox and reach the CSMS
    on reconnect (TC_N_22); less severe ones are dropped (TC_N_23)."""
    sut = await make_station(device_model={"MonitoringCtrlr.OfflineQueuingSeverity": 3})
    await csms.wait_for("StatusNotification", timeout=10)
    queued, dropped = await set_monitoring(
        csms,
        monitor("EVSE", "AvailabilityState", "Delta", 0, 3, evse=1),
        monitor("EVSE", "AvailabilityState", "Delta", 0, 4, evse=1),
    )
    port = csms.port
    await csms.stop()
    await until(lambda: not sut.d.station.is_online())
    sut.d.board.plug(1)  # Available -> Occupied while offline
    await until(lambda: sut.d.dm.get_str("EVSE", "AvailabilityState", evse_id=1) == "Occupied")
    await csms.start(port=port)
    await csms.wait_connected(STATION_ID, timeout=15)
    event = await event_of(csms, queued["id"], timeout=10)
    assert event["actualValue"] == "Occupied"
    await csms.call(STATION_ID, call.SetMonitoringLevel(severity=9))  # a round trip after the backlog
    await until(lambda: len(sut.d.station.outbox) == 0)
    assert events(csms, dropped["id"]) == []

"""Device model over the wire: GetVariables / SetVariables / reports between the dev CSMS and the daemon."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


def item(component: str, variable: str, **extra: Any) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}, **extra}


async def test_TC_B_06_CS_get_single_variable(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(
        STATION_ID, call.GetVariables(get_variable_data=[item("ChargingStation", "AvailabilityState")])
    )
    answer = result.get_variable_result[0]
    assert (answer["attribute_status"], answer["attribute_value"]) == ("Accepted", "Available")


async def test_TC_B_10_CS_set_variables_apply_and_persist_across_restart(
    csms: DevCsms, station: StationUnderTest
) -> None:
    result = await csms.call(
        STATION_ID,
        call.SetVariables(
            set_variable_data=[
                item("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="2"),
                item("OCPPCommCtrlr", "RetryBackOffRepeatTimes", attribute_value="7"),
            ]
        ),
    )
    assert [r["attribute_status"] for r in result.set_variable_result] == ["Accepted", "Accepted"]
    await csms.wait_for("Heartbeat", timeout=4)  # the new interval applies at once
    await station.stop()
    await station.start()
    await csms.wait_for("BootNotification", timeout=10)
    got = await csms.call(
        STATION_ID, call.GetVariables(get_variable_data=[item("OCPPCommCtrlr", "RetryBackOffRepeatTimes")])
    )
    assert got.get_variable_result[0]["attribute_value"] == "7"


async def test_TC_B_39_CS_set_read_only_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(
        STATION_ID,
        call.SetVariables(set_variable_data=[item("ChargingStation", "AvailabilityState", attribute_value="Faulted")]),
    )
    assert result.set_variable_result[0]["attribute_status"] == "Rejected"


async def test_write_only_password_is_never_reported(csms: DevCsms, station: StationUnderTest) -> None:
    got = await csms.call(STATION_ID, call.GetVariables(get_variable_data=[item("SecurityCtrlr", "BasicAuthPassword")]))
    assert got.get_variable_result[0]["attribute_status"] == "Rejected"
    assert "attribute_value" not in got.get_variable_result[0] or not got.get_variable_result[0]["attribute_value"]
    await csms.call(STATION_ID, call.GetBaseReport(request_id=3, report_base="FullInventory"))
    reports = []
    while True:
        report = await csms.wait_for("NotifyReport", timeout=5)
        reports.append(report)
        if not report.get("tbc"):
            break
    for report in reports:
        for entry in report.get("reportData", []):
            if entry["variable"]["name"] == "BasicAuthPassword":
                assert all("value" not in a for a in entry["variableAttribute"])


async def test_TC_B_13_CS_full_inventory_split_by_items_per_message(csms: DevCsms, make_station: Any) -> None:
    await make_station(device_model={"DeviceDataCtrlr.ItemsPerMessage[GetReport]": 10})
    await csms.wait_for("BootNotification", timeout=10)
    result = await csms.call(STATION_ID, call.GetBaseReport(request_id=42, report_base="FullInventory"))
    assert result.status == "Accepted"
    reports = []
    while True:
        report = await csms.wait_for("NotifyReport", timeout=5)
        reports.append(report)
        if not report.get("tbc"):
            break
    assert [r["seqNo"] for r in reports] == list(range(len(reports)))
    assert all(r["requestId"] == 42 for r in reports)
    assert all(len(r["reportData"]) <= 10 for r in reports)
    assert all(r["tbc"] for r in reports[:-1])
    names = {(e["component"]["name"], e["variable"]["name"]) for r in reports for e in r["reportData"]}
    assert ("OCPPCommCtrlr", "HeartbeatInterval") in names and ("EVSE", "AvailabilityState") in names

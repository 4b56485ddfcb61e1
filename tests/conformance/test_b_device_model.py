"""Block B, the device model over the wire: GetVariables / SetVariables (B05/B06) and base and custom
reports (B07/B08), each TC_B case as the OCTT drives it from the CSMS side."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


def item(component: str, variable: str, *, evse: dict[str, int] | None = None, **extra: Any) -> dict[str, Any]:
    comp: dict[str, Any] = {"name": component}
    if evse is not None:
        comp["evse"] = evse
    var: dict[str, Any] = {"name": variable}
    if "instance" in extra:
        var["instance"] = extra.pop("instance")
    return {"component": comp, "variable": var, **extra}


async def get_variables(csms: DevCsms, *items: dict[str, Any]) -> list[dict[str, Any]]:
    result = await csms.call(STATION_ID, call.GetVariables(get_variable_data=list(items)))
    return list(result.get_variable_result)


async def set_variables(csms: DevCsms, *items: dict[str, Any]) -> list[dict[str, Any]]:
    result = await csms.call(STATION_ID, call.SetVariables(set_variable_data=list(items)))
    return list(result.set_variable_result)


async def report(csms: DevCsms, request_id: int) -> list[dict[str, Any]]:
    """Every NotifyReport of one request, in order; checks the framing (B07):
    same requestId, seqNo 0.., tbc on all but the last."""
    parts: list[dict[str, Any]] = []
    while not parts or parts[-1].get("tbc"):
        parts.append(await csms.wait_for("NotifyReport", predicate=lambda p: p["requestId"] == request_id))
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))
    assert all(p["tbc"] for p in parts[:-1]) and not parts[-1].get("tbc", False)
    return [entry for p in parts for entry in p.get("reportData", [])]


def label(entry: dict[str, Any]) -> str:
    comp, var = entry["component"], entry["variable"]
    where = ""
    if "evse" in comp:
        where = (
            f"[{comp['evse']['id']}"
            + (f",{comp['evse']['connectorId']}" if "connectorId" in comp["evse"] else "")
            + "]"
        )
    instance = f"[{var['instance']}]" if "instance" in var else ""
    return f"{comp['name']}{where}.{var['name']}{instance}"


def actual(entry: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in entry["variableAttribute"] if a.get("type", "Actual") == "Actual")


async def test_TC_B_07_CS_get_variables_multiple_values(csms: DevCsms, station: StationUnderTest) -> None:
    """B06: one result per requested variable, each Accepted with its value, components and
    variables echoed as requested (EVSE and connector addressing included)."""
    results = await get_variables(
        csms,
        item("OCPPCommCtrlr", "HeartbeatInterval"),
        item("EVSE", "AvailabilityState", evse={"id": 1}),
        item("Connector", "ConnectorType", evse={"id": 1, "connector_id": 1}),
        item("DeviceDataCtrlr", "ItemsPerMessage", instance="GetVariables"),
    )
    assert [r["attribute_status"] for r in results] == ["Accepted"] * 4
    assert [r["variable"]["name"] for r in results] == [
        "HeartbeatInterval",
        "AvailabilityState",
        "ConnectorType",
        "ItemsPerMessage",
    ]
    assert results[1]["attribute_value"] == "Available"
    assert results[2]["component"]["evse"] == {"id": 1, "connector_id": 1}
    assert results[2]["attribute_value"] == "cType2"
    assert int(results[3]["attribute_value"]) >= 4
    csms.assert_no_failures()


async def test_TC_B_09_CS_set_variables_single_value(csms: DevCsms, station: StationUnderTest) -> None:
    """B05: a valid value of a ReadWrite variable is Accepted, stored and read back."""
    [result] = await set_variables(csms, item("OCPPCommCtrlr", "OfflineThreshold", attribute_value="123"))
    assert (result["attribute_status"], result["variable"]["name"]) == ("Accepted", "OfflineThreshold")
    [got] = await get_variables(csms, item("OCPPCommCtrlr", "OfflineThreshold"))
    assert (got["attribute_status"], got["attribute_value"]) == ("Accepted", "123")
    assert station.d.dm.get_int("OCPPCommCtrlr", "OfflineThreshold") == 123
    csms.assert_no_failures()


async def test_TC_B_11_CS_set_variables_invalidly_formatted_values(csms: DevCsms, station: StationUnderTest) -> None:
    """B05 (with the value checks of the variable's characteristics): a value that does not fit the
    data type, valuesList or limits is Rejected with a reason and the old value stays."""
    results = await set_variables(
        csms,
        item("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="not-a-number"),
        item("AuthCtrlr", "LocalPreAuthorize", attribute_value="maybe"),
        item("TxCtrlr", "TxStopPoint", attribute_value="EVConnected,Nonsense"),
    )
    assert [r["attribute_status"] for r in results] == ["Rejected"] * 3
    assert all(r["attribute_status_info"]["reason_code"] for r in results)
    got = await get_variables(
        csms,
        item("OCPPCommCtrlr", "HeartbeatInterval"),
        item("AuthCtrlr", "LocalPreAuthorize"),
        item("TxCtrlr", "TxStopPoint"),
    )
    assert got[0]["attribute_value"] == str(station.d.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval"))
    assert got[1]["attribute_value"] in ("true", "false")
    assert got[2]["attribute_value"] == "EVConnected,Authorized"
    csms.assert_no_failures()


async def test_TC_B_12_CS_get_base_report_configuration_inventory(csms: DevCsms, station: StationUnderTest) -> None:
    """B07: Accepted, then NotifyReports of the configurable variables only (no ReadOnly
    attribute), with this requestId."""
    result = await csms.call(STATION_ID, call.GetBaseReport(request_id=12, report_base="ConfigurationInventory"))
    assert result.status == "Accepted"
    entries = await report(csms, 12)
    labels = {label(e) for e in entries}
    assert "OCPPCommCtrlr.HeartbeatInterval" in labels and "TxCtrlr.TxStopPoint" in labels
    assert "EVSE[1].AvailabilityState" not in labels
    assert all(a.get("mutability", "ReadWrite") != "ReadOnly" for e in entries for a in e["variableAttribute"])
    csms.assert_no_failures()


async def test_TC_B_14_CS_get_base_report_summary_inventory(csms: DevCsms, station: StationUnderTest) -> None:
    """B07: SummaryInventory reports the availability of the station, its EVSEs and connectors (and
    active problems, none here)."""
    result = await csms.call(STATION_ID, call.GetBaseReport(request_id=14, report_base="SummaryInventory"))
    assert result.status == "Accepted"
    entries = {label(e): e for e in await report(csms, 14)}
    assert {
        "ChargingStation.AvailabilityState",
        "EVSE[1].AvailabilityState",
        "Connector[1,1].AvailabilityState",
    } <= set(entries)
    assert actual(entries["EVSE[1].AvailabilityState"])["value"] == "Available"
    csms.assert_no_failures()


async def test_TC_B_16_CS_get_custom_report_with_component_criteria(csms: DevCsms, station: StationUnderTest) -> None:
    """B08: componentCriteria Enabled reports the components whose Enabled is true, with
    all their variables; components without an Enabled variable are left out."""
    result = await csms.call(STATION_ID, call.GetReport(request_id=16, component_criteria=["Enabled"]))
    assert result.status == "Accepted"
    entries = await report(csms, 16)
    components = {e["component"]["name"] for e in entries}
    assert "AuthCtrlr" in components
    assert "OCPPCommCtrlr" not in components  # has no Enabled variable
    assert "AuthCtrlr.LocalPreAuthorize" in {label(e) for e in entries}
    csms.assert_no_failures()


async def test_TC_B_17_CS_get_custom_report_with_component_variable(csms: DevCsms, station: StationUnderTest) -> None:
    """B08: componentVariable reports exactly the variables asked for."""
    result = await csms.call(
        STATION_ID,
        call.GetReport(
            request_id=17,
            component_variable=[
                item("OCPPCommCtrlr", "HeartbeatInterval"),
                item("EVSE", "AvailabilityState", evse={"id": 1}),
            ],
        ),
    )
    assert result.status == "Accepted"
    entries = {label(e): e for e in await report(csms, 17)}
    assert set(entries) == {"OCPPCommCtrlr.HeartbeatInterval", "EVSE[1].AvailabilityState"}
    assert actual(entries["OCPPCommCtrlr.HeartbeatInterval"])["value"] == str(
        station.d.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval")
    )
    csms.assert_no_failures()


async def test_TC_B_18_CS_get_custom_report_with_criteria_and_component_variable(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """B08: with both, a componentVariable is reported only if its component meets the criteria:
    EVSE 1 is Available, it has no Problem."""
    wanted = [item("EVSE", "AvailabilityState", evse={"id": 1})]
    result = await csms.call(
        STATION_ID, call.GetReport(request_id=18, component_criteria=["Available"], component_variable=wanted)
    )
    assert result.status == "Accepted"
    assert {label(e) for e in await report(csms, 18)} == {"EVSE[1].AvailabilityState"}
    empty = await csms.call(
        STATION_ID, call.GetReport(request_id=19, component_criteria=["Problem"], component_variable=wanted)
    )
    assert empty.status == "EmptyResultSet"
    csms.assert_no_failures()


async def test_TC_B_19_CS_get_custom_report_for_unknown_component_criteria(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """B08: a request that matches nothing (an unknown component) is answered EmptyResultSet and no
    NotifyReport follows."""
    result = await csms.call(
        STATION_ID, call.GetReport(request_id=20, component_variable=[{"component": {"name": "NoSuchCtrlr"}}])
    )
    assert result.status == "EmptyResultSet"
    await csms.call(STATION_ID, call.GetVariables(get_variable_data=[item("OCPPCommCtrlr", "HeartbeatInterval")]))
    assert csms.received("NotifyReport") == []
    csms.assert_no_failures()


async def test_TC_B_32_CS_get_variables_unknown_component(csms: DevCsms, station: StationUnderTest) -> None:
    """B06: an unknown component (or an EVSE that does not exist) is UnknownComponent, no value."""
    results = await get_variables(
        csms,
        item("NoSuchCtrlr", "HeartbeatInterval"),
        item("EVSE", "AvailabilityState", evse={"id": 9}),
    )
    assert [r["attribute_status"] for r in results] == ["UnknownComponent"] * 2
    assert all("attribute_value" not in r for r in results)
    csms.assert_no_failures()


async def test_TC_B_33_CS_get_variables_unknown_variable(csms: DevCsms, station: StationUnderTest) -> None:
    """B06: a known component with an unknown variable is UnknownVariable."""
    [result] = await get_variables(csms, item("OCPPCommCtrlr", "NoSuchVariable"))
    assert result["attribute_status"] == "UnknownVariable" and "attribute_value" not in result
    csms.assert_no_failures()


async def test_TC_B_34_CS_get_variables_not_supported_attribute_type(csms: DevCsms, station: StationUnderTest) -> None:
    """B06: an attributeType the variable does not have is NotSupportedAttributeType."""
    [result] = await get_variables(csms, item("OCPPCommCtrlr", "HeartbeatInterval", attribute_type="Target"))
    assert (result["attribute_status"], result["attribute_type"]) == ("NotSupportedAttributeType", "Target")
    csms.assert_no_failures()


async def test_TC_B_35_CS_set_variables_unknown_component(csms: DevCsms, station: StationUnderTest) -> None:
    """B05: SetVariables on an unknown component is UnknownComponent."""
    [result] = await set_variables(csms, item("NoSuchCtrlr", "HeartbeatInterval", attribute_value="10"))
    assert result["attribute_status"] == "UnknownComponent"
    csms.assert_no_failures()


async def test_TC_B_36_CS_set_variables_unknown_variable(csms: DevCsms, station: StationUnderTest) -> None:
    """B05: SetVariables on an unknown variable of a known component is UnknownVariable."""
    [result] = await set_variables(csms, item("OCPPCommCtrlr", "NoSuchVariable", attribute_value="10"))
    assert result["attribute_status"] == "UnknownVariable"
    csms.assert_no_failures()


async def test_TC_B_37_CS_set_variables_not_supported_attribute_type(csms: DevCsms, station: StationUnderTest) -> None:
    """B05: an attributeType the variable does not have is NotSupportedAttributeType; nothing changes."""
    before = station.d.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval")
    [result] = await set_variables(
        csms, item("OCPPCommCtrlr", "HeartbeatInterval", attribute_value="10", attribute_type="MaxSet")
    )
    assert result["attribute_status"] == "NotSupportedAttributeType"
    assert station.d.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == before
    csms.assert_no_failures()


async def test_TC_B_53_CS_full_inventory_holds_the_mandatory_variables(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """B07 and the required variables of Part 2 appendix: FullInventory reports every required
    variable of the controllers this station has, each with an Actual value."""
    result = await csms.call(STATION_ID, call.GetBaseReport(request_id=53, report_base="FullInventory"))
    assert result.status == "Accepted"
    entries = {label(e): e for e in await report(csms, 53)}
    mandatory = [
        "OCPPCommCtrlr.HeartbeatInterval",
        "OCPPCommCtrlr.MessageTimeout[Default]",
        "OCPPCommCtrlr.NetworkConfigurationPriority",
        "OCPPCommCtrlr.OfflineThreshold",
        "OCPPCommCtrlr.ResetRetries",
        "OCPPCommCtrlr.FileTransferProtocols",
        "DeviceDataCtrlr.ItemsPerMessage[GetReport]",
        "DeviceDataCtrlr.BytesPerMessage[GetVariables]",
        "AuthCtrlr.AuthorizeRemoteStart",
        "AuthCtrlr.LocalAuthorizeOffline",
        "AuthCtrlr.LocalPreAuthorize",
        "TxCtrlr.EVConnectionTimeOut",
        "TxCtrlr.StopTxOnEVSideDisconnect",
        "TxCtrlr.StopTxOnInvalidId",
        "TxCtrlr.TxStartPoint",
        "TxCtrlr.TxStopPoint",
        "SampledDataCtrlr.TxEndedMeasurands",
        "SampledDataCtrlr.TxStartedMeasurands",
        "SampledDataCtrlr.TxUpdatedMeasurands",
        "SampledDataCtrlr.TxUpdatedInterval",
        "AlignedDataCtrlr.Interval",
        "AlignedDataCtrlr.Measurands",
        "ClockCtrlr.DateTime",
        "SecurityCtrlr.SecurityProfile",
        "ChargingStation.AvailabilityState",
        "EVSE[1].AvailabilityState",
        "Connector[1,1].ConnectorType",
    ]
    missing = [name for name in mandatory if name not in entries]
    assert missing == []
    assert all(actual(entries[name]).get("value") for name in mandatory if name != "AlignedDataCtrlr.Measurands")
    csms.assert_no_failures()


async def test_TC_B_54_CS_get_custom_report_component_variable_without_instance(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """B08 (a variable without instance): every instance of that variable is reported."""
    result = await csms.call(
        STATION_ID, call.GetReport(request_id=54, component_variable=[item("DeviceDataCtrlr", "ItemsPerMessage")])
    )
    assert result.status == "Accepted"
    assert {label(e) for e in await report(csms, 54)} == {
        "DeviceDataCtrlr.ItemsPerMessage[GetReport]",
        "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
        "DeviceDataCtrlr.ItemsPerMessage[SetVariables]",
    }
    csms.assert_no_failures()


async def test_TC_B_55_CS_get_custom_report_component_variable_with_instance(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """B08: a variable with its instance reports that instance only."""
    wanted = [item("DeviceDataCtrlr", "ItemsPerMessage", instance="GetReport")]
    result = await csms.call(STATION_ID, call.GetReport(request_id=55, component_variable=wanted))
    assert result.status == "Accepted"
    assert [label(e) for e in await report(csms, 55)] == ["DeviceDataCtrlr.ItemsPerMessage[GetReport]"]
    csms.assert_no_failures()


async def test_TC_B_56_CS_get_custom_report_component_variable_without_evse_id(
    csms: DevCsms, make_station: Any
) -> None:
    """B08 (a component without evse): the variable of every EVSE instance is reported."""
    await make_station(evses=2)
    await csms.wait_for("BootNotification", timeout=10)
    result = await csms.call(
        STATION_ID, call.GetReport(request_id=56, component_variable=[item("EVSE", "AvailabilityState")])
    )
    assert result.status == "Accepted"
    assert {label(e) for e in await report(csms, 56)} == {"EVSE[1].AvailabilityState", "EVSE[2].AvailabilityState"}
    csms.assert_no_failures()

"""Base reports, custom reports and NotifyReport batching (OCPP 2.0.1 B07, B08)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.devicemodel.definitions import AttributeType, ComponentKey, Mutability, VariableKey
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import ComponentVariableSelector, ReportEntry
from evse.devicemodel.reports import base_report, custom_report, notify_report_batches, unsupported_criteria

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1, 2])])


@pytest.fixture
def dm() -> DeviceModel:
    model = DeviceModel(DEFINITIONS)
    model.register_live_value("ClockCtrlr", "DateTime", lambda: "2024-05-01T10:00:00.000Z")
    return model


def names(entries: list[ReportEntry]) -> set[str]:
    return {f"{e.component}.{e.variable}" for e in entries}


def full(dm: DeviceModel) -> list[ReportEntry]:
    entries = base_report(dm, "FullInventory")
    assert entries is not None
    return entries


def test_TC_B_12_CS_configuration_inventory_lists_only_what_the_csms_can_set(dm: DeviceModel) -> None:
    entries = base_report(dm, "ConfigurationInventory")
    assert entries
    reported = names(entries)
    assert "OCPPCommCtrlr.HeartbeatInterval" in reported
    assert "SecurityCtrlr.BasicAuthPassword" in reported
    assert "SecurityCtrlr.SecurityProfile" not in reported
    assert "EVSE[1].AvailabilityState" not in reported
    for entry in entries:
        assert all(a.mutability is not Mutability.READ_ONLY for a in entry.attributes), entry


def test_TC_B_13_CS_full_inventory_lists_everything_with_characteristics(dm: DeviceModel) -> None:
    entries = full(dm)
    assert len(entries) == len(DEFINITIONS)
    heartbeat = next(e for e in entries if e.variable == VariableKey("HeartbeatInterval"))
    assert heartbeat.characteristics.unit == "s"
    [actual] = heartbeat.attributes
    assert (actual.type, actual.value, actual.mutability, actual.persistent) == (
        AttributeType.ACTUAL,
        "300",
        Mutability.READ_WRITE,
        True,
    )
    power = next(e for e in entries if e.component == ComponentKey("EVSE", evse_id=2) and e.variable.name == "Power")
    assert [a.type for a in power.attributes] == [AttributeType.ACTUAL, AttributeType.MAX_SET]


def test_TC_B_14_CS_summary_inventory_holds_availability_and_active_problems(dm: DeviceModel) -> None:
    entries = base_report(dm, "SummaryInventory")
    assert entries is not None
    assert names(entries) == {
        "ChargingStation.AvailabilityState",
        "EVSE[1].AvailabilityState",
        "EVSE[2].AvailabilityState",
        "Connector[1,1].AvailabilityState",
        "Connector[2,1].AvailabilityState",
        "Connector[2,2].AvailabilityState",
    }
    dm.set_station_value("ChargingStation", "Problem", True)
    after = base_report(dm, "SummaryInventory")
    assert after is not None and "ChargingStation.Problem" in names(after)


def test_TC_B_15_CS_unsupported_report_base(dm: DeviceModel) -> None:
    assert base_report(dm, "EverythingInventory") is None


def test_TC_B_16_CS_custom_report_with_component_criteria(dm: DeviceModel) -> None:
    entries = custom_report(dm, ["Enabled"])
    components = {e.component.name for e in entries}
    assert {"AuthCtrlr", "OCPPCommCtrlr"} & components == {"AuthCtrlr"}  # OCPPCommCtrlr has no Enabled
    assert "ChargingStation" not in components
    # Every variable of a matching component is reported, not only the criterion itself.
    assert "AuthCtrlr.LocalPreAuthorize" in names(entries)
    dm.set_station_value("AuthCtrlr", "Enabled", False)
    assert "AuthCtrlr" not in {e.component.name for e in custom_report(dm, ["Enabled"])}


def test_TC_B_17_CS_custom_report_with_component_variable(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("EVSE", evse_id=1), VariableKey("AvailabilityState"))
    entries = custom_report(dm, selectors=[selector])
    assert names(entries) == {"EVSE[1].AvailabilityState"}
    assert entries[0].attributes[0].value == "Available"


def test_TC_B_18_CS_custom_report_with_criteria_and_component_variable(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("EVSE", evse_id=1), VariableKey("AvailabilityState"))
    assert names(custom_report(dm, ["Available"], [selector])) == {"EVSE[1].AvailabilityState"}
    assert custom_report(dm, ["Problem"], [selector]) == []


def test_TC_B_19_CS_custom_report_without_matches_is_empty(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("NoSuchCtrlr"))
    assert custom_report(dm, selectors=[selector]) == []
    assert custom_report(dm, ["Active"]) == []  # no component has Active = true
    assert unsupported_criteria(["Available", "Broken"]) == ["Broken"]
    assert unsupported_criteria(["Active", "Available", "Enabled", "Problem"]) == []


def test_TC_B_53_CS_full_inventory_contains_every_mandatory_variable_with_a_value(dm: DeviceModel) -> None:
    entries = {(e.component, e.variable): e for e in full(dm)}
    required = [d for d in DEFINITIONS if d.required]
    assert len(required) > 50
    for definition in required:
        entry = entries[definition.key]
        actual = next(a for a in entry.attributes if a.type is AttributeType.ACTUAL)
        assert actual.value, f"{definition} has no value in FullInventory"


def test_TC_B_54_CS_custom_report_without_variable_instance_lists_all_instances(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("DeviceDataCtrlr"), VariableKey("ItemsPerMessage"))
    entries = custom_report(dm, selectors=[selector])
    assert sorted(str(e.variable.instance) for e in entries) == ["GetReport", "GetVariables", "SetVariables"]


def test_TC_B_55_CS_custom_report_with_variable_instance_lists_that_instance(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("DeviceDataCtrlr"), VariableKey("ItemsPerMessage", "GetReport"))
    entries = custom_report(dm, selectors=[selector])
    assert [(e.variable.name, e.variable.instance) for e in entries] == [("ItemsPerMessage", "GetReport")]


def test_TC_B_56_CS_custom_report_without_evse_id_lists_all_evses(dm: DeviceModel) -> None:
    selector = ComponentVariableSelector(ComponentKey("EVSE"), VariableKey("AvailabilityState"))
    assert names(custom_report(dm, selectors=[selector])) == {
        "EVSE[1].AvailabilityState",
        "EVSE[2].AvailabilityState",
    }
    connectors_of_evse_2 = ComponentVariableSelector(ComponentKey("Connector", evse_id=2))
    assert {e.component for e in custom_report(dm, selectors=[connectors_of_evse_2])} == {
        ComponentKey("Connector", evse_id=2, connector_id=1),
        ComponentKey("Connector", evse_id=2, connector_id=2),
    }


def test_component_variable_without_variable_lists_the_whole_component(dm: DeviceModel) -> None:
    entries = custom_report(dm, selectors=[ComponentVariableSelector(ComponentKey("clockctrlr"))])
    assert names(entries) == {
        "ClockCtrlr.DateTime",
        "ClockCtrlr.TimeSource",
        "ClockCtrlr.TimeZone",
        "ClockCtrlr.TimeAdjustmentReportingThreshold",
    }


def test_reports_truncate_values_to_the_reporting_value_size() -> None:
    dm = DeviceModel(DEFINITIONS, overrides={"DeviceDataCtrlr.ValueSize": 3})
    selector = ComponentVariableSelector(ComponentKey("SecurityCtrlr"), VariableKey("OrganizationName"))
    [entry] = custom_report(dm, selectors=[selector])
    assert entry.attributes[0].value == "Evs"


def test_report_batches_follow_items_per_message(dm: DeviceModel) -> None:
    entries = full(dm)
    batches = notify_report_batches(entries, 50)
    assert [b.seq_no for b in batches] == list(range(len(batches)))
    assert [b.tbc for b in batches] == [True] * (len(batches) - 1) + [False]
    assert all(len(b.entries) == 50 for b in batches[:-1])
    assert [e for b in batches for e in b.entries] == entries
    [single] = notify_report_batches(entries, None)
    assert (single.seq_no, single.tbc, len(single.entries)) == (0, False, len(entries))
    assert notify_report_batches([], 50) == []

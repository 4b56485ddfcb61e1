"""GetVariables / SetVariables semantics (OCPP 2.0.1 B05, B06), named after the OCTT cases they cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.devicemodel.definitions import AttributeType, ComponentKey, VariableKey
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.devicemodel.operations import (
    GetVariableData,
    GetVariableResult,
    GetVariableStatus,
    SetVariableData,
    SetVariableResult,
    SetVariableStatus,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1, 2])])

COMM = ComponentKey("OCPPCommCtrlr")
HEARTBEAT = VariableKey("HeartbeatInterval")


@pytest.fixture
def dm() -> DeviceModel:
    return DeviceModel(DEFINITIONS)


def get(
    dm: DeviceModel, component: ComponentKey, variable: VariableKey, attribute: AttributeType | None = None
) -> GetVariableResult:
    [result] = dm.get_variables([GetVariableData(component, variable, attribute)])
    return result


def set_(
    dm: DeviceModel,
    component: ComponentKey,
    variable: VariableKey,
    value: str,
    attribute: AttributeType | None = None,
) -> SetVariableResult:
    [result] = dm.set_variables([SetVariableData(component, variable, value, attribute)])
    return result


def test_TC_B_06_CS_get_single_variable(dm: DeviceModel) -> None:
    result = get(dm, COMM, HEARTBEAT)
    assert result.status is GetVariableStatus.ACCEPTED
    assert result.value == "300"
    assert result.attribute_type is AttributeType.ACTUAL  # absent in the request means Actual


def test_TC_B_07_CS_get_multiple_variables_in_request_order(dm: DeviceModel) -> None:
    results = dm.get_variables(
        [
            GetVariableData(ComponentKey("EVSE", evse_id=2), VariableKey("AvailabilityState")),
            GetVariableData(ComponentKey("DeviceDataCtrlr"), VariableKey("ItemsPerMessage", "GetVariables")),
            GetVariableData(ComponentKey("Connector", evse_id=2, connector_id=2), VariableKey("ConnectorType")),
            GetVariableData(ComponentKey("EVSE", evse_id=1), VariableKey("Power"), AttributeType.MAX_SET),
        ]
    )
    assert [r.status for r in results] == [GetVariableStatus.ACCEPTED] * 4
    assert [r.value for r in results] == ["Available", "50", "cType2", "22080"]
    assert results[2].component == ComponentKey("Connector", evse_id=2, connector_id=2)


def test_names_match_case_insensitively_and_are_echoed_as_sent(dm: DeviceModel) -> None:
    result = get(dm, ComponentKey("ocppcommctrlr"), VariableKey("messagetimeout", "default"))
    assert result.status is GetVariableStatus.ACCEPTED
    assert result.value == "30"
    assert result.component.name == "ocppcommctrlr"


@pytest.mark.parametrize(
    "component",
    [
        ComponentKey("NoSuchCtrlr"),
        ComponentKey("EVSE"),  # an EVSE component needs evse.id
        ComponentKey("EVSE", evse_id=3),
        ComponentKey("Connector", evse_id=1),  # a Connector needs evse.connectorId
        ComponentKey("Connector", evse_id=1, connector_id=2),
        ComponentKey("OCPPCommCtrlr", evse_id=1),
        ComponentKey("OCPPCommCtrlr", instance="Other"),
    ],
)
def test_TC_B_32_CS_get_unknown_component(dm: DeviceModel, component: ComponentKey) -> None:
    result = get(dm, component, HEARTBEAT)
    assert result.status is GetVariableStatus.UNKNOWN_COMPONENT
    assert result.value is None


def test_TC_B_33_CS_get_unknown_variable(dm: DeviceModel) -> None:
    assert get(dm, COMM, VariableKey("NoSuchVariable")).status is GetVariableStatus.UNKNOWN_VARIABLE
    assert get(dm, COMM, VariableKey("MessageTimeout", "Other")).status is GetVariableStatus.UNKNOWN_VARIABLE
    assert get(dm, COMM, VariableKey("MessageTimeout")).status is GetVariableStatus.UNKNOWN_VARIABLE


def test_TC_B_34_CS_get_not_supported_attribute_type(dm: DeviceModel) -> None:
    result = get(dm, COMM, HEARTBEAT, AttributeType.TARGET)
    assert result.status is GetVariableStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE
    assert result.attribute_type is AttributeType.TARGET


def test_get_of_a_write_only_variable_is_rejected_without_value(dm: DeviceModel) -> None:
    password = (ComponentKey("SecurityCtrlr"), VariableKey("BasicAuthPassword"))
    assert set_(dm, *password, "s3cret-s3cret-s3cret").status is SetVariableStatus.ACCEPTED
    result = get(dm, *password)
    assert result.status is GetVariableStatus.REJECTED
    assert result.reason_code == "WriteOnly"
    assert result.value is None
    assert dm.basic_auth_password() == "s3cret-s3cret-s3cret"


def test_TC_B_09_CS_set_single_variable_applies_and_notifies(dm: DeviceModel) -> None:
    changes: list[VariableChange] = []
    dm.on_change(changes.append)
    result = set_(dm, COMM, HEARTBEAT, "120")
    assert result.status is SetVariableStatus.ACCEPTED
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 120
    assert get(dm, COMM, HEARTBEAT).value == "120"
    assert [(c.address.variable.name, c.old_value, c.new_value) for c in changes] == [
        ("HeartbeatInterval", "300", "120")
    ]


def test_TC_B_10_CS_set_multiple_variables(dm: DeviceModel) -> None:
    results = dm.set_variables(
        [
            SetVariableData(COMM, VariableKey("OfflineThreshold"), "600"),
            SetVariableData(ComponentKey("TxCtrlr"), VariableKey("TxStartPoint"), "EVConnected,Authorized"),
            SetVariableData(ComponentKey("AuthCtrlr"), VariableKey("LocalPreAuthorize"), "true"),
        ]
    )
    assert [r.status for r in results] == [SetVariableStatus.ACCEPTED] * 3
    assert dm.get_int("OCPPCommCtrlr", "OfflineThreshold") == 600
    assert dm.get_list("TxCtrlr", "TxStartPoint") == ["EVConnected", "Authorized"]
    assert dm.get_bool("AuthCtrlr", "LocalPreAuthorize") is True


@pytest.mark.parametrize(
    ("component", "variable", "value", "reason"),
    [
        (COMM, HEARTBEAT, "abc", "InvalidValue"),
        (COMM, HEARTBEAT, "1.5", "InvalidValue"),
        (COMM, HEARTBEAT, "0", "ValueTooLow"),
        (ComponentKey("AuthCtrlr"), VariableKey("LocalPreAuthorize"), "yes", "InvalidValue"),
        (ComponentKey("TxCtrlr"), VariableKey("TxStopPoint"), "EVConnected,Nonsense", "InvalidValue"),
        (ComponentKey("SmartChargingCtrlr"), VariableKey("LimitChangeSignificance"), "101", "ValueTooHigh"),
        (ComponentKey("ClockCtrlr"), VariableKey("TimeSource"), "Sundial", "InvalidValue"),
    ],
)
def test_TC_B_11_CS_set_variables_with_invalid_formats_are_rejected(
    dm: DeviceModel, component: ComponentKey, variable: VariableKey, value: str, reason: str
) -> None:
    before = get(dm, component, variable).value
    result = set_(dm, component, variable, value)
    assert result.status is SetVariableStatus.REJECTED
    assert result.reason_code == reason
    assert result.additional_info
    assert get(dm, component, variable).value == before


def test_TC_B_35_CS_set_unknown_component(dm: DeviceModel) -> None:
    assert set_(dm, ComponentKey("NoSuchCtrlr"), HEARTBEAT, "1").status is SetVariableStatus.UNKNOWN_COMPONENT
    assert set_(dm, ComponentKey("EVSE", evse_id=9), HEARTBEAT, "1").status is SetVariableStatus.UNKNOWN_COMPONENT


def test_TC_B_36_CS_set_unknown_variable(dm: DeviceModel) -> None:
    assert set_(dm, COMM, VariableKey("NoSuchVariable"), "1").status is SetVariableStatus.UNKNOWN_VARIABLE


def test_TC_B_37_CS_set_not_supported_attribute_type(dm: DeviceModel) -> None:
    result = set_(dm, COMM, HEARTBEAT, "10", AttributeType.MAX_SET)
    assert result.status is SetVariableStatus.NOT_SUPPORTED_ATTRIBUTE_TYPE
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300


def test_TC_B_39_CS_set_read_only_variable_is_rejected(dm: DeviceModel) -> None:
    result = set_(dm, ComponentKey("SecurityCtrlr"), VariableKey("SecurityProfile"), "3")
    assert result.status is SetVariableStatus.REJECTED
    assert result.reason_code == "ReadOnly"
    assert dm.get_int("SecurityCtrlr", "SecurityProfile") == 1
    evse_state = set_(dm, ComponentKey("EVSE", evse_id=1), VariableKey("AvailabilityState"), "Faulted")
    assert evse_state.status is SetVariableStatus.REJECTED


def test_set_of_a_reboot_required_variable_is_stored_but_not_applied(dm: DeviceModel) -> None:
    changes: list[VariableChange] = []
    dm.on_change(changes.append)
    result = set_(dm, COMM, VariableKey("NetworkConfigurationPriority"), "2,1")
    assert result.status is SetVariableStatus.REBOOT_REQUIRED
    assert dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["1"]
    assert list(dm.pending_reboot.values()) == ["2,1"]
    assert changes == []


def test_set_values_longer_than_the_configuration_value_size_are_rejected() -> None:
    dm = DeviceModel(DEFINITIONS, overrides={"DeviceDataCtrlr.ConfigurationValueSize": 10})
    result = set_(dm, ComponentKey("SecurityCtrlr"), VariableKey("OrganizationName"), "x" * 11)
    assert result.status is SetVariableStatus.REJECTED
    assert result.reason_code == "TooLargeElement"
    ok = set_(dm, ComponentKey("SecurityCtrlr"), VariableKey("OrganizationName"), "x" * 10)
    assert ok.status is SetVariableStatus.ACCEPTED


def test_reported_values_are_truncated_to_the_reporting_value_size() -> None:
    dm = DeviceModel(DEFINITIONS, overrides={"DeviceDataCtrlr.ReportingValueSize": 4})
    assert get(dm, ComponentKey("SecurityCtrlr"), VariableKey("OrganizationName")).value == "Evse"
    # Station code still reads the whole value.
    assert dm.get_str("SecurityCtrlr", "OrganizationName") == "EvseStack"


def test_later_items_for_the_same_variable_win(dm: DeviceModel) -> None:
    dm.set_variables([SetVariableData(COMM, HEARTBEAT, "100"), SetVariableData(COMM, HEARTBEAT, "200")])
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 200


def test_message_limits_are_exposed_for_the_handler(dm: DeviceModel) -> None:
    limits = dm.message_limits("GetVariables")
    assert (limits.items, limits.bytes) == (50, 16384)
    assert dm.message_limits("NoSuchMessage").items is None

"""The device-model definition files: the real ones are complete, bad ones fail with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.devicemodel.definitions import (
    AttributeType,
    ComponentKey,
    DataType,
    Mutability,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.loader import load_definitions
from evse.errors import DeviceModelError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
LAYOUT = [(1, [1]), (2, [1, 2])]

# OCPP 2.0.1 Part 2 Appendices (dm_components_vars), variables marked "Required" for the components
# this station implements, with their dataType. NetworkConfigurationPriority is listed as a string in
# the CSV but specified as a SequenceList of configuration slots; we model the latter.
REQUIRED: dict[tuple[str, str, str | None], DataType] = {
    ("AlignedDataCtrlr", "Interval", None): DataType.INTEGER,
    ("AlignedDataCtrlr", "Measurands", None): DataType.MEMBER_LIST,
    ("AlignedDataCtrlr", "TxEndedInterval", None): DataType.INTEGER,
    ("AlignedDataCtrlr", "TxEndedMeasurands", None): DataType.MEMBER_LIST,
    ("AuthCtrlr", "AuthorizeRemoteStart", None): DataType.BOOLEAN,
    ("AuthCtrlr", "LocalAuthorizeOffline", None): DataType.BOOLEAN,
    ("AuthCtrlr", "LocalPreAuthorize", None): DataType.BOOLEAN,
    ("ChargingStation", "AvailabilityState", None): DataType.OPTION_LIST,
    ("ChargingStation", "Available", None): DataType.BOOLEAN,
    ("ChargingStation", "SupplyPhases", None): DataType.INTEGER,
    ("ClockCtrlr", "DateTime", None): DataType.DATETIME,
    ("ClockCtrlr", "TimeSource", None): DataType.SEQUENCE_LIST,
    ("Connector", "Available", None): DataType.BOOLEAN,
    ("Connector", "ConnectorType", None): DataType.STRING,
    ("Connector", "SupplyPhases", None): DataType.INTEGER,
    ("DeviceDataCtrlr", "BytesPerMessage", "GetReport"): DataType.INTEGER,
    ("DeviceDataCtrlr", "BytesPerMessage", "GetVariables"): DataType.INTEGER,
    ("DeviceDataCtrlr", "BytesPerMessage", "SetVariables"): DataType.INTEGER,
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"): DataType.INTEGER,
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables"): DataType.INTEGER,
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables"): DataType.INTEGER,
    ("EVSE", "AvailabilityState", None): DataType.OPTION_LIST,
    ("EVSE", "Available", None): DataType.BOOLEAN,
    ("EVSE", "Power", None): DataType.DECIMAL,
    ("EVSE", "SupplyPhases", None): DataType.INTEGER,
    # Required once DisplayMessageCtrlr and TariffCostCtrlr are implemented (O01-O06, I01-I06).
    ("DisplayMessageCtrlr", "DisplayMessages", None): DataType.INTEGER,
    ("DisplayMessageCtrlr", "SupportedFormats", None): DataType.MEMBER_LIST,
    ("DisplayMessageCtrlr", "SupportedPriorities", None): DataType.MEMBER_LIST,
    ("TariffCostCtrlr", "Currency", None): DataType.STRING,
    ("TariffCostCtrlr", "TariffFallbackMessage", None): DataType.STRING,
    ("TariffCostCtrlr", "TotalCostFallbackMessage", None): DataType.STRING,
    ("LocalAuthListCtrlr", "BytesPerMessage", None): DataType.INTEGER,
    ("LocalAuthListCtrlr", "Entries", None): DataType.INTEGER,
    ("LocalAuthListCtrlr", "ItemsPerMessage", None): DataType.INTEGER,
    # Required once MonitoringCtrlr is implemented (N02-N08).
    ("MonitoringCtrlr", "BytesPerSetVariableMonitoring", None): DataType.INTEGER,
    ("MonitoringCtrlr", "ItemsPerSetVariableMonitoring", None): DataType.INTEGER,
    ("OCPPCommCtrlr", "FileTransferProtocols", None): DataType.MEMBER_LIST,
    ("OCPPCommCtrlr", "MessageTimeout", "Default"): DataType.INTEGER,
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"): DataType.INTEGER,
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"): DataType.INTEGER,
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None): DataType.SEQUENCE_LIST,
    ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None): DataType.INTEGER,
    ("OCPPCommCtrlr", "OfflineThreshold", None): DataType.INTEGER,
    ("OCPPCommCtrlr", "ResetRetries", None): DataType.INTEGER,
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None): DataType.BOOLEAN,
    ("SampledDataCtrlr", "TxEndedInterval", None): DataType.INTEGER,
    ("SampledDataCtrlr", "TxEndedMeasurands", None): DataType.MEMBER_LIST,
    ("SampledDataCtrlr", "TxStartedMeasurands", None): DataType.MEMBER_LIST,
    ("SampledDataCtrlr", "TxUpdatedInterval", None): DataType.INTEGER,
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None): DataType.MEMBER_LIST,
    ("SecurityCtrlr", "CertificateEntries", None): DataType.INTEGER,
    ("SecurityCtrlr", "OrganizationName", None): DataType.STRING,
    ("SecurityCtrlr", "SecurityProfile", None): DataType.INTEGER,
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles"): DataType.INTEGER,
    ("SmartChargingCtrlr", "LimitChangeSignificance", None): DataType.DECIMAL,
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None): DataType.INTEGER,
    ("SmartChargingCtrlr", "ProfileStackLevel", None): DataType.INTEGER,
    ("SmartChargingCtrlr", "RateUnit", None): DataType.MEMBER_LIST,
    ("TxCtrlr", "EVConnectionTimeOut", None): DataType.INTEGER,
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None): DataType.BOOLEAN,
    ("TxCtrlr", "StopTxOnInvalidId", None): DataType.BOOLEAN,
    ("TxCtrlr", "TxStartPoint", None): DataType.MEMBER_LIST,
    ("TxCtrlr", "TxStopPoint", None): DataType.MEMBER_LIST,
}


@pytest.fixture(scope="module")
def definitions() -> list[VariableDef]:
    return load_definitions(CONFIG_DIR, LAYOUT)


def _by_key(definitions: list[VariableDef]) -> dict[tuple[ComponentKey, VariableKey], VariableDef]:
    return {d.key: d for d in definitions}


def _instances(component: str) -> list[ComponentKey]:
    if component == "EVSE":
        return [ComponentKey("EVSE", evse_id=e) for e, _ in LAYOUT]
    if component == "Connector":
        return [ComponentKey("Connector", evse_id=e, connector_id=c) for e, cs in LAYOUT for c in cs]
    return [ComponentKey(component)]


def test_every_required_variable_exists_with_its_data_type_for_a_two_evse_layout(
    definitions: list[VariableDef],
) -> None:
    index = _by_key(definitions)
    for (component, variable, instance), data_type in REQUIRED.items():
        for key in _instances(component):
            definition = index.get((key, VariableKey(variable, instance)))
            assert definition is not None, f"{key}.{variable}[{instance}] missing"
            assert definition.characteristics.data_type is data_type, f"{definition}"
            assert definition.required, f"{definition} should be marked required"
            actual = definition.attribute(AttributeType.ACTUAL)
            assert actual is not None, f"{definition} has no Actual attribute"


def test_nothing_is_marked_required_that_the_specification_does_not_require(
    definitions: list[VariableDef],
) -> None:
    marked = {(d.component.name, d.variable.name, d.variable.instance) for d in definitions if d.required}
    assert marked == set(REQUIRED)


def test_templates_are_instantiated_per_evse_and_per_connector(definitions: list[VariableDef]) -> None:
    connectors = {d.component for d in definitions if d.component.name == "Connector"}
    evses = {d.component for d in definitions if d.component.name == "EVSE"}
    assert evses == {ComponentKey("EVSE", evse_id=1), ComponentKey("EVSE", evse_id=2)}
    assert connectors == {
        ComponentKey("Connector", evse_id=1, connector_id=1),
        ComponentKey("Connector", evse_id=2, connector_id=1),
        ComponentKey("Connector", evse_id=2, connector_id=2),
    }


def test_spec_facts_of_important_variables(definitions: list[VariableDef]) -> None:
    index = _by_key(definitions)

    def get(component: str, variable: str, instance: str | None = None) -> VariableDef:
        return index[(ComponentKey(component), VariableKey(variable, instance))]

    password = get("SecurityCtrlr", "BasicAuthPassword")
    assert password.attribute(AttributeType.ACTUAL).mutability is Mutability.WRITE_ONLY  # type: ignore[union-attr]
    assert password.characteristics.max_limit == 40
    profile = get("SecurityCtrlr", "SecurityProfile")
    assert profile.attribute(AttributeType.ACTUAL).mutability is Mutability.READ_ONLY  # type: ignore[union-attr]
    assert (profile.characteristics.min_limit, profile.characteristics.max_limit) == (0, 3)
    assert get("OCPPCommCtrlr", "HeartbeatInterval").characteristics.unit == "s"
    assert get("OCPPCommCtrlr", "NetworkConfigurationPriority").reboot_required
    start = get("TxCtrlr", "TxStartPoint").characteristics.values_list
    # The points this station supports (valuesList lists supported values; DataSigned needs a signing meter).
    assert set(start) == {
        "ParkingBayOccupancy",
        "EVConnected",
        "Authorized",
        "PowerPathClosed",
        "EnergyTransfer",
    }
    date_time = get("ClockCtrlr", "DateTime").attribute(AttributeType.ACTUAL)
    assert date_time is not None and date_time.mutability is Mutability.READ_ONLY
    power = index[(ComponentKey("EVSE", evse_id=1), VariableKey("Power"))]
    assert power.attribute(AttributeType.MAX_SET) is not None
    assert power.characteristics.max_limit is not None


def test_every_default_is_a_valid_value(definitions: list[VariableDef]) -> None:
    # load_definitions validates defaults; this guards against that check being dropped.
    from evse.devicemodel.validation import validate_value

    for definition in definitions:
        for attribute in definition.attributes:
            if attribute.default is not None:
                assert validate_value(attribute.default, definition.characteristics) is None, str(definition)


def _write(directory: Path, text: str, name: str = "x.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return directory


GOOD_VARIABLE = """
      - name: HeartbeatInterval
        data_type: integer
        actual: {mutability: ReadWrite, default: 300}
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "components:\n  - name: OCPPCommCtrlr\n    variables:\n      - name: HeartbeatInterval\n"
            "        data_type: integr\n        actual: {mutability: ReadWrite}\n",
            "x.yaml: OCPPCommCtrlr.HeartbeatInterval: data_type:",
        ),
        (
            "components:\n  - name: OCPPCommCtrlr\n    variables:\n      - name: HeartbeatInterval\n"
            "        data_type: integer\n        colour: red\n        actual: {mutability: ReadWrite}\n",
            "x.yaml: OCPPCommCtrlr.HeartbeatInterval: colour: Extra inputs are not permitted",
        ),
        (
            "components:\n  - name: OCPPCommCtrlr\n    variables:\n      - name: HeartbeatInterval\n"
            "        data_type: integer\n        actual: {mutability: ReadWrite, default: abc}\n",
            "x.yaml: OCPPCommCtrlr.HeartbeatInterval: Actual default: 'abc' is not an integer",
        ),
        (
            "components:\n  - name: TxCtrlr\n    variables:\n      - name: TxStartPoint\n"
            "        data_type: MemberList\n        actual: {mutability: ReadWrite}\n",
            "x.yaml: TxCtrlr.TxStartPoint: values_list is required for a MemberList",
        ),
        (
            "components:\n  - name: OCPPCommCtrlr\n    variables:\n      - name: HeartbeatInterval\n"
            "        data_type: integer\n",
            "x.yaml: OCPPCommCtrlr.HeartbeatInterval: needs at least one of actual",
        ),
        (
            "components:\n  - name: OCPPCommCtrlr\n    variables:" + GOOD_VARIABLE + GOOD_VARIABLE,
            "x.yaml: OCPPCommCtrlr.HeartbeatInterval: defined twice",
        ),
        ("components: [\n", "x.yaml: cannot read definition file"),
    ],
)
def test_a_bad_definition_file_fails_with_one_line_naming_file_and_variable(
    tmp_path: Path, body: str, expected: str
) -> None:
    with pytest.raises(DeviceModelError) as caught:
        load_definitions(_write(tmp_path, body), LAYOUT)
    message = str(caught.value)
    assert "\n" not in message
    assert expected in message


def test_a_component_defined_in_two_files_is_refused(tmp_path: Path) -> None:
    text = "components:\n  - name: OCPPCommCtrlr\n    variables:" + GOOD_VARIABLE
    _write(tmp_path, text, "a.yaml")
    _write(tmp_path, text.replace("HeartbeatInterval", "OfflineThreshold"), "b.yaml")
    with pytest.raises(DeviceModelError, match=r"b\.yaml: OCPPCommCtrlr: already defined in .*a\.yaml"):
        load_definitions(tmp_path, LAYOUT)


@pytest.mark.parametrize("layout", [[(1, [1]), (1, [2])], [(0, [1])], [(1, [])], [(1, [1, 1])]])
def test_an_impossible_layout_is_refused(layout: list[tuple[int, list[int]]]) -> None:
    with pytest.raises(DeviceModelError, match="layout"):
        load_definitions(CONFIG_DIR, layout)


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DeviceModelError, match="no device-model definition files"):
        load_definitions(tmp_path, LAYOUT)

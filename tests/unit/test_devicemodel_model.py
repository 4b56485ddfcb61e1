"""DeviceModel: typed accessors, technician overrides, station values, live values, subscriptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from evse.devicemodel.definitions import AttributeAddress, AttributeType, ComponentKey, VariableKey
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.devicemodel.operations import GetVariableData, GetVariableStatus
from evse.devicemodel.overrides import parse_override_key
from evse.devicemodel.store import ValueSource
from evse.errors import ConfigError, DeviceModelError
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1, 2])])


def test_typed_accessors() -> None:
    dm = DeviceModel(DEFINITIONS)
    assert dm.get_int("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default") == 30
    assert dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart") is True
    assert dm.get_decimal("SmartChargingCtrlr", "LimitChangeSignificance") == Decimal(5)
    assert dm.get_str("Connector", "ConnectorType", evse_id=2, connector_id=1) == "cType2"
    assert dm.get_list("OCPPCommCtrlr", "FileTransferProtocols") == ["HTTPS", "HTTP"]
    assert dm.get_value("SecurityCtrlr", "Identity") is None
    assert dm.get_value("EVSE", "Power", evse_id=1, attribute=AttributeType.MAX_SET) == "22080"


@pytest.mark.parametrize(
    "call",
    [
        lambda dm: dm.get_int("NoSuchCtrlr", "HeartbeatInterval"),
        lambda dm: dm.get_int("OCPPCommCtrlr", "NoSuchVariable"),
        lambda dm: dm.get_int("EVSE", "Power", evse_id=7),
        lambda dm: dm.get_str("SecurityCtrlr", "Identity"),  # no value
        lambda dm: dm.get_int("OCPPCommCtrlr", "HeartbeatInterval", variable_instance="X"),
        lambda dm: dm.get_value("OCPPCommCtrlr", "HeartbeatInterval", attribute=AttributeType.TARGET),
    ],
)
def test_accessor_misuse_raises_device_model_error(call: object) -> None:
    dm = DeviceModel(DEFINITIONS)
    with pytest.raises(DeviceModelError):
        call(dm)  # type: ignore[operator]


def test_overrides_apply_with_instances_evse_connector_and_attribute_addressing() -> None:
    dm = DeviceModel(
        DEFINITIONS,
        overrides={
            "OCPPCommCtrlr.HeartbeatInterval": 60,
            "OCPPCommCtrlr.MessageTimeout[Default]": 45,  # ReadOnly: the technician may still set it
            "DeviceDataCtrlr.ItemsPerMessage[GetReport]": 7,
            "EVSE[2].Power:maxLimit": 7360,
            "EVSE[2].Power:MaxSet": 7360,
            "Connector[2,2].ConnectorType": "cCCS2",
            "TxCtrlr.TxStopPoint": ["EVConnected"],
            "AuthCtrlr.LocalPreAuthorize": True,
            "SecurityCtrlr.BasicAuthPassword": "technician-password",
        },
    )
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 60
    assert dm.get_int("OCPPCommCtrlr", "MessageTimeout", variable_instance="Default") == 45
    assert dm.message_limits("GetReport").items == 7
    assert dm.get_value("EVSE", "Power", evse_id=2, attribute=AttributeType.MAX_SET) == "7360"
    assert dm.get_value("EVSE", "Power", evse_id=1, attribute=AttributeType.MAX_SET) == "22080"
    power = dm.find(ComponentKey("EVSE", evse_id=2), VariableKey("Power"))
    assert not isinstance(power, GetVariableStatus) and power.characteristics.max_limit == 7360
    assert dm.get_str("Connector", "ConnectorType", evse_id=2, connector_id=2) == "cCCS2"
    assert dm.get_str("Connector", "ConnectorType", evse_id=2, connector_id=1) == "cType2"
    assert dm.get_list("TxCtrlr", "TxStopPoint") == ["EVConnected"]
    assert dm.get_bool("AuthCtrlr", "LocalPreAuthorize") is True
    assert dm.basic_auth_password() == "technician-password"
    address = AttributeAddress(ComponentKey("OCPPCommCtrlr"), VariableKey("HeartbeatInterval"))
    assert dm.source(address) is ValueSource.TECHNICIAN


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "OCPPCommCtrlr.HeartbeatInterval",
            "abc",
            "sim.yaml: device_model.OCPPCommCtrlr.HeartbeatInterval: 'abc' is not an integer",
        ),
        ("OCPPCommCtrlr.HeartbeatInterval", 0, "'0' is below the minimum 1"),
        ("NoSuchCtrlr.X", 1, "device_model.NoSuchCtrlr.X: unknown component 'NoSuchCtrlr'"),
        ("OCPPCommCtrlr.Nope", 1, "OCPPCommCtrlr has no variable 'Nope'"),
        ("EVSE.AvailabilityState", "Available", "no EVSE with that address; known: EVSE[1], EVSE[2]"),
        ("Connector[1].ConnectorType", "cType2", "no Connector with that address"),
        ("OCPPCommCtrlr.HeartbeatInterval:Target", 5, "has no Target attribute"),
        ("OCPPCommCtrlr.HeartbeatInterval:Bogus", 5, "not a device-model key, expected"),
        ("HeartbeatInterval", 5, "not a device-model key"),
        ("OCPPCommCtrlr.HeartbeatInterval", None, "needs a value"),
        ("EVSE[1].Power:maxLimit", "lots", "'lots' is not a number"),
        ("EVSE[1].Power:maxLimit", 11000, "the MaxSet value does not fit the new limit"),
        ("SecurityCtrlr.BasicAuthPassword", "p" * 41, "the value is longer than 40 characters"),
    ],
)
def test_a_bad_override_is_one_config_error_line(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        DeviceModel(DEFINITIONS, overrides={key: value}, override_origin="sim.yaml")
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("sim.yaml: device_model.")
    assert message in text
    assert "ppppp" not in text  # WriteOnly values never end up in messages


def test_override_keys_parse_into_their_parts() -> None:
    key = parse_override_key("Connector[1,2].ConnectorType")
    assert key is not None and key.address == ("1", "2") and key.attribute is AttributeType.ACTUAL
    key = parse_override_key("OCPPCommCtrlr.MessageTimeout[Default]:actual")
    assert key is not None and key.variable_instance == "Default" and key.attribute is AttributeType.ACTUAL
    key = parse_override_key("EVSE[1].Power:maxLimit")
    assert key is not None and key.limit == "max_limit" and key.attribute is None
    assert parse_override_key("a.b.c") is None


def test_station_values_bypass_read_only_but_are_validated_and_notified() -> None:
    dm = DeviceModel(DEFINITIONS)
    changes: list[VariableChange] = []
    unsubscribe = dm.on_change(changes.append)
    dm.set_station_value("EVSE", "AvailabilityState", "Occupied", evse_id=1)
    dm.set_station_value("EVSE", "AvailabilityState", "Occupied", evse_id=1)  # unchanged: no event
    assert dm.get_str("EVSE", "AvailabilityState", evse_id=1) == "Occupied"
    assert [(c.new_value, c.source) for c in changes] == [("Occupied", ValueSource.STATION)]
    with pytest.raises(DeviceModelError, match="is not one of"):
        dm.set_station_value("EVSE", "AvailabilityState", "Broken", evse_id=1)
    unsubscribe()
    dm.set_station_value("OCPPCommCtrlr", "HeartbeatInterval", 900)
    assert len(changes) == 1
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 900


def test_a_failing_subscriber_does_not_stop_the_change_or_the_others() -> None:
    dm = DeviceModel(DEFINITIONS)
    seen: list[str] = []

    def broken(_: VariableChange) -> None:
        raise RuntimeError("boom")

    dm.on_change(broken)
    dm.on_change(lambda change: seen.append(change.new_value))
    dm.set_station_value("SecurityCtrlr", "CertificateEntries", 2)
    assert seen == ["2"]
    assert dm.get_int("SecurityCtrlr", "CertificateEntries") == 2


def test_live_values_are_read_on_every_access() -> None:
    dm = DeviceModel(DEFINITIONS)
    now = iter(["2024-05-01T10:00:00.000Z", "2024-05-01T10:00:01.000Z"])
    dm.register_live_value("ClockCtrlr", "DateTime", lambda: next(now))
    request = GetVariableData(ComponentKey("ClockCtrlr"), VariableKey("DateTime"))
    assert dm.get_variables([request])[0].value == "2024-05-01T10:00:00.000Z"
    assert dm.get_str("ClockCtrlr", "DateTime") == "2024-05-01T10:00:01.000Z"


@dataclass
class _Station:
    id: str = "CS-0001"
    vendor: str = "Acme"
    model: str = "Wallbox 2"
    serial: str | None = "SN123"
    firmware_version: str | None = "1.2.3"


@dataclass
class _Csms:
    security_profile: int = 2


@dataclass
class _Connector:
    id: int
    type: str


@dataclass
class _Evse:
    id: int
    connectors: list[_Connector]
    max_current_a: float = 16.0
    phases: int = 1


@dataclass
class _Settings:
    station: _Station = field(default_factory=_Station)
    csms: _Csms = field(default_factory=_Csms)
    evses: list[_Evse] = field(
        default_factory=lambda: [
            _Evse(1, [_Connector(1, "sType2")]),
            _Evse(2, [_Connector(1, "cType2"), _Connector(2, "cCCS2")], max_current_a=32.0, phases=3),
        ]
    )


def test_open_takes_the_station_facts_from_the_settings(tmp_path: Path) -> None:
    dm = DeviceModel.open(
        CONFIG_DIR,
        [(1, [1]), (2, [1, 2])],
        open_database(tmp_path),
        identity=_Settings(),
        overrides={"ChargingStation.Model": "Wallbox 2 Pro"},
    )
    assert dm.get_str("SecurityCtrlr", "Identity") == "CS-0001"
    assert dm.get_str("ChargingStation", "VendorName") == "Acme"
    assert dm.get_str("ChargingStation", "Model") == "Wallbox 2 Pro"  # explicit key beats the fact
    assert dm.get_str("ChargingStation", "SerialNumber") == "SN123"
    assert dm.get_str("EvseStackCtrlr", "FirmwareVersion") == "1.2.3"
    assert dm.get_int("SecurityCtrlr", "SecurityProfile") == 2
    assert dm.get_int("ChargingStation", "SupplyPhases") == 3
    assert dm.get_int("EVSE", "SupplyPhases", evse_id=1) == 1
    assert dm.get_value("EVSE", "Power", evse_id=1, attribute=AttributeType.MAX_SET) == "3680"
    assert dm.get_str("Connector", "ConnectorType", evse_id=1, connector_id=1) == "sType2"
    assert dm.get_str("Connector", "ConnectorType", evse_id=2, connector_id=2) == "cCCS2"


def test_a_bad_station_fact_names_the_settings_key() -> None:
    settings = _Settings(evses=[_Evse(1, [_Connector(1, "a-very-long-connector-type-name")])])
    with pytest.raises(ConfigError, match=r"^sim\.yaml: evses\[0\]\.connectors\[0\]\.type: "):
        DeviceModel.open(
            CONFIG_DIR,
            [(1, [1])],
            None,
            identity=settings,
            override_origin="sim.yaml",
        )

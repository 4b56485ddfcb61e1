"""Persistence of device-model values in a real SQLite file: reboots, precedence, durability."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from evse.devicemodel.definitions import AttributeAddress, AttributeType, ComponentKey, VariableKey
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import SetVariableData, SetVariableStatus
from evse.devicemodel.reports import base_report
from evse.devicemodel.store import DeviceModelStore, StoredValue, ValueSource
from evse.errors import StorageError
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
LAYOUT = [(1, [1]), (2, [1, 2])]
DEFINITIONS = load_definitions(CONFIG_DIR, LAYOUT)
COMM = ComponentKey("OCPPCommCtrlr")


def boot(state_dir: Path, overrides: Mapping[str, object] | None = None) -> DeviceModel:
    """What the daemon does at start-up: a fresh connection and model over the same state directory."""
    return DeviceModel(DEFINITIONS, store=DeviceModelStore(open_database(state_dir)), overrides=overrides)


def csms_set(dm: DeviceModel, component: ComponentKey, variable: str, value: str) -> SetVariableStatus:
    [result] = dm.set_variables([SetVariableData(component, VariableKey(variable), value)])
    return result.status


def test_a_value_set_by_the_csms_survives_a_reboot(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    assert csms_set(dm, COMM, "HeartbeatInterval", "77") is SetVariableStatus.ACCEPTED
    again = boot(tmp_path)
    assert again.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 77
    address = AttributeAddress(COMM, VariableKey("HeartbeatInterval"))
    assert again.source(address) is ValueSource.CSMS


def test_precedence_is_default_then_yaml_then_csms(tmp_path: Path) -> None:
    assert boot(tmp_path).get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
    yaml = {"OCPPCommCtrlr.HeartbeatInterval": 60}
    dm = boot(tmp_path, yaml)
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 60
    csms_set(dm, COMM, "HeartbeatInterval", "120")
    assert boot(tmp_path, yaml).get_int("OCPPCommCtrlr", "HeartbeatInterval") == 120


def test_a_rejected_value_is_not_stored(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    assert csms_set(dm, COMM, "HeartbeatInterval", "-1") is SetVariableStatus.REJECTED
    assert boot(tmp_path).get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300


def test_station_values_persist_only_when_the_attribute_is_persistent(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    dm.set_station_value("SecurityCtrlr", "SecurityProfile", 2)  # persistent
    dm.set_station_value("EVSE", "AvailabilityState", "Unavailable", evse_id=1)  # runtime state
    again = boot(tmp_path)
    assert again.get_int("SecurityCtrlr", "SecurityProfile") == 2
    assert again.get_str("EVSE", "AvailabilityState", evse_id=1) == "Available"


def test_a_reboot_required_value_takes_effect_after_the_reboot(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    status = csms_set(dm, COMM, "NetworkConfigurationPriority", "2,1")
    assert status is SetVariableStatus.REBOOT_REQUIRED
    assert dm.get_str("OCPPCommCtrlr", "NetworkConfigurationPriority") == "1"
    again = boot(tmp_path)
    assert again.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["2", "1"]
    assert again.pending_reboot == {}


def test_a_write_only_password_is_kept_but_never_reported(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    csms_set(dm, ComponentKey("SecurityCtrlr"), "BasicAuthPassword", "new-password-1234")
    again = boot(tmp_path)
    assert again.basic_auth_password() == "new-password-1234"
    report = base_report(again, "FullInventory")
    assert report is not None
    [entry] = [e for e in report if e.variable.name == "BasicAuthPassword"]
    assert [a.value for a in entry.attributes] == [None]


def test_stored_values_that_no_longer_fit_the_definitions_are_ignored(tmp_path: Path) -> None:
    store = DeviceModelStore(open_database(tmp_path))
    store.save(
        [
            StoredValue(AttributeAddress(COMM, VariableKey("HeartbeatInterval")), "not-a-number", ValueSource.CSMS),
            StoredValue(AttributeAddress(COMM, VariableKey("RemovedVariable")), "1", ValueSource.CSMS),
            StoredValue(AttributeAddress(COMM, VariableKey("OfflineThreshold")), "90", ValueSource.CSMS),
        ]
    )
    dm = boot(tmp_path)
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
    assert dm.get_int("OCPPCommCtrlr", "OfflineThreshold") == 90


def test_values_are_keyed_by_the_full_component_identity(tmp_path: Path) -> None:
    dm = boot(tmp_path)
    dm.set_station_value("EVSE", "Power", 1500, evse_id=2, attribute=AttributeType.MAX_SET)
    again = boot(tmp_path)
    assert again.get_value("EVSE", "Power", evse_id=2, attribute=AttributeType.MAX_SET) == "1500"
    assert again.get_value("EVSE", "Power", evse_id=1, attribute=AttributeType.MAX_SET) == "22080"


def test_a_failed_write_leaves_the_value_unchanged(tmp_path: Path) -> None:
    conn = open_database(tmp_path)
    dm = DeviceModel(DEFINITIONS, store=DeviceModelStore(conn))
    conn.close()
    with pytest.raises(StorageError):
        csms_set(dm, COMM, "HeartbeatInterval", "99")
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300


def test_a_bare_in_memory_connection_works_for_checking_a_configuration() -> None:
    import sqlite3

    dm = DeviceModel(DEFINITIONS, store=DeviceModelStore(sqlite3.connect(":memory:")))
    assert csms_set(dm, COMM, "HeartbeatInterval", "99") is SetVariableStatus.ACCEPTED


def test_an_unusable_connection_is_a_storage_error(tmp_path: Path) -> None:
    conn = open_database(tmp_path)
    conn.close()
    with pytest.raises(StorageError, match="device-model table"):
        DeviceModelStore(conn)

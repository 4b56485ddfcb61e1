"""1.6 GetConfiguration / ChangeConfiguration on the device model (OCPP 1.6 edition 2, 5.3 and 5.8, chapter 9;
security whitepaper edition 3, A01 and A05), through a real RpcSession speaking the 1.6 dialect, frames
checked against the official 1.6 schemas both ways, and a device model persisted in a SQLite file."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import GetVariableData
from evse.devicemodel.store import DeviceModelStore
from evse.ocpp.dialect import V16
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v16.configuration_keys import load_key_table
from evse.ocpp.v16.configuration_view import CONVERTED, VALUE_MAX_LENGTH, ConfigurationChange, ConfigurationView
from evse.ocpp.v16.handlers.configuration import register
from evse.ocpp.v16.security_profile import security_profile_guard
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
LAYOUT = [(1, [1]), (2, [1, 2])]
PROFILES = ["Core", "LocalAuthListManagement", "Reservation", "SmartCharging"]
TABLE = load_key_table()
PASSWORD_HEX = "00112233445566778899aabbccddeeff01234567"  # 20 bytes as 40 hex digits (whitepaper A00.FR.205)


class Station:
    """A device model in a SQLite file under `state_dir` with the 1.6 handlers behind a 1.6 RpcSession."""

    def __init__(
        self,
        state_dir: Path,
        overrides: dict[str, object] | None = None,
        *,
        definitions: list[VariableDef] | None = None,
        guard_security_profile: Callable[[str], Any] | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.dm = DeviceModel(
            definitions or load_definitions(CONFIG_DIR, LAYOUT),
            store=DeviceModelStore(open_database(state_dir)),
            overrides=overrides,
        )
        if guard_security_profile is not None:
            self.dm.add_guard("SecurityCtrlr", "SecurityProfile", guard_security_profile)
        self.changes: list[ConfigurationChange] = []
        self.jobs_run: list[str] = []
        self.frames: list[list[Any]] = []
        router = Router()
        self.view = register(router, self.dm, after_set=self._after_set, profiles=PROFILES)
        self.session = RpcSession(self._send, router, message_timeout=lambda: 1.0, validate_outgoing=True, dialect=V16)
        self._ids = 0

    def _after_set(self, change: ConfigurationChange) -> Callable[[], Awaitable[None]] | None:
        self.changes.append(change)
        if change.key != "AuthorizationKey":
            return None

        async def reconnect() -> None:
            # Runs only once the answer left: the answer frame must already be there.
            assert any(frame[0] == 3 for frame in self.frames)
            self.jobs_run.append("reconnect")

        return reconnect

    async def _send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver one CALL from the CSMS; the station's CALLRESULT payload (a CALLERROR fails the test)."""
        self._ids += 1
        message_id = f"m{self._ids}"
        await self.session.handle_frame(json.dumps([2, message_id, action, payload]))
        await asyncio.sleep(0)
        await self.session.drain()
        [answer] = [frame for frame in self.frames if frame[1] == message_id]
        assert answer[0] == 3, answer
        result: dict[str, Any] = answer[2]
        return result

    async def get(self, *keys: str) -> dict[str, Any]:
        return await self.call("GetConfiguration", {"key": list(keys)} if keys else {})

    async def change(self, key: str, value: str) -> str:
        status: str = (await self.call("ChangeConfiguration", {"key": key, "value": value}))["status"]
        return status

    def get_variable(self, component: ComponentKey, variable: str, instance: str | None = None) -> str | None:
        """What a 2.0.1 GetVariables of the same variable reads."""
        [result] = self.dm.get_variables([GetVariableData(component, VariableKey(variable, instance))])
        return result.value


def values(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["key"]: entry for entry in answer.get("configurationKey", [])}


# ---- GetConfiguration ---------------------------------------------------------------------------------


async def test_TC_019_CS_get_configuration_without_keys_lists_every_key_of_the_table_in_1_6_text(
    tmp_path: Path,
) -> None:
    station = Station(tmp_path)
    answer = await station.get()
    listed = values(answer)
    assert "unknownKey" not in answer
    assert set(listed) == set(TABLE)
    heartbeat = station.dm.get_value("OCPPCommCtrlr", "HeartbeatInterval")
    assert listed["HeartbeatInterval"] == {"key": "HeartbeatInterval", "readonly": False, "value": heartbeat}
    assert listed["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "3"}
    assert listed["SupportedFeatureProfiles"]["value"] == "Core,LocalAuthListManagement,Reservation,SmartCharging"
    assert listed["ChargingScheduleAllowedChargingRateUnit"]["value"] == "Current,Power"
    assert listed["LocalAuthListMaxLength"]["value"] == "10000"  # LocalAuthListCtrlr.Entries maxLimit
    assert listed["MeterValuesSampledDataMaxLength"]["value"] == "7"  # the measurands its valuesList offers
    assert listed["StopTransactionOnInvalidId"]["value"] in ("true", "false")
    assert listed["ConnectorPhaseRotation"] == {
        "key": "ConnectorPhaseRotation",
        "readonly": False,
        "value": "1.Unknown,2.Unknown,3.Unknown",
    }
    for key, mapping in TABLE.items():
        assert listed[key]["readonly"] is (mapping.access.value == "R"), key


async def test_authorization_key_is_listed_but_never_with_its_value(tmp_path: Path) -> None:
    """Whitepaper: AuthorizationKey is write-only; a CSMS reading every key must not get the password."""
    station = Station(tmp_path)
    assert await station.change("AuthorizationKey", PASSWORD_HEX) == "Accepted"
    for answer in (await station.get(), await station.get("AuthorizationKey")):
        assert values(answer)["AuthorizationKey"] == {"key": "AuthorizationKey", "readonly": False}
    assert PASSWORD_HEX not in json.dumps(station.frames)


async def test_a_key_whose_component_is_unavailable_is_not_a_key_of_the_station(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCacheCtrlr.Available": False})
    assert "AuthorizationCacheEnabled" not in values(await station.get())
    answer = await station.get("AuthorizationCacheEnabled")
    assert answer == {"unknownKey": ["AuthorizationCacheEnabled"]}
    assert await station.change("AuthorizationCacheEnabled", "false") == "NotSupported"


async def test_get_configuration_with_keys_answers_known_and_unknown_apart(tmp_path: Path) -> None:
    station = Station(tmp_path)
    answer = await station.get("MeterValueSampleInterval", "BlinkRepeat", "heartbeatinterval", "NoSuchKey")
    assert [entry["key"] for entry in answer["configurationKey"]] == ["MeterValueSampleInterval", "HeartbeatInterval"]
    assert answer["unknownKey"] == ["BlinkRepeat", "NoSuchKey"]


async def test_get_configuration_serves_at_most_get_configuration_max_keys(tmp_path: Path) -> None:
    station = Station(tmp_path, {"DeviceDataCtrlr.ItemsPerMessage[GetVariables]": 2})
    assert values(await station.get("GetConfigurationMaxKeys"))["GetConfigurationMaxKeys"]["value"] == "2"
    answer = await station.get("HeartbeatInterval", "NoSuchKey", "ResetRetries")
    assert [entry["key"] for entry in answer["configurationKey"]] == ["HeartbeatInterval"]
    assert answer["unknownKey"] == ["NoSuchKey"]


async def test_values_are_cut_to_the_500_characters_1_6_allows(tmp_path: Path) -> None:
    long_name = "O" * 64
    station = Station(tmp_path, {"SecurityCtrlr.OrganizationName": long_name})
    assert values(await station.get("CpoName"))["CpoName"]["value"] == long_name
    view = ConfigurationView(station.dm, ["Core"] * 200)  # 1,000 characters of profiles
    mapping = view.lookup("SupportedFeatureProfiles")
    assert mapping is not None
    value = view.read(mapping).value
    assert value is not None and len(value) == VALUE_MAX_LENGTH


def test_supported_feature_profiles_are_1_6_names_and_include_core(tmp_path: Path) -> None:
    dm = Station(tmp_path).dm
    for profiles in (["LocalAuthListManagement"], ["Core", "LocalAuthList"]):
        with pytest.raises(ValueError, match="Core is required"):
            ConfigurationView(dm, profiles)


# ---- ChangeConfiguration ------------------------------------------------------------------------------


async def test_TC_021_CS_change_configuration_accepted_is_what_2_0_1_get_variables_reads_after_a_restart(
    tmp_path: Path,
) -> None:
    station = Station(tmp_path)
    assert await station.change("MeterValueSampleInterval", "15") == "Accepted"
    assert await station.change("StopTransactionOnInvalidId", "false") == "Accepted"
    assert station.get_variable(ComponentKey("SampledDataCtrlr"), "TxUpdatedInterval") == "15"
    assert [change.key for change in station.changes] == ["MeterValueSampleInterval", "StopTransactionOnInvalidId"]
    restarted = Station(tmp_path)
    assert restarted.get_variable(ComponentKey("SampledDataCtrlr"), "TxUpdatedInterval") == "15"
    assert restarted.get_variable(ComponentKey("TxCtrlr"), "StopTxOnInvalidId") == "false"
    assert values(await restarted.get("MeterValueSampleInterval"))["MeterValueSampleInterval"]["value"] == "15"


async def test_TC_040_1_CS_change_configuration_of_an_unknown_key_is_not_supported(tmp_path: Path) -> None:
    station = Station(tmp_path)
    assert await station.change("BlinkRepeat", "3") == "NotSupported"
    assert station.changes == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NumberOfConnectors", "4"),
        ("GetConfigurationMaxKeys", "10"),
        ("ChargingScheduleAllowedChargingRateUnit", "Current"),
    ],
)
async def test_change_configuration_of_a_read_only_key_is_rejected(tmp_path: Path, key: str, value: str) -> None:
    station = Station(tmp_path)
    before = values(await station.get(key))[key]["value"]
    assert await station.change(key, value) == "Rejected"
    assert values(await station.get(key))[key]["value"] == before


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MeterValueSampleInterval", "-1"),
        ("HeartbeatInterval", "forty"),
        ("LocalAuthorizeOffline", "yes"),
        ("MeterValuesSampledData", "Energy.Active.Import.Register,RPM"),
        ("ClockAlignedDataInterval", "2147483648"),
        ("AuthorizationKey", "tooshort"),
    ],
)
async def test_TC_040_2_CS_a_value_the_device_model_refuses_is_rejected_and_changes_nothing(
    tmp_path: Path, key: str, value: str
) -> None:
    station = Station(tmp_path)
    before = station.dm.basic_auth_password(), values(await station.get(key)).get(key)
    assert await station.change(key, value) == "Rejected"
    assert (station.dm.basic_auth_password(), values(await station.get(key)).get(key)) == before
    assert station.changes == []


async def test_a_variable_applied_at_the_next_start_answers_reboot_required(tmp_path: Path) -> None:
    definitions = [
        dataclasses.replace(d, reboot_required=True) if str(d) == "OCPPCommCtrlr.HeartbeatInterval" else d
        for d in load_definitions(CONFIG_DIR, LAYOUT)
    ]
    station = Station(tmp_path, definitions=definitions)
    before = station.dm.get_value("OCPPCommCtrlr", "HeartbeatInterval")
    assert await station.change("HeartbeatInterval", "77") == "RebootRequired"
    assert station.dm.get_value("OCPPCommCtrlr", "HeartbeatInterval") == before
    assert "77" in station.dm.pending_reboot.values()
    assert station.changes[-1].status == "RebootRequired"


async def test_meter_values_sampled_data_sets_the_started_and_updated_measurands(tmp_path: Path) -> None:
    """1.6 has one list for a transaction's samples; 2.0.1 splits it into TxStarted and TxUpdated."""
    station = Station(tmp_path)
    assert await station.change("MeterValuesSampledData", "Energy.Active.Import.Register,Voltage") == "Accepted"
    sampled = ComponentKey("SampledDataCtrlr")
    assert station.get_variable(sampled, "TxUpdatedMeasurands") == "Energy.Active.Import.Register,Voltage"
    assert station.get_variable(sampled, "TxStartedMeasurands") == "Energy.Active.Import.Register,Voltage"


async def test_connector_phase_rotation_is_per_connector_in_the_order_of_1_6_connector_ids(tmp_path: Path) -> None:
    """1.6 9.1.7: "<connectorId>.<rotation>" entries; connector 2 is EVSE 2's connector 1 here."""
    station = Station(tmp_path, {"Connector[2,2].SupplyPhases": 1})
    assert await station.change("ConnectorPhaseRotation", "2.RTS,1.RST") == "Accepted"
    assert station.get_variable(ComponentKey("Connector", None, 2, 1), "PhaseRotation") == "RTS"
    assert station.get_variable(ComponentKey("Connector", None, 1, 1), "PhaseRotation") == "RST"
    rotation = values(await station.get("ConnectorPhaseRotation"))["ConnectorPhaseRotation"]["value"]
    assert rotation == "1.RST,2.RTS,3.NotApplicable"
    for bad in ("4.RST", "0.RST", "1.XYZ", "1.TSR,2.XYZ", "RST"):
        assert await station.change("ConnectorPhaseRotation", bad) == "Rejected", bad
    # All or nothing: the good first entry of "1.TSR,2.XYZ" was not written.
    assert station.get_variable(ComponentKey("Connector", None, 1, 1), "PhaseRotation") == "RST"


async def test_TC_073_CS_authorization_key_sets_the_basic_auth_password_and_reconnects_after_the_answer(
    tmp_path: Path,
) -> None:
    """Whitepaper A01 / A00.FR.205: up to 40 hexadecimal digits; the station reconnects with it."""
    station = Station(tmp_path)
    assert await station.change("AuthorizationKey", PASSWORD_HEX) == "Accepted"
    assert station.dm.basic_auth_password() == PASSWORD_HEX
    assert station.jobs_run == ["reconnect"]
    assert Station(tmp_path).dm.basic_auth_password() == PASSWORD_HEX


# ---- SecurityProfile (whitepaper A05) -------------------------------------------------------------------


def test_security_profile_guard_checks_the_prerequisites_of_each_profile() -> None:
    """A05.FR.02: 1 and 2 need an AuthorizationKey; A05.FR.03: 2 and 3 a CSMS root; A05.FR.04: 3 a
    station certificate."""
    nothing = security_profile_guard(
        password_set=lambda: False, csms_root=lambda: False, station_certificate=lambda: False
    )
    assert nothing("1") is not None and nothing("2") is not None and nothing("3") is not None
    password_only = security_profile_guard(
        password_set=lambda: True, csms_root=lambda: False, station_certificate=lambda: False
    )
    assert password_only("1") is None
    assert password_only("2") is not None
    root = security_profile_guard(password_set=lambda: True, csms_root=lambda: True, station_certificate=lambda: False)
    assert root("2") is None
    assert root("3") is not None
    everything = security_profile_guard(
        password_set=lambda: False, csms_root=lambda: True, station_certificate=lambda: True
    )
    assert everything("3") is None


async def test_security_profile_only_upwards_and_only_once_the_new_connection_is_up(tmp_path: Path) -> None:
    """A05.FR.01: a value lower than or equal to the one in use is Rejected; A05.FR.05: a higher one whose
    prerequisites hold is Accepted; the variable is raised by the connection that succeeds with it."""
    ready = {"root": False}
    guard = security_profile_guard(
        password_set=lambda: True, csms_root=lambda: ready["root"], station_certificate=lambda: False
    )
    station = Station(tmp_path, {"SecurityCtrlr.SecurityProfile": 1}, guard_security_profile=guard)
    assert await station.change("SecurityProfile", "1") == "Rejected"
    assert await station.change("SecurityProfile", "0") == "Rejected"
    assert await station.change("SecurityProfile", "4") == "Rejected"
    assert await station.change("SecurityProfile", "2") == "Rejected"  # no CSMS root yet
    assert station.changes == []
    ready["root"] = True
    assert await station.change("SecurityProfile", "2") == "Accepted"
    assert station.changes == [ConfigurationChange("SecurityProfile", "2", station.changes[0].status)]
    assert station.dm.get_int("SecurityCtrlr", "SecurityProfile") == 1


# ---- the table and the code -----------------------------------------------------------------------------


def test_every_key_with_a_conversion_is_one_the_code_converts() -> None:
    """A `convert` note in the key table means code in configuration_view.py; a note without it would be
    a key served unconverted."""
    assert {key for key, mapping in TABLE.items() if mapping.convert} == CONVERTED

"""Register maps as data: the shipped maps, the schema's one-line errors, and the driver's Params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from drivers.errors import DriverError
from drivers.meter.modbus import ModbusMeter
from drivers.meter.register_map import (
    MAPS_DIR,
    MeterField,
    available_maps,
    load_register_map,
    map_path,
    parse_register_map,
)
from drivers.meter.registers import DataType, WordOrder
from drivers.registry import load_driver, validate_params

SHIPPED = ("abb_b23", "carlo_gavazzi_em340", "eastron_sdm630", "eastron_sdm72d_m")


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "manufacturer": "Acme",
        "source": "Acme M1 manual, table 3",
        "defaults": {"function": 4, "type": "float32"},
        "registers": [
            {"feeds": "energy_import_wh", "address": 0, "unit": "kWh"},
            {"feeds": "power_w", "address": 2, "unit": "W"},
        ],
    }
    data.update(changes)
    return data


def error_of(data: object) -> str:
    with pytest.raises(DriverError) as info:
        parse_register_map(data, "acme.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_the_maps_dir_is_config_meters_of_the_repository() -> None:
    assert Path(__file__).resolve().parents[2] / "config" / "meters" == MAPS_DIR


def test_four_meters_used_in_chargers_are_shipped() -> None:
    assert set(SHIPPED) <= set(available_maps())


@pytest.mark.parametrize("model", SHIPPED)
def test_every_shipped_map_loads_and_reads_a_full_reading(model: str) -> None:
    register_map = load_register_map(map_path(model))
    fed = {r.feeds for r in register_map.registers}
    assert fed == set(MeterField)
    assert register_map.phase_count(MeterField.VOLTAGE_V) == 3
    assert register_map.phase_count(MeterField.CURRENT_A) == 3
    assert register_map.source


def test_shipped_maps_say_what_the_makers_documents_say() -> None:
    sdm630 = {(r.feeds, r.phase): r for r in load_register_map(map_path("eastron_sdm630")).registers}
    assert sdm630[(MeterField.ENERGY_IMPORT_WH, None)].address == 0x0048
    assert sdm630[(MeterField.POWER_W, None)].address == 0x0034
    assert sdm630[(MeterField.VOLTAGE_V, 1)].function == 4
    abb = {(r.feeds, r.phase): r for r in load_register_map(map_path("abb_b23")).registers}
    energy = abb[(MeterField.ENERGY_IMPORT_WH, None)]
    assert (energy.function, energy.address, energy.type) == (3, 0x5000, DataType.UINT64)
    assert energy.factor == pytest.approx(10.0)  # 0.01 kWh per count
    em340 = load_register_map(map_path("carlo_gavazzi_em340"))
    assert {r.word_order for r in em340.registers} == {WordOrder.LITTLE}
    assert em340.max_registers_per_request == 50
    assert load_register_map(map_path("eastron_sdm72d_m")).max_registers_per_request == 60


def test_defaults_apply_and_a_register_may_override_them() -> None:
    data = minimal()
    data["registers"].append({"feeds": "frequency_hz", "address": 0x10, "type": "uint16", "scale": 0.01, "unit": "Hz"})
    regs = {r.feeds: r for r in parse_register_map(data, "acme.yaml").registers}
    assert regs[MeterField.POWER_W].type is DataType.FLOAT32
    assert regs[MeterField.FREQUENCY_HZ].type is DataType.UINT16
    assert regs[MeterField.FREQUENCY_HZ].factor == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("register", "expected"),
    [
        (
            {"feeds": "voltage_v", "phase": 1, "address": 8, "unit": "kWh"},
            "unit 'kWh' cannot feed voltage_v; use one of V",
        ),
        ({"feeds": "voltage_v", "address": 8, "unit": "V"}, "voltage_v needs 'phase: 1..3'"),
        ({"feeds": "frequency_hz", "phase": 1, "address": 8, "unit": "Hz"}, "frequency_hz takes no 'phase'"),
        ({"feeds": "current_a", "phase": 4, "address": 8, "unit": "A"}, "registers[2].phase: Input should be less"),
        ({"feeds": "volts", "address": 8, "unit": "V"}, "registers[2].feeds: Input should be"),
        ({"feeds": "frequency_hz", "address": 8, "unit": "Hz", "type": "float64"}, "registers[2].type: Input should"),
        ({"feeds": "frequency_hz", "address": 8, "unit": "Hz", "function": 6}, "registers[2].function: Input should"),
        ({"feeds": "frequency_hz", "address": 0x1_0000, "unit": "Hz"}, "registers[2].address: Input should be less"),
        ({"feeds": "frequency_hz", "address": 0xFFFF, "unit": "Hz"}, "runs past 0xFFFF"),
        ({"feeds": "frequency_hz", "address": 8, "unit": "Hz", "scale": 0}, "must be a finite, non-zero number"),
        ({"feeds": "frequency_hz", "address": 8, "unit": "Hz", "scal": 1}, "registers[2].scal: Extra inputs"),
    ],
)
def test_a_bad_register_is_named_in_one_line(register: dict[str, Any], expected: str) -> None:
    data = minimal()
    data["registers"].append(register)
    message = error_of(data)
    assert message.startswith("acme.yaml: registers[2]")
    assert expected in message


def test_a_map_must_feed_energy_import_and_power() -> None:
    data = minimal()
    data["registers"] = data["registers"][1:]
    assert "no register feeds energy_import_wh" in error_of(data)


def test_a_value_fed_twice_is_refused() -> None:
    data = minimal()
    data["registers"].append({"feeds": "power_w", "address": 8, "unit": "W"})
    assert "power_w is fed twice" in error_of(data)


def test_phases_must_be_contiguous_from_l1() -> None:
    data = minimal()
    data["registers"] += [
        {"feeds": "voltage_v", "phase": 1, "address": 8, "unit": "V"},
        {"feeds": "voltage_v", "phase": 3, "address": 10, "unit": "V"},
    ]
    assert "voltage_v phases must be 1, 1-2 or 1-3, got [1, 3]" in error_of(data)


def test_overlapping_registers_are_refused_but_other_functions_may_share_addresses() -> None:
    data = minimal()
    data["registers"].append({"feeds": "frequency_hz", "address": 1, "unit": "Hz"})
    assert "energy_import_wh and frequency_hz overlap at FC4 0x0001" in error_of(data)
    data["registers"][-1]["function"] = 3
    parse_register_map(data, "acme.yaml")


def test_a_value_larger_than_the_request_limit_is_refused() -> None:
    data = minimal(max_registers_per_request=1)
    assert "needs 2 registers, more than max_registers_per_request" in error_of(data)


def test_unknown_top_level_keys_and_non_mappings_are_refused() -> None:
    assert "manufacturor: Extra inputs are not permitted" in error_of(minimal(manufacturor="x"))
    assert error_of([1, 2]) == "acme.yaml: a register map must be a YAML mapping"
    assert "defaults: must be a mapping" in error_of(minimal(defaults=[1]))


def test_the_loader_names_the_file_and_the_yaml_line(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("manufacturer: Acme\nregisters: [\n")
    with pytest.raises(DriverError, match=r"mine\.yaml: line \d+"):
        load_register_map(bad)
    with pytest.raises(DriverError, match="cannot read register map"):
        load_register_map(tmp_path / "absent.yaml")


def test_an_unknown_model_lists_the_shipped_ones() -> None:
    with pytest.raises(DriverError, match=r"unknown meter model 'sdm999'; available: abb_b23, carlo_gavazzi_em340"):
        map_path("sdm999")
    with pytest.raises(DriverError, match="unknown meter model"):
        map_path("../meters/eastron_sdm630")


# --- the driver's Params, as the board YAML reaches them -------------------------------------------


def test_the_driver_is_found_by_its_entry_point() -> None:
    assert load_driver("meter", "modbus") is ModbusMeter


def test_params_defaults() -> None:
    params = validate_params("meter", "modbus", {"model": "eastron_sdm630", "port": "/dev/ttyAMA0"})
    assert params.model_dump() == {
        "model": "eastron_sdm630",
        "map_file": None,
        "port": "/dev/ttyAMA0",
        "baudrate": 9600,
        "parity": "N",
        "stopbits": 1,
        "bytesize": 8,
        "address": 1,
        "timeout_s": 0.5,
        "retries": 3,
        "poll_interval_s": 1.0,
    }


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"model": "sdm999"}, "meter.modbus: parameter 'model': unknown meter model 'sdm999'; available: abb_b23"),
        ({"model": "eastron_sdm630", "address": 0}, "parameter 'address': Input should be greater than or equal to 1"),
        ({"model": "eastron_sdm630", "address": 248}, "parameter 'address': Input should be less than or equal to 247"),
        ({"model": "eastron_sdm630", "parity": "X"}, "parameter 'parity': Input should be 'N', 'E' or 'O'"),
        ({"model": "eastron_sdm630", "baud": 9600}, "parameter 'baud': Extra inputs are not permitted"),
        ({"model": "eastron_sdm630", "timeout_s": 0}, "parameter 'timeout_s': Input should be greater than 0"),
        ({}, "give exactly one of 'model' (a shipped map) or 'map_file'"),
    ],
)
def test_params_errors_are_one_line(keys: dict[str, Any], expected: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("meter", "modbus", {"port": "/dev/ttyAMA0", **keys})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_a_manufacturers_map_file_is_validated_with_the_params(tmp_path: Path) -> None:
    mine = tmp_path / "acme_m1.yaml"
    mine.write_text("manufacturer: Acme\nsource: manual\nregisters: [{feeds: power_w, function: 4, address: 0}]\n")
    with pytest.raises(DriverError) as info:
        validate_params("meter", "modbus", {"map_file": str(mine), "port": "/dev/ttyAMA0"})
    assert f"parameter 'map_file': {mine}: registers[0].type: Field required" in str(info.value)
    mine.write_text(Path(map_path("eastron_sdm630")).read_text())
    params = validate_params("meter", "modbus", {"map_file": str(mine), "port": "/dev/ttyAMA0"})
    meter = ModbusMeter(evse_id=2, **params.model_dump())
    assert meter.model == "acme_m1" and "acme_m1" in meter.name
    with pytest.raises(DriverError, match="exactly one of"):
        validate_params("meter", "modbus", {"map_file": str(mine), "model": "abb_b23", "port": "/dev/ttyAMA0"})


def test_the_constructor_opens_nothing_and_refuses_bad_arguments_as_driver_errors(tmp_path: Path) -> None:
    meter = ModbusMeter(evse_id=1, model="abb_b23", port=str(tmp_path / "no-such-port"))
    assert not meter.is_lost
    assert meter.poll_count == 0
    with pytest.raises(DriverError, match=r"meter\.modbus: retries: Input should be greater than or equal to 1"):
        ModbusMeter(evse_id=1, model="abb_b23", port="/dev/ttyAMA0", retries=0)

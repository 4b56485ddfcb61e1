"""Decoding a poll into a MeterReading, and refusing what no working meter reports."""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.interfaces import MeterReading
from drivers.meter.plan import ReadBlock, plan_reads
from drivers.meter.reading import BadReading, decode_reading
from drivers.meter.register_map import RegisterMap, load_register_map, map_path, parse_register_map
from drivers.meter.registers import DataType, WordOrder, encode
from hil.emulators.meter import MeterValues, register_image


def plan_of(register_map: RegisterMap) -> tuple[ReadBlock, ...]:
    return plan_reads(
        register_map.registers,
        max_registers=register_map.max_registers_per_request,
        max_gap=register_map.max_gap_registers,
    )


def answers_for(register_map: RegisterMap, values: MeterValues) -> list[tuple[int, ...]]:
    image = register_image(register_map, values)
    return [tuple(image.get((b.function, a), 0) for a in range(b.start, b.end)) for b in plan_of(register_map)]


def decoded(
    register_map: RegisterMap, answers: list[tuple[int, ...]], previous: MeterReading | None = None
) -> MeterReading:
    return decode_reading(register_map, plan_of(register_map), answers, timestamp=7.0, previous=previous)


VALUES = MeterValues(
    voltage_v=(229.9, 230.4, 231.2),
    current_a=(15.97, 16.02, 0.5),
    power_w=7_360.5,
    energy_import_wh=1_234_567.0,
    energy_export_wh=4_200.0,
    frequency_hz=49.9,
)


@pytest.mark.parametrize("model", ["abb_b23", "carlo_gavazzi_em340", "eastron_sdm630", "eastron_sdm72d_m"])
def test_integer_and_float_maps_decode_to_the_physical_values(model: str) -> None:
    register_map = load_register_map(map_path(model))
    reading = decoded(register_map, answers_for(register_map, VALUES))
    resolution = {r.feeds: r.factor / 2 + 1e-9 for r in register_map.registers if r.type != "float32"}
    assert reading.timestamp == 7.0
    assert reading.voltage_v == pytest.approx(VALUES.voltage_v, rel=1e-6, abs=resolution.get("voltage_v", 0))
    assert reading.current_a == pytest.approx(VALUES.current_a, rel=1e-6, abs=resolution.get("current_a", 0))
    assert reading.power_w == pytest.approx(VALUES.power_w, rel=1e-6, abs=resolution.get("power_w", 0))
    assert reading.frequency_hz == pytest.approx(VALUES.frequency_hz, rel=1e-6, abs=resolution.get("frequency_hz", 0))
    assert reading.energy_import_wh == pytest.approx(
        VALUES.energy_import_wh, rel=1e-6, abs=resolution.get("energy_import_wh", 0)
    )
    assert reading.energy_export_wh == pytest.approx(
        VALUES.energy_export_wh, rel=1e-6, abs=resolution.get("energy_export_wh", 0)
    )


def test_energy_going_backwards_is_a_bad_read() -> None:
    register_map = load_register_map(map_path("eastron_sdm630"))
    first = decoded(register_map, answers_for(register_map, VALUES))
    lower = replace(VALUES, energy_import_wh=VALUES.energy_import_wh - 1_000)
    with pytest.raises(BadReading, match=r"energy_import_wh went backwards: 1233567\.0 Wh after 1234567\.0 Wh"):
        decoded(register_map, answers_for(register_map, lower), previous=first)
    same = decoded(register_map, answers_for(register_map, VALUES), previous=first)
    assert same.energy_import_wh == first.energy_import_wh
    export_lower = replace(VALUES, energy_export_wh=0.0)
    with pytest.raises(BadReading, match="energy_export_wh went backwards"):
        decoded(register_map, answers_for(register_map, export_lower), previous=first)


def test_negative_energy_and_nan_are_bad_reads() -> None:
    register_map = load_register_map(map_path("eastron_sdm630"))
    with pytest.raises(BadReading, match="energy_import_wh is negative"):
        decoded(register_map, answers_for(register_map, replace(VALUES, energy_import_wh=-5_000.0)))
    answers = answers_for(register_map, VALUES)
    answers[0] = (0x7FC0, 0, *answers[0][2:])  # L1 voltage := NaN
    with pytest.raises(BadReading, match=r"voltage_v\[L1\] is not a number"):
        decoded(register_map, answers)


def test_abb_not_available_markers() -> None:
    register_map = load_register_map(map_path("abb_b23"))
    plan = plan_of(register_map)
    assert [(b.start, b.count) for b in plan] == [(0x5000, 8), (0x5B00, 22), (0x5B2C, 1)]
    answers = answers_for(register_map, VALUES)
    answers[2] = (0xFFFF,)  # frequency (uint16) not available: a reading without frequency
    assert decoded(register_map, answers).frequency_hz is None
    answers[1] = (*answers[1][:0x0C], *encode(DataType.UINT32, WordOrder.BIG, 0xFFFF_FFFF), *answers[1][0x0E:])
    with pytest.raises(BadReading, match=r"current_a\[L1\] reads 'not available'"):
        decode_reading(register_map, plan, answers, timestamp=0.0)


def test_a_single_phase_meter_without_export_or_frequency() -> None:
    register_map = parse_register_map(
        {
            "manufacturer": "Acme",
            "source": "manual",
            "defaults": {"function": 4, "type": "float32"},
            "registers": [
                {"feeds": "voltage_v", "phase": 1, "address": 0, "unit": "V"},
                {"feeds": "current_a", "phase": 1, "address": 6, "unit": "A"},
                {"feeds": "power_w", "address": 12, "unit": "W"},
                {"feeds": "energy_import_wh", "address": 0x48, "unit": "kWh"},
            ],
        },
        "acme.yaml",
    )
    reading = decoded(register_map, answers_for(register_map, VALUES))
    assert reading.voltage_v == pytest.approx((229.9,))
    assert reading.current_a == pytest.approx((15.97,))
    assert reading.energy_export_wh == 0.0
    assert reading.frequency_hz is None

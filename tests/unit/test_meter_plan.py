"""Read planning: contiguous registers in one request, within the meter's limits; line cost."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.meter.modbus import request_bytes_on_wire as exported_from_the_driver
from drivers.meter.plan import (
    ReadBlock,
    char_time_s,
    plan_reads,
    poll_line_time_s,
    request_bytes_on_wire,
    silent_interval_s,
)
from drivers.meter.register_map import RegisterSpec, load_register_map, map_path
from drivers.meter.registers import DataType


def reg(address: int, data_type: DataType = DataType.FLOAT32, function: int = 4, n: int = 0) -> RegisterSpec:
    # Distinct (feeds, phase) do not matter to the planner; vary the phase so specs stay distinct.
    return RegisterSpec.model_validate(
        {
            "feeds": "voltage_v",
            "phase": 1 + n % 3,
            "function": function,
            "address": address,
            "type": data_type,
            "unit": "V",
        }
    )


def spans(plan: tuple[ReadBlock, ...]) -> list[tuple[int, int, int]]:
    return [(b.function, b.start, b.count) for b in plan]


def shipped_plan(model: str) -> tuple[ReadBlock, ...]:
    m = load_register_map(map_path(model))
    return plan_reads(m.registers, max_registers=m.max_registers_per_request, max_gap=m.max_gap_registers)


def test_contiguous_registers_are_one_request() -> None:
    assert spans(plan_reads([reg(0), reg(2), reg(4)])) == [(4, 0, 6)]


def test_a_short_gap_is_read_through_and_a_long_one_splits() -> None:
    assert spans(plan_reads([reg(0), reg(10)], max_gap=8)) == [(4, 0, 12)]
    assert spans(plan_reads([reg(0), reg(11)], max_gap=8)) == [(4, 0, 2), (4, 11, 2)]


def test_the_request_limit_splits_a_run() -> None:
    assert spans(plan_reads([reg(a) for a in range(0, 8, 2)], max_registers=4)) == [(4, 0, 4), (4, 4, 4)]


def test_function_codes_never_share_a_request() -> None:
    plan = plan_reads([reg(0, function=3), reg(2, function=4), reg(4, function=3)])
    # FC3's block spans address 2, yet FC4's register at 2 needs a request of its own.
    assert spans(plan) == [(3, 0, 6), (4, 2, 2)]


def test_each_block_knows_where_its_values_are() -> None:
    plan = plan_reads([reg(4), reg(0, DataType.UINT16)])
    (block,) = plan
    assert [r.address for r in block.registers] == [0, 4]
    assert block.words_of(block.registers[1], (9, 8, 7, 6, 5, 4)) == (5, 4)


def test_bad_limits_and_oversized_values_are_refused() -> None:
    with pytest.raises(ValueError, match=r"max_registers must be 1\.\.125"):
        plan_reads([reg(0)], max_registers=126)
    with pytest.raises(ValueError, match="max_gap must be >= 0"):
        plan_reads([reg(0)], max_gap=-1)
    with pytest.raises(ValueError, match="needs 4 registers, more than max_registers=2"):
        plan_reads([reg(0, DataType.UINT64)], max_registers=2)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # V/I at 0x00..0x0B; power at 0x34; frequency and energies 0x46..0x4B (16-register gap: split).
        ("eastron_sdm630", [(4, 0x0000, 12), (4, 0x0034, 2), (4, 0x0046, 6)]),
        ("eastron_sdm72d_m", [(4, 0x0000, 12), (4, 0x0034, 2), (4, 0x0046, 6)]),
        # Line-to-line voltages and neutral current read through; 22 registers before frequency: split.
        ("abb_b23", [(3, 0x5000, 8), (3, 0x5B00, 22), (3, 0x5B2C, 1)]),
        # Power factors and phase sequence read through between W sys and Hz.
        ("carlo_gavazzi_em340", [(4, 0x0000, 18), (4, 0x0028, 14), (4, 0x004E, 2)]),
    ],
)
def test_shipped_maps_plan(model: str, expected: list[tuple[int, int, int]]) -> None:
    assert spans(shipped_plan(model)) == expected


def test_wire_bytes_of_a_poll() -> None:
    # 8 request bytes + 5 response bytes + 2 per register, per request.
    assert request_bytes_on_wire(shipped_plan("eastron_sdm630")) == (13 + 24) + (13 + 4) + (13 + 12)
    assert request_bytes_on_wire(()) == 0
    assert exported_from_the_driver is request_bytes_on_wire


def test_line_time_of_a_poll() -> None:
    assert char_time_s(9600) == pytest.approx(10 / 9600)
    assert char_time_s(9600, parity="E") == pytest.approx(11 / 9600)
    assert silent_interval_s(9600) == pytest.approx(3.5 * 10 / 9600)
    assert silent_interval_s(115_200) == 0.00175  # fixed above 19200 baud
    plan = shipped_plan("eastron_sdm630")
    assert poll_line_time_s(plan, 9600) == pytest.approx(79 * 10 / 9600 + 3 * 2 * 3.5 * 10 / 9600)
    assert poll_line_time_s(plan, 9600, turnaround_s=0.05) == pytest.approx(poll_line_time_s(plan, 9600) + 0.15)


@st.composite
def register_sets(draw: st.DrawFn) -> list[RegisterSpec]:
    types = st.sampled_from([DataType.UINT16, DataType.FLOAT32, DataType.UINT64])
    out: list[RegisterSpec] = []
    for function in (3, 4):
        address = draw(st.integers(0, 50))
        for n in range(draw(st.integers(0, 12))):
            data_type = draw(types)
            out.append(reg(address, data_type, function, n))
            address += {DataType.UINT16: 1, DataType.FLOAT32: 2, DataType.UINT64: 4}[data_type]
            address += draw(st.integers(0, 40))
    return out


@settings(deadline=None, max_examples=300)
@given(registers=register_sets(), max_registers=st.integers(4, 125), max_gap=st.integers(0, 30))
def test_plans_cover_every_register_within_the_limits_in_as_few_requests_as_possible(
    registers: list[RegisterSpec], max_registers: int, max_gap: int
) -> None:
    plan = plan_reads(registers, max_registers=max_registers, max_gap=max_gap)
    assert sorted((r.function, r.address) for b in plan for r in b.registers) == sorted(
        (r.function, r.address) for r in registers
    )
    for block in plan:
        assert 1 <= block.count <= max_registers
        assert all(
            r.function == block.function and block.start <= r.address and r.end <= block.end for r in block.registers
        )
        assert block.start == block.registers[0].address and block.end == max(r.end for r in block.registers)
        for a, b in itertools.pairwise(block.registers):
            assert b.address - a.end <= max_gap
    for a, b in itertools.pairwise(plan):
        assert (a.function, a.end) <= (b.function, b.start)
        if a.function == b.function:  # merging neighbours must break a limit, or the plan was not minimal
            assert b.start - a.end > max_gap or b.end - a.start > max_registers

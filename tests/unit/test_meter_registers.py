"""Register codec: data types, word order, round trips, and vectors from the makers' documents."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.meter.registers import DataType, WordOrder, decode, encode, not_available_marker, word_count

RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
    DataType.INT64: (-(2**63), 2**63 - 1),
    DataType.UINT64: (0, 2**64 - 1),
}


def test_eastron_230_volts_is_the_documented_float32_pair() -> None:
    # SDM manuals' example answer: 01 04 04 43 66 00 00 ... reads 230.0 V.
    assert encode(DataType.FLOAT32, WordOrder.BIG, 230.0) == (0x4366, 0x0000)
    assert decode(DataType.FLOAT32, WordOrder.BIG, (0x4366, 0x0000)) == 230.0


def test_carlo_gavazzi_int32_travels_least_significant_word_first() -> None:
    # 230.0 V at Volt*10 is 2300; 70000 needs both words.
    assert encode(DataType.INT32, WordOrder.LITTLE, 2300) == (2300, 0)
    assert encode(DataType.INT32, WordOrder.LITTLE, 70_000) == (70_000 & 0xFFFF, 1)
    assert decode(DataType.INT32, WordOrder.LITTLE, (0xFFFF, 0xFFFF)) == -1


def test_abb_uint64_energy_is_four_words_most_significant_first() -> None:
    assert encode(DataType.UINT64, WordOrder.BIG, 123_456_789) == (0, 0, 0x075B, 0xCD15)
    assert word_count(DataType.UINT64) == 4


@settings(deadline=None)
@given(data=st.data(), data_type=st.sampled_from(sorted(RANGES)), order=st.sampled_from(WordOrder))
def test_integers_round_trip(data: st.DataObject, data_type: DataType, order: WordOrder) -> None:
    low, high = RANGES[data_type]
    value = data.draw(st.integers(low, high))
    words = encode(data_type, order, value)
    assert len(words) == word_count(data_type)
    assert all(0 <= w <= 0xFFFF for w in words)
    assert decode(data_type, order, words) == value


@settings(deadline=None)
@given(value=st.floats(width=32, allow_nan=False), order=st.sampled_from(WordOrder))
def test_float32_round_trips(value: float, order: WordOrder) -> None:
    assert decode(DataType.FLOAT32, order, encode(DataType.FLOAT32, order, value)) == value


def test_word_order_reverses_the_words_only() -> None:
    big = encode(DataType.UINT32, WordOrder.BIG, 0x12345678)
    little = encode(DataType.UINT32, WordOrder.LITTLE, 0x12345678)
    assert big == (0x1234, 0x5678)
    assert little == (0x5678, 0x1234)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [(DataType.UINT16, -1), (DataType.UINT16, 65_536), (DataType.INT32, 2**31), (DataType.UINT32, 1.5)],
)
def test_values_that_do_not_fit_are_refused(data_type: DataType, value: float) -> None:
    with pytest.raises(ValueError, match=str(data_type)):
        encode(data_type, WordOrder.BIG, value)


def test_float32_overflow_is_refused() -> None:
    with pytest.raises(ValueError, match="overflows float32"):
        encode(DataType.FLOAT32, WordOrder.BIG, 1e39)


def test_decode_needs_the_right_number_of_words() -> None:
    with pytest.raises(ValueError, match="needs 2 registers, got 1"):
        decode(DataType.FLOAT32, WordOrder.BIG, (0x4366,))
    with pytest.raises(ValueError, match="out of range"):
        decode(DataType.UINT16, WordOrder.BIG, (70_000,))


def test_nan_decodes_as_nan() -> None:
    assert math.isnan(decode(DataType.FLOAT32, WordOrder.BIG, (0x7FC0, 0x0000)))


def test_not_available_markers_are_the_largest_value_of_the_type() -> None:
    assert not_available_marker(DataType.UINT16) == 0xFFFF
    assert not_available_marker(DataType.INT32) == 0x7FFF_FFFF
    assert not_available_marker(DataType.UINT64) == 2**64 - 1
    assert not_available_marker(DataType.FLOAT32) is None

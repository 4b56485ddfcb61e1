"""Values held in Modbus registers: data types, word order, and the conversion both ways.

A Modbus register is one 16-bit word; every byte inside a word travels high byte first (the Modbus
application protocol says so), but the order of the *words* of a 32/64-bit value is the meter
maker's choice: Eastron and ABB put the most significant word first ("big"), Carlo Gavazzi the least
significant word first ("little"). This module is the one place that knows it, used by the driver to
decode and by the emulator to encode, so both sides agree by construction and a property test can
check the round trip.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from enum import StrEnum
from typing import Final


class DataType(StrEnum):
    """How a value is stored in one or more consecutive registers."""

    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"


class WordOrder(StrEnum):
    """Order of the 16-bit words of a multi-register value."""

    BIG = "big"  # most significant word at the lowest address
    LITTLE = "little"  # least significant word at the lowest address


# struct format of the value as big-endian bytes (words high-first), and its register count.
_FORMATS: Final[dict[DataType, tuple[str, int]]] = {
    DataType.INT16: (">h", 1),
    DataType.UINT16: (">H", 1),
    DataType.INT32: (">i", 2),
    DataType.UINT32: (">I", 2),
    DataType.INT64: (">q", 4),
    DataType.UINT64: (">Q", 4),
    DataType.FLOAT32: (">f", 2),
}


def word_count(data_type: DataType) -> int:
    """Number of 16-bit registers a value of ``data_type`` occupies."""
    return _FORMATS[data_type][1]


def is_integer(data_type: DataType) -> bool:
    """True for the integer types (their scaled values are rounded when encoded)."""
    return data_type is not DataType.FLOAT32


def _to_words(raw: bytes, order: WordOrder) -> tuple[int, ...]:
    words = tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))
    return words if order is WordOrder.BIG else words[::-1]


def decode(data_type: DataType, order: WordOrder, words: Sequence[int]) -> int | float:
    """The value held in ``words`` (exactly ``word_count(data_type)`` registers).

    Raises ValueError for a wrong number of words or a word outside 0..65535.
    """
    fmt, count = _FORMATS[data_type]
    if len(words) != count:
        raise ValueError(f"{data_type} needs {count} registers, got {len(words)}")
    if any(not 0 <= w <= 0xFFFF for w in words):
        raise ValueError(f"register value out of range 0..65535 in {list(words)}")
    ordered = list(words) if order is WordOrder.BIG else list(words)[::-1]
    raw = b"".join(w.to_bytes(2, "big") for w in ordered)
    value: int | float = struct.unpack(fmt, raw)[0]
    return value


def encode(data_type: DataType, order: WordOrder, value: int | float) -> tuple[int, ...]:
    """The registers that hold ``value``; integers must fit the type exactly.

    Raises ValueError when the value does not fit (an out-of-range integer, a non-integral value for
    an integer type, a float32 overflow).
    """
    fmt, _ = _FORMATS[data_type]
    if is_integer(data_type):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{data_type} holds integers, not {value!r}")
        value = int(value)
    elif math.isfinite(value) and abs(value) > 3.4028234663852886e38:
        raise ValueError(f"{value!r} overflows float32")
    try:
        raw = struct.pack(fmt, value)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"{value!r} does not fit {data_type}") from exc
    return _to_words(raw, order)


def not_available_marker(data_type: DataType) -> int | None:
    """The raw value some meters (ABB) report for "not available": the type's largest value.

    None for float32, whose "not available" is a NaN anyway.
    """
    if data_type is DataType.FLOAT32:
        return None
    bits = 16 * word_count(data_type)
    signed = data_type.value.startswith("int")
    return (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1

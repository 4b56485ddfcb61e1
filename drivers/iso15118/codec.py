"""Byte-level reading and writing for the bridge messages: big-endian integers, length-prefixed strings.

Kept apart from :mod:`drivers.iso15118.messages` so the message layouts read as a list of fields.
Every read is bounds-checked: a short or inconsistent buffer raises :class:`MalformedMessage`, never
an IndexError or struct.error, so a receiver has exactly one exception to catch.
"""

from __future__ import annotations

import struct
from typing import Final

#: Printable ASCII: identifiers (EMAID, EVCCID, certificate hashes, URLs) are restricted to it so
#: that a length in bytes is also a length in characters, as the OCPP schema limits count.
_PRINTABLE_ASCII: Final = frozenset(range(0x20, 0x7F))


class MalformedMessage(ValueError):
    """Bytes that are not a valid bridge message of this protocol version."""


class Writer:
    """Appends fields to a message under construction."""

    def __init__(self, message_type: int) -> None:
        self._buf = bytearray([message_type])

    def _int(self, fmt: str, value: int) -> Writer:
        try:
            self._buf += struct.pack(fmt, value)
        except struct.error as exc:  # out of range for the field: the caller's mistake, a ValueError
            raise ValueError(f"{value} does not fit the field: {exc}") from None
        return self

    def u8(self, value: int) -> Writer:
        return self._int(">B", value)

    def u16(self, value: int) -> Writer:
        return self._int(">H", value)

    def u32(self, value: int) -> Writer:
        return self._int(">I", value)

    def text(self, value: str, *, max_bytes: int, ascii_only: bool, wide: bool = False) -> Writer:
        """A string with a u8 (or, ``wide``, u16) byte-length prefix."""
        raw = value.encode("ascii" if ascii_only else "utf-8")
        if ascii_only and not set(raw) <= _PRINTABLE_ASCII:
            raise ValueError(f"{value!r}: only printable ASCII is allowed")
        if len(raw) > max_bytes:
            raise ValueError(f"{value[:20]!r}...: {len(raw)} bytes, at most {max_bytes}")
        if wide:
            self.u16(len(raw))
        else:
            self.u8(len(raw))
        self._buf += raw
        return self

    def blob(self, value: bytes, *, max_bytes: int) -> Writer:
        """Opaque bytes (an EXI document) with a u16 length prefix (version 2)."""
        if len(value) > max_bytes:
            raise ValueError(f"{len(value)} bytes, at most {max_bytes}")
        self.u16(len(value))
        self._buf += value
        return self

    def raw(self, value: bytes) -> Writer:
        """Bytes to the end of the message, no prefix (a segment's data)."""
        self._buf += value
        return self

    def done(self) -> bytes:
        return bytes(self._buf)


class Reader:
    """Takes fields off a received message's payload (the bytes after the type byte)."""

    def __init__(self, payload: bytes) -> None:
        self._data = payload
        self._pos = 0

    def _take(self, count: int) -> bytes:
        end = self._pos + count
        if end > len(self._data):
            raise MalformedMessage(f"truncated: needs {end} payload bytes, has {len(self._data)}")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack(">H", self._take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack(">I", self._take(4))[0]
        return value

    def flag(self) -> bool:
        value = self.u8()
        if value > 1:
            raise MalformedMessage(f"boolean byte must be 0 or 1, not {value}")
        return value == 1

    def text(self, *, max_bytes: int, ascii_only: bool, wide: bool = False) -> str:
        length = self.u16() if wide else self.u8()
        if length > max_bytes:
            raise MalformedMessage(f"string of {length} bytes, at most {max_bytes}")
        raw = self._take(length)
        if ascii_only and not set(raw) <= _PRINTABLE_ASCII:
            raise MalformedMessage("identifier with bytes outside printable ASCII")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedMessage("string is not valid UTF-8") from exc

    def blob(self, *, max_bytes: int) -> bytes:
        length = self.u16()
        if length > max_bytes:
            raise MalformedMessage(f"payload of {length} bytes, at most {max_bytes}")
        return self._take(length)

    def rest(self) -> bytes:
        """Everything left (a segment's data)."""
        return self._take(len(self._data) - self._pos)

    def end(self) -> None:
        """Version 1 has no optional tail: trailing bytes mean a framing error or another version."""
        if self._pos != len(self._data):
            raise MalformedMessage(f"{len(self._data) - self._pos} unexpected trailing bytes")

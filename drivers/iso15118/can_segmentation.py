"""Cutting a bridge message into classic 8-byte CAN frames and putting it back together (no I/O).

The scheme is ISO-TP-like but without flow control: the link is point to point and a receiver buffers
a whole message (at most 4095 bytes), so the sender never has to wait. What flow control would have
caught, the receiver detects instead: a sequence number on every continuation frame, and a CRC of the
whole message in the first frame (a loss of exactly 16 frames keeps the sequence numbers plausible).
A detected loss is reported as :data:`LOST` so the station can ask the module to repeat its state.

Byte 0 of every frame (the PCI) says what the frame is:

* ``0x0L`` single frame: L (1..7) message bytes follow.
* ``0x10`` first frame: total length (u16), CRC-16/CCITT-FALSE of the message (u16), 3 message bytes.
* ``0x2S`` continuation frame: sequence S (1, 2, ... 15, 0, 1, ...), up to 7 message bytes.
"""

from __future__ import annotations

import binascii
import struct
from typing import Final

from drivers.iso15118.messages import MAX_MESSAGE_BYTES
from drivers.iso15118.transport import LOST, Lost

SINGLE: Final = 0x00
FIRST: Final = 0x10
CONSECUTIVE: Final = 0x20
_SINGLE_MAX: Final = 7
_FIRST_DATA: Final = 3
_CONSECUTIVE_DATA: Final = 7


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF; check value of b"123456789" is 0x29B1)."""
    return binascii.crc_hqx(data, 0xFFFF)


def segment(message: bytes) -> list[bytes]:
    """The CAN data fields that carry ``message``, in sending order."""
    if not 1 <= len(message) <= MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {len(message)} bytes, must be 1..{MAX_MESSAGE_BYTES}")
    if len(message) <= _SINGLE_MAX:
        return [bytes([SINGLE | len(message)]) + message]
    frames = [bytes([FIRST]) + struct.pack(">HH", len(message), crc16(message)) + message[:_FIRST_DATA]]
    rest = message[_FIRST_DATA:]
    for index, start in enumerate(range(0, len(rest), _CONSECUTIVE_DATA), start=1):
        frames.append(bytes([CONSECUTIVE | (index & 0x0F)]) + rest[start : start + _CONSECUTIVE_DATA])
    return frames


class Reassembler:
    """Receiver state for one direction: feed it every frame's data, take the completed messages."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._expected_length = 0
        self._expected_crc = 0
        self._next_seq = 0
        self._active = False

    def _abort(self) -> list[bytes | Lost]:
        was_active = self._active
        self._active = False
        self._buf.clear()
        return [LOST] if was_active else []

    def feed(self, data: bytes) -> list[bytes | Lost]:
        """Messages completed by this frame, and :data:`LOST` for each transfer known to be broken."""
        if not data:
            return [LOST]
        kind, low = data[0] & 0xF0, data[0] & 0x0F
        if kind == SINGLE:
            if not 1 <= low <= _SINGLE_MAX or len(data) < 1 + low:
                return [LOST]
            # The peer sends whole messages one after the other: a single frame inside a transfer
            # means the transfer was abandoned.
            return [*self._abort(), bytes(data[1 : 1 + low])]
        if kind == FIRST:
            lost = self._abort()
            if low != 0 or len(data) < 8:
                return [*lost, LOST]
            length, crc = struct.unpack(">HH", data[1:5])
            if not _SINGLE_MAX < length <= MAX_MESSAGE_BYTES:
                return [*lost, LOST]
            self._buf += data[5:8]
            self._expected_length, self._expected_crc = length, crc
            self._next_seq, self._active = 1, True
            return lost
        if kind == CONSECUTIVE:
            if not self._active:
                return [LOST]  # the first frame of this transfer was lost
            if low != self._next_seq or len(data) < 2:
                return self._abort()
            self._buf += data[1 : 1 + min(_CONSECUTIVE_DATA, self._expected_length - len(self._buf))]
            self._next_seq = (self._next_seq + 1) & 0x0F
            if len(self._buf) < self._expected_length:
                return []
            message = bytes(self._buf)
            self._active = False
            self._buf.clear()
            return [message] if crc16(message) == self._expected_crc else [LOST]
        return [LOST]

"""PN532 host-link frames (UM0701-02 section 6.2): encoding, and a resynchronising stream decoder.

The same frames travel over I2C, SPI and HSU (UART), so this module knows nothing of transports.
A normal information frame is ``00 00 FF LEN LCS TFI PD0..PDn DCS 00`` with ``LEN + LCS == 0`` and
``TFI + PD0 + .. + PDn + DCS == 0`` (mod 256); frames longer than 255 bytes use the extended form
``00 00 FF FF FF LENM LENL LCS ...``. The ACK and NACK frames carry no data. The preamble may be
any number of ``00`` bytes, so the decoder looks for the ``00 FF`` start code and skips anything
else: that is how a host resynchronises after line noise or a half-read frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto
from typing import Final, TypeAlias

START_CODE: Final = b"\x00\xff"
PREAMBLE: Final = b"\x00"
POSTAMBLE: Final = b"\x00"
#: Sent by the PN532 when a command frame was received; sent by the host it aborts the command.
ACK: Final = b"\x00\x00\xff\x00\xff\x00"
#: Sent by the host only: asks the PN532 to send its last response again (e.g. after a bad DCS).
NACK: Final = b"\x00\x00\xff\xff\x00\x00"
HOST_TO_PN532: Final = 0xD4
PN532_TO_HOST: Final = 0xD5
#: TFI of the "syntax error" frame (``00 00 FF 01 FF 7F 81 00``): an application-level error.
ERROR_TFI: Final = 0x7F
#: The firmware accepts at most 265 bytes of TFI + data (extended frame).
MAX_FRAME_DATA: Final = 265


def checksum(data: bytes) -> int:
    """The byte that makes the sum of ``data`` plus itself zero modulo 256 (both LCS and DCS)."""
    return -sum(data) & 0xFF


def encode_frame(tfi: int, data: bytes) -> bytes:
    """One information frame carrying ``tfi`` and ``data`` (the command code first).

    Uses the normal frame up to 255 bytes of TFI + data, the extended frame above that.
    Raises ValueError when the payload is larger than the PN532 accepts.
    """
    body = bytes([tfi]) + data
    length = len(body)
    if length > MAX_FRAME_DATA:
        raise ValueError(f"frame data too long: {length} bytes (at most {MAX_FRAME_DATA} with TFI)")
    if length <= 0xFF:
        header = bytes([length, checksum(bytes([length]))])
    else:
        size = length.to_bytes(2, "big")
        header = b"\xff\xff" + size + bytes([checksum(size)])
    return PREAMBLE + START_CODE + header + body + bytes([checksum(body)]) + POSTAMBLE


def encode_command(command: int, params: bytes = b"") -> bytes:
    """A host-to-PN532 command frame (TFI D4)."""
    return encode_frame(HOST_TO_PN532, bytes([command]) + params)


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded information frame: its TFI and the data after it (command code first)."""

    tfi: int
    data: bytes


@dataclass(frozen=True, slots=True)
class AckFrame:
    """The ACK frame."""


@dataclass(frozen=True, slots=True)
class NackFrame:
    """The NACK frame."""


@dataclass(frozen=True, slots=True)
class ChecksumMismatch:
    """A frame whose length was consistent but whose data checksum (DCS) was wrong.

    Reported rather than skipped: the host answers it with a NACK to get the frame again.
    """

    tfi: int
    data: bytes


Received: TypeAlias = Frame | AckFrame | NackFrame | ChecksumMismatch


class _Verdict(Enum):
    INCOMPLETE = auto()  # more bytes are needed
    FALSE_START = auto()  # the start code was noise


class FrameDecoder:
    """Turns a byte stream into frames, skipping garbage until the next plausible start code.

    ``skipped`` counts bytes thrown away since the decoder was created (noise, bad LCS),
    for diagnostics; ``00`` preamble and postamble bytes are not counted as garbage.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.skipped = 0

    def clear(self) -> None:
        """Forget buffered bytes (before a new command: anything pending is stale)."""
        self._buffer.clear()

    def feed(self, data: bytes) -> list[Received]:
        """Add bytes; return every complete item they finish, in order."""
        self._buffer += data
        out: list[Received] = []
        while (item := self._next()) is not None:
            out.append(item)
        return out

    def _drop(self, count: int) -> None:
        self.skipped += sum(1 for b in self._buffer[:count] if b != 0x00)
        del self._buffer[:count]

    def _next(self) -> Received | None:
        while True:
            start = self._buffer.find(START_CODE)
            if start < 0:
                # Keep a trailing 00: it may be the first half of a start code split across reads.
                self._drop(len(self._buffer) - 1 if self._buffer.endswith(b"\x00") else len(self._buffer))
                return None
            self._drop(start)
            item = self._decode_at_start()
            if item is _Verdict.INCOMPLETE:
                return None
            if item is _Verdict.FALSE_START:
                self._drop(len(START_CODE))  # look for the next start code
                continue
            return item

    def _decode_at_start(self) -> Received | _Verdict:
        """Decode the frame starting at ``_buffer[0:2] == 00 FF``."""
        buf = self._buffer
        if len(buf) < 4:
            return _Verdict.INCOMPLETE
        length, lcs = buf[2], buf[3]
        if (length, lcs) == (0x00, 0xFF):
            del buf[:4]
            return AckFrame()
        if (length, lcs) == (0xFF, 0x00):
            del buf[:4]
            return NackFrame()
        header = 4
        if (length, lcs) == (0xFF, 0xFF):  # extended frame
            if len(buf) < 7:
                return _Verdict.INCOMPLETE
            if checksum(bytes(buf[4:6])) != buf[6]:
                return _Verdict.FALSE_START
            length, header = int.from_bytes(buf[4:6], "big"), 7
        elif (length + lcs) & 0xFF:
            return _Verdict.FALSE_START
        if length == 0 or length > MAX_FRAME_DATA:
            return _Verdict.FALSE_START
        end = header + length + 1  # TFI + data, then DCS
        if len(buf) < end:
            return _Verdict.INCOMPLETE
        body = bytes(buf[header : end - 1])
        dcs = buf[end - 1]
        del buf[:end]
        if checksum(body) != dcs:
            return ChecksumMismatch(body[0], body[1:])
        return Frame(body[0], body[1:])


def decode_frame(raw: bytes) -> Received:
    """Decode exactly one frame from ``raw`` (preamble and postamble optional).

    Raises ValueError when ``raw`` holds no complete, well-formed frame or more than one.
    """
    decoder = FrameDecoder()
    items = decoder.feed(raw)
    if len(items) != 1 or decoder.skipped:
        raise ValueError(f"not exactly one well-formed PN532 frame: {raw.hex(' ')}")
    return items[0]

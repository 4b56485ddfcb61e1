"""Framing of the safety-MCU UART link (docs/safety-mcu-protocol.md, section "Framing").

A frame is::

    SOF  LEN  ~LEN  TYPE  SEQ  PAYLOAD[LEN]  CRC_HI  CRC_LO
    A5   n    n^FF  t     s    ...           CRC-16/CCITT-FALSE over LEN .. PAYLOAD

The length travels with its complement so that a corrupted length is caught before the receiver
waits for bytes that will never form a frame, and the payload is capped at :data:`MAX_PAYLOAD` so a
false start costs at most one short frame of buffering. The decoder never trusts a candidate until
its CRC matches: on any mismatch it drops only the start byte and rescans, so a good frame that
follows (or hides inside) garbage is still found.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Final

SOF: Final = 0xA5
MAX_PAYLOAD: Final = 64
#: Bytes around the payload: SOF, LEN, ~LEN, TYPE, SEQ and the two CRC bytes.
OVERHEAD: Final = 7
MAX_FRAME: Final = MAX_PAYLOAD + OVERHEAD
_HEADER: Final = 5  # SOF LEN ~LEN TYPE SEQ


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR); check value 0x29B1.

    ``binascii.crc_hqx`` is exactly this CRC when seeded with 0xFFFF, and runs in C.
    """
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as the link carries it; ``type`` stays an int so unknown types can be represented."""

    type: int
    seq: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.type <= 0xFF or not 0 <= self.seq <= 0xFF:
            raise ValueError(f"frame type {self.type} / seq {self.seq} must be one byte each")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload of {len(self.payload)} bytes exceeds {MAX_PAYLOAD}")


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame`` on the wire."""
    n = len(frame.payload)
    body = bytes((n, n ^ 0xFF, frame.type, frame.seq)) + frame.payload
    return bytes((SOF,)) + body + crc16_ccitt_false(body).to_bytes(2, "big")


class FrameDecoder:
    """Incremental decoder: bytes in, whole frames out, resynchronising after garbage.

    Counters (``bytes_discarded``, ``frames_rejected``) let the owner tell a silent peer from one
    that talks garbage. Not thread-safe: one reader feeds it.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.frames_decoded = 0
        self.frames_rejected = 0  # candidates with a bad length check, a bad CRC, or truncated
        self.bytes_discarded = 0

    @property
    def pending(self) -> int:
        """Bytes buffered towards a frame not yet complete."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame they complete, in order."""
        self._buf += data
        return self._scan()

    def flush_partial(self) -> list[Frame]:
        """The line went idle mid-frame: that frame is truncated. Rescan past it for any whole frame.

        A sender writes a frame back to back, so idle time inside a frame means the start byte was
        garbage (or the frame's tail was lost); a frame embedded in the buffered bytes is still found.
        """
        frames: list[Frame] = []
        while self._buf:
            self._reject_start()
            frames += self._scan()
        return frames

    def _reject_start(self) -> None:
        del self._buf[0]
        self.frames_rejected += 1
        self.bytes_discarded += 1

    def _scan(self) -> list[Frame]:
        frames: list[Frame] = []
        buf = self._buf
        while buf:
            start = buf.find(SOF)
            if start < 0:
                self.bytes_discarded += len(buf)
                buf.clear()
                break
            if start:
                self.bytes_discarded += start
                del buf[:start]
            if len(buf) < 3:
                break
            n = buf[1]
            if buf[2] != n ^ 0xFF or n > MAX_PAYLOAD:
                self._reject_start()
                continue
            total = n + OVERHEAD
            if len(buf) < total:
                break
            body = bytes(buf[1 : _HEADER + n])
            if crc16_ccitt_false(body) != int.from_bytes(buf[_HEADER + n : total], "big"):
                self._reject_start()
                continue
            frames.append(Frame(buf[3], buf[4], bytes(buf[_HEADER : _HEADER + n])))
            self.frames_decoded += 1
            del buf[:total]
        return frames

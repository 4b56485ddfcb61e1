"""Framing of bridge messages on a byte stream (UART, USB serial, pty), no I/O.

A frame is ``A5 | length (u16, 1..4095) | message | CRC-16/CCITT-FALSE over length and message``.
There is no byte stuffing: a receiver that lost sync hunts for the next ``A5`` and lets the length
and CRC decide. Two things make the hunt safe:

* a header or CRC that does not check out costs only its first byte: the search restarts at the next
  byte, so a real frame hidden behind a false start is still found;
* a frame that stops arriving (a false ``A5`` announcing 4000 bytes, a peer reset mid-frame) is given
  up after a gap allowance, so it cannot hold back the frames after it until 4000 bytes of them pile up.
"""

from __future__ import annotations

import struct
from typing import Final

from drivers.iso15118.can_segmentation import crc16
from drivers.iso15118.messages import MAX_MESSAGE_BYTES
from drivers.iso15118.transport import LOST, Lost

START: Final = 0xA5
_HEADER: Final = 3  # start byte, u16 length
_TRAILER: Final = 2  # u16 CRC
#: Slack on top of the transmission time before a stalled partial frame is given up (OS and USB latency).
_GAP_ALLOWANCE_S: Final = 0.1


def frame(message: bytes) -> bytes:
    """The bytes that carry ``message`` on the line."""
    if not 1 <= len(message) <= MAX_MESSAGE_BYTES:
        raise ValueError(f"message of {len(message)} bytes, must be 1..{MAX_MESSAGE_BYTES}")
    length = struct.pack(">H", len(message))
    return bytes([START]) + length + message + struct.pack(">H", crc16(length + message))


class FrameDecoder:
    """Receiver state for one byte stream: feed it what arrives, take the messages.

    ``byte_time_s`` is the time one byte takes on the line (10 bits / baud rate); it sizes the wait
    for the rest of a partial frame.
    """

    def __init__(self, byte_time_s: float) -> None:
        self._buf = bytearray()
        self._byte_time_s = byte_time_s
        self._partial_since: float | None = None
        self.skipped_bytes = 0  # noise between frames, for the logs

    def feed(self, chunk: bytes, now: float) -> list[bytes | Lost]:
        """Messages completed by ``chunk`` (received at monotonic time ``now``), LOST for bad frames."""
        self._buf += chunk
        return self._scan(now)

    def expire(self, now: float) -> list[bytes | Lost]:
        """Give up a partial frame that stopped arriving; call when a receive timed out."""
        return self._scan(now)

    def _scan(self, now: float) -> list[bytes | Lost]:
        out: list[bytes | Lost] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                self.skipped_bytes += len(self._buf)
                self._buf.clear()
                break
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < _HEADER:
                # A start byte whose length has not arrived is a partial frame too: its clock starts now,
                # else a false start just before a silence would swallow the header of the next real frame.
                if self._stalled(now, _HEADER):
                    out.append(LOST)
                    del self._buf[:1]
                    continue
                break
            length = struct.unpack(">H", self._buf[1:3])[0]
            if not 1 <= length <= MAX_MESSAGE_BYTES:
                out.append(LOST)
                del self._buf[:1]
                self._partial_since = None  # the clock was this false start's, not the next candidate's
                continue
            total = _HEADER + length + _TRAILER
            if len(self._buf) < total:
                if not self._stalled(now, total):
                    break
                out.append(LOST)  # stalled: give up its first byte, hunt again from the next one
                del self._buf[:1]
                continue
            self._partial_since = None
            body = bytes(self._buf[1 : _HEADER + length])
            (crc,) = struct.unpack(">H", self._buf[_HEADER + length : total])
            if crc16(body) != crc:
                out.append(LOST)
                del self._buf[:1]
                continue
            out.append(body[2:])
            del self._buf[:total]
        return out

    def _stalled(self, now: float, total: int) -> bool:
        """Whether the partial frame at the head of the buffer, `total` bytes long, stopped arriving (its
        clock starts at the first call); a stalled one's clock is reset for the hunt that follows."""
        if self._partial_since is None:
            self._partial_since = now
        if now - self._partial_since <= _GAP_ALLOWANCE_S + total * self._byte_time_s:
            return False
        self._partial_since = None
        return True

"""Version 2 segmentation: messages longer than one transport message (4095 bytes) travel as SEGMENTs.

A SEGMENT is itself a bridge message (type 0x03, both directions), so both transports carry it
unchanged and each segment keeps its transport's CRC::

    03 | transfer u8 (1-255) | index u8 (0..count-1) | count u8 (2..MAX_SEGMENTS) | data (1..4091 bytes)

The sender sends the segments of one message back to back, in order, and nothing else between them;
the receiver joins their data and decodes the result as one message. Anything else (a gap, another
transfer, a message that is not a SEGMENT in the middle, a transfer longer than MAX_LONG_MESSAGE_BYTES,
or no next segment within the link's timeout) drops the transfer: the receiver counts it as one lost
message, exactly as a broken CAN transfer or a bad serial frame in version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from drivers.iso15118.codec import MalformedMessage, Reader, Writer
from drivers.iso15118.messages import MAX_LONG_MESSAGE_BYTES, MAX_MESSAGE_BYTES

SEGMENT_TYPE: Final = 0x03
_HEADER: Final = 4  # type, transfer, index, count
MAX_SEGMENT_DATA: Final = MAX_MESSAGE_BYTES - _HEADER
MAX_SEGMENTS: Final = -(-MAX_LONG_MESSAGE_BYTES // MAX_SEGMENT_DATA)  # 17


def split(data: bytes, transfer_id: int) -> list[bytes]:
    """The transport messages that carry ``data``: itself when it fits, else its SEGMENTs."""
    if len(data) <= MAX_MESSAGE_BYTES:
        return [data]
    if len(data) > MAX_LONG_MESSAGE_BYTES:
        raise ValueError(f"message of {len(data)} bytes, at most {MAX_LONG_MESSAGE_BYTES}")
    if not 1 <= transfer_id <= 255:
        raise ValueError(f"transfer id {transfer_id} outside 1..255")
    chunks = [data[i : i + MAX_SEGMENT_DATA] for i in range(0, len(data), MAX_SEGMENT_DATA)]
    return [
        Writer(SEGMENT_TYPE).u8(transfer_id).u8(index).u8(len(chunks)).raw(chunk).done()
        for index, chunk in enumerate(chunks)
    ]


@dataclass
class _Transfer:
    transfer_id: int
    count: int
    parts: list[bytes]
    deadline: float


class Reassembler:
    """Joins SEGMENTs back into messages; one transfer at a time per direction (the senders' rule).

    Dropped transfers are collected in :attr:`broken` (reasons, for the log); the caller counts each
    as a lost message and empties the list.
    """

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._transfer: _Transfer | None = None
        self.broken: list[str] = []

    @property
    def busy(self) -> bool:
        """True while a transfer is under way."""
        return self._transfer is not None

    def _drop(self, reason: str) -> None:
        self._transfer = None
        self.broken.append(reason)

    def expire(self, now: float) -> None:
        """Drop a transfer whose next segment is overdue."""
        if self._transfer is not None and now > self._transfer.deadline:
            self._drop("segmented transfer timed out")

    def feed(self, data: bytes, now: float) -> bytes | None:
        """The message ``data`` completes (``data`` itself when it is no SEGMENT), or None.

        None while a transfer is incomplete and when ``data`` broke it (see :attr:`broken`).
        """
        self.expire(now)
        if not data or data[0] != SEGMENT_TYPE:
            if self._transfer is not None:
                self._drop("another message in the middle of a segmented transfer")
            return data
        try:
            reader = Reader(data[1:])
            transfer_id, index, count = reader.u8(), reader.u8(), reader.u8()
            chunk = reader.rest()
        except MalformedMessage:
            self._drop("truncated segment header")
            return None
        if transfer_id == 0 or not 2 <= count <= MAX_SEGMENTS or index >= count or not chunk:
            self._drop(f"bad segment header transfer={transfer_id} index={index} count={count}")
            return None
        current = self._transfer
        if index == 0:
            if current is not None:  # its sender gave up on it: it is lost, the new one counts
                self._drop(f"transfer {current.transfer_id} abandoned for transfer {transfer_id}")
            self._transfer = current = _Transfer(transfer_id, count, [], 0.0)
        elif current is None or (transfer_id, count, index) != (current.transfer_id, current.count, len(current.parts)):
            self._drop(f"segment {index}/{count} of transfer {transfer_id} out of sequence")
            return None
        current.parts.append(chunk)
        current.deadline = now + self._timeout_s
        if sum(map(len, current.parts)) > MAX_LONG_MESSAGE_BYTES:
            self._drop("segmented transfer too long")
            return None
        if len(current.parts) < count:
            return None
        self._transfer = None
        return b"".join(current.parts)

"""Bridge messages over a python-can bus: one 11-bit id per direction, segmented into classic frames.

python-can's calls block (``recv`` waits, ``send`` may wait for a TX slot), so every call runs in a
worker thread. Reception deliberately does not use ``can.Notifier``: on buses with a file descriptor
(socketcan) the Notifier reads in an event-loop callback, and a receive error there goes to the loop's
exception handler, never to us; ``recv`` in a thread lets a dead bus surface as a DriverError where the
bridge can report it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import can

from drivers.errors import DriverError
from drivers.iso15118.can_segmentation import Reassembler, segment
from drivers.iso15118.transport import Lost

log = logging.getLogger(__name__)

#: Longest single wait in the receive thread: bounds how long a closing bridge waits for the thread.
_MAX_RECV_WAIT_S: Final = 0.25
#: Frames taken per thread hop once traffic flows (a contract is a few hundred frames).
_BATCH: Final = 64
_SEND_TIMEOUT_S: Final = 0.5


@contextmanager
def can_errors(device: str) -> Iterator[None]:
    """Turn python-can's exceptions (CanError, OSError, bad arguments) into a DriverError."""
    try:
        yield
    except can.CanError as exc:
        raise DriverError(device, str(exc) or type(exc).__name__) from exc
    except TimeoutError as exc:
        raise DriverError(device, "no answer (timed out)") from exc
    except OSError as exc:
        raise DriverError(device, exc.strerror or str(exc) or type(exc).__name__) from exc
    except (ValueError, TypeError, ImportError) as exc:  # unknown channel syntax, missing vendor library
        raise DriverError(device, f"{type(exc).__name__}: {exc}") from exc


class CanTransport:
    """A :class:`~drivers.iso15118.transport.MessageTransport` on CAN: sends on ``tx_id``, hears ``rx_id``.

    The station sends on ``base_id`` and listens on ``base_id + 1``; the emulated module the reverse.
    """

    def __init__(
        self, *, interface: str, channel: str, bitrate: int, tx_id: int, rx_id: int, device: str | None = None
    ) -> None:
        self._interface = interface
        self._channel = channel
        self._bitrate = bitrate
        self._tx_id = tx_id
        self._rx_id = rx_id
        self._device = device or f"iso15118 {interface}:{channel}"
        self._bus: can.BusABC | None = None
        self._reassembler = Reassembler()

    @property
    def device(self) -> str:
        return self._device

    async def open(self) -> None:
        if self._bus is not None:
            return
        filters: list[Any] = [{"can_id": self._rx_id, "can_mask": 0x7FF, "extended": False}]
        with can_errors(self._device):
            self._bus = await asyncio.to_thread(
                can.Bus,
                interface=self._interface,
                channel=self._channel,
                bitrate=self._bitrate,
                can_filters=filters,
            )
        self._reassembler = Reassembler()

    async def close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is None:
            return
        try:
            await asyncio.to_thread(bus.shutdown)
        except Exception as exc:  # a bus that is already broken may fail to close; nothing to do about it
            log.debug("device=%s close failed: %s", self._device, exc)

    def _open_bus(self) -> can.BusABC:
        if self._bus is None:
            raise DriverError(self._device, "CAN bus not open")
        return self._bus

    async def send(self, message: bytes) -> None:
        await self.send_raw(segment(message))

    async def send_raw(self, chunks: Sequence[bytes]) -> None:
        bus = self._open_bus()
        frames = [can.Message(arbitration_id=self._tx_id, is_extended_id=False, data=chunk) for chunk in chunks]
        with can_errors(self._device):
            await asyncio.to_thread(self._send_all, bus, frames)

    @staticmethod
    def _send_all(bus: can.BusABC, frames: list[can.Message]) -> None:
        for frame in frames:
            bus.send(frame, timeout=_SEND_TIMEOUT_S)

    async def receive(self, timeout: float) -> list[bytes | Lost]:
        bus = self._open_bus()
        with can_errors(self._device):
            frames = await asyncio.to_thread(self._recv_batch, bus, min(max(timeout, 0.0), _MAX_RECV_WAIT_S))
        out: list[bytes | Lost] = []
        for frame in frames:
            # The filter is a hint some interfaces ignore; an error or remote frame carries no message.
            if frame.arbitration_id != self._rx_id or frame.is_extended_id or frame.is_error_frame:
                continue
            if frame.is_remote_frame:
                continue
            out.extend(self._reassembler.feed(bytes(frame.data)))
        return out

    @staticmethod
    def _recv_batch(bus: can.BusABC, timeout: float) -> list[can.Message]:
        first = bus.recv(timeout)
        if first is None:
            return []
        frames = [first]
        while len(frames) < _BATCH and (more := bus.recv(0)) is not None:
            frames.append(more)
        return frames

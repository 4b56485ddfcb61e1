"""Bridge messages over a byte stream: a serial port (pyserial) or anything with its small surface.

Reading uses the event loop's readiness callback on the stream's file descriptor (POSIX: the target is
embedded Linux) rather than a polling thread: no latency floor, no thread per port, and a read error
lands in our callback where it becomes a DriverError of the next :meth:`receive`. Writes may block on a
full output buffer, so they run in a worker thread, bounded by the port's write timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from drivers.errors import DriverError, device_errors
from drivers.iso15118.serial_framing import FrameDecoder, frame
from drivers.iso15118.transport import Lost

log = logging.getLogger(__name__)

_READ_CHUNK: Final = 4096


class ByteStream(Protocol):
    """The part of ``serial.Serial`` the transport uses; non-blocking reads."""

    def fileno(self) -> int: ...

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes, /) -> int | None: ...

    def close(self) -> None: ...


class SerialTransport:
    """A :class:`~drivers.iso15118.transport.MessageTransport` on a byte stream, length+CRC framed.

    ``open_stream`` opens the device (called in a worker thread); ``byte_time_s`` is the time of one
    byte on the line (10 / baud rate).
    """

    def __init__(
        self,
        *,
        open_stream: Callable[[], ByteStream],
        device: str,
        byte_time_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._open_stream = open_stream
        self._device = device
        self._byte_time_s = byte_time_s
        self._clock = clock
        self._stream: ByteStream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decoder = FrameDecoder(byte_time_s)
        self._received: list[bytes | Lost] = []
        self._error: DriverError | None = None
        self._wakeup = asyncio.Event()

    @property
    def device(self) -> str:
        return self._device

    async def open(self) -> None:
        if self._stream is not None:
            return
        with device_errors(self._device):
            stream = await asyncio.to_thread(self._open_stream)
        self._stream, self._loop = stream, asyncio.get_running_loop()
        self._decoder = FrameDecoder(self._byte_time_s)
        self._received.clear()
        self._error = None
        self._loop.add_reader(stream.fileno(), self._on_readable)

    async def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(stream.fileno())
        try:
            await asyncio.to_thread(stream.close)
        except Exception as exc:  # closing a vanished device can fail; nothing left to release
            log.debug("device=%s close failed: %s", self._device, exc)

    def _on_readable(self) -> None:
        stream = self._stream
        if stream is None:
            return
        try:
            chunk = stream.read(_READ_CHUNK)
        except OSError as exc:  # includes serial.SerialException: the device went away
            self._error = DriverError(self._device, f"read failed: {exc.strerror or exc}")
            if self._loop is not None:
                self._loop.remove_reader(stream.fileno())  # it would report "readable" forever
        else:
            self._received.extend(self._decoder.feed(chunk, self._clock()))
        self._wakeup.set()

    def _check(self) -> ByteStream:
        if self._error is not None:
            raise self._error
        if self._stream is None:
            raise DriverError(self._device, "port not open")
        return self._stream

    async def send(self, message: bytes) -> None:
        await self.send_raw([frame(message)])

    async def send_raw(self, chunks: Sequence[bytes]) -> None:
        stream = self._check()
        with device_errors(self._device):
            await asyncio.to_thread(stream.write, b"".join(chunks))

    async def receive(self, timeout: float) -> list[bytes | Lost]:
        self._check()
        if not self._received:
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):
                    await self._wakeup.wait()
        self._check()
        out, self._received = self._received, []
        out.extend(self._decoder.expire(self._clock()))
        return out

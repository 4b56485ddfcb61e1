"""One open serial port carrying safety-MCU frames between a reader thread and the event loop.

pyserial is blocking, so a dedicated thread reads and decodes, then hops each frame to the loop
with ``call_soon_threadsafe``; writes go through ``asyncio.to_thread``. A dedicated thread rather
than a ``to_thread`` per read keeps the loop's default executor free for other drivers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from typing import Final

import serial  # type: ignore[import-untyped]  # pyserial ships no type hints (types-pyserial is not a dependency)

from drivers.errors import DriverError, device_errors
from drivers.pilot.framing import Frame, FrameDecoder, encode_frame

log = logging.getLogger(__name__)

#: How long a read waits for the first byte; an idle line for this long ends a truncated frame.
#: A sender writes a frame back to back, so 20 ms is many character times even at 9600 baud.
IDLE_GAP_S: Final = 0.02


@dataclass(frozen=True, slots=True)
class _LinkLost:
    problem: str


def _close_opened(opening: asyncio.Future[serial.Serial]) -> None:
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()


class SerialFrameLink:
    """A serial port opened for frames: :meth:`receive` yields decoded frames, :meth:`send` writes one.

    Owns the port: the reader thread closes it when :meth:`close` stops the thread.
    """

    def __init__(self, port: serial.Serial, device: str, loop: asyncio.AbstractEventLoop) -> None:
        self._port = port
        self._device = device
        self._loop = loop
        self._decoder = FrameDecoder()
        self._inbox: asyncio.Queue[Frame | _LinkLost] = asyncio.Queue()
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._read_loop, name=f"{device} reader", daemon=True)

    @classmethod
    async def open(cls, path: str, baudrate: int, *, write_timeout_s: float, device: str) -> SerialFrameLink:
        """Open ``path`` (8N1, no flow control) and start reading; DriverError when it cannot be opened."""
        opening = asyncio.ensure_future(
            asyncio.to_thread(serial.Serial, path, baudrate, timeout=IDLE_GAP_S, write_timeout=write_timeout_s)
        )
        try:
            with device_errors(device):
                port = await asyncio.shield(opening)
        except asyncio.CancelledError:
            # The thread finishes the open anyway: close what it opens rather than leak the fd.
            opening.add_done_callback(_close_opened)
            raise
        link = cls(port, device, asyncio.get_running_loop())
        link._thread.start()
        return link

    @property
    def frames_rejected(self) -> int:
        """Candidate frames dropped (bad length check, bad CRC, truncated) since the port was opened."""
        return self._decoder.frames_rejected

    @property
    def bytes_discarded(self) -> int:
        """Bytes that belonged to no frame since the port was opened."""
        return self._decoder.bytes_discarded

    async def receive(self) -> Frame:
        """The next frame; DriverError once the port failed (unplugged adapter, closed pty)."""
        item = await self._inbox.get()
        if isinstance(item, _LinkLost):
            self._inbox.put_nowait(item)  # every later receive fails the same way
            raise DriverError(self._device, item.problem)
        return item

    async def send(self, frame: Frame) -> None:
        """Write one frame; DriverError when the port fails or the write times out."""
        data = encode_frame(frame)
        with device_errors(self._device):
            await asyncio.to_thread(self._write, data)

    def close(self) -> None:
        """Stop the reader thread, which then closes the port; returns at once, safe to call twice."""
        self._stop.set()
        try:
            self._port.cancel_read()
        except (OSError, AttributeError):
            pass  # already closed, or a platform without cancel_read: the read times out shortly

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self._stop.is_set():
                raise OSError("port closed")
            self._port.write(data)

    def _read_loop(self) -> None:
        try:
            while not self._stop.is_set():
                data: bytes = self._port.read(max(1, self._port.in_waiting))
                if data:
                    frames = self._decoder.feed(data)
                elif self._decoder.pending:
                    frames = self._decoder.flush_partial()
                else:
                    continue
                for frame in frames:
                    self._post(frame)
        except (OSError, TypeError, ValueError) as exc:  # pyserial raises these when the fd goes away
            if not self._stop.is_set():
                log.warning("device=%s read failed: %s", self._device, exc)
                self._post(_LinkLost(f"read failed: {exc}"))
        finally:
            with self._write_lock:
                self._stop.set()
                try:
                    self._port.close()
                except OSError:
                    pass

    def _post(self, item: Frame | _LinkLost) -> None:
        try:
            self._loop.call_soon_threadsafe(self._inbox.put_nowait, item)
        except RuntimeError:  # the loop closed under us: nobody is listening any more
            self._stop.set()

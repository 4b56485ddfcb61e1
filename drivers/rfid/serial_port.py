"""A blocking, thread-safe wrapper around one pyserial port, as the RFID readers use it.

The readers call it from worker threads (asyncio.to_thread) and close it from another; the lock
makes close wait for a read in flight instead of pulling the descriptor out from under it. Every
read is bounded by a short pyserial timeout so that wait is short too.

pyserial lets ``termios.error`` (not an OSError) escape when a tty vanishes under an open port
(``reset_input_buffer`` on an unplugged USB adapter); it is translated here so that callers need
to handle OSError only.
"""

from __future__ import annotations

import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import serial  # type: ignore[import-untyped]  # pyserial ships no type information

#: pyserial read timeout: the longest a read holds the lock, and the granularity of deadlines.
READ_SLICE_S = 0.02


@contextmanager
def _termios_as_oserror() -> Iterator[None]:
    try:
        yield
    except termios.error as exc:
        errno_and_message = exc.args if len(exc.args) == 2 else (None, str(exc) or "termios error")
        raise OSError(*errno_and_message) from exc


class SerialPort:
    """One serial device opened lazily; every method raises OSError (pyserial's SerialException
    is one) when the device is missing or gone."""

    def __init__(self, port: str, baudrate: int) -> None:
        self.port = port
        self.baudrate = baudrate
        self._serial: Any = None  # serial.Serial once open
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        return self._serial is not None

    def open(self) -> None:
        """Open the device if it is not open yet (raw 8N1, as pyserial configures a port)."""
        with self._lock, _termios_as_oserror():
            if self._serial is None:
                # exclusive: a second process on the same reader (a stray terminal) would steal its bytes.
                self._serial = serial.Serial(
                    self.port, self.baudrate, timeout=READ_SLICE_S, write_timeout=1.0, exclusive=True
                )

    def close(self) -> None:
        with self._lock:
            device, self._serial = self._serial, None
            if device is not None:
                try:
                    device.close()
                except (OSError, termios.error):
                    pass  # already gone: nothing left to release

    def _device(self) -> Any:
        if self._serial is None:
            raise OSError(f"{self.port} is not open")
        return self._serial

    def write(self, data: bytes) -> None:
        with self._lock, _termios_as_oserror():
            device = self._device()
            device.write(data)
            device.flush()

    def discard_input(self) -> None:
        """Drop bytes received but not read yet (stale answers)."""
        with self._lock, _termios_as_oserror():
            self._device().reset_input_buffer()

    def read(self, max_wait_s: float) -> bytes:
        """Whatever arrives first within ``max_wait_s`` (b"" when nothing did)."""
        deadline = time.monotonic() + max_wait_s
        while True:
            with self._lock, _termios_as_oserror():
                device = self._device()
                chunk: bytes = device.read(max(1, device.in_waiting))
            if chunk or time.monotonic() >= deadline:
                return chunk

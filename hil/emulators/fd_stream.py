"""A byte stream on a raw file descriptor: the master end of a pty, where an emulator plays the device.

It has the surface of :class:`drivers.iso15118.serial_transport.ByteStream` (the part of ``serial.Serial``
the drivers use), so an emulator reuses the drivers' own transport on its side of the line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from typing import Final

_WRITE_TIMEOUT_S: Final = 1.0


class FdStream:
    """A :class:`ByteStream` on a raw file descriptor (the master end of a pty), for an emulator.

    ``owns_fd=False`` leaves closing to whoever opened the descriptor, so it is closed exactly once
    (a second ``os.close`` could hit a descriptor number already reused elsewhere).
    """

    def __init__(self, fd: int, *, owns_fd: bool = True) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._owns_fd = owns_fd

    def fileno(self) -> int:
        return self._fd

    def read(self, size: int = 1) -> bytes:
        try:
            return os.read(self._fd, size)
        except BlockingIOError:
            return b""

    def write(self, data: bytes, /) -> int:
        view = memoryview(data)
        deadline = time.monotonic() + _WRITE_TIMEOUT_S
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [self._fd], [], left)[1]:
                    raise TimeoutError(errno.ETIMEDOUT, "write timed out") from None
        return len(data)

    def close(self) -> None:
        if self._owns_fd:
            with contextlib.suppress(OSError):
                os.close(self._fd)

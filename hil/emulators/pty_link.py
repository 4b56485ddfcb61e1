"""Both ends of an emulated serial line: a raw pty pair, and a thread to serve its master side.

A driver under test opens the slave path through pyserial, exactly as it opens ``/dev/ttyAMA0``; an
emulator (anything with ``async serve(fd)``) answers on the master descriptor. Reusable by every
serial driver's emulator, not only the meter's.
"""

from __future__ import annotations

import asyncio
import os
import threading
import tty
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol


class ServesFd(Protocol):
    """An emulator that answers on a file descriptor until cancelled."""

    async def serve(self, fd: int) -> None: ...


@dataclass
class PtyLink:
    """A pty pair in raw mode: the emulator serves ``master_fd``, a driver opens ``slave_path``.

    The slave descriptor stays open for the link's life so the master never reads EIO while the
    driver has its port closed (between reconnects).
    """

    master_fd: int
    slave_fd: int
    slave_path: str

    @classmethod
    def open(cls) -> PtyLink:
        """A new pty pair, both ends raw (no echo, no line editing, 8-bit clean)."""
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        return cls(master, slave, os.ttyname(slave))

    def close(self) -> None:
        """Close both ends: a driver with the slave open sees the line go away (an unplugged adapter)."""
        for fd in (self.master_fd, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class EmulatorThread:
    """Runs an emulator's ``serve(fd)`` on its own event loop in a daemon thread.

    For HIL scripts and benchmarks, where the emulator must not share the driver's loop and CPU time.
    """

    def __init__(self, emulator: ServesFd, fd: int) -> None:
        self.emulator = emulator
        self._fd = fd
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="serial-emulator", daemon=True)

    def _main(self) -> None:
        async def body() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._ready.set()
            try:
                await self.emulator.serve(self._fd)
            except asyncio.CancelledError:
                pass

        asyncio.run(body())

    def start(self) -> EmulatorThread:
        """Start serving; returns once the emulator's loop runs."""
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("emulator thread did not start")
        return self

    def stop(self) -> None:
        """Cancel the emulator and wait for its thread."""
        if self._loop is not None and self._task is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(5)

    def __enter__(self) -> EmulatorThread:
        return self.start()

    def __exit__(self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None) -> None:
        self.stop()

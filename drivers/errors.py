"""Errors raised by drivers and by the driver registry.

A driver never lets a bare ``OSError`` (serial port gone, I2C NACK, ``TimeoutError`` of an
``asyncio.timeout``) escape: it becomes a :class:`DriverError` naming the device, which the daemon
turns into a fault event while it keeps running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from evse.errors import EvseError


class DriverError(EvseError):
    """A device did not do what it was told, or a driver could not be found or configured.

    ``device`` names the device or driver (``"sim meter evse=1"``, ``"meter.sdm630"``); the message
    is one line starting with it.
    """

    def __init__(self, device: str, problem: str) -> None:
        super().__init__(f"{device}: {problem}")
        self.device = device
        self.problem = problem

    def __reduce__(self) -> tuple[type[DriverError], tuple[str, str]]:
        # Keeps the two-argument constructor picklable (asyncio.to_thread, multiprocessing).
        return (type(self), (self.device, self.problem))


@contextmanager
def device_errors(device: str) -> Iterator[None]:
    """Turn an ``OSError`` (including ``TimeoutError``) raised inside the block into a DriverError.

    Usable around ``await`` expressions in coroutines::

        with device_errors("meter.sdm630 /dev/ttyUSB0"):
            raw = await self._bus.read_registers(...)
    """
    try:
        yield
    except TimeoutError as exc:
        raise DriverError(device, "no answer (timed out)") from exc
    except OSError as exc:
        raise DriverError(device, exc.strerror or str(exc) or type(exc).__name__) from exc

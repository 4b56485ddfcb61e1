"""Opening gpiozero devices for a driver, and turning GPIO failures into DriverError.

The pin factory is always passed in (``None`` means gpiozero's default for the machine): library code
never sets the global ``Device.pin_factory``, so tests and several boards can coexist in one process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# gpiozero ships no type information; its objects are Any here and wrapped in typed drivers.
from gpiozero import DigitalOutputDevice, GPIOZeroError, InputDevice  # type: ignore[import-untyped]

from drivers.errors import DriverError, device_errors
from drivers.gpio.faults import FaultReporter

log = logging.getLogger(__name__)

#: A gpiozero pin factory (``gpiozero.pins.mock.MockFactory()`` in tests); untyped upstream.
PinFactory = Any


@functools.cache
def _backend_errors() -> tuple[type[Exception], ...]:
    """What the GPIO back ends raise besides OSError when a line cannot be claimed or driven.

    gpiozero wraps little: lgpio raises ``lgpio.error`` for a line held by another process, and
    RPi.GPIO raises RuntimeError for missing /dev/gpiomem access.
    """
    errors: list[type[Exception]] = [GPIOZeroError, RuntimeError]
    try:
        # Present on a Raspberry Pi only, and untyped there.
        import lgpio  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        pass
    else:
        errors.append(lgpio.error)
    return tuple(errors)


@contextmanager
def gpio_errors(device: str) -> Iterator[None]:
    """Turn any GPIO failure raised inside the block into a one-line DriverError naming ``device``."""
    try:
        with device_errors(device):
            yield
    except DriverError:
        raise
    except _backend_errors() as exc:
        first_line = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise DriverError(device, f"GPIO: {first_line}") from exc


def output_device(pin: int, *, active_high: bool, pin_factory: PinFactory) -> Any:
    """An output, driven inactive from the moment it is claimed (a coil or motor never twitches on start)."""
    return DigitalOutputDevice(pin, active_high=active_high, initial_value=False, pin_factory=pin_factory)


def input_device(pin: int, *, pull_up: bool | None, active_high: bool, pin_factory: PinFactory) -> Any:
    """An input with the SoC's pull resistor as configured (``None``: floating, an external resistor).

    The polarity is applied by :class:`drivers.gpio.watched.WatchedInput`, not by gpiozero, which ties
    it to the pull; ``active_state`` is only passed where gpiozero demands it (floating inputs).
    """
    active_state = active_high if pull_up is None else None
    return InputDevice(pin, pull_up=pull_up, active_state=active_state, pin_factory=pin_factory)


def close_quietly(*devices: Any) -> None:
    """Release devices opened before a later one failed, so that a retry can claim them again."""
    for device in devices:
        if device is None:
            continue
        try:
            device.close()
        except Exception as exc:  # closing after a failure must not hide the original error
            log.debug("close=%r failed=%r", device, exc)


async def open_until_ready(
    open_pins: Callable[[], None], faults: FaultReporter, fault_name: str, retry_s: float
) -> None:
    """Call ``open_pins`` until it succeeds, reporting ``fault_name`` while it fails.

    Why retry instead of giving up: ``run`` must not end for device trouble, and the usual causes
    pass (a previous daemon still releasing the lines, udev granting /dev/gpiochip access late at
    boot). The caller clears the fault once it knows the device is fine.
    """
    while True:
        try:
            open_pins()
        except DriverError as exc:
            faults.report(fault_name, exc.problem)
        else:
            return
        await asyncio.sleep(retry_s)

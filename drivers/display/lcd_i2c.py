"""Display driver: an HD44780 character LCD on a PCF8574 I2C backpack (``display.hd44780_i2c``).

Written directly on smbus2 rather than RPLCD: RPLCD's I2C backend opens its own bus and sleeps between
every write, so it can neither take the emulated bus the tests hand in nor batch a row into one I2C
transaction, and it would add a dependency for ~60 lines of encoding (drivers/display/hd44780.py).
Writes run in a thread (blocking I2C); only rows whose text changed are rewritten.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import Field
from smbus2 import SMBus, i2c_msg

from drivers.display import hd44780
from drivers.errors import DriverError
from drivers.interfaces import DriverParams, EventSink


class I2cBus(Protocol):
    def i2c_rdwr(self, *i2c_msgs: i2c_msg) -> None: ...

    def close(self) -> None: ...


I2cBusFactory = Callable[[int], I2cBus]


class Hd44780I2cDisplay:
    """Display: ``columns`` x ``rows`` HD44780 behind a PCF8574 at ``address`` on ``/dev/i2c-<bus>``.

    A bus error is a DriverError for that ``show``; the next one opens the bus and initialises the
    controller again (an LCD that lost power comes back in 8-bit mode with a blank screen)."""

    class Params(DriverParams):
        """Board-YAML keys of ``display.hd44780_i2c``."""

        bus: int = Field(default=1, ge=0, le=255, description="I2C bus number, /dev/i2c-<bus>")
        address: int = Field(default=0x27, ge=0x08, le=0x77, description="7-bit address (0x27 PCF8574, 0x3F PCF8574A)")
        columns: int = Field(default=20, ge=8, le=40)
        rows: int = Field(default=4, ge=1, le=4)
        backlight: bool = True

    def __init__(
        self,
        evse_id: int,
        *,
        bus: int = 1,
        address: int = 0x27,
        columns: int = 20,
        rows: int = 4,
        backlight: bool = True,
        bus_factory: I2cBusFactory = SMBus,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"display.hd44780_i2c i2c-{bus} 0x{address:02X}"
        self.columns, self.rows = columns, rows
        self._bus_number, self._address, self._backlight = bus, address, backlight
        self._bus_factory = bus_factory
        self._bus: I2cBus | None = None
        self._on_screen: list[str] | None = None  # None: not initialised (or lost)
        self._lock = threading.Lock()  # one writer at a time: shows may overlap across threads

    async def run(self, sink: EventSink) -> None:
        await asyncio.Event().wait()  # nothing to poll; it writes when told

    async def show(self, text: str, language: str | None) -> None:
        lines = (text.split("\n") + [""] * self.rows)[: self.rows]
        await asyncio.to_thread(self._show, lines)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _show(self, lines: list[str]) -> None:
        with self._lock:
            try:
                if self._bus is None or self._on_screen is None:
                    self._initialise()
                assert self._on_screen is not None
                for row, line in enumerate(lines):
                    if self._on_screen[row] != line:
                        self._write(hd44780.write_row(row, line, self.columns, self._backlight))
                        self._on_screen[row] = line
            except OSError as exc:
                self._drop()
                raise DriverError(self.name, str(exc)) from exc

    def _initialise(self) -> None:
        if self._bus is None:
            self._bus = self._bus_factory(self._bus_number)
        for data, pause in hd44780.init_steps(self._backlight):
            self._write(data)
            if pause:
                time.sleep(pause)
        self._on_screen = [""] * self.rows  # the clear left every row blank

    def _write(self, data: bytes) -> None:
        assert self._bus is not None
        # One I2C write of many bytes: the PCF8574 takes each byte as the next state of its port, and at
        # 100 kHz a byte lasts ~90 us, longer than any instruction but clear and home needs.
        self._bus.i2c_rdwr(i2c_msg.write(self._address, data))

    def _drop(self) -> None:
        if self._bus is not None:
            try:
                self._bus.close()
            except OSError:
                pass
        self._bus, self._on_screen = None, None

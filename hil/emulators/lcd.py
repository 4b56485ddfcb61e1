"""An emulated HD44780 LCD behind a PCF8574 backpack: the far end of the I2C bus the display driver opens.

No kernel I2C bus exists on a test machine, so this stands in for the bus itself, as the PN532 emulation
does (hil/emulators/rfid.py): pass :meth:`Pcf8574LcdEmulation.bus_factory` as the driver's
``bus_factory``. The PCF8574 records every port byte (``port_writes``); the HD44780 model latches a nibble
on each falling edge of E and runs the instructions it assembles, so a test can check both the exact
bytes on the wire and the characters the controller ends up showing.

Hooks: ``connected = False`` (no acknowledge, as when the backpack is unplugged), ``power_cycle()`` (the
controller comes back in 8-bit mode with a blank screen, as after a brown-out of the LCD alone).
"""

from __future__ import annotations

import ctypes
import errno
import os
from dataclasses import dataclass, field
from typing import Final

from smbus2 import i2c_msg

from drivers.display import hd44780
from hil.emulators.smbus import EmulatedSMBus

I2C_M_RD: Final = 0x0001
DECODE: Final = {code: char for char, code in hd44780.ROM_A00.items()}


@dataclass
class EmulatedHd44780:
    """The controller: 80 bytes of DDRAM (two lines of 40), an address counter, the bus mode."""

    ddram: bytearray = field(default_factory=lambda: bytearray(b" " * 0x68))
    address: int = 0
    four_bit: bool = False
    display_on: bool = False
    backlight: bool = False
    high: int | None = None  # the first nibble of a byte in 4-bit mode
    instructions: list[int] = field(default_factory=list)  # every instruction executed, in order

    def port(self, previous: int, now: int) -> None:
        """The PCF8574's outputs changed from ``previous`` to ``now``."""
        self.backlight = bool(now & hd44780.BACKLIGHT)
        if previous & hd44780.ENABLE and not now & hd44780.ENABLE and not previous & hd44780.RW:
            self._latch(previous >> 4, bool(previous & hd44780.RS))

    def _latch(self, nibble: int, rs: bool) -> None:
        if not self.four_bit:
            # 8-bit mode: D0-D3 are not wired (they float low), so only the high nibble arrives.
            if not rs:
                self._instruction(nibble << 4)
            return
        if self.high is None:
            self.high = nibble
            return
        value, self.high = self.high << 4 | nibble, None
        if rs:
            self.ddram[self.address] = value
            self.address = (self.address + 1) % len(self.ddram)
        else:
            self._instruction(value)

    def _instruction(self, value: int) -> None:
        self.instructions.append(value)
        if value & 0x80:
            self.address = (value & 0x7F) % len(self.ddram)
        elif value & 0x40:
            pass  # set CGRAM address: no custom characters are used
        elif value & 0x20:
            self.four_bit = not value & 0x10
            self.high = None
        elif value & 0x10:
            pass  # cursor or display shift: not used
        elif value & 0x08:
            self.display_on = bool(value & 0x04)
        elif value & 0x04:
            pass  # entry mode: the driver sets increment without shift, the only mode modelled
        elif value & 0x02:
            self.address = 0
        elif value == hd44780.CLEAR:
            self.ddram[:] = b" " * len(self.ddram)
            self.address = 0

    def lines(self, columns: int = 20, rows: int = 4) -> list[str]:
        """What a ``columns`` x ``rows`` glass shows (blank while the display is off)."""
        if not self.display_on:
            return [" " * columns] * rows
        offsets = hd44780.row_offsets(columns)[:rows]
        return ["".join(DECODE.get(c, chr(c)) for c in self.ddram[o : o + columns]) for o in offsets]

    def power_cycle(self) -> None:
        fresh = EmulatedHd44780()
        self.ddram, self.address, self.four_bit, self.display_on, self.high = (
            fresh.ddram,
            0,
            False,
            False,
            None,
        )


class Pcf8574LcdEmulation:
    """I2C bus ``bus`` with a PCF8574 at ``address`` driving an :class:`EmulatedHd44780`."""

    def __init__(self, *, bus: int = 1, address: int = 0x27) -> None:
        self.lcd = EmulatedHd44780()
        self.bus = bus
        self.address = address
        self.connected = True
        self.port_writes = bytearray()  # every byte written to the expander's port, in order
        self.transactions = 0  # I2C write messages: a row should be one
        self.open_handles = 0
        self._port = 0xFF  # PCF8574 outputs are high after power-up

    def bus_factory(self, bus: int) -> EmulatedSMBus:
        if bus != self.bus:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), f"/dev/i2c-{bus}")
        self.open_handles += 1
        return EmulatedSMBus(self)

    def transfer(self, message: i2c_msg) -> None:
        if message.addr != self.address or not self.connected:
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        if message.flags & I2C_M_RD:
            ctypes.memmove(message.buf, bytes([self._port] * message.len), message.len)
            return
        self.transactions += 1
        for value in ctypes.string_at(message.buf, message.len):
            self.port_writes.append(value)
            previous, self._port = self._port, value
            self.lcd.port(previous, value)

    def power_cycle(self) -> None:
        self.lcd.power_cycle()

"""HD44780 character LCD in 4-bit mode behind a PCF8574 I2C port expander: the bytes put on the expander.

Pure encoding, no I/O: the driver (drivers/display/lcd_i2c.py) sends these bytes, the emulator
(hil/emulators/lcd.py) decodes them. The common backpack wiring is P0 RS, P1 RW, P2 E, P3 backlight,
P4-P7 D4-D7; the controller latches a nibble on the falling edge of E, so each nibble is two port
writes (E high, then E low). RW stays low: the driver never reads the busy flag (the PCF8574 makes
reading slow and fragile) and waits the datasheet's execution times instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Final

RS: Final = 0x01
RW: Final = 0x02
ENABLE: Final = 0x04
BACKLIGHT: Final = 0x08

# Instructions (HD44780U datasheet, table 6).
CLEAR: Final = 0x01  # 1.52 ms
ENTRY_INCREMENT: Final = 0x06  # cursor moves right, no display shift
DISPLAY_OFF: Final = 0x08
DISPLAY_ON: Final = 0x0C  # display on, cursor off, blink off
FUNCTION_4BIT_2LINE: Final = 0x28  # 4-bit bus, 2 lines (a 20x4 is two lines folded), 5x8 dots
SET_DDRAM: Final = 0x80

#: Characters of ROM code A00 (the common Japanese ROM) outside ASCII; 0x5C is a yen sign and 0x7E/0x7F
#: arrows there, so backslash and tilde are not written as themselves.
ROM_A00: Final = {"ä": 0xE1, "ß": 0xE2, "µ": 0xE4, "ñ": 0xEE, "ö": 0xEF, "ü": 0xF5, "°": 0xDF, "÷": 0xFD}
UNKNOWN: Final = ord("?")


def nibble(value: int, rs: bool, backlight: bool = True) -> bytes:
    """The two port writes that latch the 4 bits ``value`` (E high, then E low)."""
    port = (value & 0x0F) << 4 | (RS if rs else 0) | (BACKLIGHT if backlight else 0)
    return bytes((port | ENABLE, port))


def byte(value: int, rs: bool, backlight: bool = True) -> bytes:
    """An instruction (rs False) or a character (rs True): high nibble first."""
    return nibble(value >> 4, rs, backlight) + nibble(value, rs, backlight)


def init_steps(backlight: bool = True) -> Iterator[tuple[bytes, float]]:
    """(bytes, seconds to wait after them) of the datasheet's initialisation by instruction, which works
    whatever mode the controller was left in (8-bit after power-up, or mid-byte in 4-bit after a reset of
    the host): three times "8-bit", then "4-bit", then the settings."""
    yield nibble(0x3, False, backlight), 0.0045
    yield nibble(0x3, False, backlight), 0.00015
    yield nibble(0x3, False, backlight), 0.00015
    yield nibble(0x2, False, backlight), 0.00015
    yield byte(FUNCTION_4BIT_2LINE, False, backlight), 0.0
    yield byte(DISPLAY_OFF, False, backlight), 0.0
    yield byte(CLEAR, False, backlight), 0.002
    yield byte(ENTRY_INCREMENT, False, backlight), 0.0
    yield byte(DISPLAY_ON, False, backlight), 0.0


def row_offsets(columns: int) -> tuple[int, int, int, int]:
    """DDRAM address of each row's first character: rows 3 and 4 continue rows 1 and 2."""
    return (0x00, 0x40, columns, 0x40 + columns)


def encode(text: str) -> bytes:
    """``text`` in ROM A00 codes: ASCII as itself, a few Latin letters from the ROM, accents dropped
    (é -> e) where the ROM lacks the letter, anything else '?'."""
    out = bytearray()
    for char in text:
        if char in ROM_A00:
            out.append(ROM_A00[char])
            continue
        if not (" " <= char <= "}") or char == "\\":
            char = unicodedata.normalize("NFKD", char)[:1]
        out.append(ord(char) if " " <= char <= "}" and char != "\\" else UNKNOWN)
    return bytes(out)


def write_row(row: int, text: str, columns: int, backlight: bool = True) -> bytes:
    """Set the address to the start of ``row`` and write ``text`` padded with blanks to ``columns``."""
    address = row_offsets(columns)[row]
    data = encode(text[:columns].ljust(columns))
    return byte(SET_DDRAM | address, False, backlight) + b"".join(byte(c, True, backlight) for c in data)

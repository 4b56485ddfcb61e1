"""The HD44780/PCF8574 display driver against its emulated backpack: the exact port bytes on the I2C bus,
and the characters the emulated controller ends up showing."""

from __future__ import annotations

import pytest

from drivers.display import hd44780
from drivers.display.lcd_i2c import Hd44780I2cDisplay
from drivers.errors import DriverError
from hil.emulators.lcd import Pcf8574LcdEmulation

BL, EN, RS = hd44780.BACKLIGHT, hd44780.ENABLE, hd44780.RS


def driver(emulation: Pcf8574LcdEmulation, columns: int = 20, rows: int = 4) -> Hd44780I2cDisplay:
    return Hd44780I2cDisplay(1, columns=columns, rows=rows, bus_factory=emulation.bus_factory)


async def test_initialisation_bytes_are_the_datasheet_sequence_in_4_bit_mode() -> None:
    """Three 8-bit function sets (0x3 nibbles), 4-bit (0x2), then function set 0x28, display off, clear,
    entry mode, display on; each nibble written with E high then E low, backlight on throughout."""
    emulation = Pcf8574LcdEmulation()
    await driver(emulation).show("", None)
    expected = bytes([0x3C, 0x38] * 3 + [0x2C, 0x28])
    for command in (0x28, 0x08, 0x01, 0x06, 0x0C):
        for part in (command >> 4, command & 0x0F):
            expected += bytes([part << 4 | BL | EN, part << 4 | BL])
    assert bytes(emulation.port_writes[: len(expected)]) == expected
    assert emulation.lcd.four_bit and emulation.lcd.display_on and emulation.lcd.backlight
    assert emulation.lcd.instructions[:8] == [0x30, 0x30, 0x30, 0x20, 0x28, 0x08, 0x01, 0x06]


async def test_a_character_is_two_nibbles_with_rs_high() -> None:
    """'A' (0x41): high nibble 4 then low nibble 1, RS set, after the row's DDRAM address (0x80)."""
    emulation = Pcf8574LcdEmulation()
    lcd = driver(emulation, columns=16, rows=2)
    await lcd.show("", None)
    emulation.port_writes.clear()
    await lcd.show("A", None)
    address = bytes([0x8C, 0x88, 0x0C, 0x08])  # SET_DDRAM | 0x00
    letter = bytes([0x4D, 0x49, 0x1D, 0x19])  # 0x4_|BL|RS with E, without; 0x1_ likewise
    assert bytes(emulation.port_writes[:8]) == address + letter
    assert len(emulation.port_writes) == 4 + 16 * 4  # the row padded with blanks to 16 columns


async def test_text_lands_on_the_four_rows_of_a_20x4() -> None:
    """Rows 3 and 4 continue rows 1 and 2 in DDRAM (0x14, 0x54): the emulated glass shows each line."""
    emulation = Pcf8574LcdEmulation()
    await driver(emulation).show("Charging\n1.25 kWh 0:12\nCost 0.44 EUR\n0.35 EUR/kWh", None)
    assert [line.rstrip() for line in emulation.lcd.lines(20, 4)] == [
        "Charging",
        "1.25 kWh 0:12",
        "Cost 0.44 EUR",
        "0.35 EUR/kWh",
    ]


async def test_only_changed_rows_are_rewritten_each_in_one_i2c_write() -> None:
    emulation = Pcf8574LcdEmulation()
    lcd = driver(emulation)
    await lcd.show("Charging\n1.00 kWh\n\n", None)
    emulation.port_writes.clear()
    before = emulation.transactions
    await lcd.show("Charging\n1.01 kWh\n\n", None)
    assert len(emulation.port_writes) == 4 + 20 * 4  # one address and one row of 20 characters
    assert emulation.transactions - before == 1
    assert emulation.lcd.lines()[1].rstrip() == "1.01 kWh"


async def test_characters_outside_ascii_use_the_rom_or_a_stand_in() -> None:
    """ROM A00 has ä ö ü ß °; é loses its accent; a backslash (a yen sign in the ROM) and € become '?'."""
    emulation = Pcf8574LcdEmulation()
    await driver(emulation).show("Grüße 5°C café\n€ a\\b", None)
    assert emulation.lcd.ddram[2] == 0xF5 and emulation.lcd.ddram[3] == 0xE2
    assert [line.rstrip() for line in emulation.lcd.lines()[:2]] == ["Grüße 5°C cafe", "? a?b"]


async def test_a_missing_backpack_is_a_driver_error_and_the_next_show_recovers() -> None:
    """No acknowledge: DriverError (never a bare OSError); once it answers again the controller, which may
    have lost power meanwhile, is initialised afresh and the whole text written."""
    emulation = Pcf8574LcdEmulation()
    lcd = driver(emulation)
    await lcd.show("Welcome", None)
    emulation.connected = False
    emulation.power_cycle()
    with pytest.raises(DriverError, match="hd44780_i2c"):
        await lcd.show("Welcome\nPresent your card", None)
    emulation.connected = True
    await lcd.show("Welcome\nPresent your card", None)
    assert [line.rstrip() for line in emulation.lcd.lines()[:2]] == ["Welcome", "Present your card"]
    assert emulation.open_handles == 1  # the failed handle was closed


def test_params_bound_the_board_yaml() -> None:
    params = Hd44780I2cDisplay.Params(address=0x3F, columns=16, rows=2)
    assert (params.bus, params.address, params.backlight) == (1, 0x3F, True)
    with pytest.raises(ValueError):
        Hd44780I2cDisplay.Params(rows=5)

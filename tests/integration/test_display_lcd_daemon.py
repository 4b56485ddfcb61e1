"""The driver's screen through the real HD44780 driver: the daemon (simulated board otherwise) writes its
screen to an LCD on the emulated PCF8574 backpack, and the CSMS's message and cost reach the glass."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ocpp.v201 import call

from drivers.display.lcd_i2c import Hd44780I2cDisplay
from evse.daemon import build
from evse.devcsms.server import DevCsms
from hil.emulators.lcd import Pcf8574LcdEmulation
from tests.conformance.octt import energy_transfer_started, until
from tests.integration.conftest import STATION_ID, StationUnderTest


def glass(emulation: Pcf8574LcdEmulation) -> list[str]:
    return [line.rstrip() for line in emulation.lcd.lines(20, 4)]


async def test_screen_on_a_hd44780_behind_the_emulated_backpack(make_station: Any, csms: DevCsms) -> None:
    sut: StationUnderTest = await make_station(start=False)
    emulation = Pcf8574LcdEmulation()
    lcd = Hd44780I2cDisplay(1, bus_factory=emulation.bus_factory)
    daemon = build(sut.settings)
    # The board's display swapped for the LCD driver: what a board YAML with display.hd44780_i2c builds.
    drivers = dataclasses.replace(daemon.drivers[1], display=lcd)
    daemon.drivers[1] = drivers
    daemon.station.evses[1].drivers = drivers
    sut.daemon, sut.task = daemon, asyncio.create_task(daemon.run())
    await csms.wait_for("StatusNotification", timeout=10)
    await until(lambda: glass(emulation)[:2] == ["Welcome", "Present your card"])

    started = await energy_transfer_started(sut, csms)
    tx_id = started["transactionInfo"]["transactionId"]
    await csms.call(STATION_ID, call.CostUpdated(total_cost=0.42, transaction_id=tx_id))
    await until(lambda: glass(emulation)[0] == "Charging" and glass(emulation)[2] == "Cost 0.42 EUR")

    message = {"id": 1, "priority": "AlwaysFront", "message": {"format": "UTF8", "content": "Grüße aus Köln"}}
    assert (await csms.call(STATION_ID, call.SetDisplayMessage(message=message))).status == "Accepted"
    await until(lambda: glass(emulation)[0] == "Grüße aus Köln")
    assert emulation.lcd.ddram[2] == 0xF5  # ü from the controller's ROM, not a stand-in

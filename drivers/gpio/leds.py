"""Status LEDs (green, red) showing the state of one EVSE; a helper for the daemon, not a driver Protocol."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

# gpiozero ships no type information; LED objects are Any here.
from gpiozero import LED  # type: ignore[import-untyped]
from pydantic import Field

from drivers.gpio.access import PinFactory, close_quietly, gpio_errors
from drivers.gpio.pins import BcmPin, distinct_pins
from drivers.interfaces import DriverParams

log = logging.getLogger(__name__)


class Light(Enum):
    """What one LED does."""

    OFF = "off"
    ON = "on"
    BLINK = "blink"  # even on/off: something is happening (charging)
    FLASH = "flash"  # short on, long off: waiting for something (the EV, the driver)


#: (green, red) per status: the OCPP ConnectorStatus values plus Charging, which the station derives.
#: Data rather than branches so a board can be given its own table.
STATUS_LIGHTS: Final[Mapping[str, tuple[Light, Light]]] = MappingProxyType(
    {
        "Available": (Light.ON, Light.OFF),
        "Occupied": (Light.FLASH, Light.OFF),
        "Charging": (Light.BLINK, Light.OFF),
        "Reserved": (Light.ON, Light.ON),  # amber on a bi-colour LED
        "Faulted": (Light.OFF, Light.ON),
        "Unavailable": (Light.OFF, Light.OFF),
    }
)


class StatusLeds:
    """A green and a red LED showing an EVSE status with :meth:`show`.

    Blinking runs on gpiozero's own background thread, so ``show`` returns at once and the event
    loop never toggles pins. Pins are claimed at the first ``show`` (constructing does no I/O).
    """

    class Params(DriverParams):
        """Board-YAML keys of the status LEDs."""

        green_pin: BcmPin = Field(description="BCM number of the green LED")
        red_pin: BcmPin = Field(description="BCM number of the red LED")
        active_high: bool = Field(True, description="True when a high output lights the LEDs")
        blink_ms: int = Field(500, ge=20, le=5_000, description="on time of a blink (and its off time)")

        check_pins = distinct_pins("green_pin", "red_pin")

    def __init__(
        self,
        *,
        green_pin: int,
        red_pin: int,
        active_high: bool = True,
        blink_ms: int = 500,
        lights: Mapping[str, tuple[Light, Light]] = STATUS_LIGHTS,
        pin_factory: PinFactory = None,
    ) -> None:
        self.name = f"gpio status leds pins={green_pin}/{red_pin}"
        self._pins = (green_pin, red_pin)
        self._active_high = active_high
        self._blink_s = blink_ms / 1000
        self._lights = lights
        self._pin_factory = pin_factory
        self._leds: tuple[Any, Any] | None = None
        self.status: str | None = None  # what is shown

    def show(self, status: str) -> None:
        """Show ``status`` (a key of the lights table); ValueError for an unknown one, DriverError for GPIO."""
        lights = self._lights.get(status)
        if lights is None:
            raise ValueError(f"unknown EVSE status {status!r}; known: {', '.join(self._lights)}")
        if status == self.status:
            return  # re-showing would restart a blink: a visible hiccup
        leds = self._open_pins()
        with gpio_errors(self.name):
            for led, light in zip(leds, lights, strict=True):
                self._set(led, light)
        self.status = status
        log.debug("device=%r status=%s lights=%s", self.name, status, "/".join(light.value for light in lights))

    def close(self) -> None:
        """Turn the LEDs off and release their pins (stops the blink threads)."""
        if self._leds is not None:
            close_quietly(*self._leds)
        self._leds = None
        self.status = None

    def _set(self, led: Any, light: Light) -> None:
        if light is Light.ON:
            led.on()
        elif light is Light.OFF:
            led.off()
        elif light is Light.BLINK:
            led.blink(on_time=self._blink_s, off_time=self._blink_s)
        else:
            led.blink(on_time=self._blink_s / 4, off_time=self._blink_s * 2)

    def _open_pins(self) -> tuple[Any, Any]:
        if self._leds is not None:
            return self._leds
        green = red = None
        with gpio_errors(self.name):
            try:
                green = LED(self._pins[0], active_high=self._active_high, pin_factory=self._pin_factory)
                red = LED(self._pins[1], active_high=self._active_high, pin_factory=self._pin_factory)
            except BaseException:
                close_quietly(red, green)
                raise
        self._leds = (green, red)
        return self._leds

"""StatusLeds against gpiozero mock pins: steady, blinking and dark patterns per EVSE status."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory
from pydantic import ValidationError

from drivers.errors import DriverError
from drivers.gpio.leds import STATUS_LIGHTS, StatusLeds
from tests.unit.test_gpio_rig import levels

GREEN, RED = 12, 13


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.fixture
def leds(factory: MockFactory) -> Iterator[StatusLeds]:
    leds = StatusLeds(green_pin=GREEN, red_pin=RED, blink_ms=20, pin_factory=factory)
    yield leds
    leds.close()  # stops gpiozero's blink threads


def wait_for_toggles(factory: MockFactory, pin: int, count: int, timeout_s: float = 2.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(factory.pin(pin).states) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_params_defaults_and_refusals() -> None:
    assert StatusLeds.Params(green_pin=12, red_pin=13).model_dump() == {
        "green_pin": 12,
        "red_pin": 13,
        "active_high": True,
        "blink_ms": 500,
    }
    with pytest.raises(ValidationError, match="BCM pin 12 is already used by 'green_pin'"):
        StatusLeds.Params(green_pin=12, red_pin=12)
    with pytest.raises(ValidationError, match=r"BCM pin 99 is not on the Raspberry Pi header \(0-27\)"):
        StatusLeds.Params(green_pin=99, red_pin=12)


def test_constructing_claims_no_pin(factory: MockFactory) -> None:
    StatusLeds(green_pin=GREEN, red_pin=RED, pin_factory=factory)
    assert factory.pins == {}


def test_every_ocpp_connector_status_and_charging_has_lights() -> None:
    assert set(STATUS_LIGHTS) == {"Available", "Occupied", "Reserved", "Unavailable", "Faulted", "Charging"}


def test_available_is_steady_green(factory: MockFactory, leds: StatusLeds) -> None:
    leds.show("Available")
    time.sleep(0.05)
    assert levels(factory.pin(GREEN)) == [False, True]
    assert levels(factory.pin(RED)) == [False]
    leds.show("Available")  # showing it again changes nothing
    assert levels(factory.pin(GREEN)) == [False, True]


def test_charging_blinks_green_then_faulted_is_steady_red(factory: MockFactory, leds: StatusLeds) -> None:
    leds.show("Charging")
    wait_for_toggles(factory, GREEN, 6)
    green = levels(factory.pin(GREEN))
    assert len(green) >= 6 and green[:4] == [False, True, False, True]
    assert levels(factory.pin(RED)) == [False]

    leds.show("Faulted")
    settled = len(factory.pin(GREEN).states)
    time.sleep(0.08)  # several blink periods: the blink has stopped
    assert len(factory.pin(GREEN).states) == settled
    assert not factory.pin(GREEN).state
    assert factory.pin(RED).state
    assert leds.status == "Faulted"


def test_unavailable_is_dark(factory: MockFactory, leds: StatusLeds) -> None:
    leds.show("Reserved")
    leds.show("Unavailable")
    assert not factory.pin(GREEN).state and not factory.pin(RED).state
    assert levels(factory.pin(RED)) == [False, True, False]


def test_active_low_leds_are_lit_by_a_low_output(factory: MockFactory) -> None:
    leds = StatusLeds(green_pin=GREEN, red_pin=RED, active_high=False, pin_factory=factory)
    leds.show("Faulted")
    assert factory.pin(GREEN).state  # high: dark
    assert not factory.pin(RED).state  # low: lit
    leds.close()


def test_unknown_status_is_refused_listing_the_known_ones(leds: StatusLeds, factory: MockFactory) -> None:
    with pytest.raises(ValueError, match=r"unknown EVSE status 'Preparing'; known: Available, Occupied"):
        leds.show("Preparing")
    assert factory.pins == {}  # refused before claiming anything


def test_a_pin_in_use_is_a_driver_error(factory: MockFactory, leds: StatusLeds) -> None:
    squatter = DigitalOutputDevice(RED, pin_factory=factory)
    with pytest.raises(DriverError, match=r"^gpio status leds pins=12/13: GPIO: "):
        leds.show("Available")
    assert factory.pin(GREEN).function == "input"  # green, claimed first, was released again
    assert leds.status is None
    squatter.close()
    leds.show("Available")  # works once the pin is free
    assert factory.pin(GREEN).state


def test_close_stops_blinking_and_releases_the_pins(factory: MockFactory, leds: StatusLeds) -> None:
    leds.show("Occupied")
    leds.close()
    count = len(factory.pin(GREEN).states)
    time.sleep(0.08)
    assert len(factory.pin(GREEN).states) == count
    DigitalOutputDevice(GREEN, pin_factory=factory)  # free to claim again

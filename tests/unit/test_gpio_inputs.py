"""GpioInput against gpiozero mock pins: input changes, fault inputs, debounce, unreadable pins."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from drivers.errors import DriverError
from drivers.gpio.inputs import GpioInput
from drivers.interfaces import DigitalInput, DriverEvent
from drivers.registry import load_driver, validate_params
from tests.unit.test_gpio_rig import Events, chatter, running

PIN = 16


def make(factory: MockFactory, evse_id: int = 1, **params: Any) -> GpioInput:
    """A start button by default: switching PIN to ground on the pull-up, 10 ms debounce."""
    keys: dict[str, Any] = {"pin": PIN, "name": "start_button", "debounce_ms": 10}
    keys.update(params)
    validated = validate_params("input", "gpio", keys)
    return GpioInput(evse_id=evse_id, **validated.model_dump(), pin_factory=factory, reopen_s=0.01)


# --- registration and construction --------------------------------------------------------------


def test_registered_under_its_entry_point_and_satisfies_the_protocol() -> None:
    assert load_driver("input", "gpio") is GpioInput
    assert isinstance(make(MockFactory()), DigitalInput)


def test_constructing_claims_no_pin() -> None:
    factory = MockFactory()
    make(factory)
    assert factory.pins == {}


def test_params_defaults() -> None:
    assert GpioInput.Params(pin=26, name="door").model_dump() == {
        "pin": 26,
        "name": "door",
        "active_high": False,
        "pull_up": True,
        "debounce_ms": 20,
        "fault": False,
    }


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"pin": 99, "name": "door"},
            "input.gpio: parameter 'pin': BCM pin 99 is not on the Raspberry Pi header (0-27)",
        ),
        (
            {"pin": -1, "name": "door"},
            "input.gpio: parameter 'pin': BCM pin -1 is not on the Raspberry Pi header (0-27)",
        ),
        ({"pin": True, "name": "door"}, "input.gpio: parameter 'pin': Input should be a valid integer"),
        ({"pin": 26}, "input.gpio: parameter 'name': Field required"),
        ({"pin": 26, "name": ""}, "input.gpio: parameter 'name': String should have at least 1 character"),
        (
            {"pin": 26, "name": "door", "debounce_ms": -5},
            "input.gpio: parameter 'debounce_ms': Input should be greater than or equal to 0",
        ),
    ],
)
def test_params_refused_in_one_line_naming_the_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("input", "gpio", keys)
    assert str(info.value) == message


# --- plain inputs: InputChanged ------------------------------------------------------------------------


async def test_button_reports_its_level_on_start_then_each_press_and_release() -> None:
    factory = MockFactory()
    button, sink = make(factory), Events()
    async with running(button, sink):
        assert sink.log == ["start_button=False"]
        assert not button.is_active
        pin = factory.pin(PIN)
        pin.drive_low()  # pressed: shorted to ground against the pull-up
        await sink.wait_for("start_button=True")
        assert button.is_active
        pin.drive_high()
        await asyncio.sleep(0.05)
        assert not button.is_active
    assert sink.log == ["start_button=False", "start_button=True", "start_button=False"]
    assert all(event.evse_id == 1 for event in sink.events)


async def test_a_bounce_shorter_than_debounce_reports_nothing() -> None:
    factory = MockFactory()
    button, sink = make(factory, debounce_ms=100), Events()
    async with running(button, sink):
        pin = factory.pin(PIN)
        pin.drive_low()
        pin.drive_high()  # back at once
        took_s, _ = await chatter(pin, [False, True, False, True], gap_s=0.005)  # and again, for 15 ms
        assert took_s < 0.1, "precondition: the bounce was shorter than the debounce"
        await asyncio.sleep(0.15)
        assert sink.log == ["start_button=False"]
        assert not button.is_active


async def test_a_bouncing_press_is_reported_once_a_debounce_after_the_last_edge() -> None:
    factory = MockFactory()
    button, sink = make(factory, debounce_ms=100), Events()
    async with running(button, sink):
        took_s, last_edge = await chatter(factory.pin(PIN), [False, True] * 3 + [False], gap_s=0.003)
        assert took_s < 0.1, "precondition: the chatter was shorter than the debounce"
        await sink.wait_for("start_button=True")
        assert time.monotonic() - last_edge >= 0.095
        assert button.is_active
    assert sink.log == ["start_button=False", "start_button=True"]


async def test_debounce_zero_still_reports_every_lasting_change() -> None:
    factory = MockFactory()
    button, sink = make(factory, debounce_ms=0), Events()
    async with running(button, sink):
        pin = factory.pin(PIN)
        pin.drive_low()
        await sink.wait_for("start_button=True")
        pin.drive_high()
        await asyncio.sleep(0.02)
    assert sink.log == ["start_button=False", "start_button=True", "start_button=False"]


async def test_an_edge_from_another_thread_reaches_the_sink_on_the_loop_thread() -> None:
    factory = MockFactory()
    button = make(factory)
    threads: list[int] = []
    sink = Events()

    def recording_sink(event: DriverEvent) -> None:
        threads.append(threading.get_ident())
        sink(event)

    asyncio.get_running_loop().set_debug(True)  # loop calls from a foreign thread then raise
    task = asyncio.create_task(button.run(recording_sink))
    try:
        await asyncio.sleep(0)
        edge = threading.Thread(target=factory.pin(PIN).drive_low)  # as gpiozero's callback thread would
        edge.start()
        edge.join()
        await sink.wait_for("start_button=True")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert threads == [threading.get_ident()] * 2


# --- fault inputs: FaultRaised / FaultCleared ---------------------------------------------------------


async def test_rcd_trip_raises_and_reset_clears_the_fault() -> None:
    factory = MockFactory()
    rcd = make(factory, evse_id=0, name="rcd_trip", fault=True, active_high=True, pull_up=False)
    sink = Events()
    async with running(rcd, sink):
        assert sink.log == []  # healthy at start: nothing to report
        pin = factory.pin(PIN)
        pin.drive_high()
        await sink.wait_for("+rcd_trip")
        assert rcd.is_active
        raised = sink.raised("rcd_trip")
        assert raised.evse_id == 0 and "rcd_trip" in raised.detail
        pin.drive_low()
        await sink.wait_for("-rcd_trip")
        assert not rcd.is_active
    assert sink.log == ["+rcd_trip", "-rcd_trip"]


async def test_emergency_stop_with_a_broken_wire_reads_as_pressed_on_start() -> None:
    factory = MockFactory()
    # Normally closed to ground, active high on the pull-up: nothing connected reads as pressed.
    stop = make(factory, evse_id=0, name="emergency_stop", fault=True, active_high=True, pull_up=True)
    sink = Events()
    async with running(stop, sink):
        assert sink.log == ["+emergency_stop"]
        factory.pin(PIN).drive_low()  # wire repaired, contact closed
        await sink.wait_for("-emergency_stop")


async def test_a_fault_input_that_cannot_be_read_is_reported_as_its_fault_until_readable() -> None:
    factory = MockFactory()
    squatter = DigitalOutputDevice(PIN, pin_factory=factory)
    stop = make(factory, evse_id=0, name="emergency_stop", fault=True, active_high=True, pull_up=False)
    sink = Events()
    async with running(stop, sink):
        await sink.wait_for("+emergency_stop")
        assert sink.raised("emergency_stop").detail.startswith("GPIO: ")
        squatter.close()
        await sink.wait_for("-emergency_stop")  # readable, and not pressed
    assert sink.log == ["+emergency_stop", "-emergency_stop"]


async def test_a_plain_input_that_cannot_be_read_reports_unavailable_until_readable() -> None:
    factory = MockFactory()
    squatter = DigitalOutputDevice(PIN, pin_factory=factory)
    door, sink = make(factory, name="door"), Events()
    async with running(door, sink):
        await sink.wait_for("+door_unavailable")
        squatter.close()
        await sink.wait_for("door=False")
    assert sink.log == ["+door_unavailable", "-door_unavailable", "door=False"]


async def test_a_pull_the_pin_cannot_have_is_reported_not_raised() -> None:
    factory = MockFactory()
    door, sink = make(factory, pin=2, name="door", pull_up=False), Events()  # GPIO2 has a fixed pull-up
    async with running(door, sink):
        await sink.wait_for("+door_unavailable")
        assert sink.raised("door_unavailable").detail.startswith("GPIO: ")
        assert "\n" not in sink.raised("door_unavailable").detail

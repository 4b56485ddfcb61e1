"""GpioContactor against gpiozero mock pins: coil, auxiliary contact, stuck open, welded, uncommanded changes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockConnectedPin, MockFactory, MockPin

from drivers.errors import DriverError
from drivers.gpio.contactor import GpioContactor
from drivers.interfaces import Contactor
from drivers.registry import load_driver, validate_params
from tests.unit.test_gpio_rig import Events, FollowingContactPin, chatter, levels, running

COIL, CONTACT = 5, 6


def make(factory: MockFactory, **params: Any) -> GpioContactor:
    """A contactor on COIL with its auxiliary contact on CONTACT, high when closed, and small timeouts."""
    keys: dict[str, Any] = {
        "pin": COIL,
        "feedback_pin": CONTACT,
        "feedback_active_high": True,
        "feedback_pull_up": False,
        "close_timeout_ms": 50,
        "open_timeout_ms": 50,
        "feedback_debounce_ms": 5,
    }
    keys.update(params)
    validated = validate_params("contactor", "gpio", keys)
    return GpioContactor(evse_id=1, **validated.model_dump(), pin_factory=factory, reopen_s=0.01)


def wired(factory: MockFactory) -> tuple[MockConnectedPin, MockPin]:
    """A coil whose auxiliary contact follows it at once (gpiozero's MockConnectedPin)."""
    contact = factory.pin(CONTACT)
    coil = factory.pin(COIL, pin_class=MockConnectedPin, input_pin=contact)
    return coil, contact


# --- registration and construction --------------------------------------------------------------


def test_registered_under_its_entry_point_and_satisfies_the_protocol() -> None:
    assert load_driver("contactor", "gpio") is GpioContactor
    assert isinstance(make(MockFactory()), Contactor)


def test_constructing_claims_no_pin() -> None:
    factory = MockFactory()
    make(factory)
    assert factory.pins == {}


def test_params_defaults() -> None:
    assert GpioContactor.Params(pin=17).model_dump() == {
        "pin": 17,
        "active_high": True,
        "feedback_pin": None,
        "feedback_active_high": False,
        "feedback_pull_up": True,
        "close_timeout_ms": 200,
        "open_timeout_ms": 200,
        "feedback_debounce_ms": 20,
    }


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"pin": 99}, "contactor.gpio: parameter 'pin': BCM pin 99 is not on the Raspberry Pi header (0-27)"),
        (
            {"pin": 17, "feedback_pin": 17},
            "contactor.gpio: parameter 'feedback_pin': BCM pin 17 is already used by 'pin'",
        ),
        (
            {"pin": 17, "close_timeout_ms": 0},
            "contactor.gpio: parameter 'close_timeout_ms': Input should be greater than or equal to 1",
        ),
        ({"pin": 17, "coil": 3}, "contactor.gpio: parameter 'coil': Extra inputs are not permitted"),
    ],
)
def test_params_refused_in_one_line_naming_the_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("contactor", "gpio", keys)
    assert str(info.value) == message


# --- commands with a working contactor ----------------------------------------------------------


async def test_close_and_open_drive_the_coil_confirmed_by_the_connected_contact() -> None:
    factory = MockFactory()
    coil, contact = wired(factory)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        await contactor.close()
        assert contactor.is_closed
        await contactor.open()
        assert not contactor.is_closed
        await asyncio.sleep(0.02)  # past the debounce: the watcher saw the moves as commanded
    assert levels(coil) == [False, True, False]
    assert levels(contact) == [False, True, False]
    assert sink.log == []


async def test_close_waits_for_a_contact_that_pulls_in_later_on_another_thread() -> None:
    factory = MockFactory()
    contact = factory.pin(CONTACT)
    factory.pin(COIL, pin_class=FollowingContactPin, contact=contact, delay_s=0.03)
    contactor, sink = make(factory, close_timeout_ms=2000, open_timeout_ms=2000), Events()
    asyncio.get_running_loop().set_debug(True)  # loop calls from the contact's thread then raise
    async with running(contactor, sink):
        started = time.monotonic()
        await contactor.close()
        assert time.monotonic() - started >= 0.025  # returned on the contact, not on the coil
        assert contact.state and contactor.is_closed
        await contactor.open()
        assert not contact.state and not contactor.is_closed
    assert sink.log == []


async def test_without_feedback_is_closed_is_the_command() -> None:
    factory = MockFactory()
    contactor, sink = make(factory, feedback_pin=None), Events()
    async with running(contactor, sink):
        await contactor.close()
        assert contactor.is_closed
        await contactor.open()
        assert not contactor.is_closed
    assert levels(factory.pin(COIL)) == [False, True, False]
    assert sink.log == []


async def test_active_low_coil_is_driven_low_to_close() -> None:
    factory = MockFactory()
    contactor = make(factory, active_high=False, feedback_pin=None)
    await contactor.close()
    await contactor.open()
    assert levels(factory.pin(COIL)) == [False, True, False, True]  # claimed released (high), closed low


# --- stuck open: the feedback never comes --------------------------------------------------------


async def test_stuck_open_releases_the_coil_raises_and_reports_then_recovers() -> None:
    factory = MockFactory()
    coil = factory.pin(COIL, pin_class=MockConnectedPin, input_pin=None)  # contact not following
    contact = factory.pin(CONTACT)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        started = time.monotonic()
        with pytest.raises(DriverError, match=r"feedback still open 50 ms after close \(fault contactor_stuck_open\)"):
            await contactor.close()
        assert time.monotonic() - started >= 0.045
        assert levels(coil) == [False, True, False]  # energized, then released again
        assert not contactor.is_closed
        assert sink.log == ["+contactor_stuck_open"]
        assert "coil released" in sink.raised("contactor_stuck_open").detail

        coil.input_pin = contact  # repaired: the contact follows the coil again
        await contactor.close()
        assert contactor.is_closed
        assert sink.log == ["+contactor_stuck_open", "-contactor_stuck_open"]


async def test_a_fault_found_before_run_is_reported_when_run_starts() -> None:
    factory = MockFactory()
    contactor, sink = make(factory), Events()
    with pytest.raises(DriverError):
        await contactor.close()
    assert sink.log == []
    async with running(contactor, sink):
        assert sink.log == ["+contactor_stuck_open"]


async def test_cancelled_close_releases_the_coil() -> None:
    factory = MockFactory()
    contactor = make(factory, close_timeout_ms=5000)
    task = asyncio.create_task(contactor.close())
    await asyncio.sleep(0.02)
    assert factory.pin(COIL).state
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert levels(factory.pin(COIL)) == [False, True, False]


async def test_open_supersedes_a_waiting_close_at_once() -> None:
    factory = MockFactory()
    contactor, sink = make(factory, close_timeout_ms=5000), Events()
    async with running(contactor, sink):
        closing = asyncio.create_task(contactor.close())
        await asyncio.sleep(0.02)
        started = time.monotonic()
        await contactor.open()
        with pytest.raises(DriverError, match="close superseded by a later command"):
            await closing
        assert time.monotonic() - started < 1.0  # not the 5 s close timeout
        await asyncio.sleep(0.02)
    assert levels(factory.pin(COIL)) == [False, True, False]
    assert sink.log == []  # the open contact was what the last command asked for


# --- welded: the feedback stays closed ---------------------------------------------------------------


async def test_welded_contact_fails_open_and_clears_when_it_finally_opens() -> None:
    factory = MockFactory()
    coil, contact = wired(factory)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        await contactor.close()
        coil.input_pin = None  # the contacts weld: the auxiliary contact stays closed
        with pytest.raises(DriverError, match=r"feedback still closed 50 ms after open \(fault contactor_welded\)"):
            await contactor.open()
        assert levels(coil) == [False, True, False]  # the coil is released all the same
        assert contactor.is_closed  # what the contact says
        assert sink.log == ["+contactor_welded"]

        contact.drive_low()  # the weld breaks
        await sink.wait_for("-contactor_welded")
        assert not contactor.is_closed
        assert sink.log == ["+contactor_welded", "-contactor_welded"]


async def test_contact_closed_at_start_is_reported_welded_on_start() -> None:
    factory = MockFactory()
    contact = factory.pin(CONTACT)
    contact.drive_high()  # floating input, held closed from outside before the daemon starts
    contactor, sink = make(factory, feedback_pull_up=None), Events()
    async with running(contactor, sink):
        assert sink.log == ["+contactor_welded"]
        assert sink.raised("contactor_welded").detail == "contact closed while commanded open"


async def test_consistent_start_reports_nothing() -> None:
    factory = MockFactory()
    wired(factory)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        await asyncio.sleep(0.02)
        assert sink.log == []
        assert not contactor.is_closed


# --- uncommanded changes seen by run ---------------------------------------------------------------


async def test_contact_opening_by_itself_is_a_fault_until_it_closes_again() -> None:
    factory = MockFactory()
    coil, contact = wired(factory)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        await contactor.close()
        contact.drive_low()  # the coil supply dropped: the contactor fell open
        await sink.wait_for("+contactor_stuck_open")
        assert sink.raised("contactor_stuck_open").detail == "contact opened while commanded closed"
        assert not contactor.is_closed
        contact.drive_high()
        await sink.wait_for("-contactor_stuck_open")
        assert contactor.is_closed
    assert levels(coil) == [False, True]  # the driver reports, it does not act
    assert sink.log == ["+contactor_stuck_open", "-contactor_stuck_open"]


async def test_contact_closing_while_released_is_welded_until_it_opens() -> None:
    factory = MockFactory()
    contact = factory.pin(CONTACT)
    contactor, sink = make(factory), Events()
    async with running(contactor, sink):
        contact.drive_high()
        await sink.wait_for("+contactor_welded")
        contact.drive_low()
        await sink.wait_for("-contactor_welded")
    assert sink.log == ["+contactor_welded", "-contactor_welded"]


async def test_a_bounce_shorter_than_the_debounce_is_not_a_fault() -> None:
    factory = MockFactory()
    _, contact = wired(factory)
    contactor, sink = make(factory, feedback_debounce_ms=100), Events()
    async with running(contactor, sink):
        await contactor.close()
        took_s, _ = await chatter(contact, [False, True, False, True], gap_s=0.003)  # back within 100 ms
        assert took_s < 0.1, "precondition: the bounce was shorter than the debounce"
        await asyncio.sleep(0.15)
        assert sink.log == []
        contact.drive_low()  # and a drop-out that lasts is reported
        await sink.wait_for("+contactor_stuck_open")


# --- pins that cannot be claimed -------------------------------------------------------------------


async def test_pin_in_use_fails_commands_and_is_reported_until_it_is_free() -> None:
    factory = MockFactory()
    wired(factory)
    squatter = DigitalOutputDevice(COIL, pin_factory=factory)  # another device holds the coil pin
    contactor, sink = make(factory), Events()
    with pytest.raises(DriverError) as info:
        await contactor.close()
    assert str(info.value).startswith("gpio contactor evse=1 pin=5: GPIO: ")
    assert "\n" not in str(info.value)
    async with running(contactor, sink):
        await sink.wait_for("+contactor_unavailable")
        squatter.close()
        await sink.wait_for("-contactor_unavailable")
        await contactor.close()
        assert contactor.is_closed
    assert sink.log == ["+contactor_unavailable", "-contactor_unavailable"]

"""GpioMotorLock against gpiozero mock pins: pulses, retries, lock and unlock failures, the switch watched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from drivers.errors import DriverError
from drivers.gpio.lock import GpioMotorLock
from drivers.interfaces import ConnectorLock
from drivers.registry import load_driver, validate_params
from tests.unit.test_gpio_rig import Events, MotorLockPins, levels, running

LOCK, UNLOCK, SWITCH = 20, 21, 22


def make(factory: MockFactory, **params: Any) -> GpioMotorLock:
    """A lock on LOCK/UNLOCK/SWITCH with the default (active-low) switch, short pulses and settle."""
    keys: dict[str, Any] = {
        "lock_pin": LOCK,
        "unlock_pin": UNLOCK,
        "feedback_pin": SWITCH,
        "pulse_ms": 10,
        "settle_ms": 20,
    }
    keys.update(params)
    validated = validate_params("lock", "gpio_motor_lock", keys)
    return GpioMotorLock(evse_id=2, **validated.model_dump(), pin_factory=factory, reopen_s=0.01)


def rig(factory: MockFactory) -> MotorLockPins:
    return MotorLockPins(factory, LOCK, UNLOCK, SWITCH)


def pulses(count: int) -> list[bool]:
    """The levels of an output that gave ``count`` pulses."""
    return [False] + [True, False] * count


# --- registration and construction --------------------------------------------------------------


def test_registered_under_its_entry_point_and_satisfies_the_protocol() -> None:
    assert load_driver("lock", "gpio_motor_lock") is GpioMotorLock
    assert isinstance(make(MockFactory()), ConnectorLock)


def test_constructing_claims_no_pin() -> None:
    factory = MockFactory()
    make(factory)
    assert factory.pins == {}


def test_params_defaults() -> None:
    assert GpioMotorLock.Params(lock_pin=23, unlock_pin=24, feedback_pin=25).model_dump() == {
        "lock_pin": 23,
        "unlock_pin": 24,
        "feedback_pin": 25,
        "active_high": True,
        "feedback_active_high": False,
        "feedback_pull_up": True,
        "pulse_ms": 300,
        "settle_ms": 100,
        "retries": 3,
    }


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"lock_pin": 23, "unlock_pin": 23, "feedback_pin": 25},
            "lock.gpio_motor_lock: parameter 'unlock_pin': BCM pin 23 is already used by 'lock_pin'",
        ),
        (
            {"lock_pin": 23, "unlock_pin": 24, "feedback_pin": 24},
            "lock.gpio_motor_lock: parameter 'feedback_pin': BCM pin 24 is already used by 'unlock_pin'",
        ),
        (
            {"lock_pin": 23, "unlock_pin": 24, "feedback_pin": 99},
            "lock.gpio_motor_lock: parameter 'feedback_pin': BCM pin 99 is not on the Raspberry Pi header (0-27)",
        ),
        (
            {"lock_pin": 23, "unlock_pin": 24},
            "lock.gpio_motor_lock: parameter 'feedback_pin': Field required",
        ),
        (
            {"lock_pin": 23, "unlock_pin": 24, "feedback_pin": 25, "retries": -1},
            "lock.gpio_motor_lock: parameter 'retries': Input should be greater than or equal to 0",
        ),
    ],
)
def test_params_refused_in_one_line_naming_the_key(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("lock", "gpio_motor_lock", keys)
    assert str(info.value) == message


# --- working lock -------------------------------------------------------------------------------


async def test_lock_and_unlock_pulse_once_each_confirmed_by_the_switch() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock, sink = make(factory), Events()
    async with running(lock, sink):
        assert not lock.is_locked
        await lock.lock()
        assert lock.is_locked
        await lock.unlock()
        assert not lock.is_locked
    assert levels(pins.lock_out) == pulses(1)
    assert levels(pins.unlock_out) == pulses(1)
    assert pins.lock_out.states[2].timestamp >= 0.009  # the pulse lasted pulse_ms
    assert pins.pulses == [True, False]
    assert sink.log == []


async def test_a_position_already_confirmed_is_not_pulsed_again() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock = make(factory)
    await lock.lock()
    await lock.lock()
    assert pins.pulses == [True]


async def test_lock_retries_a_jammed_bolt_and_succeeds() -> None:
    factory = MockFactory()
    pins = rig(factory)
    pins.jams = 2
    lock, sink = make(factory), Events()
    async with running(lock, sink):
        await lock.lock()
        assert lock.is_locked
    assert levels(pins.lock_out) == pulses(3)
    assert sink.log == []


async def test_motor_outputs_are_never_on_together() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock = make(factory)
    await asyncio.gather(lock.lock(), lock.unlock(), lock.lock())
    assert pins.pulses == [True, False, True]
    assert pins.overlaps == 0


# --- failures and recovery ----------------------------------------------------------------------


async def test_lock_failure_after_retries_then_recovery_by_a_later_lock() -> None:
    factory = MockFactory()
    pins = rig(factory)
    pins.stuck = True
    lock, sink = make(factory, retries=2), Events()
    async with running(lock, sink):
        with pytest.raises(DriverError, match=r"feedback not locked after 3 pulse\(s\) \(fault lock_failure\)"):
            await lock.lock()
        assert levels(pins.lock_out) == pulses(3)
        assert levels(pins.unlock_out) == [False]
        assert not lock.is_locked
        assert sink.log == ["+lock_failure"]

        pins.stuck = False
        await lock.lock()
        assert lock.is_locked
        assert sink.log == ["+lock_failure", "-lock_failure"]


async def test_unlock_failure_then_recovery_by_hand() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock, sink = make(factory, retries=1), Events()
    async with running(lock, sink):
        await lock.lock()
        pins.stuck = True
        with pytest.raises(DriverError, match=r"feedback not unlocked after 2 pulse\(s\) \(fault unlock_failure\)"):
            await lock.unlock()
        assert levels(pins.unlock_out) == pulses(2)
        assert lock.is_locked
        assert sink.log == ["+unlock_failure"]

        pins.set_locked(False)  # the technician's emergency release
        await sink.wait_for("-unlock_failure")
        assert not lock.is_locked
    assert sink.log == ["+unlock_failure", "-unlock_failure"]


async def test_a_failure_before_run_is_reported_when_run_starts() -> None:
    factory = MockFactory()
    rig(factory).stuck = True
    lock, sink = make(factory, retries=0), Events()
    with pytest.raises(DriverError):
        await lock.lock()
    async with running(lock, sink):
        assert sink.log == ["+lock_failure"]


async def test_cancelled_lock_ends_the_pulse() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock = make(factory, pulse_ms=5000)
    task = asyncio.create_task(lock.lock())
    await asyncio.sleep(0.02)
    assert pins.lock_out.state
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert levels(pins.lock_out) == pulses(1)


# --- the switch watched by run --------------------------------------------------------------------


async def test_bolt_leaving_the_locked_position_uncommanded_is_a_lock_failure() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock, sink = make(factory), Events()
    async with running(lock, sink):
        await lock.lock()
        pins.set_locked(False)  # the plug forced out
        await sink.wait_for("+lock_failure")
        assert sink.raised("lock_failure").detail == "lock released without command"
        pins.set_locked(True)
        await sink.wait_for("-lock_failure")
    assert pins.pulses == [True]  # reported, not acted on


async def test_switch_moving_before_any_command_is_no_fault() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock, sink = make(factory), Events()
    async with running(lock, sink):
        pins.set_locked(True)
        await asyncio.sleep(0.06)
        assert lock.is_locked
        assert sink.log == []


async def test_switch_bounce_while_locked_is_no_fault() -> None:
    factory = MockFactory()
    pins = rig(factory)
    lock, sink = make(factory, settle_ms=30), Events()
    async with running(lock, sink):
        await lock.lock()
        pins.set_locked(False)
        pins.set_locked(True)  # back at once: a bounce of the microswitch
        await asyncio.sleep(0.1)
        assert sink.log == []


async def test_pins_in_use_fail_commands_and_are_reported_until_free() -> None:
    factory = MockFactory()
    rig(factory)
    squatter = DigitalOutputDevice(UNLOCK, pin_factory=factory)
    lock, sink = make(factory), Events()
    with pytest.raises(DriverError, match=r"^gpio motor lock evse=2 pins=20/21/22: GPIO: "):
        await lock.lock()
    assert factory.pin(LOCK).function == "input"  # the lock output claimed first was released again
    async with running(lock, sink):
        await sink.wait_for("+lock_unavailable")
        squatter.close()
        await sink.wait_for("-lock_unavailable")
        await lock.lock()
        assert lock.is_locked

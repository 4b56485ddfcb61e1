"""The far end of the GPIO pins for the gpio driver tests, built on gpiozero's MockFactory; and its own tests.

The rig works where the real hardware would: mock pins whose wiring follows an output (an auxiliary
contact, a lock's microswitch), driven synchronously like ``MockConnectedPin`` or later from another
thread, as gpiozero's edge callbacks arrive on a real board.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockConnectedPin, MockFactory, MockPin

from drivers.interfaces import Driver, DriverEvent, FaultCleared, FaultRaised, InputChanged

#: Generous upper bound for anything that should happen "soon": only failing tests wait this long.
SOON_S = 2.0


def levels(pin: MockPin) -> list[bool]:
    """Every level the pin went through, the first being its level when the record started.

    gpiozero's ``assert_states`` zips, so it passes on a shorter history; this compares in full.
    """
    return [bool(s.state) for s in pin.states]


class Events:
    """An event sink that records, and lets a test await the next matching event."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)
        self._changed.set()

    @property
    def log(self) -> list[str]:
        """The events in short: ``+name`` raised, ``-name`` cleared, ``name=True`` an input change."""
        out: list[str] = []
        for event in self.events:
            if isinstance(event, FaultRaised):
                out.append(f"+{event.name}")
            elif isinstance(event, FaultCleared):
                out.append(f"-{event.name}")
            elif isinstance(event, InputChanged):
                out.append(f"{event.name}={event.active}")
            else:
                out.append(repr(event))
        return out

    async def wait_for(self, entry: str, timeout_s: float = SOON_S) -> None:
        """Return once :attr:`log` holds ``entry``; fail the test (TimeoutError) after ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            while entry not in self.log:
                self._changed.clear()
                await self._changed.wait()

    def raised(self, name: str) -> FaultRaised:
        """The last FaultRaised named ``name`` (to check its detail)."""
        return [e for e in self.events if isinstance(e, FaultRaised) and e.name == name][-1]


@asynccontextmanager
async def running(driver: Driver, sink: Events) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``driver.run(sink)`` for the block; afterwards check it was still running and ends by cancellation."""
    task = asyncio.create_task(driver.run(sink))
    await asyncio.sleep(0)  # let run start: claim pins, report the initial state
    try:
        yield task
    finally:
        assert not task.done(), "run() returned or raised while it should run until cancelled"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def chatter(pin: MockPin, drives: list[bool], gap_s: float) -> tuple[float, float]:
    """Drive input ``pin`` through ``drives``, ``gap_s`` apart, from another thread: a bouncing contact.

    A thread rather than the event loop, so that the gaps do not depend on how busy the loop is,
    and the edges arrive from a foreign thread as gpiozero's do. Returns how long the chatter took
    and the monotonic time of its last edge.
    """

    def bounce() -> tuple[float, float]:
        started = time.monotonic()
        for index, level in enumerate(drives):
            if index:
                time.sleep(gap_s)
            if level:
                pin.drive_high()
            else:
                pin.drive_low()
        ended = time.monotonic()
        return ended - started, ended

    return await asyncio.to_thread(bounce)


class FollowingContactPin(MockPin):
    """An output (a coil) whose auxiliary contact, another mock input pin, follows it ``delay_s`` later.

    The contact is driven from a timer thread, like a real edge arriving on gpiozero's callback
    thread. Set ``stuck`` to make the contact stop following (stuck open or welded, whichever it is).
    """

    def __init__(self, factory: Any, info: Any, contact: MockPin | None = None, delay_s: float = 0.01) -> None:
        super().__init__(factory, info)
        self.contact = contact
        self.delay_s = delay_s
        self.stuck = False
        self.follow_threads: list[threading.Timer] = []

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed and self.contact is not None and not self.stuck:
            contact = self.contact
            timer = threading.Timer(self.delay_s, contact.drive_high if value else contact.drive_low)
            self.follow_threads.append(timer)
            timer.start()
        return changed


class MotorLockPins:
    """The lock actuator and its microswitch at the far end of the lock driver's three pins.

    The bolt moves at the end of a pulse on the lock (unlock) output; ``jams`` pulses fail first,
    and a ``stuck`` bolt never moves. The switch is active-low on a pull-up (the driver's defaults):
    low means locked. ``overlaps`` counts moments both outputs were on (a shorted H-bridge).
    """

    def __init__(self, factory: MockFactory, lock_pin: int, unlock_pin: int, feedback_pin: int) -> None:
        self.switch: MockPin = factory.pin(feedback_pin)
        self.lock_out: MockPin = factory.pin(lock_pin, pin_class=_PulsePin, on_pulse_end=lambda: self._pulsed(True))
        self.unlock_out: MockPin = factory.pin(
            unlock_pin, pin_class=_PulsePin, on_pulse_end=lambda: self._pulsed(False)
        )
        self.lock_out.partner = self.unlock_out
        self.unlock_out.partner = self.lock_out
        self.jams = 0
        self.stuck = False
        self.pulses: list[bool] = []  # True for a lock pulse, False for an unlock pulse

    @property
    def overlaps(self) -> int:
        return int(self.lock_out.overlaps + self.unlock_out.overlaps)

    def _pulsed(self, towards_locked: bool) -> None:
        self.pulses.append(towards_locked)
        if self.stuck:
            return
        if self.jams > 0:
            self.jams -= 1
            return
        self.set_locked(towards_locked)

    def set_locked(self, locked: bool) -> None:
        """Move the bolt (and so the switch), e.g. by hand."""
        if locked:
            self.switch.drive_low()
        else:
            self.switch.drive_high()


class _PulsePin(MockPin):
    """An output calling ``on_pulse_end`` when it goes low after a high, and counting overlaps with ``partner``."""

    def __init__(self, factory: Any, info: Any, on_pulse_end: Callable[[], None] | None = None) -> None:
        super().__init__(factory, info)
        self.on_pulse_end = on_pulse_end
        self.partner: MockPin | None = None
        self.overlaps = 0

    def _change_state(self, value: bool) -> bool:
        changed: bool = super()._change_state(value)
        if changed and value and self.partner is not None and self.partner.state:
            self.overlaps += 1
        if changed and not value and self.on_pulse_end is not None:
            self.on_pulse_end()
        return changed


# --- the rig's own tests: the emulated wiring does what the driver tests rely on ---------------------


def test_connected_pin_mirrors_the_coil_synchronously() -> None:
    factory = MockFactory()
    contact = factory.pin(6)
    factory.pin(5, pin_class=MockConnectedPin, input_pin=contact)
    coil = DigitalOutputDevice(5, pin_factory=factory)
    coil.on()
    assert contact.state
    coil.off()
    assert not contact.state
    assert levels(contact) == [False, True, False]


async def test_following_contact_pin_follows_later_from_another_thread() -> None:
    factory = MockFactory()
    contact = factory.pin(6)
    coil_pin = factory.pin(5, pin_class=FollowingContactPin, contact=contact, delay_s=0.02)
    coil = DigitalOutputDevice(5, pin_factory=factory)
    coil.on()
    assert not contact.state  # not yet: the contact pulls in later
    coil_pin.follow_threads[-1].join(SOON_S)
    assert contact.state
    coil_pin.stuck = True
    coil.off()
    await asyncio.sleep(0.05)
    assert contact.state  # a stuck contact stays where it was
    assert levels(contact) == [False, True]


def test_motor_lock_pins_move_the_bolt_at_pulse_end_after_jams() -> None:
    factory = MockFactory()
    rig = MotorLockPins(factory, 20, 21, 22)
    lock_out = DigitalOutputDevice(20, pin_factory=factory)
    unlock_out = DigitalOutputDevice(21, pin_factory=factory)
    rig.set_locked(False)
    rig.jams = 1
    for _ in range(2):
        lock_out.on()
        lock_out.off()
    assert rig.pulses == [True, True]
    assert not rig.switch.state  # locked (active-low) after the second pulse
    lock_out.on()
    unlock_out.on()
    assert rig.overlaps == 1

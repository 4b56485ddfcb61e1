"""The connector lock of a socket outlet: a 12 V motor actuator pulsed by two GPIOs, with a microswitch."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from pydantic import Field

from drivers.errors import DriverError
from drivers.gpio.access import PinFactory, close_quietly, gpio_errors, input_device, open_until_ready, output_device
from drivers.gpio.faults import FaultReporter
from drivers.gpio.pins import BcmPin, distinct_pins
from drivers.gpio.watched import WatchedInput
from drivers.interfaces import DriverParams, EventSink, FaultName

log = logging.getLogger(__name__)

#: Reported while the lock's pins cannot be claimed (and cleared once they are).
LOCK_UNAVAILABLE: Final = "lock_unavailable"


class GpioMotorLock:
    """A motor lock: a pulse on ``lock_pin`` drives the bolt in, one on ``unlock_pin`` out.

    The two outputs feed the motor's H-bridge; they are never on together (that shorts the bridge)
    and a pulse is always ended, even when the command is cancelled. After each pulse the
    microswitch has ``settle_ms`` to confirm; up to ``retries`` more pulses follow (a bolt that
    catches on a cable is common), then ``lock_failure`` / ``unlock_failure`` is raised and the
    command fails. A position already confirmed by the switch is not pulsed again.

    ``run`` watches the switch: once a command has set the intended position, the bolt leaving it
    by itself (a plug forced out) raises the same faults. A fault is cleared when the switch shows
    the position it said was not reached (``lock_failure`` once locked, ``unlock_failure`` once
    unlocked), by a later command or by hand.
    """

    class Params(DriverParams):
        """Board-YAML keys of ``lock.gpio_motor_lock``. Defaults suit a microswitch closing to ground when locked."""

        lock_pin: BcmPin = Field(description="BCM number of the output pulsing the motor towards locked")
        unlock_pin: BcmPin = Field(description="BCM number of the output pulsing the motor towards unlocked")
        feedback_pin: BcmPin = Field(description="BCM number of the microswitch input")
        active_high: bool = Field(True, description="True when a high output drives the motor")
        feedback_active_high: bool = Field(False, description="True when a high input means locked")
        feedback_pull_up: bool | None = Field(
            True, description="SoC pull on the feedback: True up, False down, null for an external resistor"
        )
        pulse_ms: int = Field(300, ge=10, le=5_000, description="how long one motor pulse lasts")
        settle_ms: int = Field(
            100, ge=0, le=5_000, description="how long the switch has to confirm after a pulse; its debounce"
        )
        retries: int = Field(3, ge=0, le=10, description="pulses tried again after the first one failed")

        check_pins = distinct_pins("lock_pin", "unlock_pin", "feedback_pin")

    def __init__(
        self,
        *,
        evse_id: int,
        lock_pin: int,
        unlock_pin: int,
        feedback_pin: int,
        active_high: bool = True,
        feedback_active_high: bool = False,
        feedback_pull_up: bool | None = True,
        pulse_ms: int = 300,
        settle_ms: int = 100,
        retries: int = 3,
        pin_factory: PinFactory = None,
        reopen_s: float = 5.0,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"gpio motor lock evse={evse_id} pins={lock_pin}/{unlock_pin}/{feedback_pin}"
        self._pins = (lock_pin, unlock_pin, feedback_pin)
        self._active_high = active_high
        self._feedback_active_high = feedback_active_high
        self._feedback_pull_up = feedback_pull_up
        self._pulse_s = pulse_ms / 1000
        self._settle_s = settle_ms / 1000
        self._retries = retries
        self._pin_factory = pin_factory
        self._reopen_s = reopen_s
        self._faults = FaultReporter(evse_id, self.name)
        self._lock_out: Any = None
        self._unlock_out: Any = None
        self._feedback: WatchedInput | None = None
        self._moving = asyncio.Lock()  # one movement at a time: never both outputs on
        self._intended: bool | None = None  # the position the last command asked for; None before any

    # -- the ConnectorLock protocol --

    @property
    def is_locked(self) -> bool:
        return self._feedback is not None and self._feedback.active

    async def run(self, sink: EventSink) -> None:
        self._faults.attach(sink)
        try:
            await open_until_ready(self._open_pins, self._faults, LOCK_UNAVAILABLE, self._reopen_s)
            self._faults.clear(LOCK_UNAVAILABLE)
            self._reconcile()
            await asyncio.Event().wait()
        finally:
            self._faults.detach()

    async def lock(self) -> None:
        await self._move(locked=True)

    async def unlock(self) -> None:
        await self._move(locked=False)

    # -- movement --

    async def _move(self, *, locked: bool) -> None:
        self._open_pins()
        feedback = self._feedback
        assert feedback is not None
        async with self._moving:
            self._intended = locked
            pulses = 0
            with gpio_errors(self.name):
                reached = feedback.active == locked
                while not reached and pulses <= self._retries:
                    pulses += 1
                    await self._pulse(locked)
                    reached = await feedback.wait_for(locked, self._settle_s)
            if reached:
                self._reconcile()
                return
        position = "locked" if locked else "unlocked"
        fault = FaultName.LOCK_FAILURE if locked else FaultName.UNLOCK_FAILURE
        problem = f"feedback not {position} after {pulses} pulse(s)"
        self._faults.report(fault, problem)
        raise DriverError(self.name, f"{problem} (fault {fault})")

    async def _pulse(self, locked: bool) -> None:
        drive, other = (self._lock_out, self._unlock_out) if locked else (self._unlock_out, self._lock_out)
        log.debug("device=%r pulse=%s ms=%d", self.name, "lock" if locked else "unlock", self._pulse_s * 1000)
        other.off()
        drive.on()
        try:
            await asyncio.sleep(self._pulse_s)
        finally:
            drive.off()  # also when cancelled: a motor left on burns against its end stop

    # -- pins --

    def _open_pins(self) -> None:
        """Claim the pins (once); raises DriverError. No await inside, so run and a command cannot race."""
        if self._feedback is not None:
            return
        lock_pin, unlock_pin, feedback_pin = self._pins
        lock_out = unlock_out = switch = None
        with gpio_errors(self.name):
            try:
                lock_out = output_device(lock_pin, active_high=self._active_high, pin_factory=self._pin_factory)
                unlock_out = output_device(unlock_pin, active_high=self._active_high, pin_factory=self._pin_factory)
                switch = input_device(
                    feedback_pin,
                    pull_up=self._feedback_pull_up,
                    active_high=self._feedback_active_high,
                    pin_factory=self._pin_factory,
                )
                feedback = WatchedInput(
                    switch,
                    active_high=self._feedback_active_high,
                    debounce_s=self._settle_s,
                    loop=asyncio.get_running_loop(),
                    on_settled=lambda _locked: self._reconcile(),
                )
            except BaseException:
                close_quietly(switch, unlock_out, lock_out)
                raise
        self._lock_out, self._unlock_out, self._feedback = lock_out, unlock_out, feedback

    # -- faults --

    def _reconcile(self) -> None:
        """Clear what the switch disproves; raise what it shows uncommanded (not while moving)."""
        if self._feedback is None:
            return
        locked = self._feedback.active
        self._faults.clear(FaultName.LOCK_FAILURE if locked else FaultName.UNLOCK_FAILURE)
        if self._moving.locked() or self._intended is None or self._intended == locked:
            return
        if self._intended:
            self._faults.report(FaultName.LOCK_FAILURE, "lock released without command")
        else:
            self._faults.report(FaultName.UNLOCK_FAILURE, "lock engaged without command")

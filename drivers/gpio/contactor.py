"""The power contactor on a GPIO output, with an optional auxiliary (mirror) contact on a GPIO input."""

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

#: Reported while the contactor's pins cannot be claimed (and cleared once they are).
CONTACTOR_UNAVAILABLE: Final = "contactor_unavailable"


class GpioContactor:
    """A contactor whose coil a GPIO drives, confirmed by its auxiliary contact where wired.

    ``close()`` energizes the coil and waits for the auxiliary contact; if it never comes the coil
    is released again (a coil held against a contactor that does not pull in only overheats) and
    ``contactor_stuck_open`` is raised. ``open()`` releases the coil; a contact still closed after
    ``open_timeout_ms`` is ``contactor_welded``. ``run`` watches the contact for what nobody
    commanded: opening while closed (``contactor_stuck_open``, e.g. the coil supply dropped) or
    closing while released (``contactor_welded``). A fault is cleared when the contact is seen
    doing what the fault said it would not: ``contactor_stuck_open`` once closed while commanded
    closed, ``contactor_welded`` once open while released.

    A command supersedes one still waiting (an ``open()`` during a ``close()`` acts at once; the
    close then fails with DriverError). ``is_closed`` is the command without a feedback pin, and
    before the pins are claimed (by ``run`` or the first command).
    """

    class Params(DriverParams):
        """Board-YAML keys of ``contactor.gpio``. Defaults suit an auxiliary NO contact switching to ground."""

        pin: BcmPin = Field(description="BCM number of the output driving the coil (through its driver stage)")
        active_high: bool = Field(True, description="True when a high output energizes the coil")
        feedback_pin: BcmPin | None = Field(None, description="BCM number of the auxiliary contact input, if any")
        feedback_active_high: bool = Field(False, description="True when a high input means the contactor is closed")
        feedback_pull_up: bool | None = Field(
            True, description="SoC pull on the feedback: True up, False down, null for an external resistor"
        )
        close_timeout_ms: int = Field(200, ge=1, le=10_000, description="how long close() waits for the feedback")
        open_timeout_ms: int = Field(200, ge=1, le=10_000, description="how long open() waits for the feedback")
        feedback_debounce_ms: int = Field(
            20, ge=0, le=1_000, description="how long an uncommanded feedback change must last to be a fault"
        )

        check_pins = distinct_pins("pin", "feedback_pin")

    def __init__(
        self,
        *,
        evse_id: int,
        pin: int,
        active_high: bool = True,
        feedback_pin: int | None = None,
        feedback_active_high: bool = False,
        feedback_pull_up: bool | None = True,
        close_timeout_ms: int = 200,
        open_timeout_ms: int = 200,
        feedback_debounce_ms: int = 20,
        pin_factory: PinFactory = None,
        reopen_s: float = 5.0,
    ) -> None:
        self.evse_id = evse_id
        self.name = f"gpio contactor evse={evse_id} pin={pin}"
        self._pin = pin
        self._active_high = active_high
        self._feedback_pin = feedback_pin
        self._feedback_active_high = feedback_active_high
        self._feedback_pull_up = feedback_pull_up
        self._close_timeout_s = close_timeout_ms / 1000
        self._open_timeout_s = open_timeout_ms / 1000
        self._debounce_s = feedback_debounce_ms / 1000
        self._pin_factory = pin_factory
        self._reopen_s = reopen_s
        self._faults = FaultReporter(evse_id, self.name)
        self._coil: Any = None
        self._feedback: WatchedInput | None = None
        self._commanded = False
        self._seq = 0  # numbers commands, so a superseded one knows it
        self._in_flight: int | None = None  # the command waiting for its feedback, if any

    # -- the Contactor protocol --

    @property
    def is_closed(self) -> bool:
        if self._feedback is not None:
            return self._feedback.active
        return self._commanded

    async def run(self, sink: EventSink) -> None:
        self._faults.attach(sink)
        try:
            await open_until_ready(self._open_pins, self._faults, CONTACTOR_UNAVAILABLE, self._reopen_s)
            self._faults.clear(CONTACTOR_UNAVAILABLE)
            self._reconcile()  # the initial state: a contact closed at start is welded
            await asyncio.Event().wait()
        finally:
            self._faults.detach()

    async def close(self) -> None:
        self._open_pins()
        seq = self._command(True)
        try:
            confirmed = await self._wait_feedback(seq, True, self._close_timeout_s)
        except asyncio.CancelledError:
            if self._seq == seq:
                self._drive(False)  # nobody will see the outcome: leave the safe state
            raise
        if confirmed:
            self._reconcile()
            return
        self._drive(False)
        ms = round(self._close_timeout_s * 1000)
        self._faults.report(FaultName.CONTACTOR_STUCK_OPEN, f"feedback still open {ms} ms after close; coil released")
        self._reconcile()
        raise DriverError(self.name, f"feedback still open {ms} ms after close (fault contactor_stuck_open)")

    async def open(self) -> None:
        self._open_pins()
        seq = self._command(False)
        if await self._wait_feedback(seq, False, self._open_timeout_s):
            self._reconcile()
            return
        ms = round(self._open_timeout_s * 1000)
        self._faults.report(FaultName.CONTACTOR_WELDED, f"feedback still closed {ms} ms after open")
        self._reconcile()
        raise DriverError(self.name, f"feedback still closed {ms} ms after open (fault contactor_welded)")

    # -- pins --

    def _open_pins(self) -> None:
        """Claim the pins (once); raises DriverError. No await inside, so run and a command cannot race."""
        if self._coil is not None:
            return
        coil = feedback = None
        with gpio_errors(self.name):
            try:
                coil = output_device(self._pin, active_high=self._active_high, pin_factory=self._pin_factory)
                if self._feedback_pin is not None:
                    feedback = input_device(
                        self._feedback_pin,
                        pull_up=self._feedback_pull_up,
                        active_high=self._feedback_active_high,
                        pin_factory=self._pin_factory,
                    )
                    self._feedback = WatchedInput(
                        feedback,
                        active_high=self._feedback_active_high,
                        debounce_s=self._debounce_s,
                        loop=asyncio.get_running_loop(),
                        on_settled=lambda _closed: self._reconcile(),
                    )
            except BaseException:
                self._feedback = None
                close_quietly(feedback, coil)
                raise
        self._coil = coil

    def _drive(self, energize: bool) -> None:
        with gpio_errors(self.name):
            if energize:
                self._coil.on()
            else:
                self._coil.off()
        self._commanded = energize

    def _command(self, close: bool) -> int:
        self._seq += 1
        log.debug("device=%r command=%s seq=%d", self.name, "close" if close else "open", self._seq)
        self._drive(close)
        if self._feedback is not None:
            self._in_flight = self._seq
            self._feedback.wake()  # a command still waiting sees at once that it was superseded
        return self._seq

    async def _wait_feedback(self, seq: int, closed: bool, timeout_s: float) -> bool:
        """Whether the contact reached ``closed`` in time (True without feedback: the command is all we know).

        Raises DriverError when a later command superseded this one while it waited.
        """
        if self._feedback is None:
            return True
        try:
            with gpio_errors(self.name):
                confirmed = await self._feedback.wait_for(closed, timeout_s, abandon=lambda: self._seq != seq)
        finally:
            if self._in_flight == seq:
                self._in_flight = None
        if self._seq != seq:
            raise DriverError(self.name, f"{'close' if closed else 'open'} superseded by a later command")
        return confirmed

    # -- faults --

    def _reconcile(self) -> None:
        """Compare command and contact; clear what the contact disproves, raise what it shows uncommanded.

        Skipped (for raising) while a command waits for its feedback: the contact is still moving.
        """
        if self._feedback is None:
            return
        closed = self._feedback.active
        if self._commanded and closed:
            self._faults.clear(FaultName.CONTACTOR_STUCK_OPEN)
        if not self._commanded and not closed:
            self._faults.clear(FaultName.CONTACTOR_WELDED)
        if self._in_flight is not None:
            return
        if self._commanded and not closed:
            self._faults.report(FaultName.CONTACTOR_STUCK_OPEN, "contact opened while commanded closed")
        elif not self._commanded and closed:
            self._faults.report(FaultName.CONTACTOR_WELDED, "contact closed while commanded open")

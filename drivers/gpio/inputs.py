"""A digital input on a GPIO: RCD trip contact, emergency stop, start button, door switch."""

from __future__ import annotations

import asyncio
import logging

from pydantic import Field

from drivers.gpio.access import PinFactory, close_quietly, gpio_errors, input_device, open_until_ready
from drivers.gpio.faults import FaultReporter
from drivers.gpio.pins import BcmPin
from drivers.gpio.watched import WatchedInput
from drivers.interfaces import DriverParams, EventSink, InputChanged

log = logging.getLogger(__name__)


class GpioInput:
    """One debounced input, reported as a fault (``fault: true``) or as :class:`InputChanged`.

    A fault input (RCD, emergency stop) raises ``FaultRaised(evse_id, name, ...)`` while asserted
    and clears it when released. While its pin cannot be read it also raises its own fault: a safety
    signal that cannot be read is not a signal that all is well. Another input reports
    ``InputChanged`` on every change, its current level when ``run`` starts, and
    ``<name>_unavailable`` while its pin cannot be read.

    Name a fault input after the :class:`~drivers.interfaces.FaultName` the station core knows
    (``rcd_trip``, ``emergency_stop``). Wire safety contacts normally closed with
    ``active_high: true`` and the pull-up: a broken wire then reads as asserted.
    """

    class Params(DriverParams):
        """Board-YAML keys of ``input.gpio``. Defaults suit a button switching to ground."""

        pin: BcmPin = Field(description="BCM number of the input")
        name: str = Field(
            min_length=1,
            max_length=50,
            description="what the input is (rcd_trip, emergency_stop, start_button, door ...): the event's name",
        )
        active_high: bool = Field(False, description="True when a high input means asserted")
        pull_up: bool | None = Field(True, description="SoC pull: True up, False down, null for an external resistor")
        debounce_ms: int = Field(20, ge=0, le=10_000, description="how long a level must hold to count")
        fault: bool = Field(False, description="report assertion as a fault (RCD, emergency stop)")

    def __init__(
        self,
        *,
        evse_id: int,
        pin: int,
        name: str,
        active_high: bool = False,
        pull_up: bool | None = True,
        debounce_ms: int = 20,
        fault: bool = False,
        pin_factory: PinFactory = None,
        reopen_s: float = 5.0,
    ) -> None:
        self.evse_id = evse_id
        self.input_name = name
        self.name = f"gpio input {name} evse={evse_id} pin={pin}"
        self._pin = pin
        self._active_high = active_high
        self._pull_up = pull_up
        self._debounce_s = debounce_ms / 1000
        self._fault = fault
        self._pin_factory = pin_factory
        self._reopen_s = reopen_s
        self._faults = FaultReporter(evse_id, self.name)
        self._input: WatchedInput | None = None
        self._sink: EventSink | None = None
        self._reported: bool | None = None  # the level last reported; None before run reported one

    # -- the DigitalInput protocol --

    @property
    def is_active(self) -> bool:
        """The debounced level as last reported; False until ``run`` has read the pin."""
        return bool(self._reported)

    async def run(self, sink: EventSink) -> None:
        self._sink = sink
        self._faults.attach(sink)
        unreadable = self.input_name if self._fault else f"{self.input_name}_unavailable"
        try:
            await open_until_ready(self._open_pin, self._faults, unreadable, self._reopen_s)
            assert self._input is not None
            if not self._fault:
                self._faults.clear(unreadable)
            self._reported = None  # report the level on every start, even the one reported before
            self._report(self._input.settled)
            await asyncio.Event().wait()
        finally:
            self._sink = None
            self._faults.detach()

    # -- internals --

    def _report(self, active: bool) -> None:
        if active == self._reported:
            return  # a bounce that came back: nothing happened
        self._reported = active
        log.debug("device=%r active=%s", self.name, active)
        if self._fault:
            if active:
                self._faults.report(self.input_name, f"input {self.input_name} asserted (pin {self._pin})")
            else:
                self._faults.clear(self.input_name)
        elif self._sink is not None:
            self._sink(InputChanged(self.evse_id, self.input_name, active))

    def _open_pin(self) -> None:
        if self._input is not None:
            return
        device = None
        with gpio_errors(self.name):
            try:
                device = input_device(
                    self._pin, pull_up=self._pull_up, active_high=self._active_high, pin_factory=self._pin_factory
                )
                self._input = WatchedInput(
                    device,
                    active_high=self._active_high,
                    debounce_s=self._debounce_s,
                    loop=asyncio.get_running_loop(),
                    on_settled=self._report,
                )
            except BaseException:
                close_quietly(device)
                raise

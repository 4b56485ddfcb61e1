"""One GPIO input watched from the event loop: its level with the board's polarity, its edges, debounced."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

#: How often a waiter looks at the level even without an edge: edge detection on a real SoC can
#: miss an edge (two within the interrupt latency), the level cannot lie.
POLL_S: Final = 0.01


class WatchedInput:
    """A claimed gpiozero input whose edges arrive on the event loop.

    Why not gpiozero's ``DigitalInputDevice``: it derives the polarity from the pull (pull-up means
    active-low), but a normally-closed safety contact on a pull-up is active-high; and its
    ``bounce_time`` ignores the edges that follow the first, so it can miss the final level. Here the
    level is read again once the pin has been quiet for ``debounce_s``, and only a level that held
    that long counts as :attr:`settled`.

    gpiozero calls edge callbacks on its own threads (a mock pin: on whichever thread drives it), so
    the callback only hops to the loop with ``call_soon_threadsafe``; everything else runs there.
    """

    def __init__(
        self,
        device: Any,
        *,
        active_high: bool,
        debounce_s: float,
        loop: asyncio.AbstractEventLoop,
        on_settled: Callable[[bool], None] | None = None,
    ) -> None:
        self._device = device
        self._active_high = active_high
        self._debounce_s = debounce_s
        self._loop = loop
        #: Called on the loop with the level each time the pin has been quiet for ``debounce_s`` after
        #: an edge, even when that level is the one settled before (a bounce that came back): the
        #: owner judges, since what it expects may have changed meanwhile (a command).
        self.on_settled = on_settled
        self._edge = asyncio.Event()
        self._settle_timer: asyncio.TimerHandle | None = None
        self.settled = self.active
        device.pin.edges = "both"
        # gpiozero keeps only a weak reference to a bound method: this object must outlive the pin.
        device.pin.when_changed = self._pin_changed

    @property
    def active(self) -> bool:
        """The level now (not debounced), True when asserted with the board's polarity."""
        return bool(self._device.pin.state) == self._active_high

    async def wait_for(self, active: bool, timeout_s: float, abandon: Callable[[], bool] = lambda: False) -> bool:
        """Wait until the level is ``active``; False if it still is not after ``timeout_s``.

        Returns at the first matching level: a command wants the first touch of a contact, the
        watcher judges whether it stays. Returns early (with the level then) once ``abandon()`` is
        true, checked at every edge, every :data:`POLL_S` and after :meth:`wake`.
        """
        deadline = self._loop.time() + timeout_s
        while self.active != active:
            if abandon():
                return False
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return False
            edge = self._edge  # taken before awaiting: an edge from now on sets this very event
            try:
                await asyncio.wait_for(edge.wait(), min(remaining, POLL_S))
            except TimeoutError:
                pass
        return True

    def wake(self) -> None:
        """Make waiters look again now (their ``abandon`` condition may have become true)."""
        self._edge.set()
        self._edge = asyncio.Event()

    def close(self) -> None:
        """Stop watching and release the pin."""
        if self._settle_timer is not None:
            self._settle_timer.cancel()
        self._device.pin.when_changed = None
        self._device.close()

    def _pin_changed(self, ticks: float, state: int) -> None:
        # On a gpiozero thread: nothing but the hop.
        try:
            self._loop.call_soon_threadsafe(self._on_edge)
        except RuntimeError:
            pass  # the loop is closed: the daemon is exiting and nobody listens any more

    def _on_edge(self) -> None:
        self.wake()
        if self._settle_timer is not None:
            self._settle_timer.cancel()
        self._settle_timer = self._loop.call_later(self._debounce_s, self._settle)

    def _settle(self) -> None:
        self._settle_timer = None
        self.settled = self.active
        if self.on_settled is not None:
            self.on_settled(self.settled)

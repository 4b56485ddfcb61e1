"""What a local energy manager (EMS) asked for, and the failsafe when it falls silent.

The EMS writes limits for the station (EVSE 0) or an EVSE; each write (of any writable register, the same
value again included) proves it is alive. When `timeout_s` passes without one, its limits are stale: they
are dropped (the registers read "no limit" again) and every EVSE is capped to the failsafe current until the
EMS writes again. The clock starts when the station starts, so an EMS that never comes up is a silent one
too: a house connection sized on the EMS's limits is not overloaded by a station that boots without it.
No Modbus here (evse.smartcharging.ems_server); no asyncio either, except the watchdog loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from evse.smartcharging.ems_registers import Limit
from evse.smartcharging.external_limits import EMS, ExternalLimit
from evse.smartcharging.limit_sink import LimitSink

log = logging.getLogger(__name__)


class EmsControl:
    """The EMS's written limits, its failsafe current and communication timeout, and the watchdog."""

    def __init__(
        self,
        sink: LimitSink,
        evse_ids: Iterable[int],
        *,
        failsafe_a: float,
        timeout_s: int,
        monotonic: Callable[[], float],
    ) -> None:
        self._sink = sink
        self.evse_ids = tuple(evse_ids)
        self.failsafe_a = failsafe_a
        self.timeout_s = timeout_s
        self._monotonic = monotonic
        self._written: dict[int, Limit] = {}
        self._last_write = monotonic()
        self.failsafe_active = False

    def written(self, evse_id: int) -> Limit:
        """The limit the EMS wrote for the station (0) or an EVSE and that is in force (none in failsafe)."""
        return self._written.get(evse_id, Limit())

    def seconds_since_write(self) -> float:
        return self._monotonic() - self._last_write

    def write_limit(self, evse_id: int, limit: Limit) -> None:
        """The EMS wrote the limit registers of the station (0) or an EVSE."""
        if limit.is_empty:
            self._written.pop(evse_id, None)
        else:
            self._written[evse_id] = limit
        log.info("ems limit evse=%s amps=%s watts=%s", evse_id, limit.amps, limit.watts)
        if not self._alive():  # leaving the failsafe publishes every EVSE, this one included
            self._publish(evse_id)

    def write_settings(self, *, failsafe_a: float | None = None, timeout_s: int | None = None) -> None:
        """The EMS wrote the failsafe current or the communication timeout."""
        self._alive()
        if failsafe_a is not None:
            self.failsafe_a = failsafe_a
        if timeout_s is not None:
            self.timeout_s = timeout_s
        log.info("ems settings failsafe_a=%s timeout_s=%s", self.failsafe_a, self.timeout_s)

    def check(self) -> None:
        """Enter the failsafe if the EMS has been silent for the timeout (called every second)."""
        if self.failsafe_active or self.timeout_s <= 0 or self.seconds_since_write() < self.timeout_s:
            return
        log.warning(
            "ems silent for %ss (timeout %ss): failsafe current %s A on every EVSE, its limits dropped",
            round(self.seconds_since_write()),
            self.timeout_s,
            self.failsafe_a,
        )
        self.failsafe_active = True
        self._written.clear()
        self._publish_all()

    async def run(self) -> None:
        """The watchdog: never returns."""
        while True:
            self.check()
            await asyncio.sleep(1.0)

    def _alive(self) -> bool:
        """The EMS wrote: restart the timeout; True if that lifted the failsafe (every limit republished)."""
        self._last_write = self._monotonic()
        if not self.failsafe_active:
            return False
        log.warning("ems writes again: failsafe lifted")
        self.failsafe_active = False
        self._publish_all()
        return True

    def _publish_all(self) -> None:
        for evse_id in (0, *self.evse_ids):
            self._publish(evse_id)

    def _publish(self, evse_id: int) -> None:
        failsafe = Limit(amps=self.failsafe_a) if evse_id else Limit()  # the failsafe is per EVSE
        limit = failsafe if self.failsafe_active else self.written(evse_id)
        if limit.is_empty:
            self._sink.clear(EMS, evse_id)
        else:
            self._sink.set(ExternalLimit(EMS, evse_id, amps=limit.amps, watts=limit.watts))

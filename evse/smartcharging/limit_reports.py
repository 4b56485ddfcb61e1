"""Tells the CSMS of external limits: NotifyChargingLimit when one is set or changes (K11/K12),
ClearedChargingLimit when it is lifted (K13).

A change is reported when it differs from the limit last reported by more than
SmartChargingCtrlr.LimitChangeSignificance percent (K11.FR.02, K12.FR.02), compared with what was reported,
not with the previous value, so a limit that creeps up 1 % at a time is reported once the creep adds up.
Its schedule goes with it when SmartChargingCtrlr.NotifyChargingLimitWithSchedules is true (K11.FR.03,
K12.FR.03). The station's own load balancing is internal and never reported.

Both messages go through the outbox, like StatusNotification and NotifyEvent: OCPP requires queuing only for
transaction messages, but a grid-critical limit the CSMS never hears of after an outage makes its charging
profiles wrong for as long as the limit lasts, and a set followed by a clear arrives in order, so the CSMS
ends with the truth.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from evse.ocpp.calls import OcppMessage
from evse.smartcharging.external_limits import LOAD_BALANCING, ExternalLimit
from evse.smartcharging.model import RateUnit, Schedule, SchedulePeriod

log = logging.getLogger(__name__)


def significant(reported: ExternalLimit | None, new: ExternalLimit, percent: float) -> bool:
    """True if `new` differs from the limit last reported by more than `percent` (or in kind)."""
    if reported is None or reported.is_grid_critical != new.is_grid_critical:
        return True
    for before, after in ((reported.amps, new.amps), (reported.watts, new.watts)):
        if (before is None) != (after is None):
            return True
        if before is None or after is None or before == after:
            continue
        if before == 0 or abs(after - before) / before * 100 > percent:
            return True
    return False


class LimitWire(Protocol):
    """The messages of these reports, in the adapter's protocol (the station's ChargingWire is one)."""

    def charging_limit(self, limit: ExternalLimit, schedules: Sequence[Schedule]) -> OcppMessage: ...

    def charging_limit_cleared(self, limit: ExternalLimit) -> OcppMessage: ...


class LimitReports:
    """Listens to the ExternalLimits registry and queues the CSMS messages."""

    def __init__(
        self,
        enqueue: Callable[[OcppMessage], None],
        wire: LimitWire,
        *,
        significance_percent: Callable[[], float],
        with_schedules: Callable[[], bool],
        now: Callable[[], datetime],
    ) -> None:
        self._enqueue = enqueue
        self._wire = wire
        self._significance = significance_percent
        self._with_schedules = with_schedules
        self._now = now
        self._reported: dict[tuple[str, int], ExternalLimit] = {}
        self._schedule_ids = itertools.count(1)

    def on_change(self, old: ExternalLimit | None, new: ExternalLimit | None) -> None:
        """An ExternalLimits listener."""
        limit = new or old
        if limit is None or limit.source == LOAD_BALANCING:
            return
        key = (limit.source, limit.evse_id)
        if new is None:
            if self._reported.pop(key, None) is not None:
                self._enqueue(self._wire.charging_limit_cleared(limit))
            return
        if not significant(self._reported.get(key), new, self._significance()):
            log.debug("external limit change below LimitChangeSignificance, not reported: %s", new)
            return
        self._reported[key] = new
        self._enqueue(self.notify(new))

    def notify(self, limit: ExternalLimit) -> OcppMessage:
        return self._wire.charging_limit(limit, self._schedules(limit) if self._with_schedules() else [])

    def _schedules(self, limit: ExternalLimit) -> list[Schedule]:
        """One open-ended schedule per unit the limit has (a schedule has one chargingRateUnit)."""
        start = self._now()
        return [
            Schedule(
                id=next(self._schedule_ids),
                rate_unit=unit,
                start=start,
                # The schema allows one decimal in a period's limit.
                periods=(SchedulePeriod(start_period=0, limit=round(value, 1)),),
            )
            for unit, value in ((RateUnit.A, limit.amps), (RateUnit.W, limit.watts))
            if value is not None
        ]

"""The grid operator's control contact (section 14a EnWG style): while it is closed, the station is dimmed.

A control box of the grid operator closes a dry contact wired to a digital input named ``grid_limit`` (on a
GPIO, or ``evse sim input grid_limit on`` on the simulated board). While it is active the whole station
(EVSE 0) is capped to the configured power, a grid-critical limit of source SO. The input may be wired to
any EVSE's board section: it always limits the station. A GPIO input reports its level when it starts, so a
contact closed across a restart is in force again at once.
"""

from __future__ import annotations

import logging

from drivers.interfaces import DriverEvent, InputChanged
from evse.smartcharging.external_limits import GRID_OPERATOR, ExternalLimit
from evse.smartcharging.limit_sink import LimitSink

log = logging.getLogger(__name__)


class GridLimitInput:
    """Turns the named digital input into the grid operator's station limit."""

    def __init__(self, sink: LimitSink, *, input_name: str, power_w: float) -> None:
        self._sink = sink
        self.input_name = input_name
        self.power_w = power_w
        self.active = False

    def on_driver_event(self, event: DriverEvent) -> None:
        if not isinstance(event, InputChanged) or event.name != self.input_name or event.active == self.active:
            return
        self.active = event.active
        if event.active:
            log.warning("grid operator limit: input %s closed, station capped to %s W", self.input_name, self.power_w)
            self._sink.set(ExternalLimit(GRID_OPERATOR, 0, watts=self.power_w, is_grid_critical=True))
        else:
            log.warning("grid operator limit lifted: input %s open", self.input_name)
            self._sink.clear(GRID_OPERATOR, 0)

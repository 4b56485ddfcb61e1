"""One reported fault fed by several independent causes (``pilot_failure``: the link, a command).

The station core knows a fault by name only, so the driver must raise it once when the first cause
appears and clear it only when the last cause is gone: a recovered link must not clear the fault
of a command the MCU still refuses. Events go out only while someone listens (a ``run`` with its
sink); a new listener hears the causes still standing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.interfaces import DriverEvent, FaultCleared, FaultRaised

log = logging.getLogger(__name__)


class CausedFault:
    """The fault ``name`` of one EVSE and the causes (cause -> detail) that currently hold it raised."""

    def __init__(self, evse_id: int, name: str, device: str) -> None:
        self.evse_id = evse_id
        self.name = name
        self._device = device
        self._causes: dict[str, str] = {}
        self._sink: Callable[[DriverEvent], None] | None = None
        self._announced = False  # FaultRaised delivered to the current sink, FaultCleared not yet

    @property
    def causes(self) -> dict[str, str]:
        return dict(self._causes)

    def attach(self, sink: Callable[[DriverEvent], None] | None) -> None:
        """A new listener (None: nobody) who has heard nothing yet; it hears the causes still standing."""
        self._sink = sink
        self._announced = False
        self._announce()

    def add(self, cause: str, detail: str) -> None:
        if self._causes.get(cause) != detail:
            log.warning("device=%r fault=%s cause=%s detail=%r", self._device, self.name, cause, detail)
        self._causes[cause] = detail
        self._announce()

    def remove(self, cause: str) -> None:
        if self._causes.pop(cause, None) is not None:
            log.info("device=%r fault=%s cause=%s recovered", self._device, self.name, cause)
        if not self._causes and self._announced and self._sink is not None:
            self._announced = False
            self._sink(FaultCleared(self.evse_id, self.name))

    def _announce(self) -> None:
        if self._causes and not self._announced and self._sink is not None:
            self._announced = True
            self._sink(FaultRaised(self.evse_id, self.name, next(reversed(self._causes.values()))))

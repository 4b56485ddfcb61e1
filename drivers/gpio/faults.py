"""The faults one driver currently reports, so that each is raised once and cleared once."""

from __future__ import annotations

import logging

from drivers.interfaces import EventSink, FaultCleared, FaultRaised

log = logging.getLogger(__name__)


class FaultReporter:
    """The set of faults a driver has raised and not yet cleared, and the sink they go to.

    Why a set rather than emitting directly: a fault is found both by commands (a close that the
    feedback never confirms) and by the watcher in ``run`` (the same contact opening by itself), maybe
    before ``run`` attached a sink. The set makes raising idempotent, keeps raise/clear pairs
    balanced, and lets ``run`` report on start what is already wrong (events before ``run`` are
    not delivered, so they would otherwise be lost).

    Used on the event-loop thread only.
    """

    def __init__(self, evse_id: int, device: str) -> None:
        self._evse_id = evse_id
        self._device = device
        self._active: dict[str, str] = {}
        self._sink: EventSink | None = None

    def attach(self, sink: EventSink) -> None:
        """Deliver to ``sink`` from now on, starting with every fault already active."""
        self._sink = sink
        for name, detail in self._active.items():
            sink(FaultRaised(self._evse_id, name, detail))

    def detach(self) -> None:
        self._sink = None

    def is_active(self, name: str) -> bool:
        return name in self._active

    def report(self, name: str, detail: str) -> None:
        """Raise fault ``name`` unless it is already raised."""
        if name in self._active:
            return
        self._active[name] = detail
        log.warning("device=%r evse=%d fault=%s detail=%r", self._device, self._evse_id, name, detail)
        if self._sink is not None:
            self._sink(FaultRaised(self._evse_id, name, detail))

    def clear(self, name: str) -> None:
        """Clear fault ``name`` if it is raised."""
        if self._active.pop(name, None) is None:
            return
        log.info("device=%r evse=%d fault_cleared=%s", self._device, self._evse_id, name)
        if self._sink is not None:
            self._sink(FaultCleared(self._evse_id, name))

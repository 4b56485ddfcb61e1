"""Limits that do not come from the CSMS's charging profiles: a local energy manager (EMS, over Modbus TCP),
the grid operator's control input (SO), and the station's own load balancing between EVSEs.

Each source sets or clears its limit for the station (evse_id 0) or one EVSE; the composite schedule takes
the lowest limit in force for an EVSE (its own and the station's) as ChargingStationExternalConstraints
(K11-K13) or, for load balancing, as the EVSE's share (K04). In memory only: after a restart the EMS writes
again, the contact is read again, and the shares are computed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: Sources, as ChargingLimitSourceEnumType names them where OCPP has a name (NotifyChargingLimit).
EMS = "EMS"
GRID_OPERATOR = "SO"
OTHER = "Other"
#: The station's own sharing of a site limit between its EVSEs (K04): not reported as an external limit.
LOAD_BALANCING = "LoadBalancing"


@dataclass(frozen=True)
class ExternalLimit:
    """One source's limit for the station (evse_id 0) or one EVSE: amperes per phase and/or watts."""

    source: str
    evse_id: int
    amps: float | None = None
    watts: float | None = None
    is_grid_critical: bool = False


Listener = Callable[[ExternalLimit | None, ExternalLimit | None], None]


class ExternalLimits:
    """The external limits in force, by (source, evse_id); listeners hear of every change (old, new)."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, int], ExternalLimit] = {}
        self._listeners: list[Listener] = []

    def set(self, limit: ExternalLimit) -> None:
        """Put `limit` in force for its source and EVSE, replacing that source's previous one."""
        key = (limit.source, limit.evse_id)
        old = self._limits.get(key)
        if old == limit:
            return
        self._limits[key] = limit
        log.info("external limit source=%s evse=%s amps=%s watts=%s", *key, limit.amps, limit.watts)
        self._tell(old, limit)

    def clear(self, source: str, evse_id: int) -> None:
        """Lift the source's limit for that EVSE (or the station, 0); nothing happens if there is none."""
        old = self._limits.pop((source, evse_id), None)
        if old is not None:
            log.info("external limit cleared source=%s evse=%s", source, evse_id)
            self._tell(old, None)

    def in_force(self, evse_id: int | None = None) -> list[ExternalLimit]:
        """Every limit in force; with `evse_id`, those that bind that EVSE (its own and the station's)."""
        if evse_id is None:
            return list(self._limits.values())
        return [limit for limit in self._limits.values() if limit.evse_id in (0, evse_id)]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear of every change as (old, new): (None, new) set, (old, new) changed, (old, None) cleared."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, old: ExternalLimit | None, new: ExternalLimit | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(old, new)
            except Exception:
                log.exception("external limit listener failed")

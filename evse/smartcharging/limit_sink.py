"""Where a source of external limits puts them: the registry, through the gate of
SmartChargingCtrlr.ExternalControlSignalsEnabled.

The CSMS may tell the station to stop responding to external control signals (the variable set to false):
the sources keep running and keep what they ask for here, and the registry holds none of it until the
variable is true again. The station's own load balancing is not an external signal and is never gated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from evse.smartcharging.external_limits import ExternalLimit, ExternalLimits

log = logging.getLogger(__name__)


class LimitSink(Protocol):
    """What a source of external limits writes to (the registry has the same two methods)."""

    def set(self, limit: ExternalLimit) -> None: ...

    def clear(self, source: str, evse_id: int) -> None: ...


class SignalGate:
    """The limits every external source asks for, passed to the registry while `enabled()` is true."""

    def __init__(self, registry: ExternalLimits, enabled: Callable[[], bool]) -> None:
        self._registry = registry
        self._enabled = enabled
        self._wanted: dict[tuple[str, int], ExternalLimit] = {}
        self._open = enabled()

    def set(self, limit: ExternalLimit) -> None:
        self._wanted[(limit.source, limit.evse_id)] = limit
        if self._open:
            self._registry.set(limit)

    def clear(self, source: str, evse_id: int) -> None:
        self._wanted.pop((source, evse_id), None)
        self._registry.clear(source, evse_id)

    def refresh(self) -> None:
        """Follow a change of ExternalControlSignalsEnabled: put every wanted limit in force, or lift them."""
        now_open = self._enabled()
        if now_open == self._open:
            return
        self._open = now_open
        log.warning("external control signals %s", "enabled" if now_open else "disabled: their limits are lifted")
        for (source, evse_id), limit in self._wanted.items():
            if now_open:
                self._registry.set(limit)
            else:
                self._registry.clear(source, evse_id)

"""The events part of the station's port to its CSMS (evse/station/shell/wire.py): event reports (faults,
variable monitors), reservation updates, and sending a message at once when the outbox cannot take it.

The vocabularies are the device model's and the core's: a trigger is Alerting / Delta / Periodic, a
notification type names who watched the variable (HardWiredNotification, HardWiredMonitor,
PreconfiguredMonitor, CustomMonitor: evse.devicemodel.monitoring.MonitorKind), a reservation update is
Expired or Removed; the adapter says each in its protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from evse.ocpp.calls import OcppMessage


@dataclass(frozen=True)
class EventReport:
    """One event of an event report: a watched variable of a component changed, crossed a bound or was read."""

    event_id: int
    at: datetime
    trigger: str  # Alerting | Delta | Periodic
    actual_value: str
    component: str
    variable: str
    notification: str  # HardWiredNotification | HardWiredMonitor | PreconfiguredMonitor | CustomMonitor
    component_instance: str | None = None
    evse_id: int | None = None  # None: the component is the station's, not an EVSE's
    connector_id: int | None = None
    variable_instance: str | None = None
    cleared: bool | None = None
    monitor_id: int | None = None
    tech_code: str | None = None
    tech_info: str | None = None
    transaction_id: str | None = None


class EventWire(Protocol):
    """What the station's events code says to the CSMS and asks of it."""

    def notify_event(self, at: datetime, events: Sequence[EventReport]) -> OcppMessage:
        """One complete event report (generated at `at`) of one or more events."""
        ...

    def reservation_update(self, reservation_id: int, status: str) -> OcppMessage:
        """A reservation ended without being used: `status` Expired (H04) or Removed (H01.FR.16/17)."""
        ...

    async def send(self, message: OcppMessage) -> None:
        """Send a message this wire rendered now, not through the outbox, and wait for the CSMS's answer
        (which says nothing the station acts on); raises what the call raises."""
        ...

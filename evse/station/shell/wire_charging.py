"""The charging part of the station's port to its CSMS (evse/station/shell/wire.py): an ISO 15118 EV's needs
and the schedule it accepted (K15-K17), and the external limits the station reports (K11-K13).

The vocabularies are the smart-charging engine's (evse/smartcharging/model.py) and the bridge's
(drivers.interfaces.Iso15118ChargingNeeds); the adapter says each in its protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from drivers.interfaces import Iso15118ChargingNeeds
from evse.ocpp.calls import OcppMessage
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import Schedule


class ChargingWire(Protocol):
    """What the station's charging code says to the CSMS and asks of it."""

    def ev_charging_needs(self, evse_id: int, needs: Iso15118ChargingNeeds) -> OcppMessage:
        """The EV's needs, as the CSMS plans with them (K15.FR.01)."""
        ...

    def ev_charging_schedule(self, evse_id: int, time_base: datetime, schedule: Schedule) -> OcppMessage:
        """The schedule the EV accepted, from `time_base` (K15.FR.02, K16)."""
        ...

    def charging_limit(self, limit: ExternalLimit, schedules: Sequence[Schedule]) -> OcppMessage:
        """An external limit set or changed (K11, K12); `schedules` empty when none go with it."""
        ...

    def charging_limit_cleared(self, limit: ExternalLimit) -> OcppMessage:
        """An external limit lifted (K13)."""
        ...

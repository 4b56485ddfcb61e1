"""The transactions part of the station's port to its CSMS: registration, transaction events, statuses,
meter values, and the delivery of what the outbox holds (evse/station/shell/wire.py).

The vocabularies are the core's: an event type is Started / Updated / Ended, a trigger or a stop reason is
the name the core gave it (evse/station/core/evse_fsm.py), a status is the core's ConnectorStatus value;
the adapter says each in its protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from evse.config import StationSection
from evse.ocpp.calls import OcppMessage
from evse.station.core.samples import MeterSample
from evse.station.core.tokens_neutral import PersonalMessage, TokenVerdict


@dataclass(frozen=True)
class TxEvent:
    """One event of a transaction, as the CSMS must hear it (numbered by the adapter's caller, the journal)."""

    event_type: str  # Started | Updated | Ended
    at: datetime
    trigger: str
    transaction_id: str
    charging_state: str
    offline: bool
    samples: Sequence[MeterSample] = ()
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    token: tuple[str, str] | None = None  # (value, type) of the token this event brings
    reservation_id: int | None = None
    phases: int | None = None
    cable_max_a: int | None = None
    outlet: tuple[int, int] | None = None  # (evse id, connector id), where the event names it


@dataclass(frozen=True)
class TxAnswer:
    """The CSMS's answer to a transaction event, with what the station needs of the event itself."""

    transaction_id: str
    ended: bool
    token: tuple[str, str] | None  # the token the event carried
    verdict: TokenVerdict | None  # the CSMS's verdict on that token, if it gave one
    total_cost: float | None = None
    updated_message: PersonalMessage | None = None  # a new personal message for the driver (I03, I06)


@dataclass(frozen=True)
class NeedsAnswer:
    """The CSMS's answer to the EV's charging needs (K15): Accepted, Rejected or Processing."""

    evse_id: int
    status: str


#: What delivering an outbox entry brought back that the station acts on (None: nothing).
Answer = TxAnswer | NeedsAnswer | None


@dataclass(frozen=True)
class BootAnswer:
    status: str  # Accepted | Pending | Rejected
    interval: int
    current_time: datetime


class Undeliverable(Exception):
    """An outbox entry that is no message of its protocol: it can never be sent."""


class TxWire(Protocol):
    """Registration, transactions, statuses and meter values."""

    async def boot(self, station: StationSection, reason: str) -> BootAnswer: ...

    async def heartbeat(self) -> datetime:
        """One Heartbeat; the CSMS's time."""
        ...

    def transaction_event(self, event: TxEvent, seq_no: int) -> OcppMessage: ...

    def status(self, at: datetime, evse_id: int, connector_id: int, status: str) -> OcppMessage: ...

    def meter_values(self, evse_id: int, samples: Sequence[MeterSample]) -> OcppMessage:
        """Meter values outside any transaction (clock-aligned, triggered)."""
        ...

    async def deliver(self, protocol: str, action: str, payload: dict[str, Any]) -> Answer:
        """Send an outbox entry (written in `protocol`); raises Undeliverable, and what the call raises."""
        ...

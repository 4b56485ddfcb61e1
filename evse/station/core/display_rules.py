"""Display messages of the CSMS (O01-O06): which are accepted, which a query selects, which are due now.

Pure: no I/O, no clock of its own (``now`` is passed in). The shell (evse/station/shell/display_messages.py)
stores the messages and answers the CSMS; evse/station/core/screen.py turns the due ones into lines of text.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Priority(StrEnum):
    """MessagePriorityEnumType."""

    AlwaysFront = "AlwaysFront"
    InFront = "InFront"
    NormalCycle = "NormalCycle"


class MessageState(StrEnum):
    """MessageStateEnumType: the station state during which a message is shown."""

    Charging = "Charging"
    Faulted = "Faulted"
    Idle = "Idle"
    Unavailable = "Unavailable"


@dataclass(frozen=True, slots=True)
class DisplayMessage:
    """One message of SetDisplayMessage, as stored; ``evse_id`` None: every display of the station."""

    id: int
    priority: Priority
    content: str
    format: str = "UTF8"
    language: str | None = None
    state: MessageState | None = None
    start: datetime | None = None
    end: datetime | None = None
    transaction_id: str | None = None
    evse_id: int | None = None
    set_at: float = 0.0  # order of arrival (monotonic): the newer of two AlwaysFront wins


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What DisplayMessageCtrlr says this station supports."""

    max_messages: int
    formats: frozenset[str]
    priorities: frozenset[str]
    states: frozenset[str]


def check(
    message: DisplayMessage,
    stored: Collection[DisplayMessage],
    caps: Capabilities,
    running_transactions: Collection[str],
) -> str:
    """The SetDisplayMessage status (DisplayMessageStatusEnumType) for ``message``.

    A message with the id of a stored one replaces it (O06.FR.01), so it takes no new slot; a full store
    refuses a new id (Rejected). transactionId must name a running transaction (O02: UnknownTransaction)."""
    if message.format not in caps.formats:
        return "NotSupportedMessageFormat"
    if message.priority.value not in caps.priorities:
        return "NotSupportedPriority"
    if message.state is not None and message.state.value not in caps.states:
        return "NotSupportedState"
    if message.transaction_id is not None and message.transaction_id not in running_transactions:
        return "UnknownTransaction"
    replaces = any(m.id == message.id for m in stored)
    if not replaces and len(stored) >= caps.max_messages:
        return "Rejected"
    return "Accepted"


def superseded(message: DisplayMessage, stored: Iterable[DisplayMessage]) -> list[int]:
    """Ids a newly accepted ``message`` replaces besides its own: an AlwaysFront message replaces the older
    AlwaysFront ones for the same display and state (MessagePriorityEnumType: a newer one replaces it)."""
    if message.priority is not Priority.AlwaysFront:
        return []
    return [
        m.id
        for m in stored
        if m.id != message.id
        and m.priority is Priority.AlwaysFront
        and m.evse_id == message.evse_id
        and m.state == message.state
    ]


def select(
    stored: Iterable[DisplayMessage],
    ids: Sequence[int] | None,
    priority: Priority | None,
    state: MessageState | None,
) -> list[DisplayMessage]:
    """GetDisplayMessages: the stored messages matching every given criterion (O03), by id."""
    return sorted(
        (
            m
            for m in stored
            if (not ids or m.id in ids)
            and (priority is None or m.priority is priority)
            and (state is None or m.state is state)
        ),
        key=lambda m: m.id,
    )


def expired(stored: Iterable[DisplayMessage], now: datetime, running_transactions: Collection[str]) -> list[int]:
    """Ids to remove: past their endDateTime (O01), or bound to a transaction that has ended (O02)."""
    return [
        m.id
        for m in stored
        if (m.end is not None and m.end <= now)
        or (m.transaction_id is not None and m.transaction_id not in running_transactions)
    ]


def due(
    stored: Iterable[DisplayMessage],
    *,
    now: datetime,
    evse_id: int,
    state: MessageState,
    transaction_id: str | None,
) -> list[DisplayMessage]:
    """The messages to show on ``evse_id``'s display now, in the order they are shown.

    Started (startDateTime reached), not ended, for this display, for the state it is in and, when bound to a
    transaction, for the one running here. Order: AlwaysFront first (newest first: AlwaysFront messages for
    other displays or states may overlap), then InFront, then NormalCycle, each by arrival."""
    rank = {Priority.AlwaysFront: 0, Priority.InFront: 1, Priority.NormalCycle: 2}
    shown = [
        m
        for m in stored
        if (m.start is None or m.start <= now)
        and (m.end is None or now < m.end)
        and (m.evse_id is None or m.evse_id == evse_id)
        and (m.state is None or m.state is state)
        and (m.transaction_id is None or m.transaction_id == transaction_id)
    ]
    return sorted(
        shown, key=lambda m: (rank[m.priority], -m.set_at if m.priority is Priority.AlwaysFront else m.set_at)
    )

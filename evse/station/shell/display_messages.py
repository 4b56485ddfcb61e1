"""The CSMS's display messages (O01-O06), kept in the station's SQLite database so they survive a reboot
(TC_O_20). Each is kept whole, as the CSMS set it (:class:`CsmsDisplayMessage`), so GetDisplayMessages reports
it as set; the rules of evse/station/core/display_rules.py work on the :class:`DisplayMessage` view of it.

How a message is written in the database is the protocol adapter's (:class:`DisplayRecords`): the 2.0.1
adapter writes the MessageInfoType JSON the CSMS sent, as every earlier release did, so stored messages
read back across an upgrade (and a downgrade).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from evse.station.core.display_rules import DisplayMessage
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        "display_messages",
        1,
        ["CREATE TABLE display_messages (id INTEGER PRIMARY KEY, info TEXT NOT NULL, set_at REAL NOT NULL)"],
    )
]


@dataclass(frozen=True)
class DisplayTarget:
    """The display a message is for: a component of the device model, of one EVSE (and connector) or not.

    ``vendor_data`` / ``evse_vendor_data``: the CSMS's vendor extensions on the component and on its EVSE,
    as the JSON text received, so they are reported back unchanged."""

    component: str
    instance: str | None = None
    evse_id: int | None = None  # None: the station's display
    connector_id: int | None = None
    vendor_data: str | None = None
    evse_vendor_data: str | None = None


@dataclass(frozen=True)
class CsmsDisplayMessage:
    """A display message as the CSMS set it: what the display rules work on (`shown`, whose `evse_id` is the
    display's EVSE and whose arrival order the store gives) and what else GetDisplayMessages reports.

    ``vendor_data`` / ``content_vendor_data``: the CSMS's vendor extensions on the message and on its
    content, as the JSON text received."""

    shown: DisplayMessage
    display: DisplayTarget | None = None
    vendor_data: str | None = None
    content_vendor_data: str | None = None

    @property
    def id(self) -> int:
        return self.shown.id


class DisplayRecords(Protocol):
    """How the protocol adapter writes a display message in the station database, and reads it back."""

    def dumps(self, message: CsmsDisplayMessage) -> str: ...

    def loads(self, text: str) -> CsmsDisplayMessage:
        """Raises ValueError for a text that is no display message (written by another version)."""
        ...


def as_rule(message: CsmsDisplayMessage, set_at: float) -> DisplayMessage:
    """The view of a display message the display rules work on, in its order of arrival."""
    return replace(message.shown, set_at=set_at)


class DisplayMessageStore:
    """Display messages by id, in memory and on disk; a message with a stored id replaces it (O06)."""

    def __init__(self, conn: sqlite3.Connection, records: DisplayRecords) -> None:
        self._conn = conn
        self._records = records
        migrate(conn, MIGRATIONS)
        self._messages: dict[int, tuple[CsmsDisplayMessage, float]] = {}
        for message_id, text, set_at in conn.execute("SELECT id, info, set_at FROM display_messages"):
            try:
                message = records.loads(text)
            except ValueError as exc:
                # Written by another version and no longer valid: dropped rather than shown wrongly.
                log.error("display message %s unreadable, dropped: %s", message_id, exc)
                conn.execute("DELETE FROM display_messages WHERE id = ?", (message_id,))
                continue
            self._messages[message_id] = (message, set_at)
        self._next_order = max((order for _, order in self._messages.values()), default=0.0) + 1

    def __len__(self) -> int:
        return len(self._messages)

    def rules(self) -> list[DisplayMessage]:
        return [as_rule(message, order) for message, order in self._messages.values()]

    def message(self, message_id: int) -> CsmsDisplayMessage:
        return self._messages[message_id][0]

    def put(self, message: CsmsDisplayMessage) -> None:
        # The arrival order survives a reboot too: it decides which of two AlwaysFront is in front.
        order, self._next_order = self._next_order, self._next_order + 1
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO display_messages(id, info, set_at) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET info = excluded.info, set_at = excluded.set_at",
                (message.id, self._records.dumps(message), order),
            )
        self._messages[message.id] = (message, order)

    def remove(self, message_ids: Iterable[int]) -> list[int]:
        """Remove these messages; returns the ids that were stored."""
        gone = sorted(i for i in set(message_ids) if i in self._messages)
        if gone:
            with transaction(self._conn):
                self._conn.executemany("DELETE FROM display_messages WHERE id = ?", [(i,) for i in gone])
            for message_id in gone:
                del self._messages[message_id]
        return gone

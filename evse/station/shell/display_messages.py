"""The CSMS's display messages (O01-O06), kept in the station's SQLite database so they survive a reboot
(TC_O_20). Each is stored as the MessageInfoType the CSMS sent, so GetDisplayMessages reports it as set;
the rules of evse/station/core/display_rules.py work on the :class:`DisplayMessage` view of it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable

from pydantic import ValidationError

from evse.ocpp.v201 import messages as m
from evse.station.core.display_rules import DisplayMessage, MessageState, Priority
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        "display_messages",
        1,
        ["CREATE TABLE display_messages (id INTEGER PRIMARY KEY, info TEXT NOT NULL, set_at REAL NOT NULL)"],
    )
]


def as_rule(info: m.MessageInfoType, set_at: float) -> DisplayMessage:
    """The view of a MessageInfoType the display rules work on."""
    display = info.display
    return DisplayMessage(
        id=info.id,
        priority=Priority(info.priority.value),
        content=info.message.content,
        format=info.message.format.value,
        language=info.message.language,
        state=MessageState(info.state.value) if info.state is not None else None,
        start=info.startDateTime,
        end=info.endDateTime,
        transaction_id=info.transactionId,
        evse_id=display.evse.id if display is not None and display.evse is not None else None,
        set_at=set_at,
    )


class DisplayMessageStore:
    """Display messages by id, in memory and on disk; a message with a stored id replaces it (O06)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)
        self._infos: dict[int, tuple[m.MessageInfoType, float]] = {}
        for message_id, text, set_at in conn.execute("SELECT id, info, set_at FROM display_messages"):
            try:
                info = m.MessageInfoType.model_validate(json.loads(text))
            except (ValueError, ValidationError) as exc:
                # Written by another version and no longer valid: dropped rather than shown wrongly.
                log.error("display message %s unreadable, dropped: %s", message_id, exc)
                conn.execute("DELETE FROM display_messages WHERE id = ?", (message_id,))
                continue
            self._infos[message_id] = (info, set_at)
        self._next_order = max((order for _, order in self._infos.values()), default=0.0) + 1

    def __len__(self) -> int:
        return len(self._infos)

    def rules(self) -> list[DisplayMessage]:
        return [as_rule(info, order) for info, order in self._infos.values()]

    def info(self, message_id: int) -> m.MessageInfoType:
        return self._infos[message_id][0]

    def put(self, info: m.MessageInfoType) -> None:
        # The arrival order survives a reboot too: it decides which of two AlwaysFront is in front.
        order, self._next_order = self._next_order, self._next_order + 1
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO display_messages(id, info, set_at) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET info = excluded.info, set_at = excluded.set_at",
                (info.id, info.model_dump_json(exclude_none=True), order),
            )
        self._infos[info.id] = (info, order)

    def remove(self, message_ids: Iterable[int]) -> list[int]:
        """Remove these messages; returns the ids that were stored."""
        gone = sorted(i for i in set(message_ids) if i in self._infos)
        if gone:
            with transaction(self._conn):
                self._conn.executemany("DELETE FROM display_messages WHERE id = ?", [(i,) for i in gone])
            for message_id in gone:
                del self._infos[message_id]
        return gone

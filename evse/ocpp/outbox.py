"""The durable outbox: messages the CSMS must receive, written to SQLite before the first attempt.

Entries leave the table only when the CSMS answered them, so a crash or a power cut between
"decided to send" and "CSMS acknowledged" loses nothing; order is the insertion order.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from evse.storage import Migration, migrate

MIGRATIONS = [
    Migration(
        "outbox",
        1,
        [
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL,"
            " payload TEXT NOT NULL, transaction_id TEXT, attempts INTEGER NOT NULL DEFAULT 0)"
        ],
    )
]


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    action: str
    payload: dict[str, Any]
    transaction_id: str | None
    attempts: int


class Outbox:
    """FIFO of CALLs waiting for the CSMS, persisted in the station database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def put(self, action: str, payload: dict[str, Any], *, transaction_id: str | None = None) -> int:
        cursor = self._conn.execute(
            "INSERT INTO outbox(action, payload, transaction_id) VALUES(?, ?, ?)",
            (action, json.dumps(payload, separators=(",", ":")), transaction_id),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def peek(self) -> OutboxEntry | None:
        row = self._conn.execute(
            "SELECT id, action, payload, transaction_id, attempts FROM outbox ORDER BY id LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return OutboxEntry(row[0], row[1], json.loads(row[2]), row[3], row[4])

    def record_attempt(self, entry_id: int) -> None:
        self._conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (entry_id,))

    def remove(self, entry_id: int) -> None:
        self._conn.execute("DELETE FROM outbox WHERE id = ?", (entry_id,))

    def has_transaction_messages(self, transaction_id: str | None) -> bool:
        """Any queued transaction message (of this transaction, or of any when None)?"""
        if transaction_id is None:
            row = self._conn.execute("SELECT 1 FROM outbox WHERE transaction_id IS NOT NULL LIMIT 1").fetchone()
        else:
            row = self._conn.execute(
                "SELECT 1 FROM outbox WHERE transaction_id = ? LIMIT 1", (transaction_id,)
            ).fetchone()
        return row is not None

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

"""The durable outbox: messages the CSMS must receive, written to SQLite before the first attempt.

Entries leave the table only when the CSMS answered them, so a crash or a power cut between
"decided to send" and "CSMS acknowledged" loses nothing; order is the insertion order.

Bounded: past `max_messages` (a long outage), room is made by dropping, oldest first, (1) messages that
are not about a transaction (status, meter values outside a transaction, events), then (2) TransactionEvent
Updated. TransactionEvent Started and Ended are never dropped, even if the bound is then exceeded: they
are what billing needs. A dropped Updated leaves a visible seqNo gap for the CSMS, never a silent one.

A disk that refuses writes (full, read-only) does not stop delivery of what is already queued: a
delivered entry whose delete is refused is remembered in memory, skipped by `peek` and deleted by
`retry_removals` once the disk recovers, so it is not sent twice while the process lives (after a
restart it may be, identically, which the CSMS accepts by seqNo).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from evse.errors import StorageError
from evse.storage import Migration, migrate

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        "outbox",
        1,
        [
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL,"
            " payload TEXT NOT NULL, transaction_id TEXT, attempts INTEGER NOT NULL DEFAULT 0)"
        ],
    ),
    # The OCPP version the payload is written in (issue 13): the station's own messages are stored in the
    # 2.0.1 vocabulary and said in 1.6 by the 1.6 adapter at send time; the few that only 1.6 has (its finer
    # StatusNotification) are stored as 1.6.
    Migration("outbox", 2, ["ALTER TABLE outbox ADD COLUMN protocol TEXT NOT NULL DEFAULT '2.0.1'"]),
]


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    action: str
    payload: dict[str, Any]
    transaction_id: str | None
    attempts: int
    protocol: str = "2.0.1"


class Outbox:
    """FIFO of CALLs waiting for the CSMS, persisted in the station database."""

    def __init__(self, conn: sqlite3.Connection, *, max_messages: int = 100_000) -> None:
        self._conn = conn
        self._max = max_messages
        self.dropped = 0
        migrate(conn, MIGRATIONS)
        # The database's own level (FULL: durable before sent), restored after each unsynced delete.
        self._synchronous = int(conn.execute("PRAGMA synchronous").fetchone()[0])
        # Counted once; kept in step by put/remove so the bound check costs nothing per message.
        self._count = int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        self._unremoved: set[int] = set()  # delivered, but the disk refused the delete

    def recount(self) -> None:
        """Re-read the size after a write the disk refused half-way (the transaction was rolled back)."""
        try:
            self._count = int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        except StorageError as exc:
            log.warning("outbox size not re-read: %s", exc)

    def put(
        self, action: str, payload: dict[str, Any], *, transaction_id: str | None = None, protocol: str = "2.0.1"
    ) -> int:
        cursor = self._conn.execute(
            "INSERT INTO outbox(action, payload, transaction_id, protocol) VALUES(?, ?, ?, ?)",
            (action, json.dumps(payload, separators=(",", ":")), transaction_id, protocol),
        )
        assert cursor.lastrowid is not None
        self._count += 1
        if self._count > self._max:
            self._make_room()
        return cursor.lastrowid

    def _make_room(self) -> None:
        for condition in (
            "transaction_id IS NULL",
            "action = 'TransactionEvent' AND json_extract(payload, '$.eventType') = 'Updated'",
        ):
            row = self._conn.execute(f"SELECT id FROM outbox WHERE {condition} ORDER BY id LIMIT 1").fetchone()
            if row is not None:
                self._conn.execute("DELETE FROM outbox WHERE id = ?", (row[0],))
                self._count -= 1
                self.dropped += 1
                log.warning("outbox full (%s): dropped the oldest expendable message", self._max)
                return
        log.error("outbox over its bound (%s) with only Started/Ended left: keeping them", self._max)

    def peek(self) -> OutboxEntry | None:
        if self._unremoved:
            skip = ",".join(str(i) for i in sorted(self._unremoved))  # our own integers: safe to inline
            row = self._conn.execute(
                f"SELECT id, action, payload, transaction_id, attempts, protocol FROM outbox WHERE id NOT IN ({skip})"
                " ORDER BY id LIMIT 1"
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT id, action, payload, transaction_id, attempts, protocol FROM outbox ORDER BY id LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        return OutboxEntry(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])

    def record_attempt(self, entry_id: int) -> None:
        try:
            self._conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (entry_id,))
        except StorageError as exc:
            log.warning("attempt of outbox entry %s not counted: %s", entry_id, exc)  # retried a little longer

    def remove(self, entry_id: int) -> None:
        """Forget a delivered (or given-up) entry, without an fsync of its own.

        A delete lost in a power cut only makes the station send that entry once more, which the CSMS
        recognises (a TransactionEvent by its seqNo); the WAL is append-only, so the next durable commit
        (a `put`, synchronous=FULL) syncs this delete with it. One fsync less per delivered message. A disk
        that refuses the delete keeps the entry marked delivered until it takes writes again.
        """
        try:
            with self._unsynced():
                deleted = self._conn.execute("DELETE FROM outbox WHERE id = ?", (entry_id,)).rowcount
        except StorageError as exc:
            log.warning("delivered outbox entry %s kept until the disk takes writes again: %s", entry_id, exc)
            self._unremoved.add(entry_id)
            return
        if deleted:
            self._count -= 1

    def retry_removals(self) -> bool:
        """Delete the delivered entries the disk refused to delete; True when none is left."""
        for entry_id in sorted(self._unremoved):
            try:
                if self._conn.execute("DELETE FROM outbox WHERE id = ?", (entry_id,)).rowcount:
                    self._count -= 1
            except StorageError:
                return False
            self._unremoved.discard(entry_id)
        return True

    @contextmanager
    def _unsynced(self) -> Iterator[None]:
        # The level cannot change inside a transaction: a caller's transaction keeps its own (FULL).
        if self._conn.in_transaction:
            yield
            return
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA synchronous={self._synchronous}")

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
        return self._count - len(self._unremoved)

"""The transaction journal: every open transaction, its next seqNo and its last known energy.

A TransactionEvent is written to the outbox and the transaction's seqNo advanced in ONE SQLite
transaction, so after a crash the numbering continues without a gap or a repeat, and a message the
CSMS did not acknowledge is resent from the outbox byte for byte. A transaction still open at start-up
was cut by a power loss or a crash; `Station` ends it with stoppedReason PowerLoss and the last energy
recorded here, which never exceeds what the meter really counted.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass

from evse.errors import StorageError
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        "tx_journal",
        1,
        [
            "CREATE TABLE transactions (transaction_id TEXT PRIMARY KEY, evse_id INTEGER NOT NULL,"
            " connector_id INTEGER NOT NULL, id_token TEXT, token_type TEXT, remote_start_id INTEGER,"
            " charging_state TEXT NOT NULL, next_seq_no INTEGER NOT NULL DEFAULT 0,"
            " last_energy_wh REAL, open INTEGER NOT NULL DEFAULT 1)",
        ],
    ),
    # The samples collected for the Ended event (TxEndedInterval), so a crash does not lose them.
    Migration("tx_journal", 2, ["ALTER TABLE transactions ADD COLUMN ended_samples TEXT"]),
    # The register at the start: OCPP 1.6's StartTransaction carries it (meterStart) even when the Started
    # samples do not, and it may be sent long after (an offline start), when last_energy_wh has moved on.
    Migration("tx_journal", 3, ["ALTER TABLE transactions ADD COLUMN start_energy_wh REAL"]),
]


@dataclass(frozen=True)
class TxRecord:
    transaction_id: str
    evse_id: int
    connector_id: int
    id_token: tuple[str, str] | None
    remote_start_id: int | None
    charging_state: str
    next_seq_no: int
    last_energy_wh: float | None
    ended_samples: str | None = None  # TxEndedSampler JSON


class TxJournal:
    """Persistent per-transaction facts in the station database (shared with the outbox)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def atomic(self) -> AbstractContextManager[None]:
        """One SQLite transaction around journal and outbox writes."""
        return transaction(self._conn)

    def open(
        self,
        transaction_id: str,
        evse_id: int,
        connector_id: int,
        id_token: tuple[str, str] | None,
        remote_start_id: int | None,
        charging_state: str,
        energy_wh: float | None,
    ) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO transactions(transaction_id, evse_id, connector_id, id_token, token_type,"
            " remote_start_id, charging_state, last_energy_wh, start_energy_wh) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                transaction_id,
                evse_id,
                connector_id,
                id_token[0] if id_token else None,
                id_token[1] if id_token else None,
                remote_start_id,
                charging_state,
                energy_wh,
                energy_wh,
            ),
        )

    def start_energy(self, transaction_id: str) -> float | None:
        row = self._conn.execute(
            "SELECT start_energy_wh FROM transactions WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def start_token(self, transaction_id: str) -> str | None:
        """The idToken value the transaction was authorized with (None before a late authorization)."""
        row = self._conn.execute(
            "SELECT id_token FROM transactions WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()
        return str(row[0]) if row and row[0] is not None else None

    def take_seq_no(self, transaction_id: str) -> int:
        """The next seqNo of the transaction, advanced; call inside `atomic` with the outbox write."""
        row = self._conn.execute(
            "SELECT next_seq_no FROM transactions WHERE transaction_id = ?", (transaction_id,)
        ).fetchone()
        seq = int(row[0]) if row else 0
        self._conn.execute(
            "UPDATE transactions SET next_seq_no = ? WHERE transaction_id = ?", (seq + 1, transaction_id)
        )
        return seq

    def record_token(self, transaction_id: str, id_token: tuple[str, str]) -> None:
        """A transaction started before its card was read got its token (late authorization)."""
        self._conn.execute(
            "UPDATE transactions SET id_token = ?, token_type = ? WHERE transaction_id = ?",
            (id_token[0], id_token[1], transaction_id),
        )

    def record_energy(self, transaction_id: str, energy_wh: float) -> None:
        """The last energy register reported for the transaction; it only ever grows."""
        self._conn.execute(
            "UPDATE transactions SET last_energy_wh = MAX(COALESCE(last_energy_wh, 0), ?) WHERE transaction_id = ?",
            (energy_wh, transaction_id),
        )

    def record_ended_samples(self, transaction_id: str, sampler_json: str) -> None:
        """Only when a sample was added (every TxEndedInterval), not on every meter read.

        A copy for power-loss recovery only: the samples stay in memory, and the next one rewrites them
        all, so a disk that refuses this write costs nothing while the process lives.
        """
        try:
            self._conn.execute(
                "UPDATE transactions SET ended_samples = ? WHERE transaction_id = ?", (sampler_json, transaction_id)
            )
        except StorageError as exc:
            log.warning("TxEnded samples of tx=%s not journaled: %s", transaction_id, exc)

    def close(self, transaction_id: str) -> None:
        self._conn.execute("UPDATE transactions SET open = 0 WHERE transaction_id = ?", (transaction_id,))

    def open_transactions(self) -> list[TxRecord]:
        rows = self._conn.execute(
            "SELECT transaction_id, evse_id, connector_id, id_token, token_type, remote_start_id, charging_state,"
            " next_seq_no, last_energy_wh, ended_samples FROM transactions WHERE open = 1 ORDER BY rowid"
        ).fetchall()
        return [
            TxRecord(r[0], r[1], r[2], (r[3], r[4]) if r[3] is not None else None, r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def of_token(self, id_token: str, token_type: str) -> list[TxRecord]:
        """Every journaled transaction (open or closed) of a token; idTokens compare case-insensitively."""
        rows = self._conn.execute(
            "SELECT transaction_id, evse_id, connector_id, id_token, token_type, remote_start_id, charging_state,"
            " next_seq_no, last_energy_wh, ended_samples FROM transactions"
            " WHERE lower(id_token) = lower(?) AND token_type = ? ORDER BY rowid",
            (id_token, token_type),
        ).fetchall()
        return [
            TxRecord(r[0], r[1], r[2], (r[3], r[4]) if r[3] is not None else None, r[5], r[6], r[7], r[8], r[9])
            for r in rows
        ]

    def forget_token(self, id_token: str, token_type: str) -> int:
        """CustomerInformation clear (N10): the token leaves the closed transactions it is kept in; an open
        one keeps it until it ends (stopping it with the same card needs it). Returns how many."""
        cursor = self._conn.execute(
            "UPDATE transactions SET id_token = NULL, token_type = NULL"
            " WHERE open = 0 AND lower(id_token) = lower(?) AND token_type = ?",
            (id_token, token_type),
        )
        return cursor.rowcount

    def prune_closed(self, keep: int = 1000) -> None:
        """Closed transactions are kept for a while (diagnosis), then dropped."""
        self._conn.execute(
            "DELETE FROM transactions WHERE open = 0 AND rowid NOT IN"
            " (SELECT rowid FROM transactions ORDER BY rowid DESC LIMIT ?)",
            (keep,),
        )

"""The CSMS's integer transactionId for each of the station's own transaction ids (OCPP 1.6).

Under 1.6 the CSMS names a transaction in StartTransaction.conf; the station's journal, outbox and state
machine keep their own id (a uuid). This table joins them, durably: a MeterValues or StopTransaction
queued while the StartTransaction was still waiting (an offline start) gets its transactionId here when
it is sent. `stopped` records a delivered StopTransaction, so an outbox entry delivered just before a
crash, and so still queued, is not sent a second time after the restart; a delivered StartTransaction is
recognised the same way by its row.
"""

from __future__ import annotations

import sqlite3

from evse.storage import Migration, migrate

MIGRATIONS = [
    Migration(
        "tx_ids16",
        1,
        [
            "CREATE TABLE tx_ids16 (local_tx_id TEXT PRIMARY KEY, csms_tx_id INTEGER NOT NULL,"
            " connector_id INTEGER NOT NULL, meter_start INTEGER NOT NULL, stopped INTEGER NOT NULL DEFAULT 0)"
        ],
    )
]
KEEP = 1000  # rows of stopped transactions kept (RemoteStop of an old id answers Rejected either way)


class TxIds:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def started(self, local_tx_id: str, csms_tx_id: int, connector_id: int, meter_start: int) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO tx_ids16(local_tx_id, csms_tx_id, connector_id, meter_start) VALUES(?, ?, ?, ?)",
            (local_tx_id, csms_tx_id, connector_id, meter_start),
        )

    def connector_of(self, local_tx_id: str) -> int:
        row = self._conn.execute("SELECT connector_id FROM tx_ids16 WHERE local_tx_id = ?", (local_tx_id,)).fetchone()
        return int(row[0]) if row else 0

    def meter_start(self, local_tx_id: str) -> int:
        """The meterStart sent: a StopTransaction without an end reading reports no energy rather than none."""
        row = self._conn.execute("SELECT meter_start FROM tx_ids16 WHERE local_tx_id = ?", (local_tx_id,)).fetchone()
        return int(row[0]) if row else 0

    def csms_id(self, local_tx_id: str) -> int | None:
        row = self._conn.execute("SELECT csms_tx_id FROM tx_ids16 WHERE local_tx_id = ?", (local_tx_id,)).fetchone()
        return int(row[0]) if row else None

    def local_id(self, csms_tx_id: int) -> str | None:
        """The station's id of the (latest) transaction the CSMS calls `csms_tx_id`."""
        row = self._conn.execute(
            "SELECT local_tx_id FROM tx_ids16 WHERE csms_tx_id = ? ORDER BY rowid DESC LIMIT 1", (csms_tx_id,)
        ).fetchone()
        return str(row[0]) if row else None

    def is_stopped(self, local_tx_id: str) -> bool:
        row = self._conn.execute("SELECT stopped FROM tx_ids16 WHERE local_tx_id = ?", (local_tx_id,)).fetchone()
        return bool(row and row[0])

    def stopped(self, local_tx_id: str) -> None:
        self._conn.execute("UPDATE tx_ids16 SET stopped = 1 WHERE local_tx_id = ?", (local_tx_id,))
        self._conn.execute(
            "DELETE FROM tx_ids16 WHERE stopped = 1 AND rowid NOT IN"
            " (SELECT rowid FROM tx_ids16 ORDER BY rowid DESC LIMIT ?)",
            (KEEP,),
        )

"""The firmware job in the station database: one row, rewritten at every phase and status.

Written (synchronous=FULL) before the work it announces starts, so after a SIGKILL the station resumes
from the last phase it recorded (evse.firmware.update_plan.resume_phase)."""

from __future__ import annotations

import json
import sqlite3

from evse.firmware.update_plan import FirmwareJob
from evse.storage import Migration, migrate, transaction

MIGRATIONS = [
    Migration(
        "firmware",
        1,
        ["CREATE TABLE firmware_job (id INTEGER PRIMARY KEY CHECK (id = 1), job TEXT NOT NULL)"],
    )
]


class JobStore:
    """The one firmware job the station remembers (None when no update is under way or remembered)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def load(self) -> FirmwareJob | None:
        row = self._conn.execute("SELECT job FROM firmware_job WHERE id = 1").fetchone()
        return None if row is None else FirmwareJob.from_json(json.loads(row[0]))

    def save(self, job: FirmwareJob) -> None:
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO firmware_job(id, job) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET job = excluded.job",
                (json.dumps(job.to_json()),),
            )

    def clear(self) -> None:
        with transaction(self._conn):
            self._conn.execute("DELETE FROM firmware_job")

"""What the station itself must remember across a reboot: availability and the next boot reason."""

from __future__ import annotations

import sqlite3

from evse.storage import Migration, migrate

MIGRATIONS = [
    Migration(
        "journal",
        1,
        [
            # evse_id 0 / connector_id 0 is the station as a whole (OCPP addressing).
            "CREATE TABLE availability (evse_id INTEGER NOT NULL, connector_id INTEGER NOT NULL,"
            " operative INTEGER NOT NULL, PRIMARY KEY (evse_id, connector_id))",
            "CREATE TABLE station_facts (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
    )
]


class Journal:
    """Small persistent facts of the station, in the shared database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def operative(self, evse_id: int, connector_id: int) -> bool:
        row = self._conn.execute(
            "SELECT operative FROM availability WHERE evse_id = ? AND connector_id = ?", (evse_id, connector_id)
        ).fetchone()
        return True if row is None else bool(row[0])

    def set_operative(self, evse_id: int, connector_id: int, operative: bool) -> None:
        self._conn.execute(
            "INSERT INTO availability(evse_id, connector_id, operative) VALUES(?, ?, ?) "
            "ON CONFLICT(evse_id, connector_id) DO UPDATE SET operative = excluded.operative",
            (evse_id, connector_id, int(operative)),
        )

    def take_boot_reason(self) -> str:
        """The reason for this boot (set before a reset), PowerUp when nothing was recorded."""
        row = self._conn.execute("SELECT value FROM station_facts WHERE key = 'boot_reason'").fetchone()
        self._conn.execute("DELETE FROM station_facts WHERE key = 'boot_reason'")
        return "PowerUp" if row is None else str(row[0])

    def set_boot_reason(self, reason: str) -> None:
        self._conn.execute(
            "INSERT INTO station_facts(key, value) VALUES('boot_reason', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (reason,),
        )

    def ocpp_endpoint(self) -> tuple[str, str] | None:
        """(OCPP version, CSMS URL) the station last ran with; None before the first run that recorded it."""
        rows = dict(
            self._conn.execute("SELECT key, value FROM station_facts WHERE key IN ('ocpp_version', 'csms_url')")
        )
        if "ocpp_version" not in rows or "csms_url" not in rows:
            return None
        return str(rows["ocpp_version"]), str(rows["csms_url"])

    def set_ocpp_endpoint(self, version: str, url: str) -> None:
        for key, value in (("ocpp_version", version), ("csms_url", url)):
            self._conn.execute(
                "INSERT INTO station_facts(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

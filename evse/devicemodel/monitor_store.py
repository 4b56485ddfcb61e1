"""The monitors the CSMS set (custom ones, and its changes to preconfigured ones), in the station database.

They survive a reboot (TC_N_53); hard-wired and preconfigured originals are not stored, they come
with the firmware.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from evse.devicemodel.definitions import ComponentKey, VariableKey
from evse.devicemodel.monitoring import Monitor, MonitorKind, MonitorType
from evse.storage import Migration, migrate, transaction

MIGRATIONS = [
    Migration(
        "monitors",
        1,
        [
            "CREATE TABLE monitors (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, component TEXT NOT NULL,"
            " component_instance TEXT, evse_id INTEGER, connector_id INTEGER, variable TEXT NOT NULL,"
            " variable_instance TEXT, type TEXT NOT NULL, value REAL NOT NULL, severity INTEGER NOT NULL,"
            " in_transaction INTEGER NOT NULL)",
            # Preconfigured monitors the CSMS cleared (ClearVariableMonitoring), until SetMonitoringBase.
            "CREATE TABLE cleared_monitors (id INTEGER PRIMARY KEY)",
        ],
    )
]

_COLUMNS = (
    "id, kind, component, component_instance, evse_id, connector_id, variable, variable_instance, type, value,"
    " severity, in_transaction"
)


def _row(monitor: Monitor) -> tuple[object, ...]:
    c, v = monitor.component, monitor.variable
    return (
        monitor.id,
        monitor.kind.value,
        c.name,
        c.instance,
        c.evse_id,
        c.connector_id,
        v.name,
        v.instance,
        monitor.type.value,
        monitor.value,
        monitor.severity,
        int(monitor.transaction),
    )


class MonitorStore:
    """Monitors by id; every change is one durable write."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)

    def load(self) -> list[Monitor]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM monitors ORDER BY id").fetchall()
        return [
            Monitor(
                id=row[0],
                kind=MonitorKind(row[1]),
                component=ComponentKey(row[2], row[3], row[4], row[5]),
                variable=VariableKey(row[6], row[7]),
                type=MonitorType(row[8]),
                value=float(row[9]),
                severity=int(row[10]),
                transaction=bool(row[11]),
            )
            for row in rows
        ]

    def save(self, monitors: Sequence[Monitor]) -> None:
        """Insert or replace, all in one transaction."""
        with transaction(self._conn):
            self._conn.executemany(
                f"INSERT OR REPLACE INTO monitors({_COLUMNS}) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(monitor) for monitor in monitors],
            )

    def delete(self, ids: Iterable[int], *, mark_cleared: Iterable[int] = ()) -> None:
        """Remove monitors (custom ones, changes to preconfigured ones) and note the preconfigured ids in
        `mark_cleared` as cleared, in one transaction."""
        with transaction(self._conn):
            self._conn.executemany("DELETE FROM monitors WHERE id = ?", [(i,) for i in ids])
            self._conn.executemany("INSERT OR IGNORE INTO cleared_monitors(id) VALUES(?)", [(i,) for i in mark_cleared])

    def cleared(self) -> set[int]:
        return {int(row[0]) for row in self._conn.execute("SELECT id FROM cleared_monitors")}

    def forget_clearings(self) -> None:
        """SetMonitoringBase All: every preconfigured monitor is active again."""
        self._conn.execute("DELETE FROM cleared_monitors")

    def delete_all(self) -> None:
        """SetMonitoringBase FactoryDefault / HardWiredOnly: custom monitors, changes and clearings all go."""
        with transaction(self._conn):
            self._conn.execute("DELETE FROM monitors")
            self._conn.execute("DELETE FROM cleared_monitors")

    def next_custom_id(self) -> int:
        row = self._conn.execute("SELECT MAX(id) FROM monitors WHERE kind = ?", (MonitorKind.CUSTOM.value,)).fetchone()
        return int(row[0]) + 1 if row[0] is not None else 1

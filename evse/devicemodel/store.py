"""Persistence of device-model values in the station's SQLite database.

Only values written at runtime are stored: those the CSMS set (SetVariables) and those the station
updated itself, each only when the attribute is `persistent`. Defaults live in the definition files and
technician overrides in the YAML, so both stay editable; a stored value wins over both because it is
newer than either (the precedence the architecture fixes: default < YAML < CSMS).

Rows are keyed by the full (component, variable, attribute) identity. SQLite treats NULLs in a primary
key as distinct, so absent parts are stored as '' (instances) and 0 (ids; OCPP ids are > 0).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from evse.devicemodel.definitions import AttributeAddress, AttributeType, ComponentKey, VariableKey
from evse.errors import StorageError
from evse.storage import Migration, migrate

log = logging.getLogger(__name__)


class ValueSource(StrEnum):
    """Who wrote a value; decides nothing by itself but is kept for diagnostics and logs."""

    DEFAULT = "default"
    TECHNICIAN = "technician"
    CSMS = "csms"
    STATION = "station"


MIGRATIONS = [
    Migration(
        part="devicemodel",
        version=1,
        statements=[
            """
            CREATE TABLE devicemodel_values (
                component          TEXT    NOT NULL,
                component_instance TEXT    NOT NULL DEFAULT '',
                evse_id            INTEGER NOT NULL DEFAULT 0,
                connector_id       INTEGER NOT NULL DEFAULT 0,
                variable           TEXT    NOT NULL,
                variable_instance  TEXT    NOT NULL DEFAULT '',
                attribute          TEXT    NOT NULL,
                value              TEXT    NOT NULL,
                source             TEXT    NOT NULL CHECK (source IN ('csms', 'station')),
                updated_at         TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                PRIMARY KEY (component, component_instance, evse_id, connector_id,
                             variable, variable_instance, attribute)
            )
            """
        ],
    )
]


@dataclass(frozen=True)
class StoredValue:
    """One persisted value and who wrote it."""

    address: AttributeAddress
    value: str
    source: ValueSource


def _row_key(address: AttributeAddress) -> tuple[str, str, int, int, str, str, str]:
    component, variable = address.component, address.variable
    return (
        component.name,
        component.instance or "",
        component.evse_id or 0,
        component.connector_id or 0,
        variable.name,
        variable.instance or "",
        str(address.attribute),
    )


def _address(row: tuple[str, str, int, int, str, str, str]) -> AttributeAddress:
    name, instance, evse_id, connector_id, variable, variable_instance, attribute = row
    return AttributeAddress(
        ComponentKey(name, instance or None, evse_id or None, connector_id or None),
        VariableKey(variable, variable_instance or None),
        AttributeType(attribute),
    )


class DeviceModelStore:
    """The device model's table in the shared station database (see evse.storage)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        """Attach to `conn`, normally from evse.storage.open_database (WAL, synchronous=FULL).

        A bare connection (e.g. the in-memory one `evse check-config` uses) is accepted too: the
        migration bookkeeping table is created if it is missing, exactly as open_database does.
        """
        self._conn = conn
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            migrate(conn, MIGRATIONS)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot prepare the device-model table: {exc}") from exc

    def load(self) -> list[StoredValue]:
        """Every stored value. Rows this code cannot interpret are skipped with a warning, not fatal."""
        try:
            rows = self._conn.execute(
                "SELECT component, component_instance, evse_id, connector_id, variable, variable_instance,"
                " attribute, value, source FROM devicemodel_values"
            ).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read device-model values: {exc}") from exc
        values = []
        for row in rows:
            try:
                values.append(StoredValue(_address(row[:7]), row[7], ValueSource(row[8])))
            except ValueError:
                log.warning("ignoring unreadable device-model row component=%s variable=%s", row[0], row[4])
        return values

    def save(self, values: Iterable[StoredValue]) -> None:
        """Write values in one transaction: a SetVariables batch is durable all together or not at all."""
        rows = [(*_row_key(item.address), item.value, str(item.source)) for item in values]
        if not rows:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT INTO devicemodel_values (component, component_instance, evse_id, connector_id,"
                " variable, variable_instance, attribute, value, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO UPDATE SET value = excluded.value, source = excluded.source,"
                " updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
                rows,
            )
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):  # the connection may be unusable altogether
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            raise StorageError(f"cannot store device-model values: {exc}") from exc

    def delete(self, address: AttributeAddress) -> None:
        """Forget a stored value, so the technician's or the default value applies again."""
        try:
            self._conn.execute(
                "DELETE FROM devicemodel_values WHERE component = ? AND component_instance = ? AND"
                " evse_id = ? AND connector_id = ? AND variable = ? AND variable_instance = ? AND"
                " attribute = ?",
                _row_key(address),
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot delete device-model value {address}: {exc}") from exc

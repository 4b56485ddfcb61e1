"""The station database: migrations, and the durability level every part's writes rely on."""

from __future__ import annotations

from pathlib import Path

from evse.storage import Migration, migrate, open_database

PARTS = [Migration("a", 1, ["CREATE TABLE a (x INTEGER)"]), Migration("a", 2, ["ALTER TABLE a ADD COLUMN y TEXT"])]


def test_migrations_apply_once_and_leave_writes_synchronous_full(tmp_path: Path) -> None:
    """Migrations skip their own fsync (one lost in a power cut runs again), later writes stay FULL."""
    conn = open_database(tmp_path)
    migrate(conn, PARTS)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    conn.execute("INSERT INTO a(x, y) VALUES (1, 'kept')")
    conn.close()
    again = open_database(tmp_path)
    migrate(again, PARTS)  # nothing left to apply: no error from re-creating the table
    assert again.execute("SELECT version FROM schema_versions WHERE part = 'a'").fetchone()[0] == 2
    assert again.execute("SELECT x, y FROM a").fetchall() == [(1, "kept")]

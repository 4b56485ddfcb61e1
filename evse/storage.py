"""The single SQLite database under state_dir, and the migrations each part registers.

WAL with synchronous=FULL: a committed write survives a power cut, which the durable outbox and the
transaction journal rely on. Each part of the daemon owns its tables and declares them as a named,
versioned list of statements; `migrate` applies what is missing in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evse.errors import StorageError

DB_FILENAME = "evse.sqlite3"


@dataclass(frozen=True)
class Migration:
    """Statements that bring `part` to `version`; applied once, in version order."""

    part: str
    version: int
    statements: Sequence[str]


def open_database(state_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the station database in `state_dir`."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(state_dir / DB_FILENAME, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # 256 KiB of page cache instead of SQLite's 2 MiB: the tables are small and read by key, the OS
        # caches the file anyway, and a long outbox replay would otherwise fill all 2 MiB (bench: peak RSS).
        conn.execute("PRAGMA cache_size=-256")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)")
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open state database in {state_dir}: {exc}") from exc
    return conn


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    """Apply every migration newer than the recorded version of its part.

    Without an fsync each: a migration and its version land together or not at all, one lost in a power
    cut runs again at the next start, and the next durable (FULL) commit syncs it with itself. A first
    start used to spend one fsync per part on creating empty tables before it could connect.
    """
    if conn.in_transaction:  # the level cannot change inside one; the caller's commit decides
        _apply(conn, migrations)
        return
    level = conn.execute("PRAGMA synchronous").fetchone()[0]
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        _apply(conn, migrations)
    finally:
        conn.execute(f"PRAGMA synchronous={int(level)}")


def _apply(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> None:
    for migration in sorted(migrations, key=lambda m: (m.part, m.version)):
        row = conn.execute("SELECT version FROM schema_versions WHERE part = ?", (migration.part,)).fetchone()
        current = row[0] if row else 0
        if migration.version <= current:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_versions(part, version) VALUES(?, ?) "
                "ON CONFLICT(part) DO UPDATE SET version = excluded.version",
                (migration.part, migration.version),
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StorageError(f"migration {migration.part} v{migration.version} failed: {exc}") from exc


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One SQLite write transaction (the connection is in autocommit mode): all of it lands, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")

"""The single SQLite database under state_dir, and the migrations each part registers.

WAL with synchronous=FULL: a committed write survives a power cut, which the durable outbox and the
transaction journal rely on. Each part of the daemon owns its tables and declares them as a named,
versioned list of statements; `migrate` applies what is missing in one transaction.

The medium can fail under us (a full or worn SD card that the kernel remounted read-only). The
connection `open_database` returns turns every such SQLite error into a `StorageFailure` and reports it
to the database's `StorageHealth`: the one place where "the disk refused" is recognised, so the station
can raise its storage fault whichever part happened to write first.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evse.errors import StorageError

log = logging.getLogger(__name__)

DB_FILENAME = "evse.sqlite3"

# Primary SQLite result codes that mean the medium, not the statement, is at fault: FULL, READONLY
# (the filesystem went read-only), IOERR (a failing card; also what ext4's emergency read-only gives),
# CANTOPEN (the file cannot be reopened, e.g. its -shm on a read-only mount), CORRUPT and NOTADB.
_MEDIUM_CODES = frozenset({13, 8, 10, 14, 11, 26})


class StorageFailure(StorageError, sqlite3.OperationalError):
    """The disk refused a read or write: full, read-only or failing.

    Also an sqlite3.OperationalError, so code written to catch SQLite errors keeps catching it.
    """


def is_medium_failure(exc: BaseException) -> bool:
    """Whether an SQLite error is the medium's (full, read-only, I/O) rather than the statement's."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) and code & 0xFF in _MEDIUM_CODES


class StorageHealth:
    """Whether the state database currently takes writes.

    A refused write marks it failed (`report`); only the storage fault's probe marks it healthy again
    (`restored`), after a real write went through, so one lucky small write cannot make the fault flap.
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.failure: str | None = None  # what the disk said, while failed
        self.degraded_boot = False  # the real database could not be opened: running on a stand-in

    @property
    def healthy(self) -> bool:
        return self.failure is None

    def report(self, exc: BaseException) -> None:
        if self.failure is not None:
            return
        self.failure = str(exc) or type(exc).__name__
        log.error("storage_failure state_dir=%s: %s", self.state_dir, self.failure)

    def boot_degraded(self, reason: str) -> None:
        """The real database cannot take writes at start-up: the daemon runs on a stand-in (see open_state)."""
        self.failure, self.degraded_boot = reason, True
        log.error(
            "storage_failure: state database in %s is not writable (%s): running degraded, no charging until it is",
            self.state_dir,
            reason,
        )

    def restored(self) -> None:
        if self.failure is not None:
            log.info("storage restored state_dir=%s (was: %s)", self.state_dir, self.failure)
        self.failure = None


class GuardedConnection(sqlite3.Connection):
    """An SQLite connection whose medium failures become `StorageFailure`, reported to `health`.

    Built by `sqlite3.connect(factory=...)`, so every part keeps its plain `sqlite3.Connection` type.
    """

    health: StorageHealth | None = None

    def _failure(self, exc: sqlite3.Error) -> StorageFailure:
        failure = StorageFailure(str(exc))
        failure.sqlite_errorcode = exc.sqlite_errorcode
        failure.sqlite_errorname = exc.sqlite_errorname
        if self.health is not None:
            self.health.report(failure)
        return failure

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.Error as exc:
            if not is_medium_failure(exc):
                raise  # the statement's fault: a bug, not the disk
            raise self._failure(exc) from exc

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        try:
            return super().executemany(sql, parameters)
        except sqlite3.Error as exc:
            if not is_medium_failure(exc):
                raise  # the statement's fault: a bug, not the disk
            raise self._failure(exc) from exc

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        try:
            return super().executescript(sql_script)
        except sqlite3.Error as exc:
            if not is_medium_failure(exc):
                raise  # the statement's fault: a bug, not the disk
            raise self._failure(exc) from exc


@dataclass(frozen=True)
class Migration:
    """Statements that bring `part` to `version`; applied once, in version order."""

    part: str
    version: int
    statements: Sequence[str]


def open_database(state_dir: Path, health: StorageHealth | None = None) -> sqlite3.Connection:
    """Open (creating if needed) the station database in `state_dir`; its failures go to `health`."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            state_dir / DB_FILENAME, isolation_level=None, check_same_thread=False, factory=GuardedConnection
        )
        _prepare(conn)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"cannot open state database in {state_dir}: {exc}") from exc
    assert isinstance(conn, GuardedConnection)
    conn.health = health
    return conn


def _prepare(conn: sqlite3.Connection, *, wal: bool = True) -> None:
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # 256 KiB of page cache instead of SQLite's 2 MiB: the tables are small and read by key, the OS
    # caches the file anyway, and a long outbox replay would otherwise fill all 2 MiB (bench: peak RSS).
    conn.execute("PRAGMA cache_size=-256")
    conn.execute("CREATE TABLE IF NOT EXISTS schema_versions (part TEXT PRIMARY KEY, version INTEGER NOT NULL)")


def open_stand_in(state_dir: Path, health: StorageHealth) -> sqlite3.Connection:
    """The database to boot on when the real one cannot be opened for writing (degraded mode).

    An in-memory copy of what is on the card, read as it stands (`immutable`: no lock, no -shm, no
    write), so the values the CSMS set (credentials, intervals) still apply; an empty one if even that
    cannot be read. It takes writes until `seal` (the parts create their tables first); sealed, it
    refuses them as the card does, so nothing pretends to be durable: the storage fault stays raised (no
    charging), transaction messages wait in memory, and the probe looks at the real database.
    """
    path = state_dir / DB_FILENAME
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False, factory=GuardedConnection)
    if path.exists():
        try:
            source = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
            try:
                source.backup(conn)
            finally:
                source.close()
        except sqlite3.Error as exc:
            log.warning("cannot read %s either (%s): starting from an empty database", path, exc)
    _prepare(conn, wal=False)
    assert isinstance(conn, GuardedConnection)
    conn.health = health
    return conn


def seal(conn: sqlite3.Connection) -> None:
    """Make a degraded boot's stand-in refuse writes (SQLITE_READONLY), like the card it stands in for."""
    conn.execute("PRAGMA query_only=ON")


def open_state(state_dir: Path, health: StorageHealth) -> sqlite3.Connection:
    """The station database, proven writable by a probe write; else a stand-in and a degraded boot.

    Booting degraded rather than exiting: with charging blocked either way, a running daemon tells the
    CSMS why (Faulted, NotifyEvent), answers it, and resumes by itself when the card is usable again,
    where an exit would have systemd restart it every few seconds for as long as the card is full.
    """
    try:
        conn = _open_and_probe(state_dir)
    except StorageError as exc:
        health.boot_degraded(str(exc))
        return open_stand_in(state_dir, health)
    assert isinstance(conn, GuardedConnection)
    conn.health = health
    return conn


def _open_and_probe(state_dir: Path) -> sqlite3.Connection:
    """The station database, proven writable (the probe table made, one durable write); closed again and
    StorageError if the disk refuses."""
    conn = open_database(state_dir)
    try:
        migrate(conn, [PROBE_MIGRATION])
        probe_write(conn)
    except StorageError:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        raise
    return conn


PROBE_MIGRATION = Migration(
    "storage_probe", 1, ["CREATE TABLE storage_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT, pad BLOB)"]
)
# The probe writes this much, so "writable again" means some headroom, not the last free page.
PROBE_BYTES = 16 * 1024


def probe_write(conn: sqlite3.Connection) -> None:
    """One small durable write (committed, synchronous=FULL); raises StorageFailure if the disk refuses."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO storage_probe(id, at, pad) VALUES(1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), zeroblob(?))"
            " ON CONFLICT(id) DO UPDATE SET at = excluded.at, pad = excluded.pad",
            (PROBE_BYTES,),
        )


def probe_state_dir(state_dir: Path) -> None:
    """Open the real database afresh and write to it (degraded boot: is the card usable again?)."""
    _open_and_probe(state_dir).close()


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
            with contextlib.suppress(sqlite3.Error):  # a failing disk may refuse the rollback too
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            if isinstance(exc, StorageFailure):
                raise
            raise StorageError(f"migration {migration.part} v{migration.version} failed: {exc}") from exc


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One SQLite write transaction (the connection is in autocommit mode): all of it lands, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (SQLITE_FULL, IOERR); a failing disk may refuse this too.
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        raise

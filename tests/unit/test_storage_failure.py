"""Storage failures recognised in one place: the guarded connection, the health it reports to, the outbox
that keeps delivering, and the degraded boot on a state_dir that cannot be written.

Writes are refused with `PRAGMA query_only`, which makes SQLite answer exactly as on a read-only mount
(SQLITE_READONLY); the tmpfs tests in tests/integration/test_storage_faults.py use a real full disk.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evse.errors import StorageError
from evse.ocpp.outbox import Outbox
from evse.storage import (
    StorageFailure,
    StorageHealth,
    is_medium_failure,
    open_database,
    open_stand_in,
    open_state,
    probe_state_dir,
    seal,
    transaction,
)


def refuse_writes(conn: sqlite3.Connection, refuse: bool = True) -> None:
    conn.execute(f"PRAGMA query_only={'ON' if refuse else 'OFF'}")


def test_a_refused_write_is_a_storage_failure_that_old_sqlite_handlers_still_catch(tmp_path: Path) -> None:
    health = StorageHealth(tmp_path)
    conn = open_database(tmp_path, health)
    conn.execute("CREATE TABLE t (x)")
    refuse_writes(conn)
    with pytest.raises(StorageFailure) as caught:
        conn.execute("INSERT INTO t VALUES (1)")
    assert isinstance(caught.value, StorageError) and isinstance(caught.value, sqlite3.OperationalError)
    assert caught.value.sqlite_errorname == "SQLITE_READONLY"
    assert health.failure is not None and "readonly" in health.failure
    with pytest.raises(StorageFailure):
        conn.executemany("INSERT INTO t VALUES (?)", [(2,), (3,)])


def test_a_faulty_statement_is_not_a_storage_failure(tmp_path: Path) -> None:
    health = StorageHealth(tmp_path)
    conn = open_database(tmp_path, health)
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("INSERT INTO no_such_table VALUES (1)")
    assert not isinstance(caught.value, StorageFailure)
    assert not is_medium_failure(caught.value)
    assert health.healthy


def test_the_health_stays_failed_until_restored_even_if_a_write_succeeds(tmp_path: Path) -> None:
    health = StorageHealth(tmp_path)
    conn = open_database(tmp_path, health)
    conn.execute("CREATE TABLE t (x)")
    refuse_writes(conn)
    with pytest.raises(StorageFailure):
        conn.execute("INSERT INTO t VALUES (1)")
    refuse_writes(conn, False)
    conn.execute("INSERT INTO t VALUES (2)")
    assert not health.healthy  # only the probe decides that the disk is back
    health.restored()
    assert health.healthy


def test_a_transaction_whose_write_is_refused_leaves_nothing_behind(tmp_path: Path) -> None:
    conn = open_database(tmp_path, StorageHealth(tmp_path))
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (0)")
    refuse_writes(conn)
    with pytest.raises(StorageFailure), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)


def test_a_delivered_entry_whose_delete_is_refused_is_not_delivered_again(tmp_path: Path) -> None:
    conn = open_database(tmp_path, StorageHealth(tmp_path))
    box = Outbox(conn)
    first = box.put("StatusNotification", {"n": 1})
    box.put("StatusNotification", {"n": 2})
    refuse_writes(conn)
    box.remove(first)  # delivered; the disk refuses the delete
    following = box.peek()
    assert following is not None and following.payload == {"n": 2}
    assert len(box) == 1
    assert not box.retry_removals()  # still refused
    refuse_writes(conn, False)
    assert box.retry_removals()
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone() == (1,)
    assert len(box) == 1


def test_the_degraded_stand_in_is_a_copy_of_what_the_card_holds(tmp_path: Path) -> None:
    """Values the CSMS set (credentials, intervals) still apply while the card refuses writes."""
    real = open_database(tmp_path)
    real.execute("CREATE TABLE facts (k TEXT PRIMARY KEY, v TEXT)")
    real.execute("INSERT INTO facts VALUES ('password', 'set-by-the-csms')")
    real.close()
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    health = StorageHealth(tmp_path)
    conn = open_stand_in(tmp_path, health)
    assert conn.execute("SELECT v FROM facts WHERE k = 'password'").fetchone() == ("set-by-the-csms",)
    conn.execute("INSERT INTO facts VALUES ('x', 'y')")  # lands in memory only
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # the card is not touched


def test_a_state_dir_that_cannot_be_created_boots_degraded_on_an_empty_database(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    health = StorageHealth(blocker / "state")
    conn = open_state(blocker / "state", health)
    assert health.degraded_boot and health.failure is not None
    conn.execute("CREATE TABLE t (x)")  # the parts create their tables in the stand-in ...
    seal(conn)
    with pytest.raises(StorageFailure):  # ... then it refuses writes as the card does
        conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(StorageError):
        probe_state_dir(blocker / "state")

"""The firmware job in the station's SQLite file: what a restart (a new connection) finds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from evse.firmware.job_store import JobStore
from evse.firmware.update_plan import Phase, Status, new_job
from evse.storage import open_database


def test_the_job_and_its_phase_survive_a_reopen_and_a_new_job_replaces_it(tmp_path: Path) -> None:
    job = new_job(5, "http://127.0.0.1/fw.bin", datetime(2026, 1, 1, tzinfo=UTC), None, 3, 10, "PEM", "c2ln")
    first = open_database(tmp_path)
    store = JobStore(first)
    assert store.load() is None
    store.save(job.at(Phase.DOWNLOADING).reported(Status.Downloading).failed_attempt())
    first.close()

    again = JobStore(open_database(tmp_path))
    found = again.load()
    assert found is not None
    assert (found.request_id, found.phase, found.last_status, found.attempts) == (
        5,
        Phase.DOWNLOADING,
        Status.Downloading,
        1,
    )
    again.save(new_job(6, "http://127.0.0.1/b.bin", job.retrieve_at, None, None, None, None, None))
    replaced = again.load()
    assert replaced is not None and replaced.request_id == 6 and not replaced.secure
    again.clear()
    assert again.load() is None

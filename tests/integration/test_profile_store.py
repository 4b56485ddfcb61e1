"""The installed charging profiles on a real SQLite file: kept across a reopen, replaced by id, removed,
expired by validTo, and a row no version can read any more dropped rather than fatal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from evse.ocpp.v201 import messages as m
from evse.smartcharging.model import InstalledProfile
from evse.smartcharging.profile_store import ProfileStore
from evse.storage import StorageHealth, open_database
from tests.charging_profiles import profile, wire_profile

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_profiles_survive_a_reopen_and_are_replaced_by_id(tmp_path: Path) -> None:
    store = ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))
    store.put(InstalledProfile(0, profile(1, "ChargingStationMaxProfile", [(0, 20.0)], start=T0)))
    store.put(InstalledProfile(1, profile(2, "TxDefaultProfile", [(0, 10.0)], start=T0)))
    store.put(InstalledProfile(2, profile(2, "TxDefaultProfile", [(0, 12.0)], start=T0)))  # same id: moved, replaced
    again = ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))
    assert [(p.evse_id, p.profile.id, p.profile.schedules[0].periods[0].limit) for p in again.all()] == [
        (0, 1, 20.0),
        (2, 2, 12.0),
    ]
    assert [p.profile.id for p in again.remove([2, 9])] == [2]
    assert len(ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))) == 1


def test_expired_profiles_are_found_by_valid_to(tmp_path: Path) -> None:
    store = ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))
    store.put(
        InstalledProfile(1, profile(1, "TxDefaultProfile", [(0, 10.0)], start=T0, valid_to=T0 + timedelta(hours=1)))
    )
    store.put(InstalledProfile(1, profile(2, "TxDefaultProfile", [(0, 10.0)], start=T0, stack_level=1)))
    assert store.expired(T0) == []
    assert store.expired(T0 + timedelta(hours=1)) == [1]


def test_an_unreadable_row_is_dropped(tmp_path: Path) -> None:
    conn = open_database(tmp_path, StorageHealth(tmp_path))
    ProfileStore(conn).put(InstalledProfile(1, profile(1, "TxDefaultProfile", [(0, 10.0)], start=T0)))
    conn.execute("INSERT INTO charging_profiles(id, evse_id, profile) VALUES(7, 1, '{\"id\": 7}')")
    store = ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))
    assert [p.profile.id for p in store.all()] == [1]
    assert conn.execute("SELECT COUNT(*) FROM charging_profiles").fetchone()[0] == 1


def test_a_row_written_by_the_previous_release_loads(tmp_path: Path) -> None:
    """The previous release stored the 2.0.1 model's JSON; the engine's profile reads it, and writes it the same."""
    conn = open_database(tmp_path, StorageHealth(tmp_path))
    ProfileStore(conn)  # the table
    body = wire_profile(5, "TxProfile", [(0, 16.0, 1)], kind="Relative", transaction_id="tx-1", min_rate=6.0)
    old_text = m.ChargingProfileType.model_validate(body).model_dump_json(exclude_none=True)
    conn.execute("INSERT INTO charging_profiles(id, evse_id, profile) VALUES(5, 2, ?)", (old_text,))
    store = ProfileStore(open_database(tmp_path, StorageHealth(tmp_path)))
    assert [(p.evse_id, p.profile) for p in store.all()] == [
        (2, profile(5, "TxProfile", [(0, 16.0, 1)], kind="Relative", transaction_id="tx-1", min_rate=6.0))
    ]
    store.put(store.all()[0])
    assert conn.execute("SELECT profile FROM charging_profiles WHERE id = 5").fetchone()[0] == old_text

"""The installed charging profiles, kept in the station's SQLite database: they survive a restart, a reset
and a power cut (K01: installed profiles stay until cleared, replaced, expired or, for a TxProfile, the end
of its transaction). Reads come from memory; every change is written (synchronous=FULL) before it counts.
A row holds the profile's JSON (evse/smartcharging/profile_json.py: the form earlier releases wrote).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from datetime import datetime

from evse.smartcharging.model import InstalledProfile
from evse.smartcharging.profile_json import profile_from_json, profile_to_json
from evse.smartcharging.schedule import utc
from evse.storage import Migration, migrate, transaction

log = logging.getLogger(__name__)

MIGRATIONS = [
    Migration(
        "charging_profiles",
        1,
        [
            "CREATE TABLE charging_profiles (id INTEGER PRIMARY KEY, evse_id INTEGER NOT NULL, profile TEXT NOT NULL)",
        ],
    )
]


class ProfileStore:
    """Installed profiles by id, in memory and on disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        migrate(conn, MIGRATIONS)
        self._profiles: dict[int, InstalledProfile] = {}
        for profile_id, evse_id, text in conn.execute("SELECT id, evse_id, profile FROM charging_profiles"):
            try:
                profile = profile_from_json(json.loads(text))
            except ValueError as exc:  # ProfileJsonError and json's errors alike
                # Written by another version and no longer valid: dropped, it would be refused today anyway.
                log.error("charging profile %s unreadable, dropped: %s", profile_id, exc)
                conn.execute("DELETE FROM charging_profiles WHERE id = ?", (profile_id,))
                continue
            self._profiles[profile_id] = InstalledProfile(evse_id, profile)

    def all(self) -> list[InstalledProfile]:
        return sorted(self._profiles.values(), key=lambda p: (p.evse_id, p.profile.id))

    def __len__(self) -> int:
        return len(self._profiles)

    def put(self, item: InstalledProfile) -> None:
        """Install `item`, replacing the profile of the same id wherever it was."""
        text = json.dumps(profile_to_json(item.profile), separators=(",", ":"))
        with transaction(self._conn):
            self._conn.execute(
                "INSERT INTO charging_profiles(id, evse_id, profile) VALUES(?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET evse_id = excluded.evse_id, profile = excluded.profile",
                (item.profile.id, item.evse_id, text),
            )
        self._profiles[item.profile.id] = item

    def remove(self, profile_ids: Iterable[int]) -> list[InstalledProfile]:
        """Remove these profiles; returns those that were installed."""
        gone = [self._profiles[i] for i in sorted(set(profile_ids)) if i in self._profiles]
        if not gone:
            return []
        with transaction(self._conn):
            self._conn.executemany("DELETE FROM charging_profiles WHERE id = ?", [(p.profile.id,) for p in gone])
        for item in gone:
            del self._profiles[item.profile.id]
        return gone

    def expired(self, now: datetime) -> list[int]:
        """Ids of the profiles whose validTo has passed."""
        return [
            i for i, p in self._profiles.items() if p.profile.valid_to is not None and utc(p.profile.valid_to) <= now
        ]

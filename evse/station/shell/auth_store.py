"""The Authorization Cache (C10/C11) and the Local Authorization List (D01/D02) in the station database.

Both live in the shared SQLite connection (tables of part "auth"), so they survive a reboot (C10.FR.02,
TC_D_07). Tokens are keyed by (idToken lower-cased, type): OCPP idTokens are case-insensitive, and the same
string with another type is another token. A list update is applied in one SQLite transaction and rolled
back as a whole when it does not fit, so the list is never half-updated.

The store takes and gives the station's TokenVerdict and keeps it as text in the format of the codec the
daemon gives it: the 2.0.1 idTokenInfo JSON it always wrote (the 2.0.1 adapter's IdTokenInfoJson, which
converts without loss; under either OCPP version), so databases written before keep their meaning, and an
entry's size, which counts against Storage, is that of what the CSMS sent.

Deciding what a lookup means is not done here: see evse.station.core.authorization.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from evse.station.core.tokens import CacheEntry, CachePolicy, TokenKey, token_key
from evse.station.core.tokens_neutral import ListUpdate, LocalListEntry, LocalListStatus, TokenVerdict
from evse.storage import Migration, migrate, transaction

MIGRATIONS = [
    Migration(
        "auth",
        1,
        [
            # Times are UTC seconds since the epoch; `size` is what the entry counts against Storage.
            "CREATE TABLE auth_cache (id_token TEXT NOT NULL, token_type TEXT NOT NULL, info TEXT NOT NULL,"
            " status TEXT NOT NULL, expires_at REAL, stored_at REAL NOT NULL, last_used REAL NOT NULL,"
            " use_count INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL, PRIMARY KEY (id_token, token_type))",
            "CREATE TABLE auth_list (id_token TEXT NOT NULL, token_type TEXT NOT NULL, info TEXT NOT NULL,"
            " size INTEGER NOT NULL, PRIMARY KEY (id_token, token_type))",
            "CREATE TABLE auth_list_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
        ],
    )
]

# Entries that are not Accepted go first whatever the policy: they authorize nobody (C10.FR.07).
_EVICTION_ORDER = {
    CachePolicy.LRU: "status = 'Accepted', last_used, stored_at",
    CachePolicy.LFU: "status = 'Accepted', use_count, last_used",
    CachePolicy.FIFO: "status = 'Accepted', stored_at, last_used",
    CachePolicy.CUSTOM: "status = 'Accepted', last_used, stored_at",
}


class VerdictCodec(Protocol):
    """How the store keeps a verdict as text; a protocol adapter provides it (the format is its own)."""

    def encode(self, verdict: TokenVerdict) -> str: ...

    def decode(self, text: str) -> TokenVerdict: ...


@dataclass(frozen=True)
class Usage:
    """How full a table is: entries and the bytes they count for (reported as *.Storage)."""

    entries: int
    bytes: int


@dataclass(frozen=True)
class LocalListOutcome:
    """The answer to a SendLocalList, with a reason code for statusInfo when it was not Accepted."""

    status: LocalListStatus
    reason: str | None = None
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is LocalListStatus.Accepted


class _DoesNotFit(Exception):
    """Raised inside a list transaction to roll it back: the result would exceed the list's capacity."""


def _failed(reason: str, detail: str) -> LocalListOutcome:
    return LocalListOutcome(LocalListStatus.Failed, reason, detail)


def judge_local_list_update(
    current_version: int, version: int, update_type: ListUpdate, entries: Sequence[LocalListEntry]
) -> LocalListOutcome | None:
    """Why a SendLocalList must be refused before touching the list, or None if it may be applied.

    versionNumber 0 means "no list" in GetLocalListVersion, so it is never a valid new version (D01.FR.18);
    a Differential update must raise the version (VersionMismatch, D01.FR.19); idTokens must be unique
    (D01.FR.06); a Full list cannot hold a token without its verdict (idTokenInfo; only a Differential
    removes).
    """
    if version <= 0:
        return _failed("InvalidVersion", f"versionNumber {version} must be greater than 0")
    if update_type is ListUpdate.Differential and version <= current_version:
        return LocalListOutcome(
            LocalListStatus.VersionMismatch,
            "VersionMismatch",
            f"versionNumber {version} is not greater than the current {current_version}",
        )
    keys = [token_key(item.token.value, item.token.kind) for item in entries]
    if len(set(keys)) != len(keys):
        return _failed("DuplicateIdToken", "an idToken occurs more than once")
    if update_type is ListUpdate.Full and any(item.verdict is None for item in entries):
        return _failed("MissingIdTokenInfo", "a Full update needs idTokenInfo for every idToken")
    return None


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _size(key: TokenKey, info_json: str) -> int:
    return len(key[0].encode()) + len(key[1].encode()) + len(info_json.encode())


class AuthStore:
    """Persistence of the Authorization Cache and the Local Authorization List (blocking SQLite calls)."""

    def __init__(self, conn: sqlite3.Connection, codec: VerdictCodec) -> None:
        self._conn = conn
        self._codec = codec
        migrate(conn, MIGRATIONS)

    def _usage(self, table: str) -> Usage:
        row = self._conn.execute(f"SELECT COUNT(*), COALESCE(SUM(size), 0) FROM {table}").fetchone()
        return Usage(int(row[0]), int(row[1]))

    # ---- Authorization Cache ----------------------------------------------------------------------
    def cache_get(self, key: TokenKey) -> CacheEntry | None:
        row = self._conn.execute(
            "SELECT info, stored_at, last_used, use_count FROM auth_cache WHERE id_token = ? AND token_type = ?", key
        ).fetchone()
        if row is None:
            return None
        return CacheEntry(self._codec.decode(row[0]), _moment(row[1]), _moment(row[2]), row[3])

    def cache_put(
        self,
        key: TokenKey,
        verdict: TokenVerdict,
        now: datetime,
        *,
        policy: CachePolicy = CachePolicy.LRU,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        lifetime_s: int | None = None,
    ) -> None:
        """Store (or replace) the entry of `key`, then make room: expired entries first, then by `policy`
        (never the entry just stored). An entry alone larger than `max_bytes` is not kept."""
        text = self._codec.encode(verdict)
        size = _size(key, text)
        expires = _epoch(verdict.expires) if verdict.expires is not None else None
        with transaction(self._conn):
            if max_bytes is not None and size > max_bytes:
                self.cache_remove(key)  # the older answer for this token is outdated either way
                return
            self._conn.execute(
                "INSERT INTO auth_cache(id_token, token_type, info, status, expires_at, stored_at, last_used, size)"
                " VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id_token, token_type) DO UPDATE SET info = excluded.info,"
                " status = excluded.status, expires_at = excluded.expires_at, last_used = excluded.last_used,"
                " size = excluded.size",
                (*key, text, verdict.status.value, expires, _epoch(now), _epoch(now), size),
            )
            self._delete_expired(now, lifetime_s)
            self._evict(key, policy, max_entries, max_bytes)

    def _delete_expired(self, now: datetime, lifetime_s: int | None) -> int:
        stamp = _epoch(now)
        horizon = stamp - lifetime_s if lifetime_s is not None else None
        cursor = self._conn.execute(
            "DELETE FROM auth_cache WHERE (expires_at IS NOT NULL AND expires_at <= ?)"
            " OR (? IS NOT NULL AND last_used <= ?)",
            (stamp, horizon, horizon),
        )
        return cursor.rowcount

    def _evict(self, keep: TokenKey, policy: CachePolicy, max_entries: int | None, max_bytes: int | None) -> None:
        # The entry just stored goes last: under LFU it would otherwise always be the one with fewest uses.
        order = f"(id_token = ? AND token_type = ?), {_EVICTION_ORDER[policy]}"
        while True:
            usage = self._usage("auth_cache")
            over_count = max_entries is not None and usage.entries > max_entries
            over_bytes = max_bytes is not None and usage.bytes > max_bytes
            if not (over_count or over_bytes) or usage.entries == 0:
                return
            self._conn.execute(
                f"DELETE FROM auth_cache WHERE rowid = (SELECT rowid FROM auth_cache ORDER BY {order} LIMIT 1)", keep
            )

    def cache_touch(self, key: TokenKey, now: datetime) -> None:
        """The entry was used to authorize: it is now the most recently (and once more) used."""
        self._conn.execute(
            "UPDATE auth_cache SET last_used = ?, use_count = use_count + 1 WHERE id_token = ? AND token_type = ?",
            (_epoch(now), *key),
        )

    def cache_remove(self, key: TokenKey) -> None:
        self._conn.execute("DELETE FROM auth_cache WHERE id_token = ? AND token_type = ?", key)

    def cache_clear(self) -> None:
        self._conn.execute("DELETE FROM auth_cache")

    def cache_prune(self, now: datetime, lifetime_s: int | None) -> int:
        """Drop entries past their cacheExpiryDateTime or unused for `lifetime_s`; returns how many."""
        return self._delete_expired(now, lifetime_s)

    def cache_usage(self) -> Usage:
        return self._usage("auth_cache")

    # ---- Local Authorization List -----------------------------------------------------------------
    def list_get(self, key: TokenKey) -> TokenVerdict | None:
        row = self._conn.execute("SELECT info FROM auth_list WHERE id_token = ? AND token_type = ?", key).fetchone()
        return self._codec.decode(row[0]) if row is not None else None

    def list_version(self) -> int:
        """The version the CSMS gave with the last accepted update; 0 when no list was ever installed."""
        row = self._conn.execute("SELECT version FROM auth_list_version WHERE id = 1").fetchone()
        return int(row[0]) if row is not None else 0

    def list_usage(self) -> Usage:
        return self._usage("auth_list")

    def list_remove(self, key: TokenKey) -> bool:
        """CustomerInformation clear (N10): the entry goes, the list version stays (the CSMS asked)."""
        cursor = self._conn.execute("DELETE FROM auth_list WHERE id_token = ? AND token_type = ?", key)
        return cursor.rowcount > 0

    def list_entries(self) -> dict[TokenKey, TokenVerdict]:
        """The whole list (for tests and diagnostics; the station looks tokens up one by one)."""
        rows = self._conn.execute("SELECT id_token, token_type, info FROM auth_list").fetchall()
        return {(row[0], row[1]): self._codec.decode(row[2]) for row in rows}

    def apply_local_list(
        self,
        version: int,
        update_type: ListUpdate,
        entries: Sequence[LocalListEntry],
        *,
        max_entries: int | None = None,
        max_bytes: int | None = None,
    ) -> LocalListOutcome:
        """Apply a SendLocalList in one transaction: all of it, or (Failed/VersionMismatch) none of it.

        Full replaces the list; Differential adds or replaces the entries that carry a verdict and
        removes those that do not (D01.FR.16/17); an empty Differential only sets the version. A result
        over `max_entries` or `max_bytes` is rolled back and answered Failed.
        """
        try:
            with transaction(self._conn):
                refusal = judge_local_list_update(self.list_version(), version, update_type, entries)
                if refusal is not None:
                    return refusal
                self._write_list(update_type, entries)
                usage = self._usage("auth_list")
                if (max_entries is not None and usage.entries > max_entries) or (
                    max_bytes is not None and usage.bytes > max_bytes
                ):
                    raise _DoesNotFit(f"the list would hold {usage.entries} idTokens ({usage.bytes} B)")
                self._conn.execute(
                    "INSERT INTO auth_list_version(id, version) VALUES(1, ?)"
                    " ON CONFLICT(id) DO UPDATE SET version = excluded.version",
                    (version,),
                )
        except _DoesNotFit as exc:
            return _failed("OutOfStorage", str(exc))
        return LocalListOutcome(LocalListStatus.Accepted)

    def _write_list(self, update_type: ListUpdate, entries: Sequence[LocalListEntry]) -> None:
        if update_type is ListUpdate.Full:
            self._conn.execute("DELETE FROM auth_list")
        for item in entries:
            key = token_key(item.token.value, item.token.kind)
            if item.verdict is None:
                self._conn.execute("DELETE FROM auth_list WHERE id_token = ? AND token_type = ?", key)
                continue
            text = self._codec.encode(item.verdict)
            self._conn.execute(
                "INSERT INTO auth_list(id_token, token_type, info, size) VALUES(?, ?, ?, ?)"
                " ON CONFLICT(id_token, token_type) DO UPDATE SET info = excluded.info, size = excluded.size",
                (*key, text, _size(key, text)),
            )

"""AuthStore on a real SQLite file: cache records, eviction policies, expiry, and Local Authorization List updates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evse.ocpp.v201.tokens import IdTokenInfoJson
from evse.station.core.tokens import CachePolicy, token_key
from evse.station.core.tokens_neutral import (
    ListUpdate,
    LocalListEntry,
    LocalListStatus,
    Token,
    TokenKind,
    TokenStatus,
    TokenVerdict,
)
from evse.station.shell.auth_store import AuthStore, judge_local_list_update
from evse.storage import open_database

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
S = TokenStatus
FULL, DIFF = ListUpdate.Full, ListUpdate.Differential
L = LocalListStatus


def info(status: S = S.Accepted, expiry: datetime | None = None) -> TokenVerdict:
    return TokenVerdict(status, expires=expiry)


def key(n: int) -> tuple[str, str]:
    return token_key(f"TOKEN{n}", "ISO14443")


def entry(token: str, status: S | None = S.Accepted, token_type: str = "ISO14443") -> LocalListEntry:
    return LocalListEntry(Token(token, TokenKind(token_type)), info(status) if status is not None else None)


@pytest.fixture
def store(tmp_path: Path) -> AuthStore:
    return AuthStore(open_database(tmp_path), IdTokenInfoJson())


# ---- cache --------------------------------------------------------------------------------------------
def test_C10_cache_entry_round_trips_and_keys_ignore_case(store: AuthStore) -> None:
    stored = TokenVerdict(S.Accepted, expires=NOW + timedelta(days=1), group=Token("G1", TokenKind.Central))
    store.cache_put(token_key("abCD", "ISO14443"), stored, NOW)
    found = store.cache_get(token_key("ABcd", "ISO14443"))
    assert found is not None and found.verdict == stored and found.last_used == NOW
    assert store.cache_get(token_key("abcd", "KeyCode")) is None


def test_C10_cache_persists_over_a_reopen(tmp_path: Path) -> None:
    AuthStore(open_database(tmp_path), IdTokenInfoJson()).cache_put(key(1), info(), NOW)
    assert AuthStore(open_database(tmp_path), IdTokenInfoJson()).cache_get(key(1)) is not None


def test_C10_touch_updates_last_used_and_use_count(store: AuthStore) -> None:
    store.cache_put(key(1), info(), NOW)
    store.cache_touch(key(1), NOW + timedelta(minutes=5))
    found = store.cache_get(key(1))
    assert found is not None and found.last_used == NOW + timedelta(minutes=5) and found.use_count == 1
    assert found.stored_at == NOW


def test_C10_lru_evicts_the_least_recently_used(store: AuthStore) -> None:
    for n in range(3):
        store.cache_put(key(n), info(), NOW + timedelta(seconds=n), max_entries=3)
    store.cache_touch(key(0), NOW + timedelta(seconds=10))
    store.cache_put(key(3), info(), NOW + timedelta(seconds=11), max_entries=3)
    assert store.cache_get(key(1)) is None
    assert all(store.cache_get(key(n)) is not None for n in (0, 2, 3))


def test_C10_lfu_and_fifo_policies(store: AuthStore) -> None:
    for n in range(2):
        store.cache_put(key(n), info(), NOW + timedelta(seconds=n))
    store.cache_touch(key(0), NOW + timedelta(seconds=5))
    store.cache_touch(key(0), NOW + timedelta(seconds=6))
    store.cache_touch(key(1), NOW + timedelta(seconds=7))
    store.cache_put(key(2), info(), NOW + timedelta(seconds=8), policy=CachePolicy.LFU, max_entries=2)
    assert store.cache_get(key(1)) is None  # used once, against twice
    store.cache_put(key(3), info(), NOW + timedelta(seconds=9), policy=CachePolicy.FIFO, max_entries=2)
    assert store.cache_get(key(0)) is None  # stored first, although used most


def test_C10_entries_that_authorize_nobody_leave_first(store: AuthStore) -> None:
    store.cache_put(key(0), info(), NOW)
    store.cache_put(key(1), info(S.Blocked), NOW + timedelta(seconds=1))
    store.cache_put(key(2), info(), NOW + timedelta(seconds=2), max_entries=2)
    assert store.cache_get(key(1)) is None and store.cache_get(key(0)) is not None


def test_C10_byte_limit_and_an_entry_too_large_to_keep(store: AuthStore) -> None:
    store.cache_put(key(0), info(), NOW)
    one = store.cache_usage().bytes
    store.cache_put(key(1), info(), NOW + timedelta(seconds=1), max_bytes=one + 1)
    assert store.cache_usage().entries == 1 and store.cache_get(key(1)) is not None
    store.cache_put(key(2), info(), NOW + timedelta(seconds=2), max_bytes=1)
    assert store.cache_get(key(2)) is None and store.cache_get(key(1)) is not None
    store.cache_put(key(1), info(), NOW + timedelta(seconds=3), max_bytes=1)
    assert store.cache_get(key(1)) is None  # its older answer is not kept either


def test_C10_expired_entries_are_dropped_when_storing_and_by_prune(store: AuthStore) -> None:
    store.cache_put(key(0), info(expiry=NOW + timedelta(minutes=1)), NOW)
    store.cache_put(key(1), info(), NOW)
    store.cache_put(key(2), info(), NOW + timedelta(minutes=2), lifetime_s=3600)
    assert store.cache_get(key(0)) is None and store.cache_get(key(1)) is not None
    assert store.cache_prune(NOW + timedelta(hours=1), 3600) == 1  # key(1), last used at NOW
    assert store.cache_usage().entries == 1


def test_C11_clear_empties_the_cache(store: AuthStore) -> None:
    store.cache_put(key(0), info(), NOW)
    store.cache_clear()
    assert store.cache_usage().entries == 0 and store.cache_usage().bytes == 0


# ---- local list ---------------------------------------------------------------------------------------
def test_D01_full_replaces_the_list_and_sets_the_version(store: AuthStore) -> None:
    assert store.apply_local_list(1, FULL, [entry("A"), entry("B", S.Blocked)]).accepted
    assert store.apply_local_list(2, FULL, [entry("C")]).accepted
    assert set(store.list_entries()) == {token_key("C", "ISO14443")}
    assert store.list_version() == 2


def test_D01_differential_adds_updates_and_removes(store: AuthStore) -> None:
    store.apply_local_list(1, FULL, [entry("A"), entry("B")])
    outcome = store.apply_local_list(2, DIFF, [entry("a", S.Blocked), entry("B", None), entry("C")])
    assert outcome.accepted
    entries = store.list_entries()
    assert set(entries) == {token_key("A", "ISO14443"), token_key("C", "ISO14443")}
    assert entries[token_key("A", "ISO14443")].status is S.Blocked
    assert store.list_usage().entries == 2


def test_D01_differential_with_an_old_version_is_a_version_mismatch_and_changes_nothing(store: AuthStore) -> None:
    store.apply_local_list(5, FULL, [entry("A")])
    for version in (5, 4):
        outcome = store.apply_local_list(version, DIFF, [entry("B")])
        assert outcome.status is L.VersionMismatch
    assert store.list_version() == 5 and len(store.list_entries()) == 1
    assert store.apply_local_list(3, FULL, []).accepted  # a Full list may carry any positive version
    assert store.list_version() == 3


@pytest.mark.parametrize(
    ("version", "update", "entries", "reason"),
    [
        (0, FULL, [], "InvalidVersion"),
        (-1, DIFF, [], "InvalidVersion"),
        (2, FULL, [entry("A"), entry("a")], "DuplicateIdToken"),
        (2, DIFF, [entry("A"), entry("A", None)], "DuplicateIdToken"),
        (2, FULL, [entry("A", None)], "MissingIdTokenInfo"),
    ],
)
def test_D01_invalid_updates_fail(version: int, update: ListUpdate, entries: list[LocalListEntry], reason: str) -> None:
    outcome = judge_local_list_update(1, version, update, entries)
    assert outcome is not None and outcome.status is L.Failed and outcome.reason == reason


def test_D01_same_id_with_another_type_is_another_token(store: AuthStore) -> None:
    assert store.apply_local_list(1, FULL, [entry("A"), entry("A", token_type="KeyCode")]).accepted
    assert store.list_usage().entries == 2


def test_D01_update_over_capacity_fails_and_is_rolled_back(store: AuthStore) -> None:
    store.apply_local_list(1, FULL, [entry("A"), entry("B")], max_entries=2)
    outcome = store.apply_local_list(2, DIFF, [entry("C"), entry("A", S.Blocked)], max_entries=2)
    assert outcome.status is L.Failed and outcome.reason == "OutOfStorage"
    assert store.list_version() == 1
    assert store.list_entries()[token_key("A", "ISO14443")].status is S.Accepted
    assert store.apply_local_list(2, FULL, [entry("X")], max_bytes=1).status is L.Failed
    assert store.list_usage().entries == 2
    # the connection is usable afterwards (the rollback left no transaction open)
    assert store.apply_local_list(2, DIFF, [entry("B", None), entry("C")], max_entries=2).accepted


def test_D02_version_is_zero_before_any_list(store: AuthStore) -> None:
    assert store.list_version() == 0
    assert store.apply_local_list(1, DIFF, []).accepted  # only sets the version
    assert store.list_version() == 1 and store.list_usage().entries == 0

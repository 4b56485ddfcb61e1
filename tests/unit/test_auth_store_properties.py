"""Property: any sequence of SendLocalList updates leaves the stored list equal to a plain dict model.

The model is the D01 rules written as simply as possible; the store must agree with it after every step
(including refused and over-capacity updates, which must change nothing), also after reopening the database.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evse.ocpp.v201.tokens import IdTokenInfoJson
from evse.station.core.tokens import token_key
from evse.station.core.tokens_neutral import (
    ListUpdate,
    LocalListEntry,
    LocalListStatus,
    Token,
    TokenKind,
    TokenStatus,
    TokenVerdict,
)
from evse.station.shell.auth_store import AuthStore
from evse.storage import open_database

CAPACITY = 6
TOKENS = ["A", "a", "B", "C", "D", "E", "F", "G", "H"]  # "A"/"a" are the same idToken
TYPES = ["ISO14443", "KeyCode"]
STATUSES = ["Accepted", "Blocked", "Invalid", None]  # None: no idTokenInfo (a removal in a Differential)
L = LocalListStatus


@dataclass
class Model:
    version: int = 0
    entries: dict[tuple[str, str], str] = field(default_factory=dict)

    def apply(self, version: int, full: bool, items: list[tuple[str, str, str | None]]) -> L:
        keys = [(t.lower(), k) for t, k, _ in items]
        if version <= 0:
            return L.Failed
        if not full and version <= self.version:
            return L.VersionMismatch
        if len(set(keys)) != len(keys) or (full and any(s is None for _, _, s in items)):
            return L.Failed
        entries = {} if full else dict(self.entries)
        for key, (_, _, status) in zip(keys, items, strict=True):
            if status is None:
                entries.pop(key, None)
            else:
                entries[key] = status
        if len(entries) > CAPACITY:
            return L.Failed
        self.version, self.entries = version, entries
        return L.Accepted


item = st.tuples(st.sampled_from(TOKENS), st.sampled_from(TYPES), st.sampled_from(STATUSES))
update = st.tuples(st.integers(min_value=-1, max_value=12), st.booleans(), st.lists(item, max_size=8))


def data(items: list[tuple[str, str, str | None]]) -> list[LocalListEntry]:
    return [
        LocalListEntry(Token(token, TokenKind(token_type)), TokenVerdict(TokenStatus(status)) if status else None)
        for token, token_type, status in items
    ]


def stored(store: AuthStore) -> dict[tuple[str, str], str]:
    return {key: info.status.value for key, info in store.list_entries().items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(update, min_size=1, max_size=12))
def test_D01_random_full_and_differential_updates_match_a_dict_model(
    updates: list[tuple[int, bool, list[tuple[str, str, str | None]]]],
) -> None:
    with tempfile.TemporaryDirectory() as state_dir:
        store = AuthStore(open_database(Path(state_dir)), IdTokenInfoJson())
        model = Model()
        for version, full, items in updates:
            before = store.list_version()
            kind = ListUpdate.Full if full else ListUpdate.Differential
            outcome = store.apply_local_list(version, kind, data(items), max_entries=CAPACITY)
            assert outcome.status is model.apply(version, full, items)
            assert store.list_version() == model.version and stored(store) == model.entries
            if outcome.accepted and not full:
                assert store.list_version() > before  # a Differential only ever raises the version
            if not outcome.accepted:
                assert store.list_version() == before
            assert store.list_usage().entries == len(model.entries)
        reopened = AuthStore(open_database(Path(state_dir)), IdTokenInfoJson())
        assert reopened.list_version() == model.version and stored(reopened) == model.entries
        for (token, token_type), status in model.entries.items():
            info = reopened.list_get(token_key(token.upper(), token_type))
            assert info is not None and info.status.value == status

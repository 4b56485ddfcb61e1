"""Token identity and Authorization Cache records, shared by the pure rules and the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from evse.station.core.tokens_neutral import TokenVerdict

TokenKey = tuple[str, str]
"""(idToken lower-cased, TokenKind value): the identity of a token in both tables."""


def token_key(id_token: str, token_type: str) -> TokenKey:
    """The storage identity of a token: idTokens compare case-insensitively (IdTokenType)."""
    return (id_token.lower(), str(token_type))


class CachePolicy(StrEnum):
    """AuthCacheCtrlr.Policy: which entry leaves first when the cache is full."""

    LRU = "LRU"
    LFU = "LFU"
    FIFO = "FIFO"
    CUSTOM = "CUSTOM"  # ours is LRU


@dataclass(frozen=True)
class CacheEntry:
    """One Authorization Cache record: the last verdict the CSMS gave for a token, and its use."""

    verdict: TokenVerdict
    stored_at: datetime
    last_used: datetime
    use_count: int

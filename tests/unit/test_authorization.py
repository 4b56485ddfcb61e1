"""The pure authorization rules (evse.station.core.authorization): decisions, verdicts, cache updates, stop rights."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from evse.station.core.authorization import (
    AcceptLocally,
    AcceptOfflineUnknown,
    AskCsms,
    AuthorizationSource,
    AuthSettings,
    RejectLocally,
    StoreInCache,
    after_csms_answer,
    cache_entry_usable,
    conclude,
    decide,
    local_result,
    may_stop,
)
from evse.station.core.tokens import CacheEntry
from evse.station.core.tokens_neutral import Token, TokenKind, TokenStatus, TokenVerdict

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
S = TokenStatus
ISO = TokenKind.ISO14443.value
ONLINE_LOCAL = AuthSettings(local_pre_authorize=True)


def info(status: S = S.Accepted, *, group: str | None = None, expiry: datetime | None = None) -> TokenVerdict:
    group_token = Token(group, TokenKind.Central) if group else None
    return TokenVerdict(status, expires=expiry, group=group_token)


def cached(status: S = S.Accepted, *, last_used: datetime = NOW, expiry: datetime | None = None) -> CacheEntry:
    return CacheEntry(info(status, expiry=expiry), stored_at=last_used, last_used=last_used, use_count=1)


def run(
    *,
    online: bool = True,
    settings: AuthSettings = ONLINE_LOCAL,
    listed: TokenVerdict | None = None,
    cache: CacheEntry | None = None,
    token_type: str = ISO,
) -> object:
    return decide(token_type, online=online, settings=settings, listed=listed, cached=cache, now=NOW)


# ---- free vend and token types ------------------------------------------------------------------------
@pytest.mark.parametrize("online", [True, False])
def test_C01_authorization_disabled_accepts_every_token_as_free_vend(online: bool) -> None:
    decision = run(online=online, settings=AuthSettings(enabled=False), listed=info(S.Blocked))
    assert decision == AcceptLocally(info(), AuthorizationSource.FREE_VEND)


@pytest.mark.parametrize("token_type", ["Central", "NoAuthorization"])
def test_C02_C05_central_and_no_authorization_tokens_are_never_sent_to_the_csms(token_type: str) -> None:
    for online in (True, False):
        assert run(online=online, token_type=token_type, settings=AuthSettings()) == AcceptLocally(
            info(), AuthorizationSource.TOKEN_TYPE
        )


# ---- online -------------------------------------------------------------------------------------------
def test_C01_online_without_local_pre_authorize_asks_the_csms_even_for_listed_and_cached_tokens() -> None:
    assert run(settings=AuthSettings(), listed=info(), cache=cached()) == AskCsms()
    assert run(settings=AuthSettings()) == AskCsms()


def test_C12_online_accepted_cache_entry_starts_at_once() -> None:
    assert run(cache=cached()) == AcceptLocally(info(), AuthorizationSource.CACHE)


@pytest.mark.parametrize("status", [S.Invalid, S.Blocked, S.Expired, S.NoCredit, S.ConcurrentTx])
def test_C12_cache_entry_not_accepted_is_checked_with_the_csms(status: S) -> None:
    assert run(cache=cached(status)) == AskCsms()


def test_C12_cache_disable_post_authorize_refuses_without_asking() -> None:
    settings = replace(ONLINE_LOCAL, cache_disable_post_authorize=True)
    assert run(settings=settings, cache=cached(S.Blocked)) == RejectLocally(info(S.Blocked), AuthorizationSource.CACHE)


def test_C14_online_accepted_list_entry_starts_at_once_and_wins_over_the_cache() -> None:
    decision = run(listed=info(group="G1"), cache=cached(S.Blocked))
    assert decision == AcceptLocally(info(group="G1"), AuthorizationSource.LOCAL_LIST)


def test_C14_list_entry_not_accepted_is_checked_with_the_csms_unless_post_authorize_is_disabled() -> None:
    assert run(listed=info(S.Invalid), cache=cached()) == AskCsms()
    settings = replace(ONLINE_LOCAL, local_list_disable_post_authorize=True)
    assert run(settings=settings, listed=info(S.Invalid)) == RejectLocally(
        info(S.Invalid), AuthorizationSource.LOCAL_LIST
    )


def test_C14_list_entry_past_its_expiry_counts_as_expired() -> None:
    expired = info(expiry=NOW - timedelta(seconds=1))
    assert run(listed=expired) == AskCsms()
    decision = run(online=False, listed=expired)
    assert isinstance(decision, RejectLocally) and decision.verdict.status is S.Expired


def test_C14_disabled_list_and_cache_are_ignored() -> None:
    settings = replace(ONLINE_LOCAL, local_list_enabled=False, cache_enabled=False)
    assert run(settings=settings, listed=info(), cache=cached()) == AskCsms()


def test_C01_disable_remote_authorization_uses_only_list_and_cache() -> None:
    settings = AuthSettings(disable_remote_authorization=True)  # even without LocalPreAuthorize
    assert run(settings=settings, cache=cached()) == AcceptLocally(info(), AuthorizationSource.CACHE)
    assert run(settings=settings, listed=info(S.Invalid)) == RejectLocally(
        info(S.Invalid), AuthorizationSource.LOCAL_LIST
    )
    assert run(settings=settings) == RejectLocally(info(S.Unknown), AuthorizationSource.NOT_FOUND)


# ---- offline ------------------------------------------------------------------------------------------
def test_C13_offline_accepted_list_entry_starts() -> None:
    assert run(online=False, listed=info()) == AcceptLocally(info(), AuthorizationSource.LOCAL_LIST)


@pytest.mark.parametrize("status", [S.Invalid, S.Blocked, S.Expired, S.NoCredit])
def test_C13_offline_list_entry_not_accepted_refuses_even_with_unknown_ids_allowed(status: S) -> None:
    settings = AuthSettings(offline_tx_for_unknown_id=True)
    assert run(online=False, settings=settings, listed=info(status)) == RejectLocally(
        info(status), AuthorizationSource.LOCAL_LIST
    )


def test_C12_offline_cache_entry_decides_and_the_list_wins_over_it() -> None:
    assert run(online=False, cache=cached()) == AcceptLocally(info(), AuthorizationSource.CACHE)
    assert run(online=False, cache=cached(S.Blocked)) == RejectLocally(info(S.Blocked), AuthorizationSource.CACHE)
    assert run(online=False, listed=info(S.Blocked), cache=cached()) == RejectLocally(
        info(S.Blocked), AuthorizationSource.LOCAL_LIST
    )


def test_C15_offline_unknown_token_starts_only_with_offline_tx_for_unknown_id() -> None:
    assert run(online=False) == RejectLocally(info(S.Unknown), AuthorizationSource.NOT_FOUND)
    assert run(online=False, settings=AuthSettings(offline_tx_for_unknown_id=True)) == AcceptOfflineUnknown()


def test_C13_local_authorize_offline_false_treats_a_known_good_token_like_an_unknown_one() -> None:
    settings = AuthSettings(local_authorize_offline=False)
    assert run(online=False, settings=settings, listed=info()) == RejectLocally(
        info(S.Unknown), AuthorizationSource.NOT_FOUND
    )
    assert run(online=False, settings=replace(settings, offline_tx_for_unknown_id=True), listed=info()) == (
        AcceptOfflineUnknown()
    )


def test_C10_expired_cache_entries_are_not_used() -> None:
    lifetime_passed = cached(last_used=NOW - timedelta(seconds=ONLINE_LOCAL.cache_lifetime_s or 0))
    date_passed = cached(expiry=NOW)
    for entry in (lifetime_passed, date_passed):
        assert not cache_entry_usable(entry, lifetime_s=ONLINE_LOCAL.cache_lifetime_s, now=NOW)
        assert run(cache=entry) == AskCsms()
        assert run(online=False, cache=entry) == RejectLocally(info(S.Unknown), AuthorizationSource.NOT_FOUND)
    assert cache_entry_usable(cached(last_used=NOW - timedelta(days=365)), lifetime_s=None, now=NOW)


# ---- verdicts -----------------------------------------------------------------------------------------
def test_C16_master_pass_token_is_accepted_by_its_source_but_may_not_start() -> None:
    settings = AuthSettings(master_pass_group_id="MASTER")
    result = conclude(info(group="master"), AuthorizationSource.CSMS, settings)
    assert result.master_pass and not result.accepted and result.status is S.Accepted


def test_C01_evse_id_restriction_limits_where_a_token_may_charge() -> None:
    restricted = TokenVerdict(S.Accepted, evse_ids=(2,))
    assert not conclude(restricted, AuthorizationSource.CSMS, AuthSettings(), evse_id=1).accepted
    assert conclude(restricted, AuthorizationSource.CSMS, AuthSettings(), evse_id=2).accepted
    assert conclude(restricted, AuthorizationSource.CSMS, AuthSettings()).accepted  # EVSE not chosen yet


def test_C15_offline_starts_need_a_check_after_reconnect_online_ones_do_not() -> None:
    settings = AuthSettings()
    unknown = local_result(AcceptOfflineUnknown(), settings, online=False)
    assert unknown.accepted and unknown.needs_check_after_reconnect
    assert unknown.source is AuthorizationSource.OFFLINE_UNKNOWN
    assert local_result(
        AcceptLocally(info(), AuthorizationSource.CACHE), settings, online=False
    ).needs_check_after_reconnect
    assert not local_result(
        AcceptLocally(info(), AuthorizationSource.CACHE), settings, online=True
    ).needs_check_after_reconnect
    refused = local_result(RejectLocally(info(S.Blocked), AuthorizationSource.LOCAL_LIST), settings, online=False)
    assert not refused.accepted and not refused.needs_check_after_reconnect


# ---- what goes into the cache -------------------------------------------------------------------------
@pytest.mark.parametrize("status", list(S))
def test_C10_every_csms_answer_is_cached_whatever_its_status(status: S) -> None:
    assert after_csms_answer(ISO, info(status), AuthSettings(), in_local_list=False) == StoreInCache(info(status))


def test_C10_no_cache_update_when_disabled_for_listed_tokens_or_for_trusted_types() -> None:
    assert after_csms_answer(ISO, info(), AuthSettings(cache_enabled=False), in_local_list=False) is None
    assert after_csms_answer(ISO, info(), AuthSettings(), in_local_list=True) is None
    assert after_csms_answer("Central", info(), AuthSettings(), in_local_list=False) is None
    # A disabled list does not shadow the cache.
    settings = AuthSettings(local_list_enabled=False)
    assert after_csms_answer(ISO, info(), settings, in_local_list=True) == StoreInCache(info())


# ---- who may stop -------------------------------------------------------------------------------------
TX = ("AA11", ISO)


def test_C01_the_same_token_stops_its_transaction_case_insensitively() -> None:
    assert may_stop(TX, None, ("aa11", ISO), None, None)
    assert not may_stop(TX, None, ("AA11", "KeyCode"), None, None)
    assert not may_stop(TX, None, ("BB22", ISO), info(), None)


def test_C09_another_token_of_the_same_group_stops_only_when_accepted() -> None:
    assert may_stop(TX, "G1", ("BB22", ISO), info(group="g1"), None)
    assert not may_stop(TX, "G1", ("BB22", ISO), info(group="G2"), None)
    assert not may_stop(TX, "G1", ("BB22", ISO), info(S.Invalid, group="G1"), None)
    assert not may_stop(TX, "G1", ("BB22", ISO), None, None)  # group unknown until authorized


def test_C16_master_pass_stops_any_transaction() -> None:
    assert may_stop(TX, None, ("CC33", ISO), info(group="MASTER"), "MASTER")
    assert may_stop(TX, "G1", ("CC33", ISO), info(group="MASTER"), "MASTER")
    assert not may_stop(TX, None, ("CC33", ISO), info(S.Blocked, group="MASTER"), "MASTER")
    assert not may_stop(TX, None, ("CC33", ISO), info(group="MASTER"), None)

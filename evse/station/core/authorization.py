"""Authorization of idTokens (OCPP 2.0.1 C01-C16): the pure decisions. No I/O here.

The shell that feeds them from the database and the device model is evse.station.authorizer. The
decisions are plain functions of data - the presented token, whether the CSMS is reachable, what the
Local Authorization List and the Authorization Cache hold for it, the settings and the time:

- `decide` -> AcceptLocally / RejectLocally / AskCsms / AcceptOfflineUnknown
- `conclude` turns a source's TokenVerdict (2.0.1: its idTokenInfo) into the result (MasterPassGroupId,
  evseId restrictions)
- `after_csms_answer` says whether an answer goes into the cache (C10)
- `may_stop` says who may end a running transaction (C01, C09, C16)

Order of the rules, as the use cases give them: AuthCtrlr.Enabled=false accepts everything (free vend);
Central and NoAuthorization tokens are never sent in an AuthorizeRequest; the list comes before the cache
(TC_C_25); online, local data is consulted only with LocalPreAuthorize (C12/C14) and a known entry that is
not Accepted is re-checked with the CSMS unless <ctrlr>.DisablePostAuthorize (C10.FR.03, C12.FR.05,
C14.FR.03); offline, an entry that is not Accepted refuses (C13.FR.04), an Accepted one starts with
LocalAuthorizeOffline (C12, C13), and a token nobody knows starts only with OfflineTxForUnknownIdEnabled
(C15). A cache entry past its cacheExpiryDateTime, or unused for AuthCacheCtrlr.LifeTime, is not used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from evse.station.core.tokens import CacheEntry, CachePolicy
from evse.station.core.tokens_neutral import TokenKind, TokenStatus, TokenVerdict

_ACCEPTED = TokenStatus.Accepted
_TRUSTED_TYPES = frozenset({TokenKind.Central.value, TokenKind.NoAuthorization.value})
"""Not sent in an AuthorizeRequest: Central tokens come from the CSMS itself, NoAuthorization is a start
button or key switch with nothing to check (C02, C05)."""

TokenRef = tuple[str, str]
"""(idToken, type) as the station core carries a token around."""


class AuthorizationSource(StrEnum):
    """Where a verdict came from."""

    CSMS = "CSMS"
    CACHE = "Cache"
    LOCAL_LIST = "LocalList"
    OFFLINE_UNKNOWN = "OfflineUnknown"
    FREE_VEND = "FreeVend"  # AuthCtrlr.Enabled = false
    TOKEN_TYPE = "TokenType"  # Central / NoAuthorization
    NOT_FOUND = "NotFound"  # unknown locally and the CSMS could not (or may not) be asked


@dataclass(frozen=True)
class AuthSettings:
    """The device-model variables authorization honours (defaults as in config/device_model)."""

    enabled: bool = True  # AuthCtrlr.Enabled
    local_authorize_offline: bool = True
    local_pre_authorize: bool = False
    offline_tx_for_unknown_id: bool = False
    disable_remote_authorization: bool = False
    master_pass_group_id: str | None = None
    cache_enabled: bool = True  # AuthCacheCtrlr.Available and .Enabled
    cache_disable_post_authorize: bool = False
    cache_lifetime_s: int | None = 86400
    cache_policy: CachePolicy = CachePolicy.LRU
    local_list_enabled: bool = True  # LocalAuthListCtrlr.Available and .Enabled
    local_list_disable_post_authorize: bool = False


# ---- decisions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AcceptLocally:
    """Start without asking the CSMS (it hears of the token in the TransactionEventRequest)."""

    verdict: TokenVerdict
    source: AuthorizationSource


@dataclass(frozen=True)
class RejectLocally:
    """Refuse without asking the CSMS."""

    verdict: TokenVerdict
    source: AuthorizationSource


@dataclass(frozen=True)
class AskCsms:
    """Send an AuthorizeRequest and go by its answer."""


@dataclass(frozen=True)
class AcceptOfflineUnknown:
    """Offline and nobody knows the token, but OfflineTxForUnknownIdEnabled lets it start (C15)."""


Decision = AcceptLocally | RejectLocally | AskCsms | AcceptOfflineUnknown


@dataclass(frozen=True)
class StoreInCache:
    """Put `verdict` into the Authorization Cache for the token it answered."""

    verdict: TokenVerdict


@dataclass(frozen=True)
class AuthorizationResult:
    """The verdict the station acts on.

    `accepted` means "may start charging"; `verdict` is what the source said (a master pass card is
    Accepted there, yet not `accepted`: it may stop transactions, never start one, C16).
    `needs_check_after_reconnect`: the station let the token start while offline without the CSMS having
    confirmed it; the CSMS's verdict on the transaction's token after reconnecting is the real one
    (C15: StopTxOnInvalidId / MaxEnergyOnInvalidId apply to it).
    """

    accepted: bool
    verdict: TokenVerdict
    source: AuthorizationSource
    needs_check_after_reconnect: bool = False
    master_pass: bool = False

    @property
    def status(self) -> TokenStatus:
        return self.verdict.status

    @property
    def group_id_token(self) -> str | None:
        return self.verdict.group_value


def _verdict(status: TokenStatus) -> TokenVerdict:
    return TokenVerdict(status)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _past_expiry(verdict: TokenVerdict, now: datetime) -> bool:
    return verdict.expires is not None and _utc(verdict.expires) <= now


def effective_verdict(verdict: TokenVerdict, now: datetime) -> TokenVerdict:
    """A list entry as it stands now: past its expiry (cacheExpiryDateTime) an Accepted token counts as Expired."""
    if verdict.status is _ACCEPTED and _past_expiry(verdict, now):
        return replace(verdict, status=TokenStatus.Expired)
    return verdict


def cache_entry_usable(entry: CacheEntry, *, lifetime_s: int | None, now: datetime) -> bool:
    """False once past cacheExpiryDateTime or unused for AuthCacheCtrlr.LifeTime seconds (C10.FR.08)."""
    if _past_expiry(entry.verdict, now):
        return False
    return lifetime_s is None or _utc(entry.last_used) + timedelta(seconds=lifetime_s) > now


def decide(
    token_type: str,
    *,
    online: bool,
    settings: AuthSettings,
    listed: TokenVerdict | None,
    cached: CacheEntry | None,
    now: datetime,
) -> Decision:
    """What to do with a presented token, given what the list and the cache hold for it (None: nothing)."""
    if not settings.enabled:
        return AcceptLocally(_verdict(_ACCEPTED), AuthorizationSource.FREE_VEND)
    if str(token_type) in _TRUSTED_TYPES:
        return AcceptLocally(_verdict(_ACCEPTED), AuthorizationSource.TOKEN_TYPE)
    in_list = effective_verdict(listed, now) if listed is not None and settings.local_list_enabled else None
    usable = (
        cached is not None
        and settings.cache_enabled
        and cache_entry_usable(cached, lifetime_s=settings.cache_lifetime_s, now=now)
    )
    in_cache = cached.verdict if usable and cached is not None else None
    if online:
        return _decide_online(in_list, in_cache, settings)
    return _decide_offline(in_list, in_cache, settings)


def _decide_online(in_list: TokenVerdict | None, in_cache: TokenVerdict | None, settings: AuthSettings) -> Decision:
    # DisableRemoteAuthorization leaves list and cache as the only sources, so they are used even
    # without LocalPreAuthorize (the variable's definition: "only use cache and list").
    no_remote = settings.disable_remote_authorization
    if settings.local_pre_authorize or no_remote:
        for known, source, no_post in (
            (in_list, AuthorizationSource.LOCAL_LIST, settings.local_list_disable_post_authorize),
            (in_cache, AuthorizationSource.CACHE, settings.cache_disable_post_authorize),
        ):
            if known is None:
                continue
            if known.status is _ACCEPTED:
                return AcceptLocally(known, source)
            return RejectLocally(known, source) if no_post or no_remote else AskCsms()
    if no_remote:
        return RejectLocally(_verdict(TokenStatus.Unknown), AuthorizationSource.NOT_FOUND)
    return AskCsms()


def _decide_offline(in_list: TokenVerdict | None, in_cache: TokenVerdict | None, settings: AuthSettings) -> Decision:
    known, source = (
        (in_list, AuthorizationSource.LOCAL_LIST) if in_list is not None else (in_cache, AuthorizationSource.CACHE)
    )
    if known is not None:
        if known.status is not _ACCEPTED:
            return RejectLocally(known, source)
        if settings.local_authorize_offline:
            return AcceptLocally(known, source)
        # Known and Accepted but LocalAuthorizeOffline=false: no worse than an unknown token, so it
        # gets what an unknown one would get.
    if settings.offline_tx_for_unknown_id:
        return AcceptOfflineUnknown()
    return RejectLocally(_verdict(TokenStatus.Unknown), AuthorizationSource.NOT_FOUND)


def is_master_pass(verdict: TokenVerdict, master_pass_group: str | None) -> bool:
    """The token belongs to AuthCtrlr.MasterPassGroupId (compared case-insensitively, like idTokens)."""
    group = verdict.group
    return bool(master_pass_group) and group is not None and group.value.lower() == str(master_pass_group).lower()


def allowed_on_evse(verdict: TokenVerdict, evse_id: int | None) -> bool:
    """evse_ids (idTokenInfo.evseId) limit a token to some EVSEs; unknown EVSE (None) is checked by the caller later."""
    return evse_id is None or not verdict.evse_ids or evse_id in verdict.evse_ids


def conclude(
    verdict: TokenVerdict,
    source: AuthorizationSource,
    settings: AuthSettings,
    *,
    evse_id: int | None = None,
    online: bool = True,
) -> AuthorizationResult:
    """The result of a source's verdict: Accepted, not a master pass (C16.FR.03) and allowed on `evse_id`."""
    master = is_master_pass(verdict, settings.master_pass_group_id)
    accepted = verdict.status is _ACCEPTED and not master and allowed_on_evse(verdict, evse_id)
    unconfirmed = source in (
        AuthorizationSource.CACHE,
        AuthorizationSource.LOCAL_LIST,
        AuthorizationSource.OFFLINE_UNKNOWN,
    )
    return AuthorizationResult(accepted, verdict, source, accepted and unconfirmed and not online, master)


def local_result(
    decision: AcceptLocally | RejectLocally | AcceptOfflineUnknown,
    settings: AuthSettings,
    *,
    evse_id: int | None = None,
    online: bool,
) -> AuthorizationResult:
    """The result of a decision taken without the CSMS."""
    if isinstance(decision, AcceptOfflineUnknown):
        return conclude(
            _verdict(_ACCEPTED), AuthorizationSource.OFFLINE_UNKNOWN, settings, evse_id=evse_id, online=online
        )
    return conclude(decision.verdict, decision.source, settings, evse_id=evse_id, online=online)


def after_csms_answer(
    token_type: str, verdict: TokenVerdict, settings: AuthSettings, *, in_local_list: bool
) -> StoreInCache | None:
    """Whether the CSMS's verdict (AuthorizeResponse, TransactionEventResponse) goes into the cache.

    Every answer does (C10.FR.01/04/05, whatever its status), except: nothing while the cache is
    disabled; not for tokens that are never authorized (Central, NoAuthorization); and not for tokens on
    the (enabled) Local Authorization List, which the CSMS manages itself and which wins over the cache.
    """
    if not settings.cache_enabled or str(token_type) in _TRUSTED_TYPES:
        return None
    if in_local_list and settings.local_list_enabled:
        return None
    return StoreInCache(verdict)


def same_token(a: TokenRef, b: TokenRef) -> bool:
    """IdTokens compare case-insensitively, and only within the same type."""
    return a[0].lower() == b[0].lower() and str(a[1]) == str(b[1])


def may_stop(
    tx_token: TokenRef,
    tx_group: str | None,
    presented_token: TokenRef,
    presented_verdict: TokenVerdict | None,
    master_pass_group: str | None,
) -> bool:
    """Whether presenting `presented_token` ends a transaction started with `tx_token` (group `tx_group`).

    The same token always may. Another one needs an Accepted verdict (`presented_verdict`, from list,
    cache or an AuthorizeRequest) whose group (groupIdToken) is the transaction's (C09; an Invalid token of the same
    group does not stop it, TC_C_42) or MasterPassGroupId (C16: stops any transaction).
    """
    if same_token(tx_token, presented_token):
        return True
    if presented_verdict is None or presented_verdict.status is not _ACCEPTED or presented_verdict.group is None:
        return False
    if is_master_pass(presented_verdict, master_pass_group):
        return True
    return tx_group is not None and presented_verdict.group.value.lower() == tx_group.lower()

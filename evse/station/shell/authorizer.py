"""The shell around evse.station.authorization: reads settings from the device model, looks tokens up in
the AuthStore, asks the CSMS when the decision says so, and writes answers back into the cache.

The station core holds one `Authorizer` and calls `authorize` when a token is presented, `record` when the
CSMS gives a verdict on a transaction's token (in its answer to a transaction event), and `may_stop` to
decide whether a token ends a transaction. The OCPP handlers (evse.ocpp.v201.handlers.authorization) use
`clear_cache`, `send_local_list` and `local_list_version`. SQLite calls are small and run on the event
loop, like the rest of the station database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable, Sequence

from evse.clock import Clock
from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import MessageLimits
from evse.errors import DeviceModelError, EvseError, StorageError
from evse.station.core.authorization import (
    AskCsms,
    AuthorizationResult,
    AuthorizationSource,
    AuthSettings,
    TokenRef,
    after_csms_answer,
    cache_entry_usable,
    conclude,
    decide,
    local_result,
    may_stop,
)
from evse.station.core.tokens import CachePolicy, TokenKey, token_key
from evse.station.core.tokens_neutral import ListUpdate, LocalListEntry, LocalListStatus, TokenVerdict
from evse.station.shell.auth_store import AuthStore, LocalListOutcome

log = logging.getLogger(__name__)

_UNREACHABLE = (EvseError, TimeoutError, ConnectionError)
"""What `ask_csms` raises when no answer can be had (NotConnected, CallTimeout, CallError are EvseErrors)."""


def _read(component: str, variable: str, parse: Callable[[str, str], object]) -> object | None:
    try:
        return parse(component, variable)
    except DeviceModelError:  # optional variable missing from the definition set, or without a value
        return None


def _flag(dm: DeviceModel, component: str, variable: str, default: bool) -> bool:
    value = _read(component, variable, dm.get_bool)
    return value if isinstance(value, bool) else default


def max_limit(dm: DeviceModel, component: str, variable: str) -> int | None:
    """The maxLimit characteristic of a variable (the capacities Entries and Storage), None if not given."""
    found = dm.find(ComponentKey(component), VariableKey(variable))
    if not isinstance(found, VariableDef) or found.characteristics.max_limit is None:
        return None
    return int(found.characteristics.max_limit)


def settings_from(dm: DeviceModel) -> AuthSettings:
    """Read AuthCtrlr, AuthCacheCtrlr and LocalAuthListCtrlr; absent optional variables take defaults."""
    lifetime = _read("AuthCacheCtrlr", "LifeTime", dm.get_int)
    policy = str(_read("AuthCacheCtrlr", "Policy", dm.get_str))
    master = _read("AuthCtrlr", "MasterPassGroupId", dm.get_str)
    return AuthSettings(
        enabled=_flag(dm, "AuthCtrlr", "Enabled", True),
        local_authorize_offline=_flag(dm, "AuthCtrlr", "LocalAuthorizeOffline", True),
        local_pre_authorize=_flag(dm, "AuthCtrlr", "LocalPreAuthorize", False),
        offline_tx_for_unknown_id=_flag(dm, "AuthCtrlr", "OfflineTxForUnknownIdEnabled", False),
        disable_remote_authorization=_flag(dm, "AuthCtrlr", "DisableRemoteAuthorization", False),
        master_pass_group_id=str(master) if master else None,
        cache_enabled=_flag(dm, "AuthCacheCtrlr", "Available", True) and _flag(dm, "AuthCacheCtrlr", "Enabled", True),
        cache_disable_post_authorize=_flag(dm, "AuthCacheCtrlr", "DisablePostAuthorize", False),
        cache_lifetime_s=lifetime if isinstance(lifetime, int) else None,
        cache_policy=CachePolicy(policy) if policy in set(CachePolicy) else CachePolicy.LRU,
        local_list_enabled=_flag(dm, "LocalAuthListCtrlr", "Available", True)
        and _flag(dm, "LocalAuthListCtrlr", "Enabled", True),
        local_list_disable_post_authorize=_flag(dm, "LocalAuthListCtrlr", "DisablePostAuthorize", False),
    )


class Authorizer:
    """The station core's one entry point for authorization: AuthStore + device model + clock.

    `cache_max_entries` bounds the cache by count, on top of AuthCacheCtrlr.Storage's maxLimit in bytes.
    """

    def __init__(
        self, store: AuthStore, dm: DeviceModel, clock: Clock, *, cache_max_entries: int | None = None
    ) -> None:
        self._store = store
        self._dm = dm
        self._clock = clock
        self._cache_max_entries = cache_max_entries
        self._publish_usage()  # Entries/Storage are not persistent in the device model: start from the store

    def settings(self) -> AuthSettings:
        return settings_from(self._dm)

    async def authorize(
        self,
        id_token: str,
        token_type: str,
        *,
        online: bool,
        ask_csms: Callable[[], Awaitable[TokenVerdict]],
        evse_id: int | None = None,
    ) -> AuthorizationResult:
        """Authorize a presented token; `ask_csms` asks the CSMS (Authorize) and returns its verdict.

        `ask_csms` is awaited only when the rules say the CSMS must decide; if it fails (not connected,
        timeout, CALLERROR) the token is judged as if the station were offline.
        """
        settings = self.settings()
        key = token_key(id_token, token_type)
        now = self._clock.now()
        listed = self._store.list_get(key)
        cached = self._store.cache_get(key)
        if cached is not None and not cache_entry_usable(cached, lifetime_s=settings.cache_lifetime_s, now=now):
            self._store.cache_remove(key)  # C10.FR.08: unused for LifeTime, or past cacheExpiryDateTime
            self._publish_usage()
            cached = None
        decision = decide(token_type, online=online, settings=settings, listed=listed, cached=cached, now=now)
        if isinstance(decision, AskCsms):
            try:
                answer = await ask_csms()
            except _UNREACHABLE as exc:
                log.warning("authorize: no answer from the CSMS, judging offline type=%s: %s", token_type, exc)
                online = False
                decision = decide(token_type, online=False, settings=settings, listed=listed, cached=cached, now=now)
            else:
                self._record(key, token_type, answer, settings, in_local_list=listed is not None)
                return self._logged(conclude(answer, AuthorizationSource.CSMS, settings, evse_id=evse_id), token_type)
        assert not isinstance(decision, AskCsms), "offline decisions never ask the CSMS"
        result = local_result(decision, settings, evse_id=evse_id, online=online)
        if result.source is AuthorizationSource.CACHE and result.accepted:
            self._store.cache_touch(key, now)
        return self._logged(result, token_type)

    def record(self, id_token: str, token_type: str, verdict: TokenVerdict) -> None:
        """A verdict arrived outside `authorize` (a transaction event's answer): update the cache (C10.FR.05)."""
        key = token_key(id_token, token_type)
        self._record(key, token_type, verdict, self.settings(), in_local_list=self._store.list_get(key) is not None)

    def _record(
        self, key: TokenKey, token_type: str, verdict: TokenVerdict, settings: AuthSettings, *, in_local_list: bool
    ) -> None:
        update = after_csms_answer(token_type, verdict, settings, in_local_list=in_local_list)
        if update is None:
            return
        try:
            self._cache_put(key, update.verdict, settings)
        except StorageError as exc:
            # The cache is an optimisation: a disk that refuses the write must not cost the driver the
            # authorization the CSMS just gave (the storage fault is raised elsewhere).
            log.warning("authorization cache not updated: %s", exc)

    def _cache_put(self, key: TokenKey, verdict: TokenVerdict, settings: AuthSettings) -> None:
        self._store.cache_put(
            key,
            verdict,
            self._clock.now(),
            policy=settings.cache_policy,
            max_entries=self._cache_max_entries,
            max_bytes=max_limit(self._dm, "AuthCacheCtrlr", "Storage"),
            lifetime_s=settings.cache_lifetime_s,
        )
        self._publish_usage()

    def may_stop(
        self, tx_token: TokenRef, tx_group: str | None, presented: TokenRef, presented_verdict: TokenVerdict | None
    ) -> bool:
        """evse.station.core.authorization.may_stop with this station's MasterPassGroupId."""
        return may_stop(tx_token, tx_group, presented, presented_verdict, self.settings().master_pass_group_id)

    def known_verdict(self, id_token: str, token_type: str) -> TokenVerdict | None:
        """What the Local Authorization List, or else a usable cache entry, says of a token, without asking
        the CSMS: for a decision that must be answered at once (a 1.6 remote start on a reserved connector
        needs the idTag's parentIdTag before any Authorize). None when neither knows it."""
        settings = self.settings()
        key = token_key(id_token, token_type)
        listed = self._store.list_get(key) if settings.local_list_enabled else None
        if listed is not None:
            return listed
        cached = self._store.cache_get(key) if settings.cache_enabled else None
        if cached is None or not cache_entry_usable(
            cached, lifetime_s=settings.cache_lifetime_s, now=self._clock.now()
        ):
            return None
        return cached.verdict

    def clear_cache(self) -> bool:
        """ClearCache (C11): False (Rejected) when the cache is disabled (C11.FR.04) or cannot be cleared."""
        if not self.settings().cache_enabled:
            return False
        try:
            self._store.cache_clear()
        except sqlite3.Error as exc:
            log.error("clearing the authorization cache failed: %s", exc)
            return False
        self._publish_usage()
        return True

    def prune_cache(self) -> int:
        """Drop expired cache entries (lookups ignore them anyway) so they stop taking room; returns how many."""
        removed = self._store.cache_prune(self._clock.now(), self.settings().cache_lifetime_s)
        if removed:
            self._publish_usage()
        return removed

    def local_list_version(self) -> int:
        """GetLocalListVersion (D02): 0 when no list was ever installed or the list is disabled."""
        return self._store.list_version() if self.settings().local_list_enabled else 0

    def local_list_size(self) -> int:
        """How many idTokens the local list holds (OCPP 1.6 reports an empty list as version 0)."""
        return self._store.list_usage().entries

    def local_list_message_limits(self) -> MessageLimits:
        """LocalAuthListCtrlr.ItemsPerMessage / BytesPerMessage, the bounds of one SendLocalList."""
        items = _read("LocalAuthListCtrlr", "ItemsPerMessage", self._dm.get_int)
        size = _read("LocalAuthListCtrlr", "BytesPerMessage", self._dm.get_int)
        return MessageLimits(
            items=items if isinstance(items, int) else None, bytes=size if isinstance(size, int) else None
        )

    def send_local_list(
        self, version: int, update_type: ListUpdate, entries: Sequence[LocalListEntry]
    ) -> LocalListOutcome:
        """SendLocalList (D01); Failed while LocalAuthListCtrlr is disabled, or when the list would not fit
        LocalAuthListCtrlr.Entries / Storage maxLimit."""
        if not self.settings().local_list_enabled:
            return LocalListOutcome(LocalListStatus.Failed, "NotEnabled", "LocalAuthListCtrlr disabled")
        outcome = self._store.apply_local_list(
            version,
            update_type,
            entries,
            max_entries=max_limit(self._dm, "LocalAuthListCtrlr", "Entries"),
            max_bytes=max_limit(self._dm, "LocalAuthListCtrlr", "Storage"),
        )
        log.info("local list update=%s version=%s status=%s", update_type.value, version, outcome.status.value)
        if outcome.accepted:
            self._publish_usage()
        return outcome

    def _publish_usage(self) -> None:
        """Keep LocalAuthListCtrlr.Entries/Storage and AuthCacheCtrlr.Storage equal to what is stored."""
        in_list, in_cache = self._store.list_usage(), self._store.cache_usage()
        for component, variable, value in (
            ("LocalAuthListCtrlr", "Entries", in_list.entries),
            ("LocalAuthListCtrlr", "Storage", in_list.bytes),
            ("AuthCacheCtrlr", "Storage", in_cache.bytes),
        ):
            try:
                self._dm.set_station_value(component, variable, value)
            except DeviceModelError as exc:
                log.debug("not reporting %s.%s: %s", component, variable, exc)

    @staticmethod
    def _logged(result: AuthorizationResult, token_type: str) -> AuthorizationResult:
        log.info(
            "authorization type=%s source=%s status=%s accepted=%s",
            token_type,
            result.source.value,
            result.status.value,
            result.accepted,
        )
        return result

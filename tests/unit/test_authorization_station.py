"""The Authorizer (store + device model + clock) and the ClearCache/SendLocalList/GetLocalListVersion handlers,
on a real SQLite file. Named after the OCTT case whose station-side rule each test checks; `ask_csms` calls
stand for AuthorizeRequests, `record` for the idTokenInfo of a TransactionEventResponse."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.ocpp.calls import NotConnected
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v201 import schemas
from evse.ocpp.v201.handlers.authorization import register
from evse.ocpp.v201.tokens import IdTokenInfoJson
from evse.station.core.authorization import AuthorizationResult, AuthorizationSource
from evse.station.core.tokens_neutral import ListUpdate, LocalListEntry, Token, TokenKind, TokenStatus, TokenVerdict
from evse.station.shell.auth_store import AuthStore
from evse.station.shell.authorizer import Authorizer
from evse.storage import open_database

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1])])
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
S = TokenStatus
ISO = "ISO14443"
PRE: dict[str, object] = {"AuthCtrlr.LocalPreAuthorize": True}


class FakeClock:
    def __init__(self) -> None:
        self.wall = NOW

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return self.wall

    def set_now(self, utc: datetime) -> None:
        self.wall = utc


class Csms:
    """Answers AuthorizeRequests (`ask_csms`) with a fixed verdict (idTokenInfo) and counts them."""

    def __init__(self, answer: TokenVerdict | None = None, *, down: bool = False) -> None:
        self.answer = answer or TokenVerdict(S.Accepted)
        self.down = down
        self.calls = 0

    async def __call__(self) -> TokenVerdict:
        self.calls += 1
        if self.down:
            raise NotConnected("no connection to the CSMS")
        return self.answer


class Station:
    def __init__(self, state_dir: Path, overrides: Mapping[str, object] | None = None) -> None:
        self.dm = DeviceModel(DEFINITIONS, overrides=overrides)
        self.clock = FakeClock()
        self.store = AuthStore(open_database(state_dir), IdTokenInfoJson())
        self.authorizer = Authorizer(self.store, self.dm, self.clock)
        self.frames: list[list[Any]] = []
        router = Router()
        register(router, self.authorizer)
        self.session = RpcSession(self._send, router, message_timeout=lambda: 1.0)

    async def present(
        self, token: str, csms: Csms, *, online: bool = True, token_type: str = ISO
    ) -> AuthorizationResult:
        return await self.authorizer.authorize(token, token_type, online=online, ask_csms=csms)

    def cache(self, token: str, status: S = S.Accepted, group: str | None = None) -> None:
        self.authorizer.record(token, ISO, info(status, group))

    def listed(self, *items: tuple[str, S, str | None]) -> None:
        entries = [LocalListEntry(Token(t, TokenKind(ISO)), info(s, g)) for t, s, g in items]
        version = self.store.list_version() + 1
        assert self.authorizer.send_local_list(version, ListUpdate.Differential, entries).accepted

    async def _send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Deliver one CALL from the CSMS; return the answer frame (its payload schema-checked)."""
        message_id = f"m{len(self.frames)}"
        await self.session.handle_frame(json.dumps([2, message_id, action, payload]))
        await asyncio.sleep(0)
        await self.session.drain()
        [answer] = [frame for frame in self.frames if frame[1] == message_id]
        if answer[0] == 3:
            schemas.validate_response(action, answer[2])
        return answer


def info(status: S = S.Accepted, group: str | None = None) -> TokenVerdict:
    return TokenVerdict(status, group=Token(group, TokenKind.Central) if group else None)


@pytest.fixture
def station(tmp_path: Path) -> Station:
    return Station(tmp_path, PRE)


# ---- C01: local start, CSMS decides -------------------------------------------------------------------
@pytest.mark.parametrize("status", [S.Invalid, S.Unknown])
async def test_TC_C_02_CS_invalid_or_unknown_answer_does_not_start(station: Station, status: S) -> None:
    result = await station.present("BAD", Csms(info(status)))
    assert not result.accepted and result.source is AuthorizationSource.CSMS


async def test_TC_C_06_CS_blocked_answer_does_not_start(station: Station) -> None:
    assert not (await station.present("BAD", Csms(info(S.Blocked)))).accepted


async def test_TC_C_07_CS_expired_answer_does_not_start(station: Station) -> None:
    assert not (await station.present("BAD", Csms(info(S.Expired)))).accepted


async def test_TC_C_56_CS_unknown_answer_does_not_start(station: Station) -> None:
    result = await station.present("WHO", Csms(info(S.Unknown)))
    assert not result.accepted and result.status is S.Unknown


async def test_C01_csms_unreachable_falls_back_to_the_offline_rules(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    csms = Csms(down=True)
    result = await station.present("NEW", csms)
    assert csms.calls == 1 and result.accepted and result.source is AuthorizationSource.OFFLINE_UNKNOWN
    assert result.needs_check_after_reconnect


async def test_C01_authorization_disabled_is_free_vend(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCtrlr.Enabled": False})
    csms = Csms(info(S.Blocked))
    result = await station.present("ANY", csms, online=False)
    assert result.accepted and result.source is AuthorizationSource.FREE_VEND and csms.calls == 0


# ---- C10/C12: the Authorization Cache -----------------------------------------------------------------
async def test_TC_C_08_CS_cached_accepted_token_starts_without_authorize_request(station: Station) -> None:
    station.cache("CARD")
    csms = Csms()
    result = await station.present("card", csms)
    assert result.accepted and result.source is AuthorizationSource.CACHE and csms.calls == 0


async def test_TC_C_09_CS_cached_invalid_token_is_checked_and_refused(station: Station) -> None:
    station.cache("CARD", S.Invalid)
    csms = Csms(info(S.Invalid))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_10_CS_cached_blocked_token_is_checked_with_the_csms(station: Station) -> None:
    station.cache("CARD", S.Blocked)
    csms = Csms(info(S.Blocked))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_11_CS_cached_expired_token_is_checked_with_the_csms(station: Station) -> None:
    station.cache("CARD", S.Expired)
    csms = Csms(info(S.Expired))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_12_CS_cached_invalid_token_accepted_by_the_csms_starts(station: Station) -> None:
    station.cache("CARD", S.Invalid)
    csms = Csms(info(S.Accepted))
    result = await station.present("CARD", csms)
    assert result.accepted and result.source is AuthorizationSource.CSMS and csms.calls == 1
    assert (await station.present("CARD", csms)).source is AuthorizationSource.CACHE  # the answer was cached


async def test_TC_C_14_CS_cached_token_of_the_master_pass_group_does_not_start(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCtrlr.MasterPassGroupId": "MASTER"})
    station.cache("BOSS", group="MASTER")
    result = await station.present("BOSS", Csms())
    assert result.master_pass and not result.accepted and result.source is AuthorizationSource.CACHE


async def test_TC_C_32_CS_cache_survives_a_reboot(tmp_path: Path) -> None:
    Station(tmp_path, PRE).cache("CARD")
    csms = Csms()
    result = await Station(tmp_path, PRE).present("CARD", csms)
    assert result.source is AuthorizationSource.CACHE and csms.calls == 0


async def test_TC_C_33_CS_authorize_response_updates_the_cache(station: Station) -> None:
    station.cache("CARD", S.Accepted)
    await station.present("CARD", Csms(info(S.Accepted)))
    station.dm.set_station_value("AuthCtrlr", "LocalPreAuthorize", False)
    await station.present("CARD", Csms(info(S.Blocked)))  # asked: LocalPreAuthorize is off
    entry = station.store.cache_get(("card", ISO))
    assert entry is not None and entry.verdict.status is S.Blocked


async def test_TC_C_34_CS_transaction_event_response_updates_the_cache(station: Station) -> None:
    station.cache("CARD", S.Accepted)
    station.authorizer.record("CARD", ISO, info(S.Blocked))  # TransactionEventResponse.idTokenInfo
    csms = Csms(info(S.Blocked))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_36_CS_without_local_pre_authorize_the_cache_is_not_used_online(tmp_path: Path) -> None:
    station = Station(tmp_path)
    station.cache("CARD")
    csms = Csms(info(S.Invalid))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_46_CS_entry_unused_for_auth_cache_life_time_is_dropped(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCacheCtrlr.LifeTime": 60})
    station.cache("CARD")
    station.clock.wall += timedelta(seconds=30)
    assert (await station.present("CARD", Csms())).source is AuthorizationSource.CACHE  # use renews it
    station.clock.wall += timedelta(seconds=59)
    assert (await station.present("CARD", Csms())).source is AuthorizationSource.CACHE
    station.clock.wall += timedelta(seconds=60)
    csms = Csms()
    assert (await station.present("CARD", csms)).source is AuthorizationSource.CSMS and csms.calls == 1


async def test_TC_C_57_CS_cache_disable_post_authorize_refuses_without_asking(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCacheCtrlr.DisablePostAuthorize": True})
    station.cache("CARD", S.Invalid)
    csms = Csms()
    result = await station.present("CARD", csms)
    assert not result.accepted and result.source is AuthorizationSource.CACHE and csms.calls == 0


async def test_C10_disabled_cache_stores_nothing_and_is_not_used(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCacheCtrlr.Enabled": False})
    station.cache("CARD")
    assert station.store.cache_usage().entries == 0
    assert station.dm.get_int("AuthCacheCtrlr", "Storage") == 0


async def test_C10_cache_storage_is_reported_in_the_device_model(station: Station) -> None:
    station.cache("CARD")
    assert station.dm.get_int("AuthCacheCtrlr", "Storage") == station.store.cache_usage().bytes > 0


async def test_C12_offline_cached_token_starts_and_is_checked_after_reconnect(station: Station) -> None:
    station.cache("CARD")
    result = await station.present("CARD", Csms(), online=False)
    assert result.accepted and result.needs_check_after_reconnect


# ---- C13/C14: the Local Authorization List ------------------------------------------------------------
async def test_TC_C_21_CS_offline_listed_accepted_token_starts(station: Station) -> None:
    station.listed(("CARD", S.Accepted, None))
    result = await station.present("CARD", Csms(), online=False)
    assert result.accepted and result.source is AuthorizationSource.LOCAL_LIST


async def test_TC_C_22_CS_offline_listed_invalid_token_is_refused(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    station.listed(("CARD", S.Invalid, None))
    assert not (await station.present("CARD", Csms(), online=False)).accepted


async def test_TC_C_23_CS_offline_listed_blocked_token_is_refused(station: Station) -> None:
    station.listed(("CARD", S.Blocked, None))
    assert not (await station.present("CARD", Csms(), online=False)).accepted


async def test_TC_C_24_CS_offline_listed_expired_token_is_refused(station: Station) -> None:
    station.listed(("CARD", S.Expired, None))
    assert not (await station.present("CARD", Csms(), online=False)).accepted


async def test_TC_C_25_CS_offline_the_list_wins_over_the_cache(station: Station) -> None:
    station.cache("CARD", S.Accepted)
    station.listed(("CARD", S.Blocked, None))
    result = await station.present("CARD", Csms(), online=False)
    assert not result.accepted and result.source is AuthorizationSource.LOCAL_LIST


async def test_TC_C_26_CS_offline_unknown_token_starts_and_needs_a_check(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "AuthCtrlr.OfflineTxForUnknownIdEnabled": True})
    csms = Csms()
    result = await station.present("NEW", csms, online=False)
    assert result.accepted and result.needs_check_after_reconnect and csms.calls == 0
    assert result.source is AuthorizationSource.OFFLINE_UNKNOWN
    refused = await Station(tmp_path / "other", PRE).present("NEW", csms, online=False)
    assert not refused.accepted


async def test_TC_C_27_CS_online_listed_accepted_token_starts_without_authorize_request(station: Station) -> None:
    station.listed(("CARD", S.Accepted, None))
    csms = Csms()
    result = await station.present("CARD", csms)
    assert result.accepted and result.source is AuthorizationSource.LOCAL_LIST and csms.calls == 0
    assert station.store.cache_usage().entries == 0  # listed tokens stay out of the cache


async def test_TC_C_28_CS_online_listed_invalid_token_refused_by_the_csms(station: Station) -> None:
    station.listed(("CARD", S.Invalid, None))
    csms = Csms(info(S.Invalid))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_29_CS_online_listed_blocked_token_is_checked_with_the_csms(station: Station) -> None:
    station.listed(("CARD", S.Blocked, None))
    csms = Csms(info(S.Blocked))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_30_CS_online_listed_expired_token_is_checked_with_the_csms(station: Station) -> None:
    station.listed(("CARD", S.Expired, None))
    csms = Csms(info(S.Expired))
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 1


async def test_TC_C_31_CS_online_listed_invalid_token_accepted_by_the_csms_starts(station: Station) -> None:
    station.listed(("CARD", S.Invalid, None))
    csms = Csms(info(S.Accepted))
    result = await station.present("CARD", csms)
    assert result.accepted and result.source is AuthorizationSource.CSMS and csms.calls == 1


async def test_TC_C_58_CS_list_disable_post_authorize_refuses_without_asking(tmp_path: Path) -> None:
    station = Station(tmp_path, {**PRE, "LocalAuthListCtrlr.DisablePostAuthorize": True})
    station.listed(("CARD", S.Invalid, None))
    csms = Csms()
    assert not (await station.present("CARD", csms)).accepted and csms.calls == 0


# ---- C09/C16: who may stop ----------------------------------------------------------------------------
async def test_TC_C_04_CS_a_different_token_does_not_stop(station: Station) -> None:
    started = await station.present("AAA", Csms(info(S.Accepted)))
    other = await station.present("BBB", Csms(info(S.Accepted)))
    assert not station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("BBB", ISO), other.verdict)
    assert station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("aaa", ISO), None)


async def test_TC_C_39_CS_token_of_the_same_group_stops(tmp_path: Path) -> None:
    station = Station(tmp_path)
    started = await station.present("AAA", Csms(info(S.Accepted, "G1")))
    other = await station.present("BBB", Csms(info(S.Accepted, "G1")))
    assert station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("BBB", ISO), other.verdict)


async def test_TC_C_40_CS_group_known_from_the_local_list(station: Station) -> None:
    station.listed(("AAA", S.Accepted, "G1"), ("BBB", S.Accepted, "G1"))
    csms = Csms()
    started, other = await station.present("AAA", csms), await station.present("BBB", csms)
    assert csms.calls == 0
    assert station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("BBB", ISO), other.verdict)


async def test_TC_C_41_CS_group_known_from_the_cache(station: Station) -> None:
    station.cache("AAA", group="G1")
    station.cache("BBB", group="G1")
    csms = Csms()
    started, other = await station.present("AAA", csms), await station.present("BBB", csms)
    assert csms.calls == 0 and other.source is AuthorizationSource.CACHE
    assert station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("BBB", ISO), other.verdict)


async def test_TC_C_42_CS_invalid_token_of_the_same_group_does_not_stop(tmp_path: Path) -> None:
    station = Station(tmp_path)
    started = await station.present("AAA", Csms(info(S.Accepted, "G1")))
    other = await station.present("BBB", Csms(info(S.Invalid, "G1")))
    assert not station.authorizer.may_stop(("AAA", ISO), started.group_id_token, ("BBB", ISO), other.verdict)


async def test_TC_C_45_CS_master_pass_token_cannot_start_a_transaction(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCtrlr.MasterPassGroupId": "MASTER"})
    result = await station.present("BOSS", Csms(info(S.Accepted, "MASTER")))
    assert result.master_pass and not result.accepted


async def test_C16_master_pass_token_may_stop_any_transaction(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCtrlr.MasterPassGroupId": "MASTER"})
    boss = await station.present("BOSS", Csms(info(S.Accepted, "MASTER")))
    assert station.authorizer.may_stop(("AAA", ISO), None, ("BOSS", ISO), boss.verdict)
    assert station.authorizer.may_stop(("AAA", ISO), "G1", ("BOSS", ISO), boss.verdict)


# ---- C11: ClearCache ----------------------------------------------------------------------------------
async def test_TC_C_37_CS_clear_cache_accepted_then_tokens_go_to_the_csms(station: Station) -> None:
    station.cache("CARD")
    answer = await station.call("ClearCache", {})
    assert answer[2] == {"status": "Accepted"}
    assert station.dm.get_int("AuthCacheCtrlr", "Storage") == 0
    csms = Csms()
    assert (await station.present("CARD", csms)).source is AuthorizationSource.CSMS and csms.calls == 1


async def test_TC_C_38_CS_clear_cache_rejected_while_the_cache_is_disabled(tmp_path: Path) -> None:
    station = Station(tmp_path, {"AuthCacheCtrlr.Enabled": False})
    answer = await station.call("ClearCache", {})
    assert answer[2]["status"] == "Rejected"


# ---- D01/D02: SendLocalList and GetLocalListVersion ---------------------------------------------------
def token(name: str, status: str | None = "Accepted") -> dict[str, Any]:
    item: dict[str, Any] = {"idToken": {"idToken": name, "type": ISO}}
    if status is not None:
        item["idTokenInfo"] = {"status": status}
    return item


async def send(station: Station, version: int, update: str, *items: dict[str, Any]) -> list[Any]:
    payload: dict[str, Any] = {"versionNumber": version, "updateType": update}
    if items:
        payload["localAuthorizationList"] = list(items)
    return await station.call("SendLocalList", payload)


async def version(station: Station) -> int:
    return int((await station.call("GetLocalListVersion", {}))[2]["versionNumber"])


async def test_TC_D_01_CS_full_list_is_installed(station: Station) -> None:
    assert (await send(station, 1, "Full", token("A"), token("B", "Blocked")))[2] == {"status": "Accepted"}
    assert await version(station) == 1
    assert station.dm.get_int("LocalAuthListCtrlr", "Entries") == 2
    assert station.dm.get_int("LocalAuthListCtrlr", "Storage") == station.store.list_usage().bytes
    assert (await station.present("A", Csms(), online=False)).accepted
    assert not (await station.present("B", Csms(), online=False)).accepted


async def test_TC_D_02_CS_differential_update(station: Station) -> None:
    await send(station, 1, "Full", token("A"))
    assert (await send(station, 2, "Differential", token("A", "Blocked"), token("C")))[2]["status"] == "Accepted"
    assert await version(station) == 2 and station.dm.get_int("LocalAuthListCtrlr", "Entries") == 2
    assert not (await station.present("A", Csms(), online=False)).accepted


async def test_TC_D_03_CS_differential_remove(station: Station) -> None:
    await send(station, 1, "Full", token("A"), token("B"))
    assert (await send(station, 2, "Differential", token("A", None)))[2]["status"] == "Accepted"
    assert station.dm.get_int("LocalAuthListCtrlr", "Entries") == 1
    assert not (await station.present("A", Csms(), online=False)).accepted  # now unknown


async def test_TC_D_04_CS_full_with_empty_list_clears_it(station: Station) -> None:
    await send(station, 1, "Full", token("A"))
    assert (await send(station, 2, "Full"))[2]["status"] == "Accepted"
    assert station.dm.get_int("LocalAuthListCtrlr", "Entries") == 0
    assert await version(station) == 2


async def test_TC_D_05_CS_differential_with_empty_list_only_sets_the_version(station: Station) -> None:
    await send(station, 1, "Full", token("A"))
    assert (await send(station, 3, "Differential"))[2]["status"] == "Accepted"
    assert await version(station) == 3 and station.dm.get_int("LocalAuthListCtrlr", "Entries") == 1


async def test_TC_D_06_CS_version_mismatch(station: Station) -> None:
    await send(station, 2, "Full", token("A"))
    answer = await send(station, 2, "Differential", token("B"))
    assert answer[2]["status"] == "VersionMismatch"
    assert await version(station) == 2 and station.dm.get_int("LocalAuthListCtrlr", "Entries") == 1


async def test_TC_D_07_CS_list_survives_a_reboot(tmp_path: Path) -> None:
    await send(Station(tmp_path, PRE), 4, "Full", token("A"))
    rebooted = Station(tmp_path, PRE)
    assert await version(rebooted) == 4 and rebooted.dm.get_int("LocalAuthListCtrlr", "Entries") == 1
    assert (await rebooted.present("A", Csms(), online=False)).source is AuthorizationSource.LOCAL_LIST


async def test_TC_D_08_CS_get_local_list_version(station: Station) -> None:
    assert await version(station) == 0
    await send(station, 7, "Full", token("A"))
    assert await version(station) == 7


async def test_TC_D_10_CS_get_local_list_version_while_disabled_is_zero(tmp_path: Path) -> None:
    station = Station(tmp_path)
    await send(station, 7, "Full", token("A"))
    station.dm.set_station_value("LocalAuthListCtrlr", "Enabled", False)
    assert await version(station) == 0


async def test_D01_send_local_list_while_disabled_fails(tmp_path: Path) -> None:
    station = Station(tmp_path, {"LocalAuthListCtrlr.Enabled": False})
    answer = await send(station, 1, "Full", token("A"))
    assert answer[2]["status"] == "Failed" and answer[2]["statusInfo"]["reasonCode"] == "NotEnabled"


async def test_D01_list_beyond_entries_max_limit_fails(tmp_path: Path) -> None:
    station = Station(tmp_path, {"LocalAuthListCtrlr.Entries:maxLimit": 1})
    answer = await send(station, 1, "Full", token("A"), token("B"))
    assert answer[2]["status"] == "Failed" and answer[2]["statusInfo"]["reasonCode"] == "OutOfStorage"
    assert await version(station) == 0


async def test_D01_more_entries_than_items_per_message_is_a_call_error(tmp_path: Path) -> None:
    station = Station(tmp_path, {"LocalAuthListCtrlr.ItemsPerMessage": 1})
    answer = await send(station, 1, "Full", token("A"), token("B"))
    assert answer[0] == 4 and answer[2] == "OccurrenceConstraintViolation"
    station = Station(tmp_path / "b", {"LocalAuthListCtrlr.BytesPerMessage": 10})
    answer = await send(station, 1, "Full", token("A"))
    assert answer[0] == 4 and answer[2] == "FormatViolation"

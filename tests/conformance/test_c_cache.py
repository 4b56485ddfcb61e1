"""OCTT block C, the Authorization Cache online (C10, C11, C12): TC_C_08-13, 32-34, 36-38, 46, 57.

Configuration as the cases prepare it: AuthCacheCtrlr.Enabled true and AuthCtrlr.LocalPreAuthorize
true, unless the case is about one of them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.octt import (
    UNKNOWN,
    VALID,
    assert_sequences_complete,
    authorize_answers,
    cache,
    contactor_closed,
    ev_connected,
    info,
    nothing_more,
    token,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import STATION_ID, StationUnderTest

PRE_AUTHORIZE = {"AuthCtrlr.LocalPreAuthorize": True, "AuthCacheCtrlr.Enabled": True}


async def cached_station(make_station: Any, csms: DevCsms, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model={**PRE_AUTHORIZE, **device_model})
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def test_TC_C_08_CS_cache_accepted_starts_without_authorize(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.02/C12.FR.03: a token Accepted in the cache starts at once; the CSMS hears of it only in the
    TransactionEvent (triggerReason Authorized, its idToken)."""
    sut = await cached_station(make_station, csms)
    cache(sut, VALID, "Accepted")
    started = await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    assert authorized["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    assert csms.received("Authorize") == []
    assert_sequences_complete(csms)
    csms.assert_no_failures()


async def refused_after_post_authorize(csms: DevCsms, make_station: Any, cached: str, answer: str) -> StationUnderTest:
    """A cache entry that is not Accepted is checked again with the CSMS (C10.FR.03/C12.FR.05)."""
    sut = await cached_station(make_station, csms)
    cache(sut, UNKNOWN, cached)
    authorize_answers(csms, {UNKNOWN: info(answer)})
    await ev_connected(sut, csms)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, UNKNOWN)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(UNKNOWN)
    await nothing_more(csms, "TransactionEvent", len(csms.received("TransactionEvent")))
    assert not sut.d.board.contactor(1).is_closed
    csms.assert_no_failures()
    return sut


async def test_TC_C_09_CS_cache_invalid_and_not_accepted(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.05, C10.FR.03: Invalid in the cache -> AuthorizeRequest; Invalid again -> nothing starts."""
    await refused_after_post_authorize(csms, make_station, "Invalid", "Invalid")


async def test_TC_C_10_CS_cache_blocked(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.05, C10.FR.03: Blocked in the cache -> AuthorizeRequest; Blocked -> nothing starts."""
    await refused_after_post_authorize(csms, make_station, "Blocked", "Blocked")


async def test_TC_C_11_CS_cache_expired(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.05, C10.FR.03: Expired in the cache -> AuthorizeRequest; Expired -> nothing starts."""
    await refused_after_post_authorize(csms, make_station, "Expired", "Expired")


async def test_TC_C_12_CS_cache_invalid_but_accepted_by_the_csms(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.05: Invalid in the cache, but the CSMS now accepts it: the transaction is authorized."""
    sut = await cached_station(make_station, csms)
    cache(sut, VALID, "Invalid")
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    csms.assert_no_failures()


async def test_TC_C_13_CS_cache_accepted_before_the_cable_is_connected(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.02/C12.FR.04: card first (Accepted in the cache): Started with triggerReason Authorized and the
    idToken, no AuthorizeRequest; plugging in later is reported as CablePluggedIn, then charging."""
    sut = await cached_station(make_station, csms)
    cache(sut, VALID, "Accepted")
    sut.d.board.swipe(1, VALID)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert (started["triggerReason"], started["idToken"]) == ("Authorized", token(VALID))
    sut.d.board.plug(1)
    plugged = await csms.wait_for("TransactionEvent", predicate=tx("Updated"), timeout=5)
    assert plugged["triggerReason"] == "CablePluggedIn"
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    assert csms.received("Authorize") == []


async def test_TC_C_13_CS_cache_accepted_but_no_cable_within_ev_connection_timeout(
    csms: DevCsms, make_station: Any
) -> None:
    """E03.FR.05 with C12: card first, no cable within TxCtrlr.EVConnectionTimeOut: the transaction ends
    with triggerReason EVConnectTimeout and stoppedReason Timeout."""
    sut = await cached_station(make_station, csms, **{"TxCtrlr.EVConnectionTimeOut": 1})
    cache(sut, VALID, "Accepted")
    sut.d.board.swipe(1, VALID)
    await csms.wait_for("TransactionEvent", predicate=tx("Started", triggerReason="Authorized"), timeout=5)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")


async def test_TC_C_32_CS_cache_persists_over_reboot(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.09: the cache is kept across a reboot: after restarting, the token the CSMS accepted
    before starts without an AuthorizeRequest."""
    sut = await cached_station(make_station, csms)
    sut.d.board.swipe(1, VALID)  # not cached yet: the CSMS is asked and its answer is cached
    await csms.wait_for("Authorize", timeout=5)
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    sut.d.board.swipe(1, VALID)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await sut.stop()
    csms.skip()
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, VALID)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert started["idToken"] == token(VALID)
    assert len(csms.received("Authorize")) == 1  # only the one before the reboot


async def test_TC_C_33_CS_cache_stored_on_authorize_response(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.04, C12.FR.06: the Accepted AuthorizeResponse is cached: after that session, the same
    token starts the next one without an AuthorizeRequest."""
    sut = await cached_station(make_station, csms)
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"), timeout=5)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    sut.d.board.swipe(1, VALID)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    sut.d.board.unplug(1)
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    assert len(csms.received("Authorize")) == 1  # the second session came from the cache
    assert_sequences_complete(csms)


async def test_TC_C_34_CS_cache_updated_on_transaction_event_response(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.05, C12.FR.06: the idTokenInfo of a TransactionEventResponse replaces the cached one.
    Accepted in the cache, authorized without asking; the CSMS answers Invalid in the
    TransactionEventResponse. Next session: the entry is no longer Accepted, so the station asks."""
    sut = await cached_station(make_station, csms)
    cache(sut, VALID, "Accepted")
    authorize_answers(csms, {VALID: info("Invalid")})
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    assert csms.received("Authorize") == []
    await csms.wait_for("TransactionEvent", predicate=tx("Ended", triggerReason="Deauthorized"), timeout=5)
    sut.d.board.unplug(1)
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)


async def test_TC_C_36_CS_cache_ignored_without_local_pre_authorize(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.11: with LocalPreAuthorize false an Accepted cache entry is not used online: the CSMS is
    asked, and its Invalid stands."""
    sut = await cached_station(make_station, csms, **{"AuthCtrlr.LocalPreAuthorize": False})
    cache(sut, VALID, "Accepted")
    authorize_answers(csms, {VALID: info("Invalid")})
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)
    await nothing_more(csms, "TransactionEvent", 0)


async def test_TC_C_37_CS_clear_cache_accepted(csms: DevCsms, make_station: Any) -> None:
    """C11.FR.01/C11.FR.02: ClearCache empties the cache: a token Accepted in it before is asked for again."""
    sut = await cached_station(make_station, csms)
    cache(sut, VALID, "Accepted")
    assert (await csms.call(STATION_ID, call.ClearCache())).status == "Accepted"
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)


async def test_TC_C_38_CS_clear_cache_rejected_while_disabled(csms: DevCsms, make_station: Any) -> None:
    """C11.FR.04: ClearCache is Rejected while AuthCacheCtrlr.Enabled is false."""
    await cached_station(make_station, csms, **{"AuthCacheCtrlr.Enabled": False})
    assert (await csms.call(STATION_ID, call.ClearCache())).status == "Rejected"


async def test_TC_C_46_CS_cache_entry_unused_for_its_lifetime_is_not_used(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.08: an entry not used for AuthCacheCtrlr.LifeTime is gone: the CSMS is asked again."""
    sut = await cached_station(make_station, csms, **{"AuthCacheCtrlr.LifeTime": 1})
    cache(sut, VALID, "Accepted")
    await asyncio.sleep(1.2)  # past the 1 s lifetime: the rule under test, not a speed
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)


async def test_TC_C_57_CS_cache_disable_post_authorize(csms: DevCsms, make_station: Any) -> None:
    """C10.FR.03 with AuthCacheCtrlr.DisablePostAuthorize: a cache entry that is not Accepted is refused
    without an AuthorizeRequest."""
    sut = await cached_station(make_station, csms, **{"AuthCacheCtrlr.DisablePostAuthorize": True})
    cache(sut, UNKNOWN, "Invalid")
    await ev_connected(sut, csms)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, UNKNOWN)
    await nothing_more(csms, "TransactionEvent", 1)
    assert csms.received("Authorize") == []
    assert not sut.d.board.contactor(1).is_closed

"""OCTT block C, the Local Authorization List online and offline (C13, C14) and offline starts judged later
by the CSMS (C12, C15, E05): TC_C_15-18, 21-31, 58."""

from __future__ import annotations

from typing import Any

from evse.devcsms.server import DevCsms
from tests.conformance.octt import (
    UNKNOWN,
    VALID,
    VALID2,
    assert_sequences_complete,
    authorize_answers,
    back_online,
    cache,
    contactor_closed,
    ev_connected,
    go_offline,
    info,
    local_list,
    nothing_more,
    settle,
    token,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.integration.conftest import StationUnderTest

LIST_ON = {"LocalAuthListCtrlr.Enabled": True, "AuthCtrlr.LocalAuthorizeOffline": True}
PRE_AUTHORIZE = {**LIST_ON, "AuthCtrlr.LocalPreAuthorize": True}


async def booted(make_station: Any, csms: DevCsms, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def start_offline_transaction(sut: StationUnderTest, csms: DevCsms, value: str) -> int:
    """Reusable state StartOfflineTransaction: the CSMS is gone, the driver plugs in, presents `value`
    and the EV draws power. Returns the CSMS's port for `back_online`."""
    port = await go_offline(csms, sut)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, value)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    return port


# ---- started offline, judged by the CSMS after reconnecting (TxCtrlr.StopTxOnInvalidId) -----------------
async def invalid_after_reconnect(csms: DevCsms, make_station: Any, **device_model: Any) -> StationUnderTest:
    """Accepted in the cache, started offline; after reconnecting the CSMS answers Invalid."""
    sut = await booted(make_station, csms, **{"AuthCacheCtrlr.Enabled": True, **device_model})
    cache(sut, VALID, "Accepted")
    authorize_answers(csms, {VALID: info("Invalid")})
    port = await start_offline_transaction(sut, csms, VALID)
    await back_online(csms, port)
    authorized = await csms.wait_for("TransactionEvent", predicate=lambda p: "idToken" in p, timeout=15)
    assert (authorized["idToken"], authorized["offline"]) == (token(VALID), True)
    return sut


async def metered_after_the_answer(csms: DevCsms) -> None:
    """Two periodic samples sent online (TxUpdatedInterval 1 s): the meter was read at least once after
    the CSMS's answer was applied, so a cap or stop it implies has had its chance to act."""
    for _ in range(2):
        await csms.wait_for(
            "TransactionEvent",
            predicate=lambda p: p["triggerReason"] == "MeterValuePeriodic" and not p.get("offline"),
            timeout=10,
        )


async def test_TC_C_15_CS_stop_tx_on_invalid_id_false_with_max_energy(csms: DevCsms, make_station: Any) -> None:
    """E05.FR.09 / C15: StopTxOnInvalidId false and MaxEnergyOnInvalidId > 0: charging goes on up to the
    cap, then energy stops (Updated, chargingState SuspendedEVSE); the transaction is not ended."""
    sut = await invalid_after_reconnect(
        csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": False, "TxCtrlr.MaxEnergyOnInvalidId": 2}
    )
    suspended = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["transactionInfo"].get("chargingState") == "SuspendedEVSE", timeout=10
    )
    assert suspended["eventType"] == "Updated"
    assert not sut.d.board.contactor(1).is_closed
    assert [p for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []


async def test_TC_C_16_CS_stop_tx_on_invalid_id_true(csms: DevCsms, make_station: Any) -> None:
    """C12.FR.02/C12.FR.04, E05 (StopTxOnInvalidId true, TxStopPoint Authorized): the transaction the
    CSMS refuses ends with triggerReason Deauthorized, stoppedReason DeAuthorized; the power goes off."""
    sut = await invalid_after_reconnect(
        csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": True, "TxCtrlr.MaxEnergyOnInvalidId": 0}
    )
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=10)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("Deauthorized", "DeAuthorized")
    await until(lambda: not sut.d.board.contactor(1).is_closed)
    assert_sequences_complete(csms)
    csms.assert_no_failures()


async def test_TC_C_16_CS_stop_tx_on_invalid_id_true_for_an_offline_unknown_id(
    csms: DevCsms, make_station: Any
) -> None:
    """C15.FR.04 with StopTxOnInvalidId true: the same for a token nobody knew, started offline through
    OfflineTxForUnknownIdEnabled (the third way this case's prerequisite allows)."""
    sut = await booted(
        make_station, csms, **{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True, "TxCtrlr.StopTxOnInvalidId": True}
    )
    port = await start_offline_transaction(sut, csms, UNKNOWN)
    await back_online(csms, port)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=15)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("Deauthorized", "DeAuthorized")
    await until(lambda: not sut.d.board.contactor(1).is_closed)


async def test_TC_C_17_CS_stop_tx_on_invalid_id_false(csms: DevCsms, make_station: Any) -> None:
    """StopTxOnInvalidId false: the refused transaction is not ended by the station; the driver's card
    ends it later (triggerReason StopAuthorized)."""
    sut = await invalid_after_reconnect(
        csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": False, "SampledDataCtrlr.TxUpdatedInterval": 1}
    )
    await metered_after_the_answer(csms)
    assert [p for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []
    sut.d.board.swipe(1, VALID)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["triggerReason"] == "StopAuthorized"


async def test_TC_C_18_CS_stop_tx_on_invalid_id_true_wins_over_max_energy(csms: DevCsms, make_station: Any) -> None:
    """StopTxOnInvalidId true with MaxEnergyOnInvalidId > 0: the cap plays no part, the transaction is
    deauthorized at once."""
    sut = await invalid_after_reconnect(
        csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": True, "TxCtrlr.MaxEnergyOnInvalidId": 100000}
    )
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=10)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("Deauthorized", "DeAuthorized")
    await until(lambda: not sut.d.board.contactor(1).is_closed)


# ---- offline through the Local Authorization List (C13) ------------------------------------------------
async def test_TC_C_21_CS_offline_local_list_accepted(csms: DevCsms, make_station: Any) -> None:
    """C13.FR.01/C13.FR.02: offline, a token Accepted in the list charges; the queued TransactionEvents
    go out after reconnecting, marked offline, with the idToken."""
    sut = await booted(make_station, csms, **LIST_ON)
    await local_list(csms, {VALID: info("Accepted")})
    port = await start_offline_transaction(sut, csms, VALID)
    await back_online(csms, port)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=15)
    authorized = await csms.wait_for("TransactionEvent", predicate=lambda p: "idToken" in p, timeout=5)
    assert started["offline"] is True
    assert (authorized["idToken"], authorized["offline"], authorized["triggerReason"]) == (
        token(VALID),
        True,
        "Authorized",
    )
    assert csms.received("Authorize") == []
    assert_sequences_complete(csms)
    csms.assert_no_failures()


async def refused_offline(csms: DevCsms, make_station: Any, status: str) -> None:
    """C13.FR.04: offline, a list entry that is not Accepted refuses the token."""
    sut = await booted(make_station, csms, **LIST_ON)
    await local_list(csms, {VALID: info(status)})
    port = await go_offline(csms, sut)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, VALID)
    await nothing_more(csms, "TransactionEvent", 0)  # offline: nothing can arrive, the board decides
    assert not sut.d.board.contactor(1).is_closed
    await back_online(csms, port)
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=15)  # the plug-in, offline
    await settle()  # the queue drains: periodic samples, no authorization among them
    assert [p for p in csms.received("TransactionEvent") if "idToken" in p] == []
    assert csms.received("Authorize") == []
    assert not sut.d.board.contactor(1).is_closed


async def test_TC_C_22_CS_offline_local_list_invalid(csms: DevCsms, make_station: Any) -> None:
    """C13.FR.04: Invalid in the list, offline: refused."""
    await refused_offline(csms, make_station, "Invalid")


async def test_TC_C_23_CS_offline_local_list_blocked(csms: DevCsms, make_station: Any) -> None:
    """C13.FR.04: Blocked in the list, offline: refused."""
    await refused_offline(csms, make_station, "Blocked")


async def test_TC_C_24_CS_offline_local_list_expired(csms: DevCsms, make_station: Any) -> None:
    """C13.FR.04: Expired in the list, offline: refused."""
    await refused_offline(csms, make_station, "Expired")


async def test_TC_C_25_CS_offline_local_list_wins_over_cache(csms: DevCsms, make_station: Any) -> None:
    """C13, C10: where list and cache disagree the list decides: Accepted in the cache but Blocked
    in the list is refused; Blocked in the cache but Accepted in the list charges."""
    sut = await booted(make_station, csms, **LIST_ON, **{"AuthCacheCtrlr.Enabled": True})
    await local_list(csms, {VALID: info("Blocked"), VALID2: info("Accepted")})
    cache(sut, VALID, "Accepted")
    cache(sut, VALID2, "Blocked")
    await go_offline(csms, sut)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, VALID)
    await nothing_more(csms, "TransactionEvent", 0)
    assert not sut.d.board.contactor(1).is_closed
    sut.d.board.swipe(1, VALID2)
    await until(contactor_closed(sut))


async def test_TC_C_26_CS_offline_unknown_id(csms: DevCsms, make_station: Any) -> None:
    """C15.FR.02/C15.FR.06/C15.FR.08: OfflineTxForUnknownIdEnabled: an unknown token charges offline; the
    queued events go out marked offline; the CSMS's Invalid does not end it (StopTxOnInvalidId false,
    MaxEnergyOnInvalidId 0); the driver's card does (StopAuthorized)."""
    sut = await booted(
        make_station,
        csms,
        **LIST_ON,
        **{
            "AuthCtrlr.OfflineTxForUnknownIdEnabled": True,
            "TxCtrlr.StopTxOnInvalidId": False,
            "TxCtrlr.MaxEnergyOnInvalidId": 0,
            "SampledDataCtrlr.TxUpdatedInterval": 1,
        },
    )
    port = await start_offline_transaction(sut, csms, UNKNOWN)
    await back_online(csms, port)
    authorized = await csms.wait_for("TransactionEvent", predicate=lambda p: "idToken" in p, timeout=15)
    assert authorized["offline"] is True
    await metered_after_the_answer(csms)
    assert [p for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []
    sut.d.board.swipe(1, UNKNOWN)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["triggerReason"] == "StopAuthorized"


async def test_offline_unknown_id_is_refused_without_offline_tx_for_unknown_id(
    csms: DevCsms, make_station: Any
) -> None:
    """C15.FR.01 / C13.FR.04: without OfflineTxForUnknownIdEnabled an unknown token does not charge offline."""
    sut = await booted(make_station, csms, **{"AuthCtrlr.OfflineTxForUnknownIdEnabled": False})
    await go_offline(csms, sut)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, UNKNOWN)
    await nothing_more(csms, "TransactionEvent", 0)
    assert not sut.d.board.contactor(1).is_closed


# ---- online through the Local Authorization List (C14) -------------------------------------------------
async def test_TC_C_27_CS_online_local_list_accepted(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.01/C14.FR.02: LocalPreAuthorize and Accepted in the list: no AuthorizeRequest, the
    TransactionEvent carries the idToken, the EV charges."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    await local_list(csms, {VALID: info("Accepted")})
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))
    assert csms.received("Authorize") == []


async def refused_online_after_post_authorize(csms: DevCsms, make_station: Any, status: str) -> None:
    """C14.FR.03: an entry that is not Accepted is checked again with the CSMS, whose answer stands."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    await local_list(csms, {UNKNOWN: info(status)})
    authorize_answers(csms, {UNKNOWN: info(status)})
    await ev_connected(sut, csms)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, UNKNOWN)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(UNKNOWN)
    await nothing_more(csms, "TransactionEvent", 1)
    assert not sut.d.board.contactor(1).is_closed


async def test_TC_C_28_CS_online_local_list_invalid_and_not_accepted(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.03: Invalid in the list -> AuthorizeRequest -> Invalid: nothing starts."""
    await refused_online_after_post_authorize(csms, make_station, "Invalid")


async def test_TC_C_29_CS_online_local_list_blocked(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.03: Blocked in the list -> AuthorizeRequest -> Blocked: nothing starts."""
    await refused_online_after_post_authorize(csms, make_station, "Blocked")


async def test_TC_C_30_CS_online_local_list_expired(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.03: Expired in the list -> AuthorizeRequest -> Expired: nothing starts."""
    await refused_online_after_post_authorize(csms, make_station, "Expired")


async def test_TC_C_31_CS_online_local_list_invalid_but_accepted_by_the_csms(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.03: Invalid in the list, but the CSMS accepts it now: the transaction is authorized."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    await local_list(csms, {VALID: info("Invalid")})
    await ev_connected(sut, csms)
    sut.d.board.swipe(1, VALID)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(VALID)
    authorized = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"))
    assert authorized["idToken"] == token(VALID)
    sut.d.board.set_ev_state(1, "C")
    await until(contactor_closed(sut))


async def test_TC_C_58_CS_online_local_list_disable_post_authorize(csms: DevCsms, make_station: Any) -> None:
    """C14.FR.03 with LocalAuthListCtrlr.DisablePostAuthorize: a list entry that is not Accepted is
    refused without an AuthorizeRequest."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE, **{"LocalAuthListCtrlr.DisablePostAuthorize": True})
    await local_list(csms, {UNKNOWN: info("Invalid")})
    await ev_connected(sut, csms)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, UNKNOWN)
    await nothing_more(csms, "TransactionEvent", 1)
    assert csms.received("Authorize") == []
    assert not sut.d.board.contactor(1).is_closed

"""OCTT block C, authorization by GroupId (C09) and the master pass (C16): TC_C_14, 39-45, 49.

GroupId comes from the idTokenInfo (AuthorizeResponse, Local Authorization List or cache); a second
driver of the same group may stop the first one's transaction, a token of the MasterPassGroupId may
stop transactions but never start one.
"""

from __future__ import annotations

from typing import Any

from evse.devcsms.server import DevCsms
from tests.conformance.octt import (
    GROUP,
    MASTER,
    MASTER_GROUP,
    VALID,
    VALID2,
    assert_sequences_complete,
    authorize_answers,
    cache,
    energy_transfer_started,
    ev_connected,
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

PRE_AUTHORIZE = {
    "AuthCtrlr.LocalPreAuthorize": True,
    "AuthCacheCtrlr.Enabled": True,
    "LocalAuthListCtrlr.Enabled": True,
}


async def booted(make_station: Any, csms: DevCsms, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def stopped_by_group_member(csms: DevCsms, sut: StationUnderTest, *, asks_csms: bool) -> dict[str, Any]:
    """Charging with VALID; VALID2 of the same group ends it (C09.FR.02/03); returns the Ended event."""
    authorized = await energy_transfer_started(sut, csms, VALID)
    assert authorized["idToken"] == token(VALID)
    sut.d.board.swipe(1, VALID2)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    await until(lambda: not sut.d.board.contactor(1).is_closed and not sut.d.board.lock(1).is_locked)
    assert_sequences_complete(csms)
    assert [p["idToken"] for p in csms.received("Authorize")] == ([token(VALID), token(VALID2)] if asks_csms else [])
    csms.assert_no_failures()
    return ended


async def test_TC_C_39_CS_group_id_success(csms: DevCsms, station: StationUnderTest) -> None:
    """C09.FR.02/C09.FR.03/C09.FR.05: both tokens answered Accepted with the same groupIdToken: the second
    one stops the first one's transaction."""
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Accepted", GROUP)})
    await stopped_by_group_member(csms, station, asks_csms=True)


async def test_TC_C_39_CS_ended_carries_the_group_members_id_token(csms: DevCsms, station: StationUnderTest) -> None:
    """E06/C09: the Ended event names the idToken that stopped the transaction (VALID2), not the one that
    started it."""
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Accepted", GROUP)})
    ended = await stopped_by_group_member(csms, station, asks_csms=True)
    assert ended["idToken"] == token(VALID2)


async def test_TC_C_40_CS_group_id_success_with_local_list(csms: DevCsms, make_station: Any) -> None:
    """C09.FR.02/C09.FR.03 with C14: both tokens Accepted in the list with the same group: started and
    stopped without any AuthorizeRequest."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    await local_list(csms, {VALID: info("Accepted", GROUP), VALID2: info("Accepted", GROUP)})
    await stopped_by_group_member(csms, sut, asks_csms=False)


async def test_TC_C_41_CS_group_id_success_with_cache(csms: DevCsms, make_station: Any) -> None:
    """C09.FR.02/C09.FR.03/C09.FR.07 with C12: both tokens Accepted in the cache with the same group."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    cache(sut, VALID, "Accepted", GROUP)
    cache(sut, VALID2, "Accepted", GROUP)
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Accepted", GROUP)})
    await stopped_by_group_member(csms, sut, asks_csms=False)


async def not_stopped_by(csms: DevCsms, sut: StationUnderTest) -> None:
    """Charging with VALID (group GROUP); VALID2 of the same group, not Accepted (the CSMS, asked, says
    Invalid), does not stop it."""
    await energy_transfer_started(sut, csms, VALID)
    sut.d.board.swipe(1, VALID2)
    await csms.wait_for("Authorize", predicate=lambda p: p["idToken"] == token(VALID2), timeout=5)
    await settle()
    assert [p for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []
    assert sut.d.board.contactor(1).is_closed
    csms.assert_no_failures()


async def test_TC_C_42_CS_group_id_not_stopped_by_an_invalid_group_member(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """C09.FR.11: VALID2 is answered Invalid, with the same groupIdToken: the transaction goes on."""
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Invalid", GROUP)})
    await not_stopped_by(csms, station)


async def test_TC_C_43_CS_group_id_invalid_status_in_local_list(csms: DevCsms, make_station: Any) -> None:
    """C09 with C14.FR.03: VALID2 is Invalid in the list with the same group; the CSMS, asked again,
    still says Invalid: the transaction goes on."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    await local_list(csms, {VALID: info("Accepted", GROUP), VALID2: info("Invalid", GROUP)})
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Invalid", GROUP)})
    await not_stopped_by(csms, sut)


async def test_TC_C_44_CS_group_id_invalid_status_in_cache(csms: DevCsms, make_station: Any) -> None:
    """C09.FR.02/C09.FR.03/C09.FR.07 with C12.FR.05: VALID2 is Invalid in the cache with the same group;
    the CSMS, asked again, still says Invalid: the transaction goes on."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE)
    cache(sut, VALID, "Accepted", GROUP)
    cache(sut, VALID2, "Invalid", GROUP)
    authorize_answers(csms, {VALID: info("Accepted", GROUP), VALID2: info("Invalid", GROUP)})
    await not_stopped_by(csms, sut)


async def test_TC_C_14_CS_cached_master_pass_does_not_start(csms: DevCsms, make_station: Any) -> None:
    """C16.FR.03 with C12: a token in the cache whose group is AuthCtrlr.MasterPassGroupId is not
    authorized to charge."""
    sut = await booted(make_station, csms, **PRE_AUTHORIZE, **{"AuthCtrlr.MasterPassGroupId": MASTER_GROUP})
    cache(sut, MASTER, "Accepted", MASTER_GROUP)
    await ev_connected(sut, csms)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, MASTER)
    await nothing_more(csms, "TransactionEvent", 1)
    assert not sut.d.board.contactor(1).is_closed


async def test_TC_C_45_CS_master_pass_cannot_start_a_transaction(csms: DevCsms, make_station: Any) -> None:
    """C16.FR.03: with TxStartPoint Authorized, a master pass accepted by the CSMS starts no transaction."""
    sut = await booted(
        make_station, csms, **{"AuthCtrlr.MasterPassGroupId": MASTER_GROUP, "TxCtrlr.TxStartPoint": ["Authorized"]}
    )
    authorize_answers(csms, {MASTER: info("Accepted", MASTER_GROUP)})
    sut.d.board.swipe(1, MASTER)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == token(MASTER)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    await nothing_more(csms, "TransactionEvent", 0)
    assert not sut.d.board.contactor(1).is_closed


async def test_TC_C_49_CS_master_pass_without_ui_stops_every_transaction(csms: DevCsms, make_station: Any) -> None:
    """C16.FR.01/C16.FR.02 (no user interface to choose): a master pass presented at one EVSE ends the
    transactions of every EVSE, stoppedReason MasterPass, with the master pass's idToken."""
    sut = await make_station(evses=2, device_model={"AuthCtrlr.MasterPassGroupId": MASTER_GROUP})
    await csms.wait_for("StatusNotification", timeout=10)
    authorize_answers(csms, {MASTER: info("Accepted", MASTER_GROUP)})
    await energy_transfer_started(sut, csms, VALID, evse_id=1)
    await energy_transfer_started(sut, csms, VALID2, evse_id=2)
    sut.d.board.swipe(1, MASTER)
    ended = [await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5) for _ in range(2)]
    assert [e["transactionInfo"]["stoppedReason"] for e in ended] == ["MasterPass", "MasterPass"]
    assert [e["idToken"] for e in ended] == [token(MASTER), token(MASTER)]
    await until(lambda: not sut.d.board.contactor(1).is_closed and not sut.d.board.contactor(2).is_closed)

"""OCPP 1.6 Core and Local Auth List OCTT Charge Point cases on the wire, the ones the first 1.6 test files
left open: lock failure, offline start with an invalid idTag kept running, power failure, the parentIdTag
stop, the local authorization cache and list, and the AuthorizationKey of the security whitepaper.

Same set-up as test_v16_core.py: the real daemon with the simulated board against the 1.6 dev CSMS, whose
`ocpp` library checks every frame against the official 1.6 schemas. Test ids: the OCA 1.6 test case document.
"""

from __future__ import annotations

import asyncio

from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import PASSWORD, STATION_ID, Factory, StationUnderTest
from tests.integration.test_v16_core import TAG, actions, configure, start_charging, status_is
from tests.integration.test_v16_local_list import entry, send, version
from tests.integration.test_v16_offline import come_back, go_offline

OTHER_TAG = "DEADBEEF"
LOCAL_TAG = "0BADF00D"  # not an idTag the dev CSMS accepts: only the local list knows it


async def test_TC_024_CS_start_charging_session_lock_failure(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A remote start, then a plug the lock cannot hold: StatusNotification Faulted with errorCode
    ConnectorLockFailure, and no transaction starts (the contactor stays open)."""
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    board = station16.d.board
    board.raise_fault(1, "lock_failure")
    board.plug(1)
    board.set_ev_state(1, "C")
    faulted = await csms16.wait_for("StatusNotification", predicate=status_is("Faulted"), timeout=5)
    assert faulted["errorCode"] == "ConnectorLockFailure"
    await asyncio.sleep(0.5)  # give a wrongly started transaction the time to show
    assert "StartTransaction" not in actions(csms16)
    assert not board.contactor(1).is_closed
    csms16.assert_no_failures()


async def test_TC_037_2_CS_offline_start_invalid_idtag_kept_running(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Started offline with an idTag the Central System then answers Invalid: with StopTransactionOnInvalidId
    false the transaction is not stopped, but the Charge Point stops the energy (SuspendedEVSE,
    MaxEnergyOnInvalidId 0; 1.6 section 9.1.29); the EV leaving then ends it."""
    assert await configure(csms16, "AllowOfflineTxForUnknownId", "true") == "Accepted"
    assert await configure(csms16, "StopTransactionOnInvalidId", "false") == "Accepted"
    assert await configure(csms16, "MaxEnergyOnInvalidId", "0") == "Accepted"
    port = await go_offline(csms16)
    board = station16.d.board
    board.plug(1)
    board.swipe(1, "0BADCAFE")  # not an idTag the Central System accepts
    board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert board.contactor(1).is_closed  # charging offline
    await come_back(csms16, port)
    start = await csms16.wait_for("StartTransaction", timeout=20)
    assert start["idTag"] == "0BADCAFE"
    await csms16.wait_for("StatusNotification", predicate=status_is("SuspendedEVSE"), timeout=10)
    assert "StopTransaction" not in actions(csms16)
    assert not board.contactor(1).is_closed
    board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert stop["reason"] == "EVDisconnected"
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_032_2_CS_power_failure_stops_transactions_at_boot(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """No back-up power: after the power comes back the Charge Point boots, reports connector 0 and its
    connector, and stops the transaction the power cut short, reason PowerLoss, exactly once."""
    tx_id = await start_charging(csms16, station16)
    csms16.skip("StatusNotification")
    await station16.stop()  # the power goes: nothing is sent on the way down; the EV stays plugged in
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "PowerLoss")
    await csms16.wait_for("StatusNotification", predicate=status_is("Available", 0), timeout=5)
    # The simulated board comes back without the EV (a fresh board), so the connector is free again.
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert actions(csms16).count("StopTransaction") == 1
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_069_CS_stop_by_an_idtag_of_the_same_parent(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A different card with the same parentIdTag stops the transaction: the Charge Point authorizes it,
    then StopTransaction carries that card's idTag (1.6 section 3.4.4)."""
    csms16.respond("Authorize", {"idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET1"}})
    csms16.respond(
        "StartTransaction", {"transactionId": 6901, "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET1"}}
    )
    await start_charging(csms16, station16)
    station16.d.board.swipe(1, OTHER_TAG)
    authorize = await csms16.wait_for("Authorize", predicate=lambda p: p["idTag"] == OTHER_TAG, timeout=5)
    assert authorize["idTag"] != TAG
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["idTag"], stop["reason"]) == (6901, OTHER_TAG, "Local")
    await csms16.wait_for("StatusNotification", predicate=status_is("Finishing"), timeout=5)
    csms16.assert_no_failures()


async def test_TC_061_1_CS_clear_authorization_cache_local(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """An idTag authorized online lands in the cache; after ClearCache (Accepted) the same card presented
    again is authorized with the Central System, not from the cache (1.6 sections 3.5.1, 5.4)."""
    for key in ("AuthorizationCacheEnabled", "LocalPreAuthorize"):
        assert await configure(csms16, key, "true") == "Accepted"
    assert await configure(csms16, "ConnectionTimeOut", "1") == "Accepted"
    board = station16.d.board
    board.swipe(1, TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    csms16.skip("StatusNotification")  # the Available of before
    # never plugged in: ConnectionTimeOut takes the authorization back (the OCTT's alternative to a swipe)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert actions(csms16).count("Authorize") == 1
    answer = await csms16.call(STATION_ID, call.ClearCache())
    assert answer.status == "Accepted"
    csms16.skip("Authorize")
    board.swipe(1, TAG)
    await csms16.wait_for("Authorize", predicate=lambda p: p["idTag"] == TAG, timeout=5)
    assert actions(csms16).count("Authorize") == 2


async def prepare_local_list(csms16: DevCsms16, id_tag: str) -> None:
    """The Before of TC_008: LocalPreAuthorize on, no cache, the list enabled and holding `id_tag`."""
    assert await configure(csms16, "LocalPreAuthorize", "true") == "Accepted"
    assert await configure(csms16, "AuthorizationCacheEnabled", "false") == "Accepted"
    assert await configure(csms16, "LocalAuthListEnabled", "true") == "Accepted"
    assert await version(csms16) == 0
    assert await send(csms16, 1, "Full", [entry(id_tag)]) == "Accepted"


async def test_TC_008_1_CS_local_start_with_an_id_in_the_local_list(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """An idTag Accepted in the Local Authorization List starts at once, with no Authorize.req (1.6 section
    3.5.3, LocalPreAuthorize); the Central System does not know this card, so an Authorize would fail."""
    await prepare_local_list(csms16, LOCAL_TAG)
    board = station16.d.board
    board.swipe(1, LOCAL_TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    board.plug(1)
    board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == LOCAL_TAG
    assert "Authorize" not in actions(csms16)


async def test_TC_008_2_CS_remote_start_with_an_id_in_the_local_list(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests true and the idTag Accepted in the local list: the remote start goes
    ahead without an Authorize.req (1.6 section 5.11)."""
    await prepare_local_list(csms16, TAG)
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "true") == "Accepted"
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == TAG
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    assert "Authorize" not in actions(csms16)


async def test_TC_073_CS_authorization_key_reconnects_with_the_new_password(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Security whitepaper A01: ChangeConfiguration AuthorizationKey is Accepted, then the Charge Point
    connects again with HTTP Basic authentication on the new password; the old one no longer works."""
    new_password = "0123456789abcdef0123456789abcdef01234567"
    assert csms16.auth_attempts and csms16.auth_attempts[-1].accepted
    attempts, connections = len(csms16.auth_attempts), len(csms16.connections)
    csms16.basic_auth = {STATION_ID: new_password}  # the Central System's side of the change; the open
    # connection is not affected by it
    assert await configure(csms16, "AuthorizationKey", new_password) == "Accepted"
    async with asyncio.timeout(10):
        while len(csms16.connections) == connections:  # noqa: ASYNC110 - connections is a plain list
            await asyncio.sleep(0.05)
    await csms16.wait_connected(STATION_ID, timeout=5)
    after = csms16.auth_attempts[attempts:]
    assert [(a.username, a.accepted) for a in after] == [(STATION_ID, True)]
    assert new_password != PASSWORD
    answer = await csms16.call(STATION_ID, call.GetConfiguration(key=["AuthorizationKey"]))
    assert all(k.get("value") != new_password for k in answer.configuration_key)  # write-only: never read back
    csms16.assert_no_failures()


#: A simulated board whose connector has no lock: a fixed (tethered) cable.
FIXED_CABLE_BOARD = {
    "meter": {"driver": "sim"},
    "contactor": {"driver": "sim"},
    "pilot": {"driver": "sim"},
    "rfid": {"driver": "sim"},
}


async def test_TC_017_2_CS_unlock_connector_fixed_cable(make_station16: Factory, csms16: DevCsms16) -> None:
    """A Charge Point with a fixed cable answers UnlockConnector with NotSupported."""
    await make_station16(board=FIXED_CABLE_BOARD)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))
    assert answer.status == "NotSupported"


async def test_TC_018_2_CS_unlock_connector_fixed_cable_with_charging_session(
    make_station16: Factory, csms16: DevCsms16
) -> None:
    """With a fixed cable and a transaction running: NotSupported, and the transaction is not stopped
    (UnlockConnector is not a way to stop one, 1.6 section 5.18)."""
    sut = await make_station16(board=FIXED_CABLE_BOARD)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    await start_charging(csms16, sut)
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))
    assert answer.status == "NotSupported"
    await asyncio.sleep(0.5)  # a wrongly stopped transaction would have sent its StopTransaction by now
    assert "StopTransaction" not in actions(csms16)
    assert sut.d.board.contactor(1).is_closed

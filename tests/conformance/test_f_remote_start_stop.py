"""OCTT block F, RequestStartTransaction (F01, F02, F04) and RequestStopTransaction (F03): the answer,
then the TransactionEvents with RemoteStart / RemoteStop, remoteStartId and the power path."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, charging, events_of, tx, until
from tests.integration.conftest import StationUnderTest

TOKEN = {"id_token": CARD, "type": "ISO14443"}
WIRE_TOKEN = {"idToken": CARD, "type": "ISO14443"}


def start(remote_start_id: int, evse_id: int | None = 1) -> Any:
    return call.RequestStartTransaction(id_token=TOKEN, remote_start_id=remote_start_id, evse_id=evse_id)


async def boot(csms: DevCsms, make_station: Any, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def test_TC_F_01_CS_remote_start_cable_plugin_first(csms: DevCsms, station: StationUnderTest) -> None:
    """F02.FR.01/F01.FR.03-05: with a transaction started by the cable, RequestStartTransaction is
    Accepted with that transactionId; the token is authorized (AuthorizeRemoteStart true) and an
    Updated with triggerReason RemoteStart, the idToken and the remoteStartId follows; then it charges."""
    station.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    tx_id = started["transactionInfo"]["transactionId"]
    result = await csms.call(STATION_ID, start(11))
    assert (result.status, result.transaction_id) == ("Accepted", tx_id)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == WIRE_TOKEN
    updated = await csms.wait_for("TransactionEvent", timeout=5)
    assert (updated["eventType"], updated["triggerReason"]) == ("Updated", "RemoteStart")
    assert updated["transactionInfo"]["remoteStartId"] == 11 and updated["idToken"] == WIRE_TOKEN
    station.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await until(lambda: station.d.board.contactor(1).is_closed, "contactor closed")
    csms.assert_no_failures()


async def test_TC_F_02_CS_remote_start_first_authorize_remote_start_true(csms: DevCsms, make_station: Any) -> None:
    """F01.FR.01-03/05: RequestStartTransaction first, AuthorizeRemoteStart true: Accepted without a
    transactionId, Authorize, Started (RemoteStart, remoteStartId, idToken); plugging in is an Updated
    CablePluggedIn; the EV asking for power closes the contactor."""
    sut = await boot(csms, make_station, **{"AuthCtrlr.AuthorizeRemoteStart": True})
    result = await csms.call(STATION_ID, start(12))
    assert (result.status, result.transaction_id) == ("Accepted", None)
    assert (await csms.wait_for("Authorize", timeout=5))["idToken"] == WIRE_TOKEN
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")
    assert started["transactionInfo"]["remoteStartId"] == 12 and started["idToken"] == WIRE_TOKEN
    sut.d.board.plug(1)
    plugged = await csms.wait_for("TransactionEvent", timeout=5)
    assert (plugged["eventType"], plugged["triggerReason"]) == ("Updated", "CablePluggedIn")
    sut.d.board.set_ev_state(1, "C")
    await until(lambda: sut.d.board.contactor(1).is_closed, "contactor closed")


async def test_TC_F_03_CS_remote_start_first_authorize_remote_start_false(csms: DevCsms, make_station: Any) -> None:
    """F01.FR.02: AuthorizeRemoteStart false: no Authorize; the Started (RemoteStart) carries the token
    and the remoteStartId; plug and EV state C then charge."""
    sut = await boot(csms, make_station, **{"AuthCtrlr.AuthorizeRemoteStart": False})
    assert (await csms.call(STATION_ID, start(13))).status == "Accepted"
    started = await csms.wait_for("TransactionEvent", timeout=5)
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")
    assert started["transactionInfo"]["remoteStartId"] == 13 and started["idToken"] == WIRE_TOKEN
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    await until(lambda: sut.d.board.contactor(1).is_closed, "contactor closed")
    assert csms.received("Authorize") == []
    csms.assert_no_failures()


async def test_TC_F_04_CS_remote_start_cable_plugin_timeout(csms: DevCsms, make_station: Any) -> None:
    """F01.FR.?/E03.FR.05: remote start, no cable within EVConnectionTimeOut: the transaction ends with
    EVConnectTimeout / Timeout and the contactor never closed; the EVSE is Available again."""
    sut = await boot(csms, make_station, **{"AuthCtrlr.AuthorizeRemoteStart": False, "TxCtrlr.EVConnectionTimeOut": 1})
    assert (await csms.call(STATION_ID, start(14))).status == "Accepted"
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")
    assert not sut.d.board.contactor(1).is_closed
    sut.d.board.plug(1)  # too late: plugging in now is a new session, not the remote start's
    later = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert later["transactionInfo"]["transactionId"] != started["transactionInfo"]["transactionId"]
    assert "idToken" not in later
    csms.assert_no_failures()


async def test_TC_F_08_CS_remote_stop_transaction_success(csms: DevCsms, station: StationUnderTest) -> None:
    """F03.FR.01-03: RequestStopTransaction of the running transaction: Accepted, the contactor opens, and
    it ends with RemoteStop / Remote (the EV still plugged: chargingState EVConnected)."""
    tx_id = await charging(csms, station)
    assert (await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))).status == "Accepted"
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    await until(lambda: not station.d.board.contactor(1).is_closed, "contactor open")
    csms.assert_no_failures()


async def test_TC_F_09_CS_remote_stop_transaction_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """F03.FR.08: RequestStopTransaction for a transactionId the station does not have: Rejected, and the
    running transaction goes on charging."""
    tx_id = await charging(csms, station)
    result = await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id="unknown-transaction"))
    assert result.status == "Rejected"
    assert station.d.board.contactor(1).is_closed
    assert not any(p["eventType"] == "Ended" for p in events_of(csms, tx_id))
    csms.assert_no_failures()


async def test_TC_F_08_CS_remote_stop_with_stop_point_ev_connected_only(csms: DevCsms, make_station: Any) -> None:
    """F03.FR.09/E06.FR.02 with TxStopPoint EVConnected only: RequestStopTransaction deauthorizes the
    transaction (Updated, RemoteStop, power off) but it ends only when the EV is unplugged (Ended,
    EVCommunicationLost, stoppedReason Remote: what stopped the charging)."""
    sut = await boot(csms, make_station, **{"TxCtrlr.TxStopPoint": "EVConnected"})
    tx_id = await charging(csms, sut)
    assert (await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))).status == "Accepted"
    deauthorized = await csms.wait_for("TransactionEvent", timeout=5)
    assert (deauthorized["eventType"], deauthorized["triggerReason"]) == ("Updated", "RemoteStop")
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")
    sut.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVCommunicationLost", "Remote")

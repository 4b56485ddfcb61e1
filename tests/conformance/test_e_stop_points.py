"""OCTT block E, TxStopPoint options and local/remote stop (E06, E07, E08 ...): which event ends the
transaction, with which triggerReason and stoppedReason, and the power path opened first."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import CARD, STATION_ID, charging, events_of, status, suspended, tx, until
from tests.integration.conftest import StationUnderTest


async def boot(csms: DevCsms, make_station: Any, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(device_model=device_model)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


def stop_points(value: str, start: str = "EVConnected,Authorized") -> dict[str, Any]:
    return {"TxCtrlr.TxStopPoint": value, "TxCtrlr.TxStartPoint": start}


async def ended_after(csms: DevCsms, station: StationUnderTest, transaction_id: str) -> dict[str, Any]:
    """The Ended of ``transaction_id``; checks it is its last event and the contactor is open."""
    ended = await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    assert ended["transactionInfo"]["transactionId"] == transaction_id
    assert events_of(csms, transaction_id)[-1] is ended
    await until(lambda: not station.d.board.contactor(1).is_closed, "contactor open")
    return ended


def reasons(ended: dict[str, Any]) -> tuple[str, str | None]:
    return ended["triggerReason"], ended["transactionInfo"].get("stoppedReason")


async def unplug_from_suspended_ends_the_transaction(csms: DevCsms, sut: StationUnderTest) -> None:
    """From EnergyTransferSuspended the EV unplugs: Ended, EVCommunicationLost / EVDisconnected, Idle."""
    tx_id = await suspended(csms, sut)
    sut.d.board.unplug(1)
    ended = await ended_after(csms, sut, tx_id)
    assert reasons(ended) == ("EVCommunicationLost", "EVDisconnected")
    assert ended["transactionInfo"]["chargingState"] == "Idle"
    csms.assert_no_failures()


async def test_TC_E_06_CS_local_stop_accepted(csms: DevCsms, station: StationUnderTest) -> None:
    """E07.FR.01-02 (TxStopPoint Authorized among the stop points): the card that started the transaction
    stops it without a new Authorize: Ended with StopAuthorized / Local, the EV still plugged
    (chargingState EVConnected); unplugging afterwards is only a status change."""
    tx_id = await charging(csms, station)
    station.d.board.swipe(1, CARD)
    ended = await ended_after(csms, station, tx_id)
    assert reasons(ended) == ("StopAuthorized", "Local")
    assert ended["transactionInfo"]["chargingState"] == "EVConnected"
    assert len(csms.received("Authorize")) == 1  # only the start was authorized
    station.d.board.unplug(1)
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    assert events_of(csms, tx_id)[-1] is ended
    csms.assert_no_failures()


async def test_TC_E_07_CS_stop_point_power_path_closed_local_stop(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.01 with TxStopPoint PowerPathClosed: the card opens the power path, which ends the
    transaction (StopAuthorized / Local)."""
    sut = await boot(csms, make_station, **stop_points("PowerPathClosed", start="PowerPathClosed"))
    tx_id = await charging(csms, sut)
    sut.d.board.swipe(1, CARD)
    assert reasons(await ended_after(csms, sut, tx_id)) == ("StopAuthorized", "Local")
    csms.assert_no_failures()


async def test_TC_E_08_CS_stop_point_energy_transfer_stop_authorized(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.01 with TxStopPoint EnergyTransfer: the card stops the energy transfer, which ends the
    transaction (StopAuthorized / Local)."""
    sut = await boot(csms, make_station, **stop_points("EnergyTransfer"))
    tx_id = await charging(csms, sut)
    sut.d.board.swipe(1, CARD)
    assert reasons(await ended_after(csms, sut, tx_id)) == ("StopAuthorized", "Local")
    csms.assert_no_failures()


async def test_TC_E_14_CS_stop_point_ev_disconnected_station_side(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.02 with TxStopPoint EVConnected only: the card deauthorizes (Updated, StopAuthorized, power
    off, state EVConnectedPostSession) but the transaction goes on; disconnecting the cable reports
    Available and ends it (Ended, EVCommunicationLost, stoppedReason Local: the driver's stop)."""
    sut = await boot(csms, make_station, **stop_points("EVConnected"))
    tx_id = await charging(csms, sut)
    sut.d.board.swipe(1, CARD)
    deauthorized = await csms.wait_for("TransactionEvent", timeout=5)
    assert (deauthorized["eventType"], deauthorized["triggerReason"]) == ("Updated", "StopAuthorized")
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")
    sut.d.board.unplug(1)
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    ended = await ended_after(csms, sut, tx_id)
    assert reasons(ended) == ("EVCommunicationLost", "Local")


async def test_TC_E_15_CS_stop_point_authorized_local(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.01 with TxStopPoint Authorized: presenting the card again ends the transaction while the EV
    is still plugged: StopAuthorized / Local."""
    sut = await boot(csms, make_station, **stop_points("Authorized"))
    tx_id = await charging(csms, sut)
    sut.d.board.swipe(1, CARD)
    ended = await ended_after(csms, sut, tx_id)
    assert reasons(ended) == ("StopAuthorized", "Local")
    assert sut.d.board.snapshot(1)["ev_state"] != "A"  # ended by the card, not by the EV leaving
    csms.assert_no_failures()


async def test_TC_E_16_CS_stop_point_deauthorized_invalid_id_token(csms: DevCsms, make_station: Any) -> None:
    """E05.FR.09/C15 with StopTxOnInvalidId true: the CSMS answers the TransactionEvent that carries the
    idToken with Invalid: the station ends the transaction (Deauthorized / DeAuthorized) and opens the
    power path."""
    sut = await boot(csms, make_station, **stop_points("Authorized"), **{"TxCtrlr.StopTxOnInvalidId": True})
    csms.respond("TransactionEvent", lambda p: {"idTokenInfo": {"status": "Invalid"}} if "idToken" in p else {})
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    ended = await ended_after(csms, sut, started["transactionInfo"]["transactionId"])
    assert reasons(ended) == ("Deauthorized", "DeAuthorized")
    csms.assert_no_failures()


async def test_TC_E_16_CS_stop_point_deauthorized_invalid_id_token_started_offline(
    csms: DevCsms, make_station: Any
) -> None:
    """E06.FR.04/C15.FR.04 from the OCTT state StartOfflineTransaction: offline, an unknown card starts
    charging (OfflineTxForUnknownIdEnabled); back online the CSMS answers its TransactionEvent with Invalid
    and, with StopTxOnInvalidId true, the station ends it: Deauthorized / DeAuthorized, power off."""
    sut = await boot(
        csms,
        make_station,
        **stop_points("Authorized"),
        **{"AuthCtrlr.OfflineTxForUnknownIdEnabled": True, "TxCtrlr.StopTxOnInvalidId": True},
    )
    port = csms.port
    await csms.stop()
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "0BADCAFE")  # not in the dev CSMS's list: Invalid once it can ask
    sut.d.board.set_ev_state(1, "C")
    await until(lambda: sut.d.board.contactor(1).is_closed, "charging while offline")
    await csms.start(port=port)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=15)
    ended = await ended_after(csms, sut, started["transactionInfo"]["transactionId"])
    assert reasons(ended) == ("Deauthorized", "DeAuthorized")
    csms.assert_no_failures()


async def test_E06_invalid_id_token_with_stop_point_ev_connected_only_deauthorizes(
    csms: DevCsms, make_station: Any
) -> None:
    """E06.FR.04/C15 with TxStopPoint EVConnected only and StopTxOnInvalidId true: the CSMS answering
    Invalid deauthorizes the transaction (Updated, Deauthorized, power off); it ends when the EV leaves."""
    sut = await boot(csms, make_station, **stop_points("EVConnected"), **{"TxCtrlr.StopTxOnInvalidId": True})
    csms.respond("TransactionEvent", lambda p: {"idTokenInfo": {"status": "Invalid"}} if "idToken" in p else {})
    sut.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Authorized"), timeout=5)
    deauthorized = await csms.wait_for("TransactionEvent", timeout=5)
    assert (deauthorized["eventType"], deauthorized["triggerReason"]) == ("Updated", "Deauthorized")
    sut.d.board.unplug(1)
    ended = await ended_after(csms, sut, started["transactionInfo"]["transactionId"])
    assert ended["triggerReason"] == "EVCommunicationLost"


async def test_TC_E_17_CS_stop_point_deauthorized_ev_side_disconnect(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.04 with TxStopPoint Authorized, StopTxOnEVSideDisconnect true, UnlockOnEVSideDisconnect false,
    from EnergyTransferSuspended: the EV unplugging deauthorizes and ends the transaction:
    EVCommunicationLost / EVDisconnected, chargingState Idle."""
    sut = await boot(
        csms,
        make_station,
        **stop_points("Authorized"),
        **{"TxCtrlr.StopTxOnEVSideDisconnect": True, "OCPPCommCtrlr.UnlockOnEVSideDisconnect": False},
    )
    await unplug_from_suspended_ends_the_transaction(csms, sut)


async def test_TC_E_19_CS_stop_point_parking_bay_unoccupied(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.01 with TxStopPoint ParkingBayOccupancy: unplugging does not end the transaction; the
    vehicle leaving the bay does (EVDeparted)."""
    sut = await boot(csms, make_station, **stop_points("ParkingBayOccupancy", start="ParkingBayOccupancy"))
    sut.d.board.set_input(1, "parking_bay", True)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    tx_id = started["transactionInfo"]["transactionId"]
    sut.d.board.plug(1)
    sut.d.board.swipe(1, CARD)
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    sut.d.board.unplug(1)
    await asyncio.sleep(0.3)  # time for a wrong Ended to show
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")
    assert not any(p["eventType"] == "Ended" for p in events_of(csms, tx_id))
    sut.d.board.set_input(1, "parking_bay", False)
    ended = await ended_after(csms, sut, tx_id)
    assert ended["triggerReason"] == "EVDeparted"
    csms.assert_no_failures()


async def test_TC_E_20_CS_stop_point_ev_disconnected_ev_side(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.02 with TxStopPoint EVConnected, an EV that charges (IEC 61851-1 state C): unplugging at the
    EV opens the power path and ends the transaction: EVCommunicationLost / EVDisconnected; then
    the connector is Available."""
    sut = await boot(csms, make_station, **stop_points("EVConnected"))
    tx_id = await charging(csms, sut)
    sut.d.board.unplug(1)
    ended = await ended_after(csms, sut, tx_id)
    assert reasons(ended) == ("EVCommunicationLost", "EVDisconnected")
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    csms.assert_no_failures()


async def test_TC_E_21_CS_stop_point_authorized_remote(csms: DevCsms, make_station: Any) -> None:
    """F03.FR.01-02 with TxStopPoint Authorized: RequestStopTransaction is Accepted and ends the
    transaction: RemoteStop / Remote, power off."""
    sut = await boot(csms, make_station, **stop_points("Authorized"))
    tx_id = await charging(csms, sut)
    result = await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))
    assert result.status == "Accepted"
    assert reasons(await ended_after(csms, sut, tx_id)) == ("RemoteStop", "Remote")
    csms.assert_no_failures()


async def test_TC_E_22_CS_stop_point_energy_transfer_suspended_ev(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.07 with TxStopPoint EnergyTransfer: the EV suspending the energy transfer (state B) stops
    the transaction: ChargingStateChanged with stoppedReason StoppedByEV, as an Ended (EVConnected)."""
    sut = await boot(csms, make_station, **stop_points("EnergyTransfer"))
    tx_id = await charging(csms, sut)
    sut.d.board.set_ev_state(1, "B")
    stop = await csms.wait_for("TransactionEvent", predicate=lambda p: "stoppedReason" in p["transactionInfo"])
    assert stop["transactionInfo"]["transactionId"] == tx_id
    assert (stop["triggerReason"], stop["transactionInfo"]["stoppedReason"]) == ("ChargingStateChanged", "StoppedByEV")
    assert (stop["eventType"], stop["transactionInfo"]["chargingState"]) == ("Ended", "EVConnected")
    await until(lambda: not sut.d.board.contactor(1).is_closed, "contactor open")


async def test_TC_E_35_CS_stop_point_power_path_closed_remote_stop(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.01/F03 with TxStopPoint PowerPathClosed: RequestStopTransaction opens the power path, which
    ends the transaction: RemoteStop / Remote."""
    sut = await boot(csms, make_station, **stop_points("PowerPathClosed", start="PowerPathClosed"))
    tx_id = await charging(csms, sut)
    assert (await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))).status == "Accepted"
    assert reasons(await ended_after(csms, sut, tx_id)) == ("RemoteStop", "Remote")
    csms.assert_no_failures()


async def test_TC_E_37_CS_stop_point_power_path_closed_ev_side_disconnect(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.06 with TxStopPoint PowerPathClosed and StopTxOnEVSideDisconnect false, from
    EnergyTransferSuspended: the EV unplugging still ends the transaction, because the power path
    can no longer close: Ended, EVCommunicationLost / EVDisconnected, chargingState Idle."""
    sut = await boot(
        csms,
        make_station,
        **stop_points("PowerPathClosed", start="PowerPathClosed"),
        **{"TxCtrlr.StopTxOnEVSideDisconnect": False},
    )
    await unplug_from_suspended_ends_the_transaction(csms, sut)


async def test_TC_E_39_CS_stop_point_deauthorized_timeout(csms: DevCsms, make_station: Any) -> None:
    """E03.FR.05 with TxStart/StopPoint Authorized: the card starts the transaction, no EV comes within
    EVConnectionTimeOut: Ended with EVConnectTimeout / Timeout."""
    sut = await boot(
        csms, make_station, **stop_points("Authorized", start="Authorized"), **{"TxCtrlr.EVConnectionTimeOut": 1}
    )
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    ended = await ended_after(csms, sut, started["transactionInfo"]["transactionId"])
    assert reasons(ended) == ("EVConnectTimeout", "Timeout")


async def test_TC_E_54_CS_stop_point_ev_disconnected_ev_side_ev_not_charging(csms: DevCsms, make_station: Any) -> None:
    """E06.FR.02 with TxStopPoint EVConnected and an EV that never draws (stays in state B): the
    contactor never closes, and unplugging ends the transaction: EVCommunicationLost / EVDisconnected."""
    sut = await boot(csms, make_station, **stop_points("EVConnected"))
    sut.d.board.plug(1)
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="SuspendedEV"), timeout=5)
    await asyncio.sleep(0.2)  # time for a wrong contactor closing to happen
    assert not sut.d.board.contactor(1).is_closed
    sut.d.board.unplug(1)
    ended = await ended_after(csms, sut, started["transactionInfo"]["transactionId"])
    assert reasons(ended) == ("EVCommunicationLost", "EVDisconnected")
    csms.assert_no_failures()

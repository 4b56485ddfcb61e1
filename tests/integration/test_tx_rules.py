"""Transaction rules of OCPP 2.0.1 E/C/H that a first reading got wrong (issue 8, section 1), on the wire.

Each test drives the real daemon against the dev CSMS and checks the messages and the contactor as the board
sees it; each failed before its fix.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from evse.devcsms.journal import Direction
from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

CARD = "AABBCCDD"
OTHER = "04A2B3C4D5E6F7"


def tx(kind: str, **fields: Any) -> Any:
    def match(p: dict[str, Any]) -> bool:
        if p["eventType"] != kind:
            return False
        return all(p.get(k) == v or p["transactionInfo"].get(k) == v for k, v in fields.items())

    return match


def ended(p: dict[str, Any]) -> bool:
    return bool(p["eventType"] == "Ended")


async def charging(csms: DevCsms, sut: StationUnderTest, evse: int = 1, card: str = CARD) -> dict[str, Any]:
    """Plug, swipe, EV asks for power; returns the Started event once the contactor has closed."""
    sut.d.board.plug(evse)
    sut.d.board.swipe(evse, card)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    sut.d.board.set_ev_state(evse, "C")
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"), timeout=5)
    assert sut.d.board.contactor(evse).is_closed
    return started


async def no_ended(csms: DevCsms, seconds: float = 0.5) -> None:
    await asyncio.sleep(seconds)
    assert [p for p in csms.received("TransactionEvent") if p["eventType"] == "Ended"] == []


async def charging_offline_with_unknown_card(csms: DevCsms, make_station: Any, **device_model: Any) -> StationUnderTest:
    """OfflineTxForUnknownIdEnabled: an unknown card starts charging while the CSMS is away; the CSMS
    judges (refuses) the token once it is back."""
    sut: StationUnderTest = await make_station(
        device_model={"AuthCtrlr.OfflineTxForUnknownIdEnabled": True, **device_model}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    port = csms.port
    await csms.stop()
    await asyncio.sleep(0.3)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "0BADCAFE")
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert sut.d.board.contactor(1).is_closed
    await csms.start(port=port)
    return sut


async def test_TC_E_14_CS_card_stop_with_stop_point_ev_connected_deauthorizes_then_unplug_ends(
    csms: DevCsms, make_station: Any
) -> None:
    """E06.FR.02, E07: with TxStopPoint EVConnected (not Authorized) the driver's card deauthorizes: Updated
    StopAuthorized, power off; the transaction ends when the EV is unplugged."""
    sut = await make_station(device_model={"TxCtrlr.TxStopPoint": ["EVConnected"]})
    await csms.wait_for("StatusNotification", timeout=10)
    await charging(csms, sut)
    sut.d.board.swipe(1, CARD)
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="StopAuthorized"), timeout=5)
    assert update["transactionInfo"]["chargingState"] == "EVConnected"
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed
    await no_ended(csms)
    sut.d.board.unplug(1)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    # The unplug triggers the Ended; what stopped the transaction was the driver's card (E07).
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("EVCommunicationLost", "Local")


async def test_TC_E_21_CS_remote_stop_with_stop_point_ev_connected_deauthorizes(
    csms: DevCsms, make_station: Any
) -> None:
    """F03, E06: RequestStopTransaction with TxStopPoint EVConnected: Updated RemoteStop, power off, Ended at
    unplug."""
    sut = await make_station(device_model={"TxCtrlr.TxStopPoint": ["EVConnected"]})
    await csms.wait_for("StatusNotification", timeout=10)
    started = await charging(csms, sut)
    tx_id = started["transactionInfo"]["transactionId"]
    assert (await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))).status == "Accepted"
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="RemoteStop"), timeout=5)
    assert update["transactionInfo"]["chargingState"] == "EVConnected"
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed
    await no_ended(csms)
    sut.d.board.unplug(1)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert end["transactionInfo"]["transactionId"] == tx_id


async def test_TC_E_17_CS_invalid_token_with_stop_point_ev_connected_deauthorizes(
    csms: DevCsms, make_station: Any
) -> None:
    """E05/E06.FR.04, C15: the CSMS refuses the token in its TransactionEventResponse, StopTxOnInvalidId:
    with TxStopPoint EVConnected the station deauthorizes (Updated Deauthorized, power off)."""
    sut = await charging_offline_with_unknown_card(
        csms, make_station, **{"TxCtrlr.TxStopPoint": ["EVConnected"], "TxCtrlr.StopTxOnInvalidId": True}
    )
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Deauthorized"), timeout=15)
    assert update["transactionInfo"]["chargingState"] == "EVConnected"
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed
    await no_ended(csms)
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)


async def test_TC_E_22_CS_energy_transfer_stop_point_ends_when_the_ev_suspends(
    csms: DevCsms, make_station: Any
) -> None:
    """E06.FR.07: TxStopPoint EnergyTransfer: the transaction ends when energy transfer stops (the EV goes
    back to state B): Ended, stoppedReason StoppedByEV."""
    sut = await make_station(device_model={"TxCtrlr.TxStopPoint": ["EnergyTransfer"]})
    await csms.wait_for("StatusNotification", timeout=10)
    await charging(csms, sut)
    sut.d.board.set_ev_state(1, "B")
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("ChargingStateChanged", "StoppedByEV")
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed


async def test_TC_E_04_CS_plugging_in_after_authorization_is_cable_plugged_in(csms: DevCsms, make_station: Any) -> None:
    """E03: TxStartPoint Authorized: the card starts the transaction; plugging in afterwards is reported as
    Updated with triggerReason CablePluggedIn (not ChargingStateChanged)."""
    sut = await make_station(device_model={"TxCtrlr.TxStartPoint": ["Authorized"]})
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, CARD)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert started["triggerReason"] == "Authorized"
    sut.d.board.plug(1)
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated"), timeout=5)
    assert update["triggerReason"] == "CablePluggedIn"


async def test_TC_E_01_CS_power_path_closed_start_reports_what_completed_it(csms: DevCsms, make_station: Any) -> None:
    """E01.FR.05: TxStartPoint PowerPathClosed: authorized first, then the cable completes the condition, so
    Started carries triggerReason CablePluggedIn."""
    sut = await make_station(
        device_model={"TxCtrlr.TxStartPoint": ["PowerPathClosed"], "TxCtrlr.TxStopPoint": ["PowerPathClosed"]}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    await asyncio.sleep(0.2)  # the answer reaches the station
    sut.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    assert started["triggerReason"] == "CablePluggedIn"
    assert started["idToken"]["idToken"] == CARD


async def test_TC_E_26_CS_unplug_with_stop_tx_on_ev_side_disconnect_false_is_ev_communication_lost(
    csms: DevCsms, make_station: Any
) -> None:
    """E10.FR.01: StopTxOnEVSideDisconnect false (and no EV-connection stop point) suspends the transaction
    when the EV unplugs: Updated with triggerReason EVCommunicationLost and chargingState Idle."""
    sut = await make_station(
        device_model={"TxCtrlr.StopTxOnEVSideDisconnect": False, "TxCtrlr.TxStopPoint": ["Authorized"]}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    await charging(csms, sut)
    sut.d.board.unplug(1)
    update = await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Idle"), timeout=5)
    assert update["triggerReason"] == "EVCommunicationLost"
    await no_ended(csms)


async def test_TC_E_05_CS_local_authorization_without_cable_times_out(csms: DevCsms, make_station: Any) -> None:
    """E03/E05, TC_E_05: TxStartPoint Authorized, card presented, no cable within EVConnectionTimeOut: the
    transaction ends with triggerReason EVConnectTimeout, stoppedReason Timeout."""
    sut = await make_station(device_model={"TxCtrlr.TxStartPoint": ["Authorized"], "TxCtrlr.EVConnectionTimeOut": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert (end["triggerReason"], end["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")


async def test_TC_C_13_CS_cached_authorization_expires_without_cable(csms: DevCsms, make_station: Any) -> None:
    """C13 / E03.FR.?: with TxStartPoint PowerPathClosed the card alone starts nothing; after
    EVConnectionTimeOut the authorization is gone, so plugging in afterwards does not charge."""
    sut = await make_station(
        device_model={"TxCtrlr.TxStartPoint": ["PowerPathClosed"], "TxCtrlr.EVConnectionTimeOut": 1}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.swipe(1, CARD)
    await csms.wait_for("Authorize", timeout=5)
    await asyncio.sleep(1.6)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert not sut.d.board.contactor(1).is_closed
    assert csms.received("TransactionEvent") == []


async def test_TC_C_09_CS_group_member_stop_reports_its_id_token(csms: DevCsms, station: StationUnderTest) -> None:
    """C09.FR.03, E07: a token of the same group stops the transaction; the Ended event carries the idToken
    that stopped it, which is not the one that started it."""

    def authorize(payload: dict[str, Any]) -> dict[str, Any]:
        return {"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-1", "type": "Central"}}}

    csms.respond("Authorize", authorize)
    await charging(csms, station)
    station.d.board.swipe(1, OTHER)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert end["transactionInfo"]["stoppedReason"] == "Local"
    assert end["idToken"] == {"idToken": OTHER, "type": "ISO14443"}


async def test_TC_C_49_CS_master_pass_without_ui_stops_every_transaction(csms: DevCsms, make_station: Any) -> None:
    """C16.FR.03: a station without a user interface stops every ongoing transaction when a master pass is
    presented; stoppedReason MasterPass, and the events carry the master pass token."""
    sut = await make_station(evses=2, device_model={"AuthCtrlr.MasterPassGroupId": "MASTER"})
    await csms.wait_for("StatusNotification", timeout=10)

    def authorize(payload: dict[str, Any]) -> dict[str, Any]:
        if payload["idToken"]["idToken"] == "DEADBEEF":
            return {"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "MASTER", "type": "Central"}}}
        return {"idTokenInfo": {"status": "Accepted"}}

    csms.respond("Authorize", authorize)
    await charging(csms, sut, evse=1, card=CARD)
    await charging(csms, sut, evse=2, card=OTHER)
    sut.d.board.swipe(1, "DEADBEEF")
    ends = [await csms.wait_for("TransactionEvent", predicate=ended, timeout=5) for _ in range(2)]
    assert {e["transactionInfo"]["stoppedReason"] for e in ends} == {"MasterPass"}
    assert {e["idToken"]["idToken"] for e in ends} == {"DEADBEEF"}
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed and not sut.d.board.contactor(2).is_closed


async def test_TC_H_19_CS_group_member_uses_the_reservation(csms: DevCsms, station: StationUnderTest) -> None:
    """H03.FR.09, TC_H_19: a reservation with a groupIdToken may be used by another token of that group; the
    transaction carries the reservationId."""

    def authorize(payload: dict[str, Any]) -> dict[str, Any]:
        return {"idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "FLEET-1", "type": "Central"}}}

    csms.respond("Authorize", authorize)
    expiry = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    request = call.ReserveNow(
        id=41,
        expiry_date_time=expiry,
        id_token={"id_token": CARD, "type": "ISO14443"},
        evse_id=1,
        group_id_token={"id_token": "FLEET-1", "type": "Central"},
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    station.d.board.plug(1)
    station.d.board.swipe(1, OTHER)  # not the reserved card, but of its group
    authorized = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p.get("idToken", {}).get("idToken") == OTHER, timeout=5
    )
    assert authorized["reservationId"] == 41


async def test_TC_C_17_CS_refused_token_without_stop_keeps_charging_by_default(
    csms: DevCsms, make_station: Any
) -> None:
    """C15 / E05.FR.03: StopTxOnInvalidId false and MaxEnergyOnInvalidId left unset: the refused transaction
    goes on charging (the default must not turn the feature off)."""
    sut = await charging_offline_with_unknown_card(csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": False})
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=15)
    await asyncio.sleep(2.5)  # several meter samples after the CSMS's verdict
    assert sut.d.board.contactor(1).is_closed
    assert [p for p in csms.received("TransactionEvent") if p["eventType"] == "Ended"] == []


async def test_TC_C_15_CS_max_energy_on_invalid_id_suspends_rather_than_ends(csms: DevCsms, make_station: Any) -> None:
    """C15, E05.FR.03: once MaxEnergyOnInvalidId Wh are delivered for a refused token, energy stops
    (Updated EnergyLimitReached, chargingState SuspendedEVSE, contactor open); the transaction goes on."""
    sut = await charging_offline_with_unknown_card(
        csms, make_station, **{"TxCtrlr.StopTxOnInvalidId": False, "TxCtrlr.MaxEnergyOnInvalidId": 5}
    )
    capped = await csms.wait_for(
        "TransactionEvent", predicate=tx("Updated", triggerReason="EnergyLimitReached"), timeout=20
    )
    assert capped["transactionInfo"]["chargingState"] == "SuspendedEVSE"
    await asyncio.sleep(0.2)
    assert not sut.d.board.contactor(1).is_closed
    await no_ended(csms)
    sut.d.board.unplug(1)
    end = await csms.wait_for("TransactionEvent", predicate=ended, timeout=5)
    assert end["transactionInfo"]["stoppedReason"] == "EVDisconnected"


async def test_status_notification_is_not_dropped_by_the_transaction_retry_policy(
    csms: DevCsms, make_station: Any
) -> None:
    """E12 applies MessageAttempts to TransactionEvent only: a StatusNotification the CSMS does not answer
    in time is sent again until answered (B/G rules), not dropped after MessageAttempts."""
    sut = await make_station(
        device_model={
            "OCPPCommCtrlr.MessageAttempts[TransactionEvent]": 1,
            "OCPPCommCtrlr.MessageTimeout[Default]": 1,
        }
    )
    await csms.wait_for("StatusNotification", timeout=10)
    answered_late = 0

    async def slow_once(payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal answered_late
        if answered_late == 0:
            answered_late += 1
            await asyncio.sleep(1.5)  # past MessageTimeout: the station gives up on this attempt
        return {}

    csms.respond("StatusNotification", slow_once)
    sut.d.board.plug(1)

    def occupied() -> list[dict[str, Any]]:
        # Every frame received (the first copy's answer came too late to count as a completed CALL).
        return [
            f.payload
            for f in csms.log
            if f.direction is Direction.RECEIVED
            and f.action == "StatusNotification"
            and f.payload.get("connectorStatus") == "Occupied"
        ]

    async with asyncio.timeout(15):
        while len(occupied()) < 2:  # noqa: ASYNC110 - the CSMS journal has no event per frame received
            await asyncio.sleep(0.05)
    first, second = occupied()[:2]
    assert first == second  # the same message again, not dropped after MessageAttempts

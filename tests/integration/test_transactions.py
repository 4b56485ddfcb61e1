"""Blocks E and F over loopback: local and remote start/stop, unlock, transaction status, fault events."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

TOKEN = {"id_token": "AABBCCDD", "type": "ISO14443"}


def event(kind: str, **fields: Any) -> Any:
    def match(p: dict[str, Any]) -> bool:
        if p["eventType"] != kind:
            return False
        return all(p.get(k) == v or p["transactionInfo"].get(k) == v for k, v in fields.items())

    return match


async def test_TC_E_03_CS_local_start_cable_first(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    assert started["triggerReason"] == "CablePluggedIn" and "idToken" not in started
    station.d.board.swipe(1, "AABBCCDD")
    authorized = await csms.wait_for("TransactionEvent", predicate=event("Updated"), timeout=5)
    assert authorized["triggerReason"] == "Authorized"
    station.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.2)
    assert station.d.board.contactor(1).is_closed


async def test_TC_E_06_CS_local_stop_with_the_same_card(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", triggerReason="Authorized"), timeout=5)
    station.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", chargingState="Charging"), timeout=5)
    assert station.d.board.contactor(1).is_closed  # charging, so the stop below has something to open
    station.d.board.swipe(1, "AABBCCDD")
    ended = await csms.wait_for("TransactionEvent", predicate=event("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    await asyncio.sleep(0.2)
    assert not station.d.board.contactor(1).is_closed


async def test_unknown_card_does_not_charge(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")  # the EV asks for power: only an authorization is missing
    station.d.board.swipe(1, "0BADCAFE")  # not in the dev CSMS's token list
    await csms.wait_for("Authorize", timeout=5)
    await asyncio.sleep(0.3)
    assert not station.d.board.contactor(1).is_closed
    assert station.d.board.snapshot(1)["offered_current_a"] is None  # no PWM offer either
    station.d.board.swipe(1, "AABBCCDD")  # the same EV with a valid card does charge: the check can fail
    await csms.wait_for("TransactionEvent", predicate=event("Updated", chargingState="Charging"), timeout=5)
    assert station.d.board.contactor(1).is_closed


async def test_TC_F_01_CS_remote_start_cable_plugged_first(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    result = await csms.call(STATION_ID, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=11, evse_id=1))
    assert result.status == "Accepted"
    assert result.transaction_id == started["transactionInfo"]["transactionId"]
    updated = await csms.wait_for("TransactionEvent", predicate=event("Updated"), timeout=5)
    assert updated["triggerReason"] == "RemoteStart"
    assert updated["transactionInfo"]["remoteStartId"] == 11


async def test_TC_F_02_CS_remote_start_first_with_authorize_remote_start(csms: DevCsms, make_station: Any) -> None:
    sut = await make_station(device_model={"AuthCtrlr.AuthorizeRemoteStart": True})
    await csms.wait_for("StatusNotification", timeout=10)
    result = await csms.call(STATION_ID, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=12, evse_id=1))
    assert result.status == "Accepted"
    await csms.wait_for("Authorize", timeout=5)
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    assert (started["triggerReason"], started["transactionInfo"]["remoteStartId"]) == ("RemoteStart", 12)
    sut.d.board.plug(1)
    sut.d.board.set_ev_state(1, "C")  # the EV asks for power: only now the supply closes
    await asyncio.sleep(0.3)
    assert sut.d.board.contactor(1).is_closed


async def test_TC_F_03_CS_remote_start_first_without_authorize_remote_start(csms: DevCsms, make_station: Any) -> None:
    await make_station(device_model={"AuthCtrlr.AuthorizeRemoteStart": False})
    await csms.wait_for("StatusNotification", timeout=10)
    result = await csms.call(STATION_ID, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=13, evse_id=1))
    assert result.status == "Accepted"
    await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    assert csms.received("Authorize") == []


async def test_TC_F_04_CS_remote_start_cable_plugin_timeout(csms: DevCsms, make_station: Any) -> None:
    await make_station(device_model={"AuthCtrlr.AuthorizeRemoteStart": False, "TxCtrlr.EVConnectionTimeOut": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    await csms.call(STATION_ID, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=14, evse_id=1))
    await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    ended = await csms.wait_for("TransactionEvent", predicate=event("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("EVConnectTimeout", "Timeout")


async def test_remote_start_on_a_faulted_evse_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.raise_fault(1, "rcd_trip")
    await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Faulted", timeout=5)
    result = await csms.call(STATION_ID, call.RequestStartTransaction(id_token=TOKEN, remote_start_id=15, evse_id=1))
    assert result.status == "Rejected"


async def test_TC_F_08_CS_remote_stop(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    tx_id = started["transactionInfo"]["transactionId"]
    assert (await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id=tx_id))).status == "Accepted"
    ended = await csms.wait_for("TransactionEvent", predicate=event("Ended"), timeout=5)
    assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")


async def test_TC_F_09_CS_remote_stop_unknown_transaction_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.RequestStopTransaction(transaction_id="no-such-transaction"))
    assert result.status == "Rejected"


async def test_TC_F_05_CS_unlock_with_ongoing_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", triggerReason="Authorized"), timeout=5)
    result = await csms.call(STATION_ID, call.UnlockConnector(evse_id=1, connector_id=1))
    assert result.status == "OngoingAuthorizedTransaction"


async def test_TC_F_06_CS_and_TC_F_07_CS_unlock_without_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    assert (await csms.call(STATION_ID, call.UnlockConnector(evse_id=1, connector_id=1))).status == "Unlocked"
    station.d.board.plug(1)
    assert (await csms.call(STATION_ID, call.UnlockConnector(evse_id=1, connector_id=1))).status == "Unlocked"


async def test_unlock_failure_is_reported(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.raise_fault(1, "unlock_failure")
    assert (await csms.call(STATION_ID, call.UnlockConnector(evse_id=1, connector_id=1))).status == "UnlockFailed"


async def test_TC_F_10_CS_unlock_unknown_connector(csms: DevCsms, station: StationUnderTest) -> None:
    assert (await csms.call(STATION_ID, call.UnlockConnector(evse_id=1, connector_id=5))).status == "UnknownConnector"
    assert (await csms.call(STATION_ID, call.UnlockConnector(evse_id=7, connector_id=1))).status == "UnknownConnector"


async def test_TC_E_28_CS_transaction_status_unknown_id(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.GetTransactionStatus(transaction_id="unknown"))
    assert (result.ongoing_indicator, result.messages_in_queue) == (False, False)


async def test_TC_E_30_CS_transaction_status_ongoing_without_queue(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    await asyncio.sleep(0.2)
    result = await csms.call(
        STATION_ID, call.GetTransactionStatus(transaction_id=started["transactionInfo"]["transactionId"])
    )
    assert (result.ongoing_indicator, result.messages_in_queue) == (True, False)


async def test_TC_E_34_CS_transaction_status_without_id_without_queue(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.GetTransactionStatus())
    assert result.messages_in_queue is False and result.ongoing_indicator is None


async def test_fault_raised_and_cleared_are_notify_events_and_component_state(
    csms: DevCsms, station: StationUnderTest
) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", triggerReason="Authorized"), timeout=5)
    station.d.board.raise_fault(1, "rcd_trip")
    raised = (await csms.wait_for("NotifyEvent", timeout=5))["eventData"][0]
    assert raised["component"] == {"name": "RCD", "evse": {"id": 1}}
    assert (raised["variable"]["name"], raised["actualValue"], raised["eventNotificationType"]) == (
        "Tripped",
        "true",
        "HardWiredMonitor",  # the hard-wired monitor on RCD.Tripped (N07), named by variableMonitoringId
    )
    assert raised["variableMonitoringId"] > 0
    await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Faulted", timeout=5)
    await asyncio.sleep(0.2)
    assert not station.d.board.contactor(1).is_closed  # safety first
    got = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "RCD", "evse": {"id": 1}}, "variable": {"name": "Tripped"}}]
        ),
    )
    assert got.get_variable_result[0]["attribute_value"] == "true"
    station.d.board.clear_fault(1, "rcd_trip")
    cleared = (await csms.wait_for("NotifyEvent", timeout=5))["eventData"][0]
    assert cleared["cleared"] is True and cleared["actualValue"] == "false"


async def test_TC_G_20_CS_lock_failure_reports_faulted(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.raise_fault(1, "lock_failure")
    await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Faulted", timeout=5)
    event_data = (await csms.wait_for("NotifyEvent", timeout=5))["eventData"][0]
    assert event_data["component"]["name"] == "ConnectorPlugRetentionLock"


async def test_cable_rating_caps_the_offered_current_and_is_reported(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1, cable_max_current_a=16)
    started = await csms.wait_for("TransactionEvent", predicate=event("Started"), timeout=5)
    assert (started["cableMaxCurrent"], started["numberOfPhasesUsed"]) == (16, 3)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", triggerReason="Authorized"), timeout=5)
    await asyncio.sleep(0.3)
    assert station.d.board.snapshot(1)["offered_current_a"] == 16  # not the EVSE's 32 A


async def test_unlock_on_ev_side_disconnect_false_keeps_the_cable_locked_until_a_card(
    csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station(device_model={"OCPPCommCtrlr.UnlockOnEVSideDisconnect": False})
    await csms.wait_for("StatusNotification", timeout=10)
    sut.d.board.plug(1)
    sut.d.board.swipe(1, "AABBCCDD")
    sut.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", chargingState="Charging"), timeout=5)
    assert sut.d.board.snapshot(1)["locked"]  # held while power flows
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=event("Ended"), timeout=5)
    await asyncio.sleep(0.3)
    assert sut.d.board.snapshot(1)["locked"]  # the EV left first: the cable stays locked
    sut.d.board.swipe(1, "AABBCCDD")
    await asyncio.sleep(0.5)
    assert not sut.d.board.snapshot(1)["locked"]


async def test_unlock_on_ev_side_disconnect_true_releases_the_cable(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    station.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", chargingState="Charging"), timeout=5)
    station.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=event("Ended"), timeout=5)
    await asyncio.sleep(0.3)
    assert not station.d.board.snapshot(1)["locked"]


async def test_E_no_transaction_before_the_boot_is_accepted_unless_enabled(csms: DevCsms, make_station: Any) -> None:
    csms.boot_status = "Pending"
    csms.boot_interval = 1
    sut: StationUnderTest = await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    sut.d.board.plug(1)
    await asyncio.sleep(0.3)
    assert sut.d.station.evses[1].state.tx is None  # TxBeforeAcceptedEnabled is false by default
    await sut.stop()
    sut.settings = sut.settings.model_copy(
        update={"device_model": {**sut.settings.device_model, "TxCtrlr.TxBeforeAcceptedEnabled": True}}
    )
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)
    sut.d.board.plug(1)
    await asyncio.sleep(0.3)
    assert sut.d.station.evses[1].state.tx is not None
    assert csms.received("TransactionEvent") == []  # kept until the boot is accepted
    csms.boot_status = "Accepted"
    await csms.wait_for("TransactionEvent", timeout=5)


async def test_C_personal_message_from_the_csms_is_shown_on_the_display(
    csms: DevCsms, station: StationUnderTest
) -> None:
    def authorize(payload: dict[str, Any]) -> dict[str, Any]:
        message = {"format": "UTF8", "language": "en", "content": "Hello Ada, 12.40 EUR left"}
        return {"idTokenInfo": {"status": "Accepted", "personalMessage": message}}

    csms.respond("Authorize", authorize)
    station.d.board.plug(1)
    station.d.board.swipe(1, "AABBCCDD")
    await csms.wait_for("Authorize", timeout=5)

    def on_screen() -> str:  # the screen's lines (the message wraps at its 20 columns)
        return " ".join(line.strip() for line in (station.d.board.snapshot(1)["display"] or "").split("\n"))

    async with asyncio.timeout(5):
        while "Hello Ada, 12.40 EUR left" not in on_screen():  # noqa: ASYNC110 - the sim display has no events
            await asyncio.sleep(0.05)


def tx_profile(purpose: str = "TxProfile", limit: float = 10.0) -> dict[str, Any]:
    return {
        "id": 7,
        "stack_level": 0,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Relative",
        "charging_schedule": [
            {"id": 1, "charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": limit}]}
        ],
    }


async def test_F01_remote_start_with_a_tx_profile_limits_the_offered_current(
    csms: DevCsms, station: StationUnderTest
) -> None:
    request = call.RequestStartTransaction(
        id_token=TOKEN, remote_start_id=21, evse_id=1, charging_profile=tx_profile(limit=10.0)
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=event("Updated", chargingState="Charging"), timeout=5)
    await asyncio.sleep(0.3)
    assert station.d.board.snapshot(1)["offered_current_a"] == 10.0  # not the EVSE's 32 A


async def test_F01_remote_start_with_another_profile_purpose_is_rejected(
    csms: DevCsms, station: StationUnderTest
) -> None:
    request = call.RequestStartTransaction(
        id_token=TOKEN, remote_start_id=22, evse_id=1, charging_profile=tx_profile("TxDefaultProfile")
    )
    assert (await csms.call(STATION_ID, request)).status == "Rejected"

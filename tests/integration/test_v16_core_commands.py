"""OCPP 1.6 Core and Remote Trigger: the Central System's CALLs to the Charge Point, OCTT cases on the wire.

RemoteStart/RemoteStopTransaction, Reset, UnlockConnector, ChangeAvailability, ClearCache, DataTransfer,
TriggerMessage and malformed CALLs, against the real daemon with the simulated board (see test_v16_core.py).
"""

from __future__ import annotations

import asyncio
import json

from ocpp.v16 import call

from evse.daemon import Exit
from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest
from tests.integration.test_v16_core import TAG, actions, configure, start_charging, status_is


async def test_TC_010_CS_remote_start_cable_plugged_in_first(csms16: DevCsms16, station16: StationUnderTest) -> None:
    board = station16.d.board
    board.plug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["connectorId"], start["idTag"]) == (1, TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    csms16.assert_no_failures()


async def test_TC_011_1_CS_remote_start_first_authorized_when_authorize_remote_tx_requests(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests true: the idTag of a RemoteStartTransaction is authorized first (1.6 5.11)."""
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "true") == "Accepted"
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    assert (await csms16.wait_for("Authorize", timeout=5))["idTag"] == TAG
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    assert (await csms16.wait_for("StartTransaction", timeout=5))["idTag"] == TAG
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)


async def test_remote_start_without_authorize_when_authorize_remote_tx_requests_false(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests false: the Central System's idTag is trusted, no Authorize.req is sent."""
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "false") == "Accepted"
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    assert (await csms16.wait_for("StartTransaction", timeout=5))["idTag"] == TAG
    assert "Authorize" not in actions(csms16)


async def test_TC_011_2_CS_remote_start_time_out(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """No cable within ConnectionTimeOut after a RemoteStartTransaction: back to Available, no transaction."""
    assert await configure(csms16, "ConnectionTimeOut", "1") == "Accepted"
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    assert "StartTransaction" not in actions(csms16)


async def test_TC_012_CS_remote_stop_charging_session(csms16: DevCsms16, station16: StationUnderTest) -> None:
    tx_id = await start_charging(csms16, station16)
    answer = await csms16.call(STATION_ID, call.RemoteStopTransaction(transaction_id=tx_id))
    assert answer.status == "Accepted"
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "Remote")
    await csms16.wait_for("StatusNotification", predicate=status_is("Finishing"), timeout=5)
    await asyncio.sleep(0.2)
    assert not station16.d.board.contactor(1).is_closed
    csms16.assert_transactions_complete()


async def test_TC_026_CS_remote_start_rejected_on_an_unavailable_connector(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Rejected"


async def test_TC_027_CS_remote_start_connector_id_zero_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """1.6 section 6.33: connectorId, when given, SHALL be > 0."""
    await asyncio.sleep(0.2)
    reports = actions(csms16).count("StatusNotification")
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=0))
    assert answer.status == "Rejected"
    await asyncio.sleep(0.2)
    assert actions(csms16).count("StatusNotification") == reports  # no connector went Preparing


async def test_TC_028_CS_remote_stop_of_an_unknown_transaction_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    tx_id = await start_charging(csms16, station16)
    answer = await csms16.call(STATION_ID, call.RemoteStopTransaction(transaction_id=tx_id + 100))
    assert answer.status == "Rejected"
    await asyncio.sleep(0.2)
    assert "StopTransaction" not in actions(csms16)  # the running transaction goes on


# --- reset -------------------------------------------------------------------------------------------


async def test_TC_013_CS_hard_reset_without_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.Reset(type="Hard"))
    assert answer.status == "Accepted"
    assert await station16.wait_exit() is Exit.RESET
    await station16.start()  # what the CLI's re-exec does
    await csms16.wait_for("BootNotification", timeout=10)
    assert (await csms16.wait_for("StatusNotification", timeout=5))["status"] == "Available"
    csms16.assert_no_failures()


async def test_TC_014_CS_soft_reset_without_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.Reset(type="Soft"))
    assert answer.status == "Accepted"
    assert await station16.wait_exit() is Exit.RESET
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    csms16.assert_no_failures()


async def test_TC_015_CS_hard_reset_with_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 section 5.14: on a hard reset running transactions are stopped with reason HardReset first."""
    tx_id = await start_charging(csms16, station16)
    assert (await csms16.call(STATION_ID, call.Reset(type="Hard"))).status == "Accepted"
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "HardReset")
    assert await station16.wait_exit() is Exit.RESET
    assert not station16.d.board.contactor(1).is_closed
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    csms16.assert_transactions_complete()  # the restart does not send the StopTransaction again


async def test_TC_016_CS_soft_reset_with_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 section 5.14: a soft reset stops running transactions gracefully, reason SoftReset."""
    tx_id = await start_charging(csms16, station16)
    assert (await csms16.call(STATION_ID, call.Reset(type="Soft"))).status == "Accepted"
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "SoftReset")
    assert await station16.wait_exit() is Exit.RESET
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    csms16.assert_transactions_complete()


# --- unlock ------------------------------------------------------------------------------------------


async def test_TC_017_1_CS_unlock_connector_no_charging_session(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))
    assert answer.status == "Unlocked"
    assert not station16.d.board.snapshot(1)["locked"]


async def test_TC_018_1_CS_unlock_connector_with_charging_session(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """1.6 section 5.18: a transaction on the connector is stopped (reason UnlockCommand), then it unlocks."""
    tx_id = await start_charging(csms16, station16)
    assert station16.d.board.snapshot(1)["locked"]  # the plug is held while charging: the unlock is real
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))
    assert answer.status == "Unlocked"
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "UnlockCommand")
    assert not station16.d.board.snapshot(1)["locked"]
    csms16.assert_transactions_complete()


async def test_TC_031_CS_unlock_connector_unknown_connector(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=7))
    assert answer.status == "NotSupported"


# --- availability ------------------------------------------------------------------------------------


async def test_change_availability_of_a_connector(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=1, type="Operative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)


async def test_change_availability_of_the_charge_point(csms16: DevCsms16, make_station16: Factory) -> None:
    """connectorId 0 is the whole Charge Point: it and every connector become Unavailable."""
    await make_station16(evses=2)
    await csms16.wait_for("BootNotification", timeout=10)
    csms16.skip("StatusNotification")
    await asyncio.sleep(0.3)
    csms16.skip("StatusNotification")
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert answer.status == "Accepted"
    for connector in (0, 1, 2):
        await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable", connector), timeout=5)


async def test_change_availability_scheduled_while_charging(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 section 5.2: a connector with a transaction answers Scheduled and goes Unavailable after it."""
    await start_charging(csms16, station16)
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=1, type="Inoperative"))
    assert answer.status == "Scheduled"
    await asyncio.sleep(0.2)
    assert station16.d.board.contactor(1).is_closed  # the transaction goes on
    station16.d.board.unplug(1)
    await csms16.wait_for("StopTransaction", timeout=5)
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


# --- cache, data transfer, trigger -------------------------------------------------------------------


async def test_TC_061_2_CS_clear_authorization_cache_remote(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert (await csms16.call(STATION_ID, call.ClearCache())).status == "Accepted"


async def test_TC_062_CS_data_transfer_unknown_vendor(csms16: DevCsms16, station16: StationUnderTest) -> None:
    answer = await csms16.call(STATION_ID, call.DataTransfer(vendor_id="com.example.nobody", message_id="x"))
    assert answer.status == "UnknownVendorId"


async def test_TC_054_CS_trigger_message_each_core_message(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """1.6 section 5.17: Accepted, and the requested message follows (MeterValues of connector 1, the
    StatusNotification of the connector asked for)."""
    csms16.skip()
    for requested in ("BootNotification", "Heartbeat"):
        answer = await csms16.call(STATION_ID, call.TriggerMessage(requested_message=requested))
        assert answer.status == "Accepted"
        await csms16.wait_for(requested, timeout=5)
    answer = await csms16.call(STATION_ID, call.TriggerMessage(requested_message="StatusNotification", connector_id=1))
    assert answer.status == "Accepted"
    assert (await csms16.wait_for("StatusNotification", timeout=5))["connectorId"] == 1
    answer = await csms16.call(STATION_ID, call.TriggerMessage(requested_message="MeterValues", connector_id=1))
    assert answer.status == "Accepted"
    meter = await csms16.wait_for("MeterValues", timeout=5)
    assert meter["connectorId"] == 1 and meter["meterValue"]
    assert {v.get("context") for mv in meter["meterValue"] for v in mv["sampledValue"]} == {"Trigger"}
    csms16.assert_no_failures()


async def test_TC_055_CS_trigger_message_rejected_for_an_unknown_connector(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    answer = await csms16.call(STATION_ID, call.TriggerMessage(requested_message="StatusNotification", connector_id=9))
    assert answer.status == "Rejected"


# --- malformed CALLs ---------------------------------------------------------------------------------


async def call_raw(csms16: DevCsms16, text: str) -> list[object]:
    """Send one hand-written CALL and return the station's answer to it (its own CALLs are skipped)."""
    unique_id = json.loads(text)[1]
    await csms16.send_raw(STATION_ID, text)
    while True:
        answer = json.loads(await csms16.next_raw(STATION_ID))
        if isinstance(answer, list) and answer[0] in (3, 4) and answer[1] == unique_id:
            return answer


async def test_malformed_calls_answered_with_1_6_callerror_codes(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """OCPP-J 1.6 section 4.2.3: the 1.6 spellings (FormationViolation, OccurenceConstraintViolation)."""
    missing = await call_raw(csms16, '[2,"m1","Reset",{}]')
    assert missing[:3] == [4, "m1", "OccurenceConstraintViolation"]
    wrong_type = await call_raw(csms16, '[2,"m2","UnlockConnector",{"connectorId":"one"}]')
    assert wrong_type[:3] == [4, "m2", "TypeConstraintViolation"]
    bad_value = await call_raw(csms16, '[2,"m3","Reset",{"type":"Warm"}]')
    assert bad_value[:3] == [4, "m3", "PropertyConstraintViolation"]
    unknown = await call_raw(csms16, '[2,"m4","NoSuchAction",{}]')
    assert unknown[:3] == [4, "m4", "NotImplemented"]
    not_an_object = await call_raw(csms16, '[2,"m5","Reset",[]]')
    assert not_an_object[:3] == [4, "m5", "FormationViolation"]
    # and the connection still serves a well-formed CALL
    assert (await csms16.call(STATION_ID, call.ClearCache())).status == "Accepted"


async def test_TC_023_5_CS_start_remote_charging_session_authorize_invalid(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests true and an idTag the Central System answers Invalid: no transaction."""
    assert await configure(csms16, "AuthorizeRemoteTxRequests", "true") == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag="0BADCAFE", connector_id=1))
    assert answer.status == "Accepted"
    assert (await csms16.wait_for("Authorize", timeout=5))["idTag"] == "0BADCAFE"
    await asyncio.sleep(0.3)
    assert "StartTransaction" not in actions(csms16)
    assert not station16.d.board.contactor(1).is_closed


async def test_TC_030_CS_unlock_connector_unlock_failure(csms16: DevCsms16, station16: StationUnderTest) -> None:
    station16.d.board.raise_fault(1, "unlock_failure")
    answer = await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))
    assert answer.status == "UnlockFailed"


async def test_TC_034_CS_power_failure_with_unavailable_status(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """ChangeAvailability of connectorId 0 to Inoperative persists: after a power cycle the Charge Point
    and its connector report Unavailable again."""
    answer = await csms16.call(STATION_ID, call.ChangeAvailability(connector_id=0, type="Inoperative"))
    assert answer.status == "Accepted"
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable", 0), timeout=5)
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    await station16.stop()  # the power goes
    before = len(csms16.received("StatusNotification"))
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    await csms16.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    await asyncio.sleep(0.3)
    # A report whose answer the power cut short may come again: at least once, and never Available.
    reported = {(p["connectorId"], p["status"]) for p in csms16.received("StatusNotification")[before:]}
    assert reported == {(0, "Unavailable"), (1, "Unavailable")}


async def test_TC_007_2_CS_remote_start_charging_session_cached_id(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """AuthorizeRemoteTxRequests true with LocalPreAuthorize and the cache: a cached idTag in a
    RemoteStartTransaction starts at once, without an Authorize.req (1.6 section 5.11)."""
    for key in ("AuthorizationCacheEnabled", "LocalPreAuthorize", "AuthorizeRemoteTxRequests"):
        assert await configure(csms16, key, "true") == "Accepted"
    await start_charging(csms16, station16)  # the card's Accepted lands in the cache
    station16.d.board.unplug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert actions(csms16).count("Authorize") == 1
    answer = await csms16.call(STATION_ID, call.RemoteStartTransaction(id_tag=TAG, connector_id=1))
    assert answer.status == "Accepted"
    station16.d.board.plug(1)
    station16.d.board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    assert actions(csms16).count("StartTransaction") == 2
    assert actions(csms16).count("Authorize") == 1


async def test_power_loss_during_a_transaction_is_stopped_with_power_loss_after_reboot(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """No back-up power: the transaction the power cut short is stopped once the Charge Point is back,
    reason PowerLoss, exactly once (OCTT TC_032 describes both ways; this station has no back-up source)."""
    tx_id = await start_charging(csms16, station16)
    await station16.stop()  # the power goes: nothing is sent on the way down
    station16.d.board.unplug(1)
    await station16.start()
    await csms16.wait_for("BootNotification", timeout=10)
    stop = await csms16.wait_for("StopTransaction", timeout=10)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "PowerLoss")
    csms16.assert_transactions_complete()

"""OCPP 1.6 Core profile, OCTT Charge Point cases on the wire: boot, charging sessions, configuration keys.

The real daemon with the simulated board speaks 1.6J to the 1.6 dev CSMS, whose `ocpp` library checks every
frame the station sends against the official 1.6 schemas (`assert_no_failures`) and keeps the record of the
transactionIds it handed out (`assert_transactions_complete`). Configuration keys are set the way a Central
System sets them, with ChangeConfiguration. CSMS-initiated Core messages: test_v16_core_commands.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.integration.conftest import STATION_ID, Factory, StationUnderTest

TAG = "AABBCCDD"


def status_is(status: str, connector: int = 1) -> Any:
    def match(p: dict[str, Any]) -> bool:
        return bool(p["connectorId"] == connector and p["status"] == status)

    return match


async def configure(csms16: DevCsms16, key: str, value: str) -> str:
    """ChangeConfiguration as the Central System sends it; returns the station's status."""
    answer = await csms16.call(STATION_ID, call.ChangeConfiguration(key=key, value=value))
    return str(answer.status)


async def start_charging(csms16: DevCsms16, sut: StationUnderTest, connector: int = 1) -> int:
    """Plug, present the card, draw power: returns the transactionId the Central System handed out."""
    board = sut.d.board
    board.plug(connector)
    board.swipe(connector, TAG)
    board.set_ev_state(connector, "C")
    board.set_power(connector, 7000)
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["connectorId"] == connector
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging", connector), timeout=5)
    return max(tx_id for tx_id, record in csms16.transactions16.items() if record.start is not None)


def actions(csms16: DevCsms16) -> list[str]:
    """The CALLs the station sent, in order."""
    return [f.action for f in csms16.log if f.direction.value == "<-" and f.message_type == 2 and f.action]


# --- boot --------------------------------------------------------------------------------------------


async def test_TC_001_CS_cold_boot_rejected_then_accepted(csms16: DevCsms16, make_station16: Factory) -> None:
    """1.6 section 4.2: a Rejected Charge Point sends nothing but BootNotification, again after `interval`;
    once Accepted it reports connector 0 and every connector (Available), then sends Heartbeat."""
    csms16.boot_status, csms16.boot_interval = "Rejected", 1
    await make_station16(evses=2)
    first = await csms16.wait_for("BootNotification", timeout=10)
    assert (first["chargePointVendor"], first["chargePointModel"]) == ("TestVendor", "TestModel")
    csms16.boot_status = "Accepted"
    await csms16.wait_for("BootNotification", timeout=10)
    assert actions(csms16)[:2] == ["BootNotification", "BootNotification"]  # nothing else while Rejected
    reported = {}
    for _ in range(3):
        status = await csms16.wait_for("StatusNotification", timeout=5)
        reported[status["connectorId"]] = (status["status"], status["errorCode"])
    assert reported == {0: ("Available", "NoError"), 1: ("Available", "NoError"), 2: ("Available", "NoError")}
    await csms16.wait_for("Heartbeat", timeout=10)  # the interval of the Accepted answer is the heartbeat's
    csms16.assert_no_failures()


async def test_TC_002_CS_cold_boot_pending_is_configured_then_accepted(
    csms16: DevCsms16, make_station16: Factory
) -> None:
    """1.6 section 4.2: while Pending the Charge Point answers GetConfiguration and ChangeConfiguration and
    boots again after `interval`; no StatusNotification before it is Accepted."""
    csms16.boot_status, csms16.boot_interval = "Pending", 1
    await make_station16()
    await csms16.wait_for("BootNotification", timeout=10)
    got = await csms16.call(STATION_ID, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert [entry["key"] for entry in got.configuration_key] == ["HeartbeatInterval"]
    assert await configure(csms16, "MeterValueSampleInterval", "30") == "Accepted"
    assert "StatusNotification" not in actions(csms16)
    csms16.boot_status = "Accepted"
    await csms16.wait_for("BootNotification", timeout=10)
    assert (await csms16.wait_for("StatusNotification", timeout=5))["status"] == "Available"
    got = await csms16.call(STATION_ID, call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert got.configuration_key[0]["value"] == "30"  # the value set while Pending holds
    csms16.assert_no_failures()


async def test_heartbeat_at_the_interval_of_the_boot_answer(csms16: DevCsms16, make_station16: Factory) -> None:
    """1.6 section 4.6: Heartbeat every `interval` of BootNotification.conf; HeartbeatInterval reads it back."""
    csms16.boot_interval = 1
    await make_station16()
    await csms16.wait_for("BootNotification", timeout=10)
    await csms16.wait_for("Heartbeat", timeout=10)
    await csms16.wait_for("Heartbeat", timeout=10)
    got = await csms16.call(STATION_ID, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert got.configuration_key[0]["value"] == "1"
    csms16.assert_no_failures()


# --- charging sessions -------------------------------------------------------------------------------


async def test_TC_003_CS_regular_charging_session_plugin_first(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Plug -> Preparing; card -> Authorize Accepted; StartTransaction; Charging; MeterValues quote the
    Central System's transactionId; unplug -> StopTransaction (EVDisconnected, meterStop) and Available."""
    board = station16.d.board
    board.plug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    board.swipe(1, TAG)
    assert (await csms16.wait_for("Authorize", timeout=5))["idTag"] == TAG
    board.set_ev_state(1, "C")
    board.set_power(1, 7000)
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (1, TAG, 0)
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    tx_id = next(iter(csms16.transactions16))
    meter = await csms16.wait_for("MeterValues", timeout=10)
    assert (meter["connectorId"], meter["transactionId"]) == (1, tx_id)
    board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "EVDisconnected")
    assert stop["meterStop"] >= start["meterStart"]
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_004_1_CS_TC_068_CS_identification_first_stopped_by_the_same_idtag(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Card first: Authorize, Preparing; plug: StartTransaction Accepted, Charging; a card stop gives
    StopTransaction with reason Local and the idTag, then Finishing while the cable is in (TC_068_CS)."""
    board = station16.d.board
    board.swipe(1, TAG)
    assert (await csms16.wait_for("Authorize", timeout=5))["idTag"] == TAG
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    assert "StartTransaction" not in actions(csms16)  # no transaction before the cable is in
    board.plug(1)
    board.set_ev_state(1, "C")
    start = await csms16.wait_for("StartTransaction", timeout=5)
    assert start["idTag"] == TAG
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    board.swipe(1, TAG)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["reason"], stop.get("idTag")) == ("Local", TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Finishing"), timeout=5)
    board.unplug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_004_2_CS_identification_first_connection_timeout(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """ConnectionTimeOut: authorized but never plugged, the connector goes back to Available and no
    transaction starts."""
    assert await configure(csms16, "ConnectionTimeOut", "1") == "Accepted"
    station16.d.board.swipe(1, TAG)
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=10)
    assert "StartTransaction" not in actions(csms16)
    csms16.assert_no_failures()


async def test_TC_005_1_CS_ev_side_disconnect_stops_the_transaction(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """StopTransactionOnEVSideDisconnect and UnlockConnectorOnEVSideDisconnect true: unplugging at the EV
    ends the transaction (EVDisconnected) and leaves the connector unlocked."""
    assert await configure(csms16, "StopTransactionOnEVSideDisconnect", "true") == "Accepted"
    assert await configure(csms16, "UnlockConnectorOnEVSideDisconnect", "true") == "Accepted"
    tx_id = await start_charging(csms16, station16)
    station16.d.board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "EVDisconnected")
    await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert not station16.d.board.snapshot(1)["locked"]
    csms16.assert_transactions_complete()


async def test_TC_005_3_CS_ev_side_disconnect_suspends_without_stop(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """StopTransactionOnEVSideDisconnect false: the transaction is suspended, not ended, when the EV unplugs
    (1.6 section 9.1.37); no StopTransaction until the driver stops it."""
    assert await configure(csms16, "StopTransactionOnEVSideDisconnect", "false") == "Accepted"
    assert await configure(csms16, "UnlockConnectorOnEVSideDisconnect", "false") == "Accepted"
    await start_charging(csms16, station16)
    station16.d.board.unplug(1)
    await csms16.wait_for("StatusNotification", predicate=status_is("SuspendedEV"), timeout=5)
    await asyncio.sleep(0.3)
    assert "StopTransaction" not in actions(csms16)
    station16.d.board.plug(1)  # the EV comes back: the same transaction charges again
    station16.d.board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Charging"), timeout=5)
    assert actions(csms16).count("StartTransaction") == 1
    station16.d.board.swipe(1, TAG)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert stop["reason"] == "Local"
    csms16.assert_transactions_complete()


async def test_TC_023_4_CS_start_local_charging_session_authorize_invalid(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """An idTag the Central System answers Invalid starts no transaction and closes no contactor."""
    board = station16.d.board
    board.swipe(1, "0BADCAFE")
    assert (await csms16.wait_for("Authorize", timeout=5))["idTag"] == "0BADCAFE"
    board.plug(1)
    board.set_ev_state(1, "C")
    await csms16.wait_for("StatusNotification", predicate=status_is("Preparing"), timeout=5)
    await asyncio.sleep(0.3)
    assert "StartTransaction" not in actions(csms16)
    assert not board.contactor(1).is_closed


async def test_stop_transaction_on_invalid_id_ends_the_transaction_deauthorized(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """StopTransactionOnInvalidId true and StartTransaction.conf idTagInfo Invalid (the Central System's
    verdict changed after Authorize): the Charge Point stops the transaction with reason DeAuthorized."""
    assert await configure(csms16, "StopTransactionOnInvalidId", "true") == "Accepted"
    csms16.respond("StartTransaction", {"transactionId": 7001, "idTagInfo": {"status": "Invalid"}})
    board = station16.d.board
    board.plug(1)
    board.swipe(1, TAG)
    board.set_ev_state(1, "C")
    await csms16.wait_for("StartTransaction", timeout=5)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (7001, "DeAuthorized")
    await asyncio.sleep(0.2)
    assert not board.contactor(1).is_closed
    csms16.assert_transactions_complete()


async def test_stop_transaction_on_invalid_id_false_holds_power_back(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """StopTransactionOnInvalidId false, MaxEnergyOnInvalidId 0: the transaction goes on, without power
    (SuspendedEVSE), and no StopTransaction is sent."""
    assert await configure(csms16, "StopTransactionOnInvalidId", "false") == "Accepted"
    assert await configure(csms16, "MaxEnergyOnInvalidId", "0") == "Accepted"
    csms16.respond("StartTransaction", {"transactionId": 7002, "idTagInfo": {"status": "Invalid"}})
    board = station16.d.board
    board.plug(1)
    board.swipe(1, TAG)
    board.set_ev_state(1, "C")
    await csms16.wait_for("StartTransaction", timeout=5)
    await csms16.wait_for("StatusNotification", predicate=status_is("SuspendedEVSE"), timeout=5)
    assert "StopTransaction" not in actions(csms16)
    assert not board.contactor(1).is_closed


async def test_TC_070_CS_sampled_meter_values_at_meter_value_sample_interval(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """MeterValueSampleInterval and MeterValuesSampledData: periodic MeterValues of the transaction carry
    the configured measurand with context Sample.Periodic and the Central System's transactionId."""
    assert await configure(csms16, "MeterValueSampleInterval", "1") == "Accepted"
    assert await configure(csms16, "MeterValuesSampledData", "Energy.Active.Import.Register") == "Accepted"
    tx_id = await start_charging(csms16, station16)
    for _ in range(2):
        meter = await csms16.wait_for("MeterValues", predicate=lambda p: "transactionId" in p, timeout=10)
        assert meter["transactionId"] == tx_id
        values = [v for mv in meter["meterValue"] for v in mv["sampledValue"]]
        periodic = [v for v in values if v.get("context") == "Sample.Periodic"]
        assert periodic and {v["measurand"] for v in periodic} == {"Energy.Active.Import.Register"}
    csms16.assert_no_failures()


# --- configuration keys ------------------------------------------------------------------------------


async def test_TC_019_CS_retrieve_configuration(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """GetConfiguration without keys lists the Core keys the station has; unknown keys come back unknown."""
    everything = await csms16.call(STATION_ID, call.GetConfiguration())
    keys = {entry["key"]: entry for entry in everything.configuration_key}
    for key in ("HeartbeatInterval", "MeterValueSampleInterval", "ConnectionTimeOut", "NumberOfConnectors"):
        assert key in keys
    assert keys["NumberOfConnectors"]["readonly"] is True and keys["NumberOfConnectors"]["value"] == "1"
    some = await csms16.call(STATION_ID, call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]))
    assert [entry["key"] for entry in some.configuration_key] == ["HeartbeatInterval"]
    assert some.unknown_key == ["NoSuchKey"]
    csms16.assert_no_failures()


async def test_TC_021_CS_change_configuration(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await configure(csms16, "MeterValueSampleInterval", "45") == "Accepted"
    got = await csms16.call(STATION_ID, call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert got.configuration_key[0]["value"] == "45"


async def test_TC_040_1_CS_configuration_key_not_supported(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await configure(csms16, "NoSuchKey", "1") == "NotSupported"


async def test_TC_040_2_CS_configuration_key_invalid_value(csms16: DevCsms16, station16: StationUnderTest) -> None:
    assert await configure(csms16, "MeterValueSampleInterval", "-1") == "Rejected"
    assert await configure(csms16, "NumberOfConnectors", "3") == "Rejected"  # read-only
    got = await csms16.call(STATION_ID, call.GetConfiguration(key=["MeterValueSampleInterval"]))
    assert got.configuration_key[0]["value"] != "-1"


async def test_TC_005_2_CS_ev_side_disconnect_stops_but_keeps_the_lock(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """StopTransactionOnEVSideDisconnect true, UnlockConnectorOnEVSideDisconnect false: the transaction ends
    (EVDisconnected) and the connector stays locked until it is unlocked on purpose."""
    assert await configure(csms16, "StopTransactionOnEVSideDisconnect", "true") == "Accepted"
    assert await configure(csms16, "UnlockConnectorOnEVSideDisconnect", "false") == "Accepted"
    tx_id = await start_charging(csms16, station16)
    station16.d.board.unplug(1)
    stop = await csms16.wait_for("StopTransaction", timeout=5)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "EVDisconnected")
    await asyncio.sleep(0.3)
    assert station16.d.board.snapshot(1)["locked"]
    assert (await csms16.call(STATION_ID, call.UnlockConnector(connector_id=1))).status == "Unlocked"
    assert not station16.d.board.snapshot(1)["locked"]


async def test_TC_007_1_CS_TC_061_2_CS_cached_id_then_cleared_cache(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """LocalPreAuthorize with the Authorization Cache: an idTag accepted once starts the next session without
    an Authorize.req; after ClearCache it is asked for again (1.6 sections 3.5.1, 5.4)."""
    assert await configure(csms16, "AuthorizationCacheEnabled", "true") == "Accepted"
    assert await configure(csms16, "LocalPreAuthorize", "true") == "Accepted"
    board = station16.d.board

    async def session() -> None:
        await start_charging(csms16, station16)
        board.unplug(1)
        await csms16.wait_for("StopTransaction", timeout=5)
        await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)

    await session()
    assert actions(csms16).count("Authorize") == 1
    await session()
    assert actions(csms16).count("Authorize") == 1  # the cached idTag started it at once
    assert (await csms16.call(STATION_ID, call.ClearCache())).status == "Accepted"
    await session()
    assert actions(csms16).count("Authorize") == 2
    csms16.assert_transactions_complete()


async def test_TC_036_CS_connection_loss_during_transaction(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """The connection drops while charging; the transaction goes on and its StopTransaction, queued while
    offline, reaches the Central System with its transactionId once the Charge Point is back."""
    tx_id = await start_charging(csms16, station16)
    await csms16.disconnect(STATION_ID, abort=True)
    station16.d.board.swipe(1, TAG)  # stopped while the Central System cannot hear it
    await csms16.wait_connected(STATION_ID, timeout=15)
    stop = await csms16.wait_for("StopTransaction", timeout=15)
    assert (stop["transactionId"], stop["reason"]) == (tx_id, "Local")
    csms16.assert_transactions_complete()
    csms16.assert_no_failures()


async def test_TC_041_CS_fault_behavior(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """A fault on the connector: StatusNotification Faulted with the 1.6 errorCode, Available once cleared."""
    station16.d.board.raise_fault(1, "rcd_trip")
    faulted = await csms16.wait_for("StatusNotification", predicate=status_is("Faulted"), timeout=5)
    assert faulted["errorCode"] == "GroundFailure"
    station16.d.board.clear_fault(1, "rcd_trip")
    available = await csms16.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    assert available["errorCode"] == "NoError"
    csms16.assert_no_failures()


async def test_TC_071_CS_clock_aligned_meter_values(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """ClockAlignedDataInterval and MeterValuesAlignedData: MeterValues with context Sample.Clock."""
    assert await configure(csms16, "MeterValuesAlignedData", "Energy.Active.Import.Register") == "Accepted"
    assert await configure(csms16, "ClockAlignedDataInterval", "1") == "Accepted"

    def aligned(p: dict[str, Any]) -> bool:
        return any(v.get("context") == "Sample.Clock" for mv in p["meterValue"] for v in mv["sampledValue"])

    meter = await csms16.wait_for("MeterValues", predicate=aligned, timeout=10)
    assert meter["connectorId"] in (0, 1)
    values = [v for mv in meter["meterValue"] for v in mv["sampledValue"]]
    assert {v["measurand"] for v in values} == {"Energy.Active.Import.Register"}
    csms16.assert_no_failures()

"""Blocks G (availability), B11/B12 (reset), F06 (trigger), P01 (data transfer) over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest


def status_is(status: str, evse_id: int = 1) -> Any:
    return lambda p: p["connectorStatus"] == status and p["evseId"] == evse_id


async def start_charging(csms: DevCsms, sut: StationUnderTest, evse_id: int = 1) -> str:
    sut.d.board.plug(evse_id)
    sut.d.board.swipe(evse_id, "AABBCCDD")
    started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=5)
    sut.d.board.set_ev_state(evse_id, "C")
    return str(started["transactionInfo"]["transactionId"])


async def test_TC_G_01_CS_and_TC_G_02_CS_available_occupied_available(csms: DevCsms, station: StationUnderTest) -> None:
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)
    station.d.board.unplug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)


async def test_TC_G_03_CS_and_TC_G_04_CS_evse_inoperative_and_back(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    assert result.status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    station.d.board.plug(1)
    await asyncio.sleep(0.5)
    assert station.d.station.evses[1].state.tx is None  # an inoperative EVSE starts nothing
    station.d.board.unplug(1)
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Operative", evse={"id": 1}))
    assert result.status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)


async def test_TC_G_05_CS_and_TC_G_06_CS_station_inoperative_and_back(csms: DevCsms, make_station: Any) -> None:
    sut = await make_station(evses=2)
    await csms.wait_for("BootNotification", timeout=10)
    csms.skip("StatusNotification")
    await asyncio.sleep(0.3)
    csms.skip("StatusNotification")
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative"))
    assert result.status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable", 1), timeout=5)
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable", 2), timeout=5)
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Operative"))
    assert result.status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available", 2), timeout=5)
    assert sut.d.station.evses[2].state.operative


async def test_TC_G_07_CS_connector_inoperative(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(
        STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1, "connector_id": 1})
    )
    assert result.status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


async def test_TC_G_09_CS_operative_to_operative_is_accepted_without_status_change(
    csms: DevCsms, station: StationUnderTest
) -> None:
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Operative", evse={"id": 1}))
    assert result.status == "Accepted"
    await asyncio.sleep(0.3)
    assert csms.received("StatusNotification")[1:] == []


async def test_unknown_evse_in_change_availability_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 9}))
    assert result.status == "Rejected"


async def test_TC_G_11_CS_evse_inoperative_with_transaction_is_scheduled(
    csms: DevCsms, station: StationUnderTest
) -> None:
    await start_charging(csms, station)
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    assert result.status == "Scheduled"
    assert station.d.station.evses[1].state.contactor_closed  # the running session is not cut
    station.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


async def test_TC_G_18_CS_evse_inoperative_persists_across_reboot(csms: DevCsms, make_station: Any) -> None:
    sut = await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    result = await csms.call(STATION_ID, call.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
    assert result.status == "Accepted"
    # The outbox delivers in order: once Unavailable is in, nothing of the first boot is left to arrive late
    # (the boot's Available sits behind its StartupOfTheDevice security event).
    await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Unavailable", timeout=5)
    await sut.stop()
    csms.skip("StatusNotification")
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)
    status = await csms.wait_for("StatusNotification", timeout=5)
    assert status["connectorStatus"] == "Unavailable"


async def test_TC_B_20_CS_reset_on_idle_without_transaction_reboots(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.Reset(type="OnIdle"))
    assert result.status == "Accepted"
    assert await station.wait_exit() is Exit.RESET
    await station.start()  # what the CLI's re-exec does
    boot = await csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "RemoteReset"


async def test_TC_B_21_CS_reset_on_idle_waits_for_the_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    await start_charging(csms, station)
    result = await csms.call(STATION_ID, call.Reset(type="OnIdle"))
    assert result.status == "Scheduled"
    await asyncio.sleep(0.5)
    assert station.task is not None and not station.task.done()
    station.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    assert ended["transactionInfo"]["stoppedReason"] == "EVDisconnected"
    assert await station.wait_exit() is Exit.RESET
    await station.start()
    assert (await csms.wait_for("BootNotification", timeout=10))["reason"] == "RemoteReset"
    csms.assert_no_failures()


async def test_TC_B_22_CS_reset_immediate_ends_the_transaction_first(csms: DevCsms, station: StationUnderTest) -> None:
    tx_id = await start_charging(csms, station)
    result = await csms.call(STATION_ID, call.Reset(type="Immediate"))
    assert result.status == "Accepted"
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    assert ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    assert ended["triggerReason"] == "ResetCommand"
    assert await station.wait_exit() is Exit.RESET
    assert not station.d.board.contactor(1).is_closed


async def test_TC_B_28_CS_reset_of_one_evse_not_supported(csms: DevCsms, make_station: Any) -> None:
    """B11.FR.10: a board whose EVSE does not announce AllowReset rejects a Reset of that EVSE alone."""
    sut = await make_station(device_model={"EVSE[1].AllowReset": False})
    await csms.wait_for("StatusNotification", timeout=10)
    result = await csms.call(STATION_ID, call.Reset(type="Immediate", evse_id=1))
    assert result.status == "Rejected"
    await asyncio.sleep(0.3)
    assert csms.received("StatusNotification")[1:] == []  # nothing was reset
    assert sut.task is not None and not sut.task.done()


async def test_TC_F_20_CS_trigger_heartbeat(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="Heartbeat"))
    assert result.status == "Accepted"
    await csms.wait_for("Heartbeat", timeout=5)


async def test_TC_F_23_CS_and_TC_F_24_CS_trigger_status_notification(csms: DevCsms, station: StationUnderTest) -> None:
    trigger = call.TriggerMessage(requested_message="StatusNotification", evse={"id": 1, "connector_id": 1})
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Occupied"), timeout=5)


async def test_TC_F_11_CS_trigger_meter_values_specific_evse(csms: DevCsms, station: StationUnderTest) -> None:
    await asyncio.sleep(1.2)  # one meter sample taken
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="MeterValues", evse={"id": 1}))
    assert result.status == "Accepted"
    values = await csms.wait_for("MeterValues", timeout=5)
    assert values["evseId"] == 1
    sampled = values["meterValue"][0]["sampledValue"]
    assert all(s["context"] == "Trigger" for s in sampled)
    assert "Energy.Active.Import.Register" in {s["measurand"] for s in sampled}


async def test_TC_F_13_CS_trigger_transaction_event(csms: DevCsms, station: StationUnderTest) -> None:
    tx_id = await start_charging(csms, station)
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="TransactionEvent", evse={"id": 1}))
    assert result.status == "Accepted"
    event = await csms.wait_for("TransactionEvent", predicate=lambda p: p["triggerReason"] == "Trigger", timeout=5)
    assert event["eventType"] == "Updated" and event["transactionInfo"]["transactionId"] == tx_id


async def test_TC_F_15_CS_and_TC_F_18_CS_trigger_log_and_firmware_status_idle(
    csms: DevCsms, station: StationUnderTest
) -> None:
    for what, action in (
        ("LogStatusNotification", "LogStatusNotification"),
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ):
        assert (await csms.call(STATION_ID, call.TriggerMessage(requested_message=what))).status == "Accepted"
        assert (await csms.wait_for(action, timeout=5))["status"] == "Idle"


async def test_TC_F_27_CS_trigger_message_not_implemented(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignV2GCertificate"))
    assert result.status == "NotImplemented"


async def test_TC_P_01_CS_data_transfer_unknown_vendor(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.DataTransfer(vendor_id="com.unknown", message_id="x", data={"a": 1}))
    assert result.status == "UnknownVendorId"


async def test_E_charging_session_reports_started_updated_ended_with_energy(
    csms: DevCsms, station: StationUnderTest
) -> None:
    tx_id = await start_charging(csms, station)
    await asyncio.sleep(2.5)
    station.d.board.unplug(1)
    ended = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    events = [p for p in csms.received("TransactionEvent") if p["transactionInfo"]["transactionId"] == tx_id]
    assert [p["seqNo"] for p in events] == list(range(len(events)))  # gapless
    assert events[0]["eventType"] == "Started" and events[0]["evse"] == {"id": 1, "connectorId": 1}
    begin = events[0]["meterValue"][0]["sampledValue"][0]["value"]
    end = ended["meterValue"][0]["sampledValue"][0]["value"]
    assert end > begin  # energy flowed while charging
    assert not station.d.board.contactor(1).is_closed


async def change(csms: DevCsms, status: str, evse: dict[str, int] | None = None) -> str:
    request = (
        call.ChangeAvailability(operational_status=status, evse=evse)
        if evse
        else call.ChangeAvailability(operational_status=status)
    )
    return str((await csms.call(STATION_ID, request)).status)


async def test_TC_G_08_CS_connector_back_to_operative(csms: DevCsms, station: StationUnderTest) -> None:
    assert await change(csms, "Inoperative", {"id": 1, "connector_id": 1}) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)
    assert await change(csms, "Operative", {"id": 1, "connector_id": 1}) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status_is("Available"), timeout=5)


async def test_TC_G_10_CS_TC_G_13_CS_TC_G_16_CS_inoperative_to_inoperative(
    csms: DevCsms, station: StationUnderTest
) -> None:
    for target in ({"id": 1}, None, {"id": 1, "connector_id": 1}):
        assert await change(csms, "Inoperative", target) == "Accepted"
        assert await change(csms, "Inoperative", target) == "Accepted"
    await asyncio.sleep(0.3)
    unavailable = [p for p in csms.received("StatusNotification") if p["connectorStatus"] == "Unavailable"]
    assert len(unavailable) == 1  # repeating a state changes nothing and reports nothing new


async def test_TC_G_12_CS_and_TC_G_15_CS_operative_to_operative(csms: DevCsms, station: StationUnderTest) -> None:
    assert await change(csms, "Operative") == "Accepted"
    assert await change(csms, "Operative", {"id": 1, "connector_id": 1}) == "Accepted"
    await asyncio.sleep(0.3)
    assert len(csms.received("StatusNotification")) == 1  # only the boot report


async def test_TC_G_14_CS_station_inoperative_with_transaction_is_scheduled(
    csms: DevCsms, station: StationUnderTest
) -> None:
    await start_charging(csms, station)
    assert await change(csms, "Inoperative") == "Scheduled"
    assert station.d.station.evses[1].state.contactor_closed
    station.d.board.unplug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


async def test_TC_G_17_CS_connector_inoperative_with_transaction_is_scheduled(
    csms: DevCsms, station: StationUnderTest
) -> None:
    await start_charging(csms, station)
    assert await change(csms, "Inoperative", {"id": 1, "connector_id": 1}) == "Scheduled"
    station.d.board.unplug(1)
    await csms.wait_for("StatusNotification", predicate=status_is("Unavailable"), timeout=5)


async def restart_and_first_status(csms: DevCsms, sut: StationUnderTest) -> str:
    await sut.stop()
    csms.skip("StatusNotification")
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)
    return str((await csms.wait_for("StatusNotification", timeout=5))["connectorStatus"])


async def test_TC_G_19_CS_connector_inoperative_persists_across_reboot(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert await change(csms, "Inoperative", {"id": 1, "connector_id": 1}) == "Accepted"
    assert await restart_and_first_status(csms, station) == "Unavailable"


async def test_TC_G_21_CS_station_inoperative_persists_across_reboot(csms: DevCsms, station: StationUnderTest) -> None:
    assert await change(csms, "Inoperative") == "Accepted"
    assert await restart_and_first_status(csms, station) == "Unavailable"


async def test_TC_B_23_CS_unavailable_persists_reset(csms: DevCsms, station: StationUnderTest) -> None:
    assert await change(csms, "Inoperative", {"id": 1}) == "Accepted"
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
    assert await station.wait_exit() is Exit.RESET
    csms.skip("StatusNotification")
    await station.start()
    boot = await csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "RemoteReset"
    assert (await csms.wait_for("StatusNotification", timeout=5))["connectorStatus"] == "Unavailable"


async def test_TC_B_29_CS_reset_of_one_evse_with_transaction_not_supported(csms: DevCsms, make_station: Any) -> None:
    """B11.FR.10: without AllowReset on the EVSE, a Reset of it is Rejected and its transaction goes on."""
    sut = await make_station(device_model={"EVSE[1].AllowReset": False})
    await csms.wait_for("StatusNotification", timeout=10)
    await start_charging(csms, sut)
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate", evse_id=1))).status == "Rejected"
    await asyncio.sleep(0.3)
    assert sut.d.station.evses[1].state.tx is not None  # nothing was stopped
    assert sut.d.board.contactor(1).is_closed

"""OCTT block F, TriggerMessage (F06): Accepted (or the right refusal) and then the requested message,
for one EVSE or every EVSE."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import STATION_ID, charging, status, tx, until
from tests.integration.conftest import StationUnderTest


async def trigger(csms: DevCsms, what: str, evse: dict[str, int] | None = None) -> str:
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message=what, evse=evse))
    answer: str = result.status
    return answer


async def two_evses(csms: DevCsms, make_station: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=2)
    await csms.wait_for("StatusNotification", predicate=status("Available", 2), timeout=10)
    return sut


async def sampled(station: StationUnderTest, *evse_ids: int) -> None:
    """Wait for the first meter sample of each EVSE: a triggered reading needs something to report."""
    runtimes = station.d.station.evses
    await until(lambda: all(runtimes[i].reading is not None for i in evse_ids), "a meter sample")


def trigger_context(values: list[dict[str, Any]]) -> set[str]:
    return {s.get("context", "Sample.Periodic") for mv in values for s in mv["sampledValue"]}


async def test_TC_F_11_CS_trigger_meter_values_specific_evse(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.02/04/05/06: MeterValues for EVSE 1: Accepted, then MeterValues of EVSE 1, context Trigger,
    the energy register included."""
    await sampled(station, 1)
    assert await trigger(csms, "MeterValues", {"id": 1}) == "Accepted"
    values = await csms.wait_for("MeterValues", timeout=5)
    assert values["evseId"] == 1
    assert trigger_context(values["meterValue"]) == {"Trigger"}
    measurands = {s.get("measurand") for mv in values["meterValue"] for s in mv["sampledValue"]}
    assert "Energy.Active.Import.Register" in measurands
    csms.assert_no_failures()


async def test_TC_F_12_CS_trigger_meter_values_all_evse(csms: DevCsms, make_station: Any) -> None:
    """F06.FR.04/05/06/11: MeterValues without evse: one MeterValues per EVSE, context Trigger."""
    sut = await two_evses(csms, make_station)
    await sampled(sut, 1, 2)
    assert await trigger(csms, "MeterValues") == "Accepted"
    first = await csms.wait_for("MeterValues", timeout=5)
    second = await csms.wait_for("MeterValues", timeout=5)
    assert {first["evseId"], second["evseId"]} == {1, 2}
    assert trigger_context(first["meterValue"] + second["meterValue"]) == {"Trigger"}
    csms.assert_no_failures()


async def test_TC_F_13_CS_trigger_transaction_event_specific_evse(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.02/04/05/07: TransactionEvent for EVSE 1 while charging: an Updated with triggerReason
    Trigger, chargingState Charging, meter values in context Trigger; evse omitted or 1."""
    tx_id = await charging(csms, station)
    await sampled(station, 1)
    assert await trigger(csms, "TransactionEvent", {"id": 1}) == "Accepted"
    event = await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Trigger"), timeout=5)
    assert event["transactionInfo"]["transactionId"] == tx_id
    assert event["transactionInfo"]["chargingState"] == "Charging"
    assert event.get("evse", {"id": 1})["id"] == 1
    assert event["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    csms.assert_no_failures()


async def test_TC_F_14_CS_trigger_transaction_event_all_evse(csms: DevCsms, make_station: Any) -> None:
    """F06.FR.04/05/07/11: TransactionEvent without evse, both EVSEs charging: one Updated (Trigger,
    Charging, meter values in context Trigger) per EVSE, each naming its evse.id."""
    sut = await two_evses(csms, make_station)
    tx_ids = {await charging(csms, sut, evse_id=1): 1, await charging(csms, sut, evse_id=2): 2}
    await sampled(sut, 1, 2)
    assert await trigger(csms, "TransactionEvent") == "Accepted"
    events = [
        await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="Trigger"), timeout=5)
        for _ in range(2)
    ]
    for event in events:
        evse_id = tx_ids[event["transactionInfo"]["transactionId"]]
        assert event["evse"]["id"] == evse_id
        assert event["transactionInfo"]["chargingState"] == "Charging"
        assert event["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 2
    csms.assert_no_failures()


async def test_TC_F_15_CS_trigger_log_status_notification_idle(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.04/05/15: LogStatusNotification while no log is being uploaded: Idle, without requestId."""
    assert await trigger(csms, "LogStatusNotification") == "Accepted"
    notification = await csms.wait_for("LogStatusNotification", timeout=5)
    assert notification["status"] == "Idle" and "requestId" not in notification
    csms.assert_no_failures()


async def test_TC_F_17_CS_trigger_firmware_status_specific_evse_not_relevant(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """F06: FirmwareStatusNotification is not about an EVSE; an evse in the request is ignored:
    Accepted and the station-wide FirmwareStatusNotification (Idle)."""
    assert await trigger(csms, "FirmwareStatusNotification", {"id": 1}) == "Accepted"
    assert (await csms.wait_for("FirmwareStatusNotification", timeout=5))["status"] == "Idle"
    csms.assert_no_failures()


async def test_TC_F_18_CS_trigger_firmware_status_notification_idle(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.04/05/16, L01.FR.25: FirmwareStatusNotification while no firmware is downloading: Idle,
    without requestId."""
    assert await trigger(csms, "FirmwareStatusNotification") == "Accepted"
    notification = await csms.wait_for("FirmwareStatusNotification", timeout=5)
    assert notification["status"] == "Idle" and "requestId" not in notification
    csms.assert_no_failures()


async def test_TC_F_20_CS_trigger_heartbeat(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.04/05: Heartbeat: Accepted, then a Heartbeat long before the 300 s interval is due."""
    csms.skip("Heartbeat")
    assert await trigger(csms, "Heartbeat") == "Accepted"
    assert await csms.wait_for("Heartbeat", timeout=5) == {}
    csms.assert_no_failures()


async def test_TC_F_23_CS_trigger_status_notification_specific_evse_available(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """F06.FR.02/04/05/10: StatusNotification for EVSE 1 connector 1, nothing plugged: Available."""
    assert await trigger(csms, "StatusNotification", {"id": 1, "connector_id": 1}) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status("Available"), timeout=5)
    csms.assert_no_failures()


async def test_TC_F_24_CS_trigger_status_notification_specific_evse_occupied(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """F06.FR.02/04/05/10: StatusNotification for EVSE 1 connector 1 with an EV plugged
    (EVConnectedPreSession): Occupied."""
    station.d.board.plug(1)
    await csms.wait_for("StatusNotification", predicate=status("Occupied"), timeout=5)
    assert await trigger(csms, "StatusNotification", {"id": 1, "connector_id": 1}) == "Accepted"
    await csms.wait_for("StatusNotification", predicate=status("Occupied"), timeout=5)
    csms.assert_no_failures()


async def test_TC_F_26_CS_trigger_boot_notification_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.17: BootNotification after the boot was Accepted: Rejected, and no BootNotification."""
    boots = len(csms.received("BootNotification"))
    assert await trigger(csms, "BootNotification") == "Rejected"
    assert await trigger(csms, "Heartbeat") == "Accepted"  # a later message shows nothing came before it
    await csms.wait_for("Heartbeat", timeout=5)
    assert len(csms.received("BootNotification")) == boots
    csms.assert_no_failures()


async def test_TC_F_27_CS_trigger_message_not_implemented(csms: DevCsms, station: StationUnderTest) -> None:
    """F06.FR.08: a message this station cannot trigger (it has no ISO 15118 certificate to renew):
    NotImplemented, and nothing is sent."""
    assert await trigger(csms, "SignV2GCertificate") == "NotImplemented"
    assert csms.received("SignCertificate") == []
    csms.assert_no_failures()

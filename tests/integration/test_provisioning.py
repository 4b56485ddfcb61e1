"""Block B (provisioning) against the dev CSMS over real loopback websockets: boot, heartbeat, connection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ocpp.v201 import call

from evse.devcsms.frames import Direction
from evse.devcsms.server import DevCsms
from evse.ocpp.v201 import schemas
from tests.integration.conftest import STATION_ID, StationUnderTest


async def test_TC_B_01_CS_cold_boot_accepted(csms: DevCsms, make_station: Any) -> None:
    csms.boot_interval = 1
    await make_station()
    boot = await csms.wait_for("BootNotification", timeout=10)
    assert boot["reason"] == "PowerUp"
    assert boot["chargingStation"] == {
        "vendorName": "TestVendor",
        "model": "TestModel",
        "serialNumber": "S1",
    }
    status = await csms.wait_for("StatusNotification", timeout=5)
    assert (status["evseId"], status["connectorId"], status["connectorStatus"]) == (1, 1, "Available")
    # The interval the CSMS gave becomes the heartbeat interval.
    await csms.wait_for("Heartbeat", timeout=4)
    assert csms.connections[0].subprotocol == "ocpp2.0.1"
    csms.assert_no_failures()


async def test_TC_B_02_CS_cold_boot_pending(csms: DevCsms, make_station: Any) -> None:
    csms.boot_status = "Pending"
    csms.boot_interval = 1
    await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    # While pending the CSMS may configure the station (B02.FR.05) ...
    result = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
        ),
    )
    assert result.get_variable_result[0]["attribute_status"] == "Accepted"
    # ... and the station retries the boot after the interval, sending nothing else meanwhile.
    await csms.wait_for("BootNotification", timeout=5)
    assert csms.received("StatusNotification") == []
    csms.boot_status = "Accepted"
    await csms.wait_for("BootNotification", timeout=5)
    await csms.wait_for("StatusNotification", timeout=5)
    csms.assert_no_failures()


async def test_TC_B_03_CS_cold_boot_rejected(csms: DevCsms, make_station: Any) -> None:
    csms.boot_status = "Rejected"
    csms.boot_interval = 2
    await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("BootNotification", timeout=6)
    first, second = [f for f in csms.log if f.action == "BootNotification" and f.direction is Direction.RECEIVED][:2]
    assert second.monotonic - first.monotonic >= 1.9  # waited the interval the CSMS gave
    assert {f.action for f in csms.log if f.direction is Direction.RECEIVED and f.message_type == 2} == {
        "BootNotification"
    }


async def test_TC_F_26_CS_trigger_boot_after_accepted_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="BootNotification"))
    assert result.status == "Rejected"


async def test_B02_trigger_boot_while_pending_boots_at_once(csms: DevCsms, make_station: Any) -> None:
    csms.boot_status = "Pending"
    csms.boot_interval = 300
    await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    csms.boot_status = "Accepted"
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="BootNotification"))
    assert result.status == "Accepted"
    boot = await csms.wait_for("BootNotification", timeout=5)
    assert boot["reason"] == "Triggered"
    await csms.wait_for("StatusNotification", timeout=5)


async def test_security_profile_1_sends_basic_auth_with_station_id(csms: DevCsms, station: StationUnderTest) -> None:
    assert csms.connections[0].username == STATION_ID
    assert csms.connections[0].path.endswith(f"/ocpp/{STATION_ID}")


async def test_wrong_password_is_refused_and_retried(csms: DevCsms, make_station: Any) -> None:
    assert csms.basic_auth is not None
    csms.basic_auth[STATION_ID] = "another-password-01"
    await make_station()
    await asyncio.sleep(2.5)
    assert len(csms.auth_attempts) >= 2  # refused (401), backed off, tried again
    assert csms.received("BootNotification") == []


async def test_station_refuses_csms_that_selects_no_subprotocol(make_station: Any) -> None:
    async with DevCsms(select_subprotocol=False) as bare:
        sut: StationUnderTest = await make_station(start=False)
        sut.settings = sut.settings.model_copy(
            update={"csms": sut.settings.csms.model_copy(update={"url": f"ws://127.0.0.1:{bare.port}/ocpp"})}
        )
        await sut.start()
        await asyncio.sleep(1.5)
        assert len(bare.connections) >= 1
        assert bare.received("BootNotification") == []


async def test_TC_B_57_CS_reconnect_after_connection_loss(csms: DevCsms, station: StationUnderTest) -> None:
    await csms.disconnect(STATION_ID)
    await asyncio.sleep(0.2)
    await csms.wait_connected(STATION_ID, timeout=10)
    assert len(csms.connections) == 2
    await asyncio.sleep(0.5)
    # Registration survives a reconnect: no second BootNotification in the same power cycle.
    assert len(csms.received("BootNotification")) == 1


async def test_malformed_frames_get_the_specified_callerror_over_the_websocket(
    csms: DevCsms, station: StationUnderTest
) -> None:
    cases = [
        ("this is not json", "-1", "RpcFrameworkError"),
        ('[2,"m1","Reset"]', "m1", "RpcFrameworkError"),
        ('[9,"m2","Reset",{}]', "m2", "MessageTypeNotSupported"),
        ('[2,"m3","FlyToTheMoon",{}]', "m3", "NotImplemented"),
        ('[2,"m4","PublishFirmware",{}]', "m4", "NotSupported"),
        ('[2,"m5","Reset",{"type":42}]', "m5", "TypeConstraintViolation"),
        ('[2,"m6","Reset",{}]', "m6", "OccurrenceConstraintViolation"),
        ('[2,"m7","Reset",{"type":"Later"}]', "m7", "PropertyConstraintViolation"),
        ('[2,"m8","Reset",{"type":"OnIdle","x":1}]', "m8", "FormatViolation"),
    ]
    for text, message_id, code in cases:
        await csms.send_raw(STATION_ID, text)
        answer = json.loads(await csms.next_raw(STATION_ID, timeout=5))
        while answer[0] == 2:  # the station's own CALLs (heartbeat, status) may interleave
            answer = json.loads(await csms.next_raw(STATION_ID, timeout=5))
        assert answer[:3] == [4, message_id, code], text
    # ... and the station still works afterwards.
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="Heartbeat"))
    assert result.status == "Accepted"


async def test_every_message_the_station_sent_passes_the_official_schemas(
    csms: DevCsms, station: StationUnderTest
) -> None:
    board = station.d.board
    board.plug(1)
    board.swipe(1, "AABBCCDD")
    await csms.wait_for("TransactionEvent", timeout=5)
    board.set_ev_state(1, "C")
    for what in ("Heartbeat", "MeterValues", "TransactionEvent", "LogStatusNotification", "FirmwareStatusNotification"):
        assert (await csms.call(STATION_ID, call.TriggerMessage(requested_message=what))).status == "Accepted"
    await csms.call(STATION_ID, call.GetBaseReport(request_id=7, report_base="SummaryInventory"))
    await csms.wait_for("NotifyReport", timeout=5)
    board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended", timeout=5)
    sent = [f for f in csms.log if f.direction is Direction.RECEIVED and f.message_type == 2]
    actions = {f.action for f in sent}
    assert {"BootNotification", "StatusNotification", "Authorize", "TransactionEvent", "Heartbeat", "MeterValues",
            "LogStatusNotification", "FirmwareStatusNotification", "NotifyReport"} <= actions  # fmt: skip
    for frame in sent:
        schemas.validate_request(frame.action, frame.payload)  # raises on any violation
    csms.assert_no_failures()

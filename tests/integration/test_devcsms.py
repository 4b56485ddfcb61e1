"""The development CSMS against a bare websockets client speaking raw OCPP-J frames.

No station code is involved: these tests pin down the test double itself, so a failing station
test can be trusted to be the station's fault.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.exceptions import InternalError as OcppInternalError
from ocpp.exceptions import NotImplementedError as OcppNotImplemented
from ocpp.v201 import call, call_result, datatypes
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from evse.devcsms import (
    DevCsms,
    Direction,
    InvalidStationMessage,
    MessageType,
    StationDisconnected,
    station_id_from_path,
)

BOOT = {
    "chargingStation": {"model": "DevBoard", "vendorName": "Open EVSE"},
    "reason": "PowerUp",
}


def status_notification(connector_status: str, evse_id: int = 1) -> dict[str, Any]:
    return {
        "timestamp": "2024-01-01T00:00:00.000Z",
        "connectorStatus": connector_status,
        "evseId": evse_id,
        "connectorId": 1,
    }


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def rpc(ws: ClientConnection, action: str, payload: dict[str, Any]) -> list[Any]:
    """Send one CALL and return the frame that answers it (CALLRESULT or CALLERROR)."""
    unique_id = str(uuid.uuid4())
    await ws.send(json.dumps([2, unique_id, action, payload]))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[1] == unique_id and frame[0] in (3, 4):
                return list(frame)


@pytest.fixture
async def csms() -> AsyncIterator[DevCsms]:
    async with DevCsms(tokens={"AABBCCDD", "04A2B3C4D5E6F7"}, boot_interval=60) as server:
        yield server


@pytest.fixture
async def station(csms: DevCsms) -> AsyncIterator[ClientConnection]:
    async with connect(f"{csms.url}/CS001", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
        await csms.wait_connected("CS001")
        yield ws


def test_station_id_is_the_last_path_segment() -> None:
    assert station_id_from_path("/ocpp/CS001") == "CS001"
    assert station_id_from_path("/a/b/CS%3A01/?x=1") == "CS:01"
    assert station_id_from_path("/") == ""


async def test_selects_ocpp201_when_offered(csms: DevCsms) -> None:
    offered = ["ocpp1.6", "ocpp2.0.1"]
    async with connect(f"{csms.url}/CS001", subprotocols=offered) as ws:  # type: ignore[arg-type]
        assert ws.subprotocol == "ocpp2.0.1"
        await csms.wait_connected("CS001")
    record = csms.connections[-1]
    assert (record.station, record.subprotocol, record.path) == ("CS001", "ocpp2.0.1", "/ocpp/CS001")
    assert record.offered_subprotocols == ("ocpp1.6", "ocpp2.0.1")


async def test_closes_a_client_that_offers_no_ocpp201(csms: DevCsms) -> None:
    async with connect(f"{csms.url}/CS001") as ws:
        assert ws.subprotocol is None
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1002
    assert not csms.connected("CS001")
    assert any("subprotocol" in failure for failure in csms.failures)


async def test_can_accept_without_selecting_a_subprotocol() -> None:
    async with DevCsms(select_subprotocol=False) as csms:
        url = f"{csms.url}/CS001"
        async with connect(url, subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol is None
            await csms.wait_connected("CS001")
            # Still a working CSMS: the station, not the CSMS, must refuse to continue.
            assert (await rpc(ws, "Heartbeat", {}))[0] == 3


async def test_basic_auth_refuses_bad_credentials_with_401() -> None:
    async with DevCsms(basic_auth={"CS001": "s3cret-password"}) as csms:
        for headers in ({}, basic("CS001", "wrong"), basic("CS002", "s3cret-password")):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(
                    f"{csms.url}/CS001",
                    subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                    additional_headers=headers,
                ):
                    pass
            assert refused.value.response.status_code == 401
        assert not csms.connected("CS001")
        assert [(a.username, a.accepted) for a in csms.auth_attempts] == [
            (None, False),
            ("CS001", False),
            ("CS002", False),
        ]

        async with connect(
            f"{csms.url}/CS001",
            subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
            additional_headers=basic("CS001", "s3cret-password"),
        ):
            await csms.wait_connected("CS001")
        assert csms.auth_attempts[-1].accepted
        assert csms.connections[-1].username == "CS001"


async def test_boot_notification_accepted_with_interval_then_scripted(csms: DevCsms, station: ClientConnection) -> None:
    kind, _, payload = await rpc(station, "BootNotification", BOOT)
    assert kind == 3
    assert payload["status"] == "Accepted"
    assert payload["interval"] == 60
    assert payload["currentTime"].endswith("Z")

    csms.boot_status = "Pending"
    csms.boot_interval = 5
    _, _, payload = await rpc(station, "BootNotification", BOOT)
    assert (payload["status"], payload["interval"]) == ("Pending", 5)
    assert (await csms.wait_for("BootNotification"))["reason"] == "PowerUp"


async def test_rejected_station_may_only_boot(csms: DevCsms, station: ClientConnection) -> None:
    csms.boot_status = "Rejected"
    assert (await rpc(station, "BootNotification", BOOT))[2]["status"] == "Rejected"
    answer = await rpc(station, "Heartbeat", {})
    assert answer[0] == 4 and answer[2] == "SecurityError"


async def test_heartbeat_answers_current_time(csms: DevCsms, station: ClientConnection) -> None:
    kind, _, payload = await rpc(station, "Heartbeat", {})
    assert kind == 3 and payload["currentTime"].endswith("Z")


async def test_authorize_checks_the_token_list(csms: DevCsms, station: ClientConnection) -> None:
    async def authorize(token: str) -> str:
        answer = await rpc(station, "Authorize", {"idToken": {"idToken": token, "type": "ISO14443"}})
        return str(answer[2]["idTokenInfo"]["status"])

    assert await authorize("AABBCCDD") == "Accepted"
    assert await authorize("FFFFFFFF") == "Invalid"

    csms.tokens.add("FFFFFFFF")
    assert await authorize("FFFFFFFF") == "Accepted"

    csms.respond("Authorize", lambda payload: {"idTokenInfo": {"status": "Blocked"}})
    assert await authorize("AABBCCDD") == "Blocked"
    csms.respond(
        "Authorize",
        call_result.Authorize(id_token_info=datatypes.IdTokenInfoType(status="Expired")),
    )
    assert await authorize("AABBCCDD") == "Expired"
    csms.respond("Authorize", None)
    assert await authorize("AABBCCDD") == "Accepted"


async def test_transaction_event_carries_id_token_info(csms: DevCsms, station: ClientConnection) -> None:
    event = {
        "eventType": "Started",
        "timestamp": "2024-01-01T00:00:00.000Z",
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1"},
        "idToken": {"idToken": "04A2B3C4D5E6F7", "type": "ISO14443"},
    }
    assert (await rpc(station, "TransactionEvent", event))[2] == {"idTokenInfo": {"status": "Accepted"}}
    event["idToken"] = {"idToken": "00000000", "type": "ISO14443"}
    assert (await rpc(station, "TransactionEvent", event))[2]["idTokenInfo"]["status"] == "Invalid"
    del event["idToken"]
    assert (await rpc(station, "TransactionEvent", event))[2] == {}


async def test_notifications_are_acknowledged(csms: DevCsms, station: ClientConnection) -> None:
    answer = await rpc(
        station, "SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": "2024-01-01T00:00:00Z"}
    )
    assert answer[0] == 3 and answer[2] == {}
    answer = await rpc(station, "DataTransfer", {"vendorId": "org.example"})
    assert answer[2] == {"status": "UnknownVendorId"}
    csms.assert_no_failures()


async def test_wait_for_hands_out_each_message_once(csms: DevCsms, station: ClientConnection) -> None:
    for status in ("Available", "Occupied", "Available"):
        await rpc(station, "StatusNotification", status_notification(status))

    assert (await csms.wait_for("StatusNotification"))["connectorStatus"] == "Available"
    assert (await csms.wait_for("StatusNotification", station="CS001"))["connectorStatus"] == "Occupied"
    assert (await csms.wait_for("StatusNotification"))["connectorStatus"] == "Available"
    with pytest.raises(TimeoutError, match=r"(?s)no unconsumed StatusNotification.*StatusNotification \(consumed\)"):
        await csms.wait_for("StatusNotification", timeout=0.1)

    # A wait that starts before the message arrives returns once the CSMS has answered it.
    waiter = asyncio.create_task(
        csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Faulted")
    )
    await rpc(station, "StatusNotification", status_notification("Unavailable"))
    await rpc(station, "StatusNotification", status_notification("Faulted"))
    assert (await waiter)["connectorStatus"] == "Faulted"
    # The Unavailable one was skipped by the predicate, not consumed.
    assert (await csms.wait_for("StatusNotification"))["connectorStatus"] == "Unavailable"
    assert len(csms.received("StatusNotification")) == 5


async def test_invalid_station_message_is_a_failure(csms: DevCsms, station: ClientConnection) -> None:
    answer = await rpc(station, "BootNotification", {"reason": "PowerUp"})
    assert answer[0] == 4
    assert csms.failures
    with pytest.raises(InvalidStationMessage, match="BootNotification"):
        await csms.wait_for("BootNotification")
    with pytest.raises(AssertionError):
        csms.assert_no_failures()


async def test_log_records_every_frame_in_order(csms: DevCsms, station: ClientConnection) -> None:
    await rpc(station, "Heartbeat", {})
    received, sent = csms.log[-2:]
    assert (received.direction, received.message_type, received.action) == (
        Direction.RECEIVED,
        MessageType.CALL,
        "Heartbeat",
    )
    assert (sent.direction, sent.message_type, sent.action) == (Direction.SENT, MessageType.CALLRESULT, "Heartbeat")
    assert sent.unique_id == received.unique_id
    assert received.station == sent.station == "CS001"
    assert received.monotonic <= sent.monotonic


async def answer_get_variables(ws: ClientConnection) -> None:
    """A tiny station: answers GetVariables, refuses everything else with NotImplemented."""
    async for text in ws:
        kind, unique_id, action, payload = json.loads(text)
        assert kind == 2
        if action != "GetVariables":
            await ws.send(json.dumps([4, unique_id, "NotImplemented", "no", {}]))
            continue
        results = [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "42",
                "component": item["component"],
                "variable": item["variable"],
            }
            for item in payload["getVariableData"]
        ]
        await ws.send(json.dumps([3, unique_id, {"getVariableResult": results}]))


async def test_call_round_trips_to_the_station(csms: DevCsms, station: ClientConnection) -> None:
    responder = asyncio.create_task(answer_get_variables(station))
    try:
        result = await csms.call(
            "CS001",
            call.GetVariables(
                get_variable_data=[
                    datatypes.GetVariableDataType(
                        component=datatypes.ComponentType(name="OCPPCommCtrlr"),
                        variable=datatypes.VariableType(name="HeartbeatInterval"),
                    )
                ]
            ),
        )
        assert isinstance(result, call_result.GetVariables)
        assert result.get_variable_result[0]["attribute_value"] == "42"

        with pytest.raises(OcppNotImplemented):
            await csms.call("CS001", call.ClearCache())
        csms.assert_no_failures()
    finally:
        responder.cancel()


async def test_invalid_answer_to_a_call_is_a_failure(csms: DevCsms, station: ClientConnection) -> None:
    async def answer_badly() -> None:
        unique_id = json.loads(await station.recv())[1]
        await station.send(json.dumps([3, unique_id, {"status": "Maybe"}]))

    responder = asyncio.create_task(answer_badly())
    with pytest.raises(InvalidStationMessage, match="ClearCache"):
        await csms.call("CS001", call.ClearCache())
    await responder
    assert any("ClearCache" in failure for failure in csms.failures)


async def test_call_fails_fast_when_the_station_goes_away(csms: DevCsms, station: ClientConnection) -> None:
    pending = asyncio.create_task(csms.call("CS001", call.ClearCache(), timeout=10))
    await station.recv()
    await station.close()
    with pytest.raises(StationDisconnected):
        await asyncio.wait_for(pending, 5)


async def test_call_times_out(csms: DevCsms, station: ClientConnection) -> None:
    with pytest.raises(TimeoutError, match="CS001 did not answer ClearCache"):
        await csms.call("CS001", call.ClearCache(), timeout=0.1)


async def test_send_raw_and_read_the_reaction(csms: DevCsms, station: ClientConnection) -> None:
    await rpc(station, "Heartbeat", {})  # an earlier frame next_raw must not return
    await csms.send_raw("CS001", "[2, not json")
    assert await station.recv() == "[2, not json"
    reply = json.dumps([4, "-1", "RpcFrameworkError", "bad frame", {}])
    await station.send(reply)
    assert await csms.next_raw("CS001") == reply
    with pytest.raises(TimeoutError):
        await csms.next_raw("CS001", timeout=0.1)


async def test_disconnect_then_reconnect(csms: DevCsms, station: ClientConnection) -> None:
    await csms.disconnect("CS001")
    assert not csms.connected("CS001")
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(station.recv(), 5)

    async with connect(f"{csms.url}/CS001", subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
        await csms.wait_connected("CS001", timeout=5)
        assert csms.connected("CS001")
        assert len(csms.connections) == 2


async def test_scripted_callerror_is_not_a_station_failure(csms: DevCsms, station: ClientConnection) -> None:
    def refuse(payload: dict[str, Any]) -> None:
        raise OcppInternalError(details={"cause": "scripted"})

    csms.respond("Heartbeat", refuse)
    answer = await rpc(station, "Heartbeat", {})
    assert answer[0] == 4 and answer[2] == "InternalError"
    assert await csms.wait_for("Heartbeat") == {}
    csms.assert_no_failures()

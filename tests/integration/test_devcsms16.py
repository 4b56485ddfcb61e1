"""The OCPP 1.6J development CSMS against the `ocpp` library's 1.6 ChargePoint as the station.

No station code of ours is involved: these tests pin down the 1.6 test double itself, so that a failing
1.6 station test can be trusted to be the station's fault. The client side validates every answer the
CSMS gives against the library's copy of the official 1.6 schemas; a bare websocket client covers what
the library would refuse to send (invalid payloads) and the handshake (subprotocol, basic auth).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.exceptions import SecurityError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibraryChargePoint16
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as sync_connect

from evse.devcsms import STATION_ACTIONS_16, DevCsms16, InvalidStationMessage

STATION = "CS016"
NOW = "2026-01-01T12:00:00Z"
KNOWN_TAG = "AABBCCDD"


class Station16(LibraryChargePoint16):  # type: ignore[misc]  # the ocpp package ships no type hints
    """The Charge Point end: answers GetConfiguration from the Central System with one known key."""

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        known = [k for k in key or ["HeartbeatInterval"] if k == "HeartbeatInterval"]
        unknown = [k for k in key or [] if k != "HeartbeatInterval"]
        return call_result.GetConfiguration(
            configuration_key=[{"key": k, "readonly": False, "value": "300"} for k in known],
            unknown_key=unknown or None,
        )


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def rpc(ws: ClientConnection, action: str, payload: dict[str, Any]) -> list[Any]:
    """Send one raw CALL and return the frame that answers it (CALLRESULT or CALLERROR)."""
    unique_id = str(uuid.uuid4())
    await ws.send(json.dumps([2, unique_id, action, payload]))
    async with asyncio.timeout(5):
        while True:
            frame = json.loads(await ws.recv())
            if frame[1] == unique_id and frame[0] in (3, 4):
                return list(frame)


@pytest.fixture
async def csms() -> AsyncIterator[DevCsms16]:
    async with DevCsms16(tokens={KNOWN_TAG}, boot_interval=60) as server:
        yield server


@pytest.fixture
async def station(csms: DevCsms16) -> AsyncIterator[Station16]:
    """The library's 1.6 ChargePoint connected over loopback, its read loop running."""
    async with connect(f"{csms.url}/{STATION}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        client = Station16(STATION, ws)
        reader = asyncio.create_task(client.start())
        await csms.wait_connected(STATION)
        try:
            yield client
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await reader


@pytest.fixture
async def raw(csms: DevCsms16) -> AsyncIterator[ClientConnection]:
    """A bare websocket speaking ocpp1.6, for frames the library would not send."""
    async with connect(f"{csms.url}/{STATION}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        await csms.wait_connected(STATION)
        yield ws


async def test_selects_ocpp16_and_closes_a_client_that_offers_only_201(csms: DevCsms16) -> None:
    """OCPP-J 1.6 section 3.1: the Central System serves the ocpp1.6 subprotocol and nothing else."""
    async with connect(f"{csms.url}/{STATION}", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "ocpp1.6"
    async with connect(f"{csms.url}/CS201", subprotocols=["ocpp2.0.1"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol is None
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 1002
    assert any("offered no ocpp1.6 subprotocol" in failure for failure in csms.failures)


async def test_basic_auth_refuses_bad_credentials_with_401() -> None:
    """Security whitepaper profile 1: the username is the Charge Point id, a wrong password gets HTTP 401."""
    async with DevCsms16(basic_auth={STATION: "secret-0001"}) as csms:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"{csms.url}/{STATION}",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                additional_headers=basic(STATION, "wrong"),
            ):
                pass
        assert refused.value.response.status_code == 401
        async with connect(
            f"{csms.url}/{STATION}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers=basic(STATION, "secret-0001"),
        ) as ws:
            assert ws.subprotocol == "ocpp1.6"
        assert [a.accepted for a in csms.auth_attempts] == [False, True]


async def test_boot_accepted_with_interval_then_scripted_pending(csms: DevCsms16, station: Station16) -> None:
    boot = call.BootNotification(charge_point_vendor="Open EVSE", charge_point_model="Sim-1")
    first = await station.call(boot)
    assert (first.status, first.interval) == ("Accepted", 60)
    assert first.current_time.endswith("Z")
    csms.boot_status, csms.boot_interval = "Pending", 7
    second = await station.call(boot)
    assert (second.status, second.interval) == ("Pending", 7)
    payload = await csms.wait_for("BootNotification")
    assert payload == {"chargePointVendor": "Open EVSE", "chargePointModel": "Sim-1"}
    csms.assert_no_failures()


async def test_rejected_station_may_only_boot(csms: DevCsms16, raw: ClientConnection) -> None:
    """OCPP 1.6 section 4.2: a rejected Charge Point sends nothing but BootNotification; SecurityError otherwise."""
    csms.boot_status = "Rejected"
    await rpc(raw, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    answer = await rpc(raw, "Heartbeat", {})
    assert answer[0] == 4 and answer[2] == SecurityError.code


async def test_authorize_checks_the_idtag_list(csms: DevCsms16, station: Station16) -> None:
    known = await station.call(call.Authorize(id_tag=KNOWN_TAG))
    unknown = await station.call(call.Authorize(id_tag="NOTLISTED"))
    assert known.id_tag_info["status"] == "Accepted"
    assert unknown.id_tag_info["status"] == "Invalid"
    csms.tokens.add("NOTLISTED")
    assert (await station.call(call.Authorize(id_tag="NOTLISTED"))).id_tag_info["status"] == "Accepted"


async def test_start_stop_pairs_get_increasing_ids_and_are_recorded(csms: DevCsms16, station: Station16) -> None:
    """OCPP 1.6 section 6.46: the Central System assigns transactionId in StartTransaction.conf; the record
    holds each id's StartTransaction, MeterValues and StopTransaction."""
    ids = []
    for meter_start in (1000, 5000):
        started = await station.call(
            call.StartTransaction(connector_id=1, id_tag=KNOWN_TAG, meter_start=meter_start, timestamp=NOW)
        )
        assert started.id_tag_info["status"] == "Accepted"
        ids.append(started.transaction_id)
        await station.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[{"timestamp": NOW, "sampledValue": [{"value": str(meter_start + 10)}]}],
            )
        )
        stopped = await station.call(
            call.StopTransaction(
                transaction_id=started.transaction_id, meter_stop=meter_start + 700, timestamp=NOW, id_tag=KNOWN_TAG
            )
        )
        assert stopped.id_tag_info["status"] == "Accepted"
    assert ids[1] > ids[0]
    assert sorted(csms.transactions16) == ids
    first = csms.transactions16[ids[0]]
    assert (first.station, first.start["meterStart"], len(first.meter_values)) == (STATION, 1000, 1)
    assert first.stop is not None and first.stop["meterStop"] == 1700
    csms.assert_transactions_complete()
    csms.assert_no_failures()


async def test_transactions_record_catches_a_doubled_stop_and_a_stray_id(csms: DevCsms16, station: Station16) -> None:
    """What the kill soak relies on: a StopTransaction sent twice, or naming an id never handed out, fails."""
    started = await station.call(call.StartTransaction(connector_id=1, id_tag="UNKNOWN", meter_start=10, timestamp=NOW))
    assert started.id_tag_info["status"] == "Invalid"
    with pytest.raises(AssertionError, match="0 StopTransaction"):
        csms.assert_transactions_complete()
    stop = call.StopTransaction(transaction_id=started.transaction_id, meter_stop=20, timestamp=NOW)
    assert (await station.call(stop)).id_tag_info is None  # no idTag in the request, none in the answer
    csms.assert_transactions_complete()
    await station.call(stop)
    with pytest.raises(AssertionError, match="2 StopTransaction"):
        csms.assert_transactions_complete()
    await station.call(call.StopTransaction(transaction_id=424242, meter_stop=20, timestamp=NOW))
    with pytest.raises(AssertionError, match="unknown transactionId 424242"):
        csms.assert_transactions_complete()


async def test_a_scripted_transaction_id_is_recorded_and_later_ids_stay_above_it(
    csms: DevCsms16, station: Station16
) -> None:
    csms.respond("StartTransaction", {"transactionId": 5000, "idTagInfo": {"status": "Accepted"}})
    start = call.StartTransaction(connector_id=1, id_tag=KNOWN_TAG, meter_start=0, timestamp=NOW)
    assert (await station.call(start)).transaction_id == 5000
    csms.respond("StartTransaction", None)
    assert (await station.call(start)).transaction_id == 5001
    assert sorted(csms.transactions16) == [5000, 5001]


async def test_every_charge_point_request_has_a_valid_default_answer(csms: DevCsms16, raw: ClientConnection) -> None:
    """Each 1.6 Charge Point -> Central System action, security whitepaper ones included, gets a CALLRESULT
    the library built against the 1.6 response schema."""
    requests: dict[str, dict[str, Any]] = {
        "Authorize": {"idTag": KNOWN_TAG},
        "BootNotification": {"chargePointVendor": "Open EVSE", "chargePointModel": "Sim-1"},
        "DataTransfer": {"vendorId": "org.openevse"},
        "DiagnosticsStatusNotification": {"status": "Uploaded"},
        "FirmwareStatusNotification": {"status": "Installed"},
        "Heartbeat": {},
        "LogStatusNotification": {"status": "Uploaded", "requestId": 1},
        "MeterValues": {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "1"}]}]},
        "SecurityEventNotification": {"type": "StartupOfTheDevice", "timestamp": NOW},
        "SignCertificate": {"csr": "-----BEGIN CERTIFICATE REQUEST-----"},
        "SignedFirmwareStatusNotification": {"status": "SignatureVerified", "requestId": 2},
        "StartTransaction": {"connectorId": 1, "idTag": KNOWN_TAG, "meterStart": 0, "timestamp": NOW},
        "StatusNotification": {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        "StopTransaction": {"transactionId": 1001, "meterStop": 5, "timestamp": NOW},
    }
    assert sorted(requests) == sorted(STATION_ACTIONS_16)
    answers = {action: await rpc(raw, action, payload) for action, payload in requests.items()}
    assert all(frame[0] == 3 for frame in answers.values()), answers
    assert answers["DataTransfer"][2] == {"status": "UnknownVendorId"}
    assert answers["SignCertificate"][2] == {"status": "Accepted"}
    assert answers["StartTransaction"][2] == {"transactionId": 1001, "idTagInfo": {"status": "Accepted"}}
    assert answers["SecurityEventNotification"][2] == {}
    csms.assert_no_failures()


async def test_invalid_payload_gets_a_1_6_callerror_and_is_a_failure(csms: DevCsms16, raw: ClientConnection) -> None:
    """OCPP-J 1.6 section 4.2.3: the library rejects a payload violating the 1.6 schema; its 2.0.1 spelling
    FormatViolation goes out as 1.6's FormationViolation, and the journal records the station's fault."""
    extra_field = await rpc(raw, "Heartbeat", {"unexpected": 1})
    assert extra_field[0] == 4 and extra_field[2] == "FormationViolation"
    wrong_type = await rpc(
        raw, "StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Available"}
    )
    assert wrong_type[0] == 4 and wrong_type[2] == "TypeConstraintViolation"
    assert len(csms.failures) == 2 and "Heartbeat" in csms.failures[0]
    with pytest.raises(InvalidStationMessage):
        await csms.wait_for("Heartbeat")
    assert csms.log[-1].error_code == "TypeConstraintViolation"


async def test_call_from_the_csms_is_answered_by_the_station(csms: DevCsms16, station: Station16) -> None:
    """A Central System -> Charge Point CALL with an ocpp.v16.call payload returns the library's call_result."""
    answer = await csms.call(STATION, call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"]))
    assert answer.configuration_key == [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
    assert answer.unknown_key == ["NoSuchKey"]
    assert [frame.action for frame in csms.log[-2:]] == ["GetConfiguration", "GetConfiguration"]
    csms.assert_no_failures()


async def test_send_raw_next_raw_and_disconnect(csms: DevCsms16, raw: ClientConnection) -> None:
    await csms.send_raw(STATION, '[2,"x1","ClearCache",{}]')
    echoed = await raw.recv()
    await raw.send(json.dumps([3, "x1", {"status": "Accepted"}]))
    assert json.loads(await csms.next_raw(STATION)) == [3, "x1", {"status": "Accepted"}]
    assert json.loads(echoed)[2] == "ClearCache"
    await csms.disconnect(STATION)
    assert not csms.connected(STATION)


def test_evse_dev_csms_ocpp_16_serves_a_16_boot() -> None:
    """`evse dev-csms --ocpp 1.6`, as a developer runs it: it says which subprotocol it serves and answers a
    1.6 BootNotification (the 2.0.1 one it serves by default has no chargePointVendor)."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "evse", "dev-csms", "--ocpp", "1.6", "--port", "0"],
        cwd=root,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = ""
        for line in proc.stderr:
            if "listening on" in line:
                break
        listening = re.search(r"listening on ws://127\.0\.0\.1:(\d+)/ocpp/<stationId> \(ocpp1\.6\)", line)
        assert listening is not None, line
        url = f"ws://127.0.0.1:{listening.group(1)}/ocpp/{STATION}"
        with sync_connect(url, subprotocols=["ocpp1.6"], open_timeout=10) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "ocpp1.6"
            ws.send(json.dumps([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]))
            answer = json.loads(ws.recv(timeout=10))
        assert answer[:2] == [3, "b1"] and answer[2]["status"] == "Accepted"
    finally:
        proc.terminate()
        proc.wait(timeout=15)

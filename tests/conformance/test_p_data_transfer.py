"""Block P over the wire: DataTransfer answers (TC_P_01) and customData, which every OCPP 2.0.1 type may
carry with any vendor properties, received without harm (TC_P_03/04). Frames are sent raw so that the
customData reaches the station exactly as written here."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID, StationUnderTest

CUSTOM = {"vendorId": "com.example.octt", "note": "anything", "nested": {"level": [1, 2, {"deep": True}]}}


async def exchange(csms: DevCsms, unique_id: str, action: str, payload: dict[str, Any]) -> list[Any]:
    """Send one CALL as written and return the station's answer frame, parsed."""
    await csms.send_raw(STATION_ID, json.dumps([2, unique_id, action, payload]))
    answer: list[Any] = json.loads(await csms.next_raw(STATION_ID))
    assert answer[1] == unique_id
    return answer


async def test_TC_P_01_CS_data_transfer_unknown_vendor_and_message(csms: DevCsms, station: StationUnderTest) -> None:
    """P01: a DataTransfer for a vendor the station has no handler for is UnknownVendorId, whatever the
    messageId and data; the answer is a CALLRESULT, not a CALLERROR."""
    for message_id, data in (("x", {"a": 1}), (None, None), ("GetSomething", "text")):
        result = await csms.call(
            STATION_ID, call.DataTransfer(vendor_id="com.unknown.vendor", message_id=message_id, data=data)
        )
        assert result.status == "UnknownVendorId"
    csms.assert_no_failures()


async def test_TC_P_03_CS_receive_custom_data(csms: DevCsms, station: StationUnderTest) -> None:
    """The customData of a request and of its nested types (vendorId plus any properties) is accepted and
    ignored: each request is answered and acted on as without it."""
    get = {
        "customData": CUSTOM,
        "getVariableData": [
            {
                "customData": CUSTOM,
                "component": {"name": "OCPPCommCtrlr", "customData": CUSTOM},
                "variable": {"name": "HeartbeatInterval", "customData": CUSTOM},
            }
        ],
    }
    answer = await exchange(csms, "p03-get", "GetVariables", get)
    assert answer[0] == 3
    assert answer[2]["getVariableResult"][0]["attributeStatus"] == "Accepted"
    change = {"customData": CUSTOM, "operationalStatus": "Inoperative", "evse": {"id": 1, "customData": CUSTOM}}
    answer = await exchange(csms, "p03-change", "ChangeAvailability", change)
    assert (answer[0], answer[2]["status"]) == (3, "Accepted")
    status = await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Unavailable")
    assert status["evseId"] == 1
    answer = await exchange(csms, "p03-version", "GetLocalListVersion", {"customData": CUSTOM})
    assert answer[0] == 3 and answer[2]["versionNumber"] == 0
    csms.assert_no_failures()


async def test_TC_P_04_CS_receive_custom_data_in_a_charging_profile(csms: DevCsms, station: StationUnderTest) -> None:
    """A ChargingProfile with customData in the profile, its schedule and its period is received and
    applied; here as the TxProfile of a RequestStartTransaction: the remote start is Accepted and the 10 A
    limit of the period caps what the pilot offers."""
    profile = {
        "customData": CUSTOM,
        "id": 4,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {
                "customData": CUSTOM,
                "id": 1,
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"customData": CUSTOM, "startPeriod": 0, "limit": 10.0}],
            }
        ],
    }
    start = {
        "customData": CUSTOM,
        "evseId": 1,
        "remoteStartId": 44,
        "idToken": {"idToken": "AABBCCDD", "type": "ISO14443", "customData": CUSTOM},
        "chargingProfile": profile,
    }
    answer = await exchange(csms, "p04-start", "RequestStartTransaction", start)
    assert (answer[0], answer[2]["status"]) == (3, "Accepted")
    remote = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["transactionInfo"].get("remoteStartId") == 44
    )
    assert (remote["triggerReason"], remote["idToken"]["idToken"]) == ("RemoteStart", "AABBCCDD")
    station.d.board.plug(1)
    station.d.board.set_ev_state(1, "C")
    await asyncio.sleep(0.5)
    assert station.d.board.contactor(1).is_closed
    assert station.d.board.snapshot(1)["offered_current_a"] == 10
    csms.assert_no_failures()

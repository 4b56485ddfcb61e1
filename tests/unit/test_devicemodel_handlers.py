"""The device-model OCPP handlers through a real RpcSession (frames in, frames out, schema-checked)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201 import schemas
from evse.ocpp.v201.handlers.device_model import register

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1]), (2, [1, 2])])
Resp = TypeVar("Resp", bound=m.OcppResponse)


class FixedClock:
    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    def set_now(self, utc: datetime) -> None:
        raise AssertionError("not used")


class RecordingCsms:
    """Stands in for the connection: records (and schema-checks) every CALL the handlers send."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def call(self, request: m.OcppRequest, response_type: type[Resp]) -> Resp:
        payload = request.model_dump(mode="json", exclude_none=True)
        schemas.validate_request(request.ACTION, payload)
        self.calls.append(payload)
        return response_type.model_validate({})


class Station:
    def __init__(self, overrides: dict[str, object] | None = None) -> None:
        self.dm = DeviceModel(DEFINITIONS, overrides=overrides)
        self.csms = RecordingCsms()
        self.frames: list[list[Any]] = []
        router = Router()
        register(router, self.dm, self.csms, FixedClock())
        self.session = RpcSession(self._send, router, message_timeout=lambda: 1.0)

    async def _send(self, text: str) -> None:
        self.frames.append(json.loads(text))

    async def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Deliver one CALL from the CSMS and return the station's answer frame."""
        await self.session.handle_frame(json.dumps([2, "m1", action, payload]))
        await asyncio.sleep(0)
        await self.session.drain()
        [answer] = [frame for frame in self.frames if frame[1] == "m1"]
        return answer


async def test_get_and_set_variables_round_trip() -> None:
    station = Station()
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    answer = await station.call(
        "SetVariables",
        {
            "setVariableData": [
                {**heartbeat, "attributeValue": "45"},
                {**heartbeat, "attributeValue": "forty"},
                {
                    "component": {"name": "Connector", "evse": {"id": 2, "connectorId": 2}},
                    "variable": {"name": "ConnectorType"},
                    "attributeValue": "cCCS2",
                },
            ]
        },
    )
    assert answer[0] == 3
    results = answer[2]["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == ["Accepted", "Rejected", "Rejected"]
    assert results[1]["attributeStatusInfo"]["reasonCode"] == "InvalidValue"
    assert results[2]["attributeStatusInfo"]["reasonCode"] == "ReadOnly"
    assert results[2]["component"] == {"name": "Connector", "evse": {"id": 2, "connectorId": 2}}

    station.frames.clear()
    answer = await station.call(
        "GetVariables",
        {
            "getVariableData": [
                heartbeat,
                {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
                {**heartbeat, "attributeType": "Target"},
            ]
        },
    )
    results = answer[2]["getVariableResult"]
    assert results[0] == {**heartbeat, "attributeStatus": "Accepted", "attributeType": "Actual", "attributeValue": "45"}
    assert results[1]["attributeStatus"] == "Rejected" and "attributeValue" not in results[1]
    assert results[2]["attributeStatus"] == "NotSupportedAttributeType"


async def test_too_many_items_is_an_occurrence_constraint_violation() -> None:
    station = Station({"DeviceDataCtrlr.ItemsPerMessage[GetVariables]": 2})
    item = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    answer = await station.call("GetVariables", {"getVariableData": [item, item, item]})
    assert answer[:3] == [4, "m1", "OccurrenceConstraintViolation"]


async def test_too_many_bytes_is_a_format_violation() -> None:
    station = Station({"DeviceDataCtrlr.BytesPerMessage[SetVariables]": 100})
    item = {
        "component": {"name": "SecurityCtrlr"},
        "variable": {"name": "OrganizationName"},
        "attributeValue": "x" * 200,
    }
    answer = await station.call("SetVariables", {"setVariableData": [item]})
    assert answer[:3] == [4, "m1", "FormatViolation"]
    assert station.dm.get_str("SecurityCtrlr", "OrganizationName") == "EvseStack"


async def test_get_base_report_answers_then_sends_the_report_in_batches() -> None:
    station = Station({"DeviceDataCtrlr.ItemsPerMessage[GetReport]": 40})
    answer = await station.call("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
    assert answer == [3, "m1", {"status": "Accepted"}]
    calls = station.csms.calls
    assert len(calls) == -(-len(DEFINITIONS) // 40)
    assert [c["seqNo"] for c in calls] == list(range(len(calls)))
    assert [c["tbc"] for c in calls] == [True] * (len(calls) - 1) + [False]
    assert {c["requestId"] for c in calls} == {7}
    assert calls[0]["generatedAt"].startswith("2024-05-01T10:00:00")
    assert sum(len(c["reportData"]) for c in calls) == len(DEFINITIONS)
    password = next(d for c in calls for d in c["reportData"] if d["variable"]["name"] == "BasicAuthPassword")
    assert password["variableAttribute"] == [
        {"type": "Actual", "mutability": "WriteOnly", "persistent": True, "constant": False}
    ]


async def test_get_report_with_nothing_matching_is_an_empty_result_set_without_report() -> None:
    station = Station()
    answer = await station.call(
        "GetReport",
        {
            "requestId": 3,
            "componentCriteria": ["Problem"],
            "componentVariable": [{"component": {"name": "EVSE", "evse": {"id": 1}}}],
        },
    )
    assert answer == [3, "m1", {"status": "EmptyResultSet"}]
    assert station.csms.calls == []


async def test_get_report_for_a_component_variable_sends_one_notify_report() -> None:
    station = Station()
    answer = await station.call(
        "GetReport",
        {
            "requestId": 4,
            "componentVariable": [
                {"component": {"name": "EVSE"}, "variable": {"name": "AvailabilityState"}},
            ],
        },
    )
    assert answer[2] == {"status": "Accepted"}
    [notify] = station.csms.calls
    assert [d["component"] for d in notify["reportData"]] == [
        {"name": "EVSE", "evse": {"id": 1}},
        {"name": "EVSE", "evse": {"id": 2}},
    ]
    assert notify["reportData"][0]["variableCharacteristics"] == {
        "dataType": "OptionList",
        "supportsMonitoring": True,  # a Delta monitor may watch it (N04)
        "valuesList": "Available,Occupied,Reserved,Unavailable,Faulted",
    }

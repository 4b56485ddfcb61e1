"""The events part of the 2.0.1 wire (evse/ocpp/v201/wire/events.py): event reports, reservation updates
and messages sent at once, checked against the official schemas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from evse.ocpp.calls import OcppMessage
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201 import schemas
from evse.ocpp.v201.wire import Wire201
from evse.station.shell.wire_events import EventReport

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class RecordingSender:
    def __init__(self) -> None:
        self.calls: list[tuple[OcppMessage, type[Any]]] = []

    async def call(self, request: OcppMessage, response_type: type[Any]) -> Any:
        self.calls.append((request, response_type))
        return response_type()


def payload(message: OcppMessage) -> dict[str, Any]:
    body = message.model_dump(mode="json", exclude_none=True)
    schemas.validate_request(message.ACTION, body)
    return body


def test_a_monitor_event_says_every_field() -> None:
    event = EventReport(
        event_id=12,
        at=AT,
        trigger="Alerting",
        actual_value="7000",
        component="EVSE",
        variable="Power",
        notification="CustomMonitor",
        component_instance="main",
        evse_id=1,
        connector_id=2,
        variable_instance="Import",
        cleared=False,
        monitor_id=5,
        tech_code="UpperThreshold",
        tech_info="UpperThreshold severity 4 (monitor value 6000)",
        transaction_id="tx-1",
    )
    assert payload(Wire201(RecordingSender()).notify_event(AT, [event])) == {
        "generatedAt": "2025-03-01T12:00:00Z",
        "seqNo": 0,
        "tbc": False,
        "eventData": [
            {
                "eventId": 12,
                "timestamp": "2025-03-01T12:00:00Z",
                "trigger": "Alerting",
                "actualValue": "7000",
                "component": {"name": "EVSE", "instance": "main", "evse": {"id": 1, "connectorId": 2}},
                "eventNotificationType": "CustomMonitor",
                "variable": {"name": "Power", "instance": "Import"},
                "techCode": "UpperThreshold",
                "techInfo": "UpperThreshold severity 4 (monitor value 6000)",
                "cleared": False,
                "transactionId": "tx-1",
                "variableMonitoringId": 5,
            }
        ],
    }


def test_a_station_fault_names_no_evse_and_several_events_go_in_order() -> None:
    raised = EventReport(1, AT, "Delta", "true", "ChargingStation", "Problem", "HardWiredNotification", connector_id=1)
    cleared = EventReport(2, AT, "Delta", "false", "ChargingStation", "Problem", "HardWiredMonitor", cleared=True)
    body = payload(Wire201(RecordingSender()).notify_event(AT, [raised, cleared]))
    assert [e["eventId"] for e in body["eventData"]] == [1, 2]
    # An EVSE-less component says no connector either, even if one was given.
    assert body["eventData"][0]["component"] == {"name": "ChargingStation"}
    assert body["eventData"][1]["cleared"] is True and "cleared" not in body["eventData"][0]


def test_reservation_updates() -> None:
    wire = Wire201(RecordingSender())
    assert payload(wire.reservation_update(8, "Expired")) == {"reservationId": 8, "reservationUpdateStatus": "Expired"}
    assert payload(wire.reservation_update(9, "Removed")) == {"reservationId": 9, "reservationUpdateStatus": "Removed"}


def test_send_waits_for_the_answer_of_the_message_action() -> None:
    sender = RecordingSender()
    wire = Wire201(sender)
    event = EventReport(1, AT, "Delta", "true", "ChargingStation", "Problem", "HardWiredNotification")
    notify = wire.notify_event(AT, [event])
    update = wire.reservation_update(3, "Removed")
    asyncio.run(wire.send(notify))
    asyncio.run(wire.send(update))
    assert sender.calls == [(notify, m.NotifyEventResponse), (update, m.ReservationStatusUpdateResponse)]

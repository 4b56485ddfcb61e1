"""The events part of the station's port (evse/station/shell/wire_events.py), said in OCPP 2.0.1."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from evse.ocpp.calls import OcppMessage
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.wire.base import WireBase
from evse.station.shell.wire_events import EventReport


def event_data(event: EventReport) -> m.EventDataType:
    """The EventDataType of one event (the station's seqNo-less report: each NotifyEvent is complete)."""
    evse = m.EVSEType(id=event.evse_id, connectorId=event.connector_id) if event.evse_id is not None else None
    return m.EventDataType(
        eventId=event.event_id,
        timestamp=event.at,
        trigger=m.EventTriggerEnumType(event.trigger),
        actualValue=event.actual_value,
        component=m.ComponentType(name=event.component, instance=event.component_instance, evse=evse),
        variable=m.VariableType(name=event.variable, instance=event.variable_instance),
        eventNotificationType=m.EventNotificationEnumType(event.notification),
        variableMonitoringId=event.monitor_id,
        cleared=event.cleared,
        techCode=event.tech_code,
        techInfo=event.tech_info,
        transactionId=event.transaction_id,
    )


class Events201(WireBase):
    """evse.station.shell.wire_events.EventWire in 2.0.1."""

    def notify_event(self, at: datetime, events: Sequence[EventReport]) -> OcppMessage:
        return m.NotifyEventRequest(generatedAt=at, seqNo=0, eventData=[event_data(event) for event in events])

    def reservation_update(self, reservation_id: int, status: str) -> OcppMessage:
        return m.ReservationStatusUpdateRequest(
            reservationId=reservation_id, reservationUpdateStatus=m.ReservationUpdateStatusEnumType(status)
        )

    async def send(self, message: OcppMessage) -> None:
        # Every message this wire renders is a 2.0.1 request, so its response type is found by its action.
        await self._sender.call(message, m.RESPONSES[message.ACTION])

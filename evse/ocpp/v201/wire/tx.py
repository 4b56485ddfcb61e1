"""Registration, transaction events, statuses and meter values in OCPP 2.0.1 (evse/station/shell/wire_tx.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from evse.config import StationSection
from evse.ocpp.calls import OcppMessage
from evse.ocpp.dialect import message_models
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.samples import meter_values_from_samples
from evse.ocpp.v201.tokens import personal_message, verdict_from_info
from evse.ocpp.v201.wire.base import WireBase
from evse.station.core.samples import MeterSample
from evse.station.shell.wire_tx import Answer, BootAnswer, NeedsAnswer, TxAnswer, TxEvent, Undeliverable

#: customData's vendorId for a stop reason 2.0.1 has no value for (1.6's SoftReset ...): the 2.0.1 event says
#: Other, and the 1.6 adapter reads the reason from here.
REASON_VENDOR = "org.openevse.StoppedReason"


def _reason(reason: str | None) -> m.ReasonEnumType | None:
    if reason is None:
        return None
    return m.ReasonEnumType(reason) if reason in m.ReasonEnumType.__members__ else m.ReasonEnumType.Other


def _other_reason(reason: str | None) -> m.CustomDataType | None:
    if reason is None or reason in m.ReasonEnumType.__members__:
        return None
    return m.CustomDataType(vendorId=REASON_VENDOR, stoppedReason=reason)  # type: ignore[call-arg]


def transaction_event_request(event: TxEvent, seq_no: int) -> m.TransactionEventRequest:
    outlet = event.outlet
    return m.TransactionEventRequest(
        eventType=m.TransactionEventEnumType(event.event_type),
        timestamp=event.at,
        triggerReason=m.TriggerReasonEnumType(event.trigger),
        seqNo=seq_no,
        transactionInfo=m.TransactionType(
            transactionId=event.transaction_id,
            chargingState=m.ChargingStateEnumType(event.charging_state),
            stoppedReason=_reason(event.stopped_reason),
            remoteStartId=event.remote_start_id,
        ),
        offline=event.offline,
        idToken=m.IdTokenType(idToken=event.token[0], type=m.IdTokenEnumType(event.token[1]))
        if event.token is not None
        else None,
        reservationId=event.reservation_id,
        numberOfPhasesUsed=event.phases,
        cableMaxCurrent=event.cable_max_a,
        evse=m.EVSEType(id=outlet[0], connectorId=outlet[1]) if outlet is not None else None,
        meterValue=meter_values_from_samples(event.samples) or None,
        customData=_other_reason(event.stopped_reason),
    )


def _tx_answer(payload: dict[str, Any], answer: m.TransactionEventResponse) -> TxAnswer:
    token = payload.get("idToken")
    updated = answer.updatedPersonalMessage
    return TxAnswer(
        transaction_id=payload["transactionInfo"]["transactionId"],
        ended=payload["eventType"] == "Ended",
        token=(token["idToken"], token["type"]) if token is not None else None,
        verdict=verdict_from_info(answer.idTokenInfo) if answer.idTokenInfo is not None else None,
        total_cost=answer.totalCost,
        updated_message=personal_message(updated) if updated is not None else None,
    )


class Tx201(WireBase):
    """evse.station.shell.wire_tx.TxWire in 2.0.1."""

    async def boot(self, station: StationSection, reason: str) -> BootAnswer:
        request = m.BootNotificationRequest(
            chargingStation=m.ChargingStationType(
                vendorName=station.vendor,
                model=station.model,
                serialNumber=station.serial,
                firmwareVersion=station.firmware_version,
            ),
            reason=m.BootReasonEnumType(reason),
        )
        answer = await self._sender.call(request, m.BootNotificationResponse)
        return BootAnswer(answer.status.value, answer.interval, answer.currentTime)

    async def heartbeat(self) -> datetime:
        return (await self._sender.call(m.HeartbeatRequest(), m.HeartbeatResponse)).currentTime

    def transaction_event(self, event: TxEvent, seq_no: int) -> OcppMessage:
        return transaction_event_request(event, seq_no)

    def status(self, at: datetime, evse_id: int, connector_id: int, status: str) -> OcppMessage:
        return m.StatusNotificationRequest(
            timestamp=at, connectorStatus=m.ConnectorStatusEnumType(status), evseId=evse_id, connectorId=connector_id
        )

    def meter_values(self, evse_id: int, samples: Sequence[MeterSample]) -> OcppMessage:
        return m.MeterValuesRequest(evseId=evse_id, meterValue=meter_values_from_samples(samples))

    async def deliver(self, protocol: str, action: str, payload: dict[str, Any]) -> Answer:
        models = message_models(protocol)
        try:
            request = models.REQUESTS[action].model_validate(payload)
        except (KeyError, ValidationError) as exc:
            raise Undeliverable(str(exc)) from exc
        answer = await self._sender.call(request, models.RESPONSES[action])
        if isinstance(answer, m.TransactionEventResponse):
            return _tx_answer(payload, answer)
        if isinstance(answer, m.NotifyEVChargingNeedsResponse):
            return NeedsAnswer(int(payload.get("evseId", 0)), answer.status.value)
        return None

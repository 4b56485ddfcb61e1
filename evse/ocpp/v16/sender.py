"""The station's CALLs to the CSMS, said in OCPP 1.6: the outgoing half of the 1.6 adapter.

Everything in the station that talks to the CSMS (outbox sender, registrar, authorization, security
events, firmware and log status) calls a `CallSender` with the station's message and expects its answer.
Under 1.6 the daemon hands them this one instead of the connection: each CALL is said in 1.6
(`translate.py`), sent on the 1.6 connection, and the 1.6 answer is returned as the station expects it.
A message 1.6 has no word for (NotifyEvent, NotifyReport ...) is not sent and gets an empty answer when
the station's answer type has no required field, a CALLERROR NotSupported otherwise. Plug & Charge
(a contract's Authorize, Get15118EVCertificate, GetCertificateStatus, the V2G SignCertificate) goes out as
the OCA whitepaper says: the 2.0.1 message inside DataTransfer (`pnc.py`).

Transactions: the CSMS gives the transactionId in StartTransaction.conf; `TxIds` keeps it for the
transaction's later MeterValues and StopTransaction (sent strictly after it by the in-order outbox), and
recognises a StartTransaction or StopTransaction already delivered when its outbox entry is met again
after a crash, so neither reaches the CSMS twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from evse.ocpp.calls import CallError, CallSender, OcppMessage
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16 import pnc, translate
from evse.ocpp.v16.tx_ids import TxIds

log = logging.getLogger(__name__)

Resp = TypeVar("Resp", bound=OcppMessage)
Payload = dict[str, Any]
Route = Callable[[Payload], Awaitable[Payload | None]]

#: requestIds the 1.6 adapter gives the plain (not signed) UpdateFirmware and GetDiagnostics jobs: below zero,
#: so their status goes out as FirmwareStatusNotification / DiagnosticsStatusNotification, not the signed or
#: GetLog notifications that carry the CSMS's own (non-negative) requestId.
PLAIN_REQUEST_ID = -16


class V16Sender:
    """A `CallSender` that says the station's messages in OCPP 1.6."""

    def __init__(
        self,
        connection: CallSender,
        tx_ids: TxIds,
        *,
        start_energy_wh: Callable[[str], float | None],
        start_id_tag: Callable[[str], str | None] = lambda _local: None,
        transaction_on: Callable[[int], str | None] = lambda _evse_id: None,
        meter_identity: Callable[[], tuple[str | None, str | None]] = lambda: (None, None),
    ) -> None:
        self._connection = connection
        self._ids = tx_ids
        self._start_energy_wh = start_energy_wh
        self._start_id_tag = start_id_tag
        self._transaction_on = transaction_on
        self._meter_identity = meter_identity
        self._routes: dict[str, Route] = {
            "BootNotification": self._boot,
            "Heartbeat": self._heartbeat,
            "Authorize": self._authorize,
            "TransactionEvent": self._transaction_event,
            "MeterValues": self._meter_values,
            "StatusNotification": self._status_notification,
            "SecurityEventNotification": self._security_event,
            "SignCertificate": self._sign_certificate,
            "FirmwareStatusNotification": self._firmware_status,
            "LogStatusNotification": self._log_status,
            "DataTransfer": self._data_transfer,
            "Get15118EVCertificate": lambda payload: self._plug_and_charge("Get15118EVCertificate", payload),
            "GetCertificateStatus": lambda payload: self._plug_and_charge("GetCertificateStatus", payload),
        }

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        if isinstance(request, m16.OcppRequest):  # already 1.6 (the 1.6 StatusNotification)
            return await self._connection.call(request, response_type)
        route = self._routes.get(request.ACTION)
        answer = await route(request.model_dump(mode="json", exclude_none=True)) if route is not None else None
        if answer is None:
            log.debug("%s has no OCPP 1.6 counterpart: not sent", request.ACTION)
            answer = {}
        try:
            return response_type.model_validate(answer)
        except ValidationError:
            raise CallError("NotSupported", f"{request.ACTION} has no OCPP 1.6 counterpart") from None

    async def _send(self, request: m16.OcppRequest) -> Payload:
        response_type = m16.RESPONSES[request.ACTION]
        answer: BaseModel = await self._connection.call(request, response_type)
        return answer.model_dump(mode="json", exclude_none=True)

    # ---- registration ----------------------------------------------------------------------------
    async def _boot(self, payload: Payload) -> Payload:
        request = m16.BootNotificationRequest.model_validate(
            translate.boot_notification(payload, self._meter_identity())
        )
        return await self._send(request)  # status, currentTime, interval: the same names in 2.0.1

    async def _heartbeat(self, _payload: Payload) -> Payload:
        return await self._send(m16.HeartbeatRequest())

    async def _authorize(self, payload: Payload) -> Payload:
        if "iso15118CertificateHashData" in payload or "certificate" in payload:
            # A contract (C07): the Plug & Charge whitepaper's Authorize, so the CSMS sees the certificate data.
            # A CSMS without the whitepaper gets the eMAID as a plain idTag, as 1.6 stations without it send.
            answer = await self._wrapped("Authorize", payload)
            if answer is not None:
                return answer
        answer = await self._send(m16.AuthorizeRequest(idTag=translate.id_tag(payload["idToken"]) or ""))
        return {"idTokenInfo": translate.id_token_info(answer["idTagInfo"])}

    # ---- Plug & Charge (the 1.6 whitepaper: 2.0.1 messages in DataTransfer) ----------------------
    async def _wrapped(self, action: str, payload: Payload) -> Payload | None:
        try:
            answer = await self._send(m16.DataTransferRequest.model_validate(pnc.wrap(action, payload)))
        except CallError as exc:  # a CSMS without DataTransfer at all answers NotImplemented or NotSupported
            log.info("the CSMS took no Plug & Charge %s (DataTransfer CALLERROR %s)", action, exc.code)
            return None
        response = pnc.unwrap(action, answer)
        if response is None:
            log.info("the CSMS took no Plug & Charge %s (DataTransfer %s)", action, answer.get("status"))
        return response

    async def _plug_and_charge(self, action: str, payload: Payload) -> Payload:
        response = await self._wrapped(action, payload)
        if response is None:
            raise CallError("NotSupported", f"the CSMS does not take Plug & Charge {action} (1.6 whitepaper)")
        return response

    # ---- transactions ----------------------------------------------------------------------------
    async def _transaction_event(self, payload: Payload) -> Payload | None:
        local = payload["transactionInfo"]["transactionId"]
        kind = payload["eventType"]
        if kind == "Started":
            return await self._start(local, payload)
        csms_id = self._ids.csms_id(local)
        if csms_id is None:
            # Its StartTransaction was given up (TransactionMessageAttempts) or sent under 2.0.1: nothing at the
            # CSMS can be referred to, so the rest of the transaction is not sent either.
            log.error("transaction %s has no CSMS transactionId: its %s is not sent", local, kind)
            return None
        if kind == "Updated":
            values = translate.meter_values(payload.get("meterValue", []))
            if values:  # an Updated without samples is a state change, which 1.6 says by StatusNotification
                request = m16.MeterValuesRequest.model_validate(
                    {"connectorId": self._ids.connector_of(local), "transactionId": csms_id, "meterValue": values}
                )
                await self._send(request)
            return None
        if self._ids.is_stopped(local):
            log.info("StopTransaction of %s was delivered before a restart: not sent again", local)
            return None
        meter_stop = translate.register_wh(payload.get("meterValue", []), "Transaction.End")
        if meter_stop is None:
            meter_stop = self._ids.meter_start(local)
        body = translate.stop_transaction(payload, csms_id, meter_stop, self._start_id_tag(local))
        stop = m16.StopTransactionRequest.model_validate(body)
        await self._send(stop)
        self._ids.stopped(local)
        return None  # the StopTransaction.conf's idTagInfo only updates a cache 1.6 leaves to the station

    async def _start(self, local: str, payload: Payload) -> Payload | None:
        if self._ids.csms_id(local) is not None:
            log.info("StartTransaction of %s was delivered before a restart: not sent again", local)
            return None
        meter_start = translate.register_wh(payload.get("meterValue", []), "Transaction.Begin")
        if meter_start is None:
            energy = self._start_energy_wh(local)
            meter_start = int(energy) if energy is not None else 0
        body = translate.start_transaction(payload, meter_start)
        request = m16.StartTransactionRequest.model_validate(body)
        answer = await self._send(request)
        self._ids.started(local, int(answer["transactionId"]), body["connectorId"], meter_start)
        log.info("transaction %s is CSMS transaction %s", local, answer["transactionId"])
        return {"idTokenInfo": translate.id_token_info(answer["idTagInfo"])}

    async def _meter_values(self, payload: Payload) -> Payload | None:
        values = translate.meter_values(payload.get("meterValue", []))
        if not values:
            return None
        body: Payload = {"connectorId": payload["evseId"], "meterValue": values}
        local = self._transaction_on(payload["evseId"]) if payload["evseId"] else None
        csms_id = self._ids.csms_id(local) if local is not None else None
        if csms_id is not None:  # a triggered sample during a transaction belongs to it
            body["transactionId"] = csms_id
        await self._send(m16.MeterValuesRequest.model_validate(body))
        return None

    async def _status_notification(self, _payload: Payload) -> Payload | None:
        return None  # under 1.6 the station reports its finer status itself (already a 1.6 message)

    # ---- security, firmware, logs ----------------------------------------------------------------
    async def _security_event(self, payload: Payload) -> Payload | None:
        body = {"type": translate.security_event_type(payload["type"])[:50], "timestamp": payload["timestamp"]}
        if "techInfo" in payload:
            body["techInfo"] = payload["techInfo"][:255]
        await self._send(m16.SecurityEventNotificationRequest.model_validate(body))
        return None

    async def _sign_certificate(self, payload: Payload) -> Payload | None:
        if payload.get("certificateType", "ChargingStationCertificate") != "ChargingStationCertificate":
            # The V2G certificate of an ISO 15118 module: the Plug & Charge whitepaper's DataTransfer.
            return await self._plug_and_charge("SignCertificate", payload)
        return await self._send(m16.SignCertificateRequest(csr=payload["csr"]))

    async def _firmware_status(self, payload: Payload) -> Payload | None:
        request_id = payload.get("requestId")
        if request_id is not None and request_id >= 0:  # a SignedUpdateFirmware's job
            body = {"status": payload["status"], "requestId": request_id}
            await self._send(m16.SignedFirmwareStatusNotificationRequest.model_validate(body))
            return None
        status = translate.firmware_status(payload["status"])
        if status is not None:
            await self._send(m16.FirmwareStatusNotificationRequest.model_validate({"status": status}))
        return None

    async def _log_status(self, payload: Payload) -> Payload | None:
        request_id = payload.get("requestId")
        if request_id is not None and request_id < 0:  # a GetDiagnostics job
            status = translate.diagnostics_status(payload["status"])
            if status is not None:
                await self._send(m16.DiagnosticsStatusNotificationRequest.model_validate({"status": status}))
            return None
        status = translate.log_status(payload["status"])
        if status is not None:
            body: Payload = {"status": status}
            if request_id is not None:
                body["requestId"] = request_id
            await self._send(m16.LogStatusNotificationRequest.model_validate(body))
        return None

    async def _data_transfer(self, payload: Payload) -> Payload:
        body: Payload = {"vendorId": payload["vendorId"]}
        if "messageId" in payload:
            body["messageId"] = payload["messageId"]
        if "data" in payload:  # 1.6 data is text; 2.0.1's is any JSON
            data = payload["data"]
            body["data"] = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        return await self._send(m16.DataTransferRequest.model_validate(body))

"""ISO 15118 Plug & Charge under OCPP 1.6: the OCA whitepaper "Using ISO 15118 Plug & Charge with OCPP 1.6".

1.6 has no messages for contracts and V2G certificates, so the whitepaper carries the 2.0.1 ones in
DataTransfer: vendorId ``org.openchargealliance.iso15118pnc``, messageId the 2.0.1 action, data the 2.0.1
payload as a JSON text; the answer is DataTransfer.conf Accepted with the 2.0.1 response as JSON text in its
data. Station to CSMS: Authorize, Get15118EVCertificate, GetCertificateStatus, SignCertificate (V2G). CSMS to
station: CertificateSigned, InstallCertificate, GetInstalledCertificateIds, DeleteCertificate, TriggerMessage
(SignV2GCertificate).

Both directions are checked against the official 2.0.1 schemas, as a 2.0.1 frame would be; the station's
decisions stay in the 2.0.1 handlers and services (this module only wraps and unwraps).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from evse.ocpp.calls import CallError, OcppMessage
from evse.ocpp.rpc import MAX_PAYLOAD_DEPTH, Reply, Router, as_reply, depth_exceeds
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201 import schemas

log = logging.getLogger(__name__)

VENDOR_ID = "org.openchargealliance.iso15118pnc"
#: The 2.0.1 requests a CSMS may send wrapped in DataTransfer, by messageId.
INCOMING: dict[str, type[OcppMessage]] = {
    "CertificateSigned": m.CertificateSignedRequest,
    "DeleteCertificate": m.DeleteCertificateRequest,
    "GetInstalledCertificateIds": m.GetInstalledCertificateIdsRequest,
    "InstallCertificate": m.InstallCertificateRequest,
    "TriggerMessage": m.TriggerMessageRequest,
}
Payload = dict[str, Any]


def wrap(action: str, payload: Payload) -> Payload:
    """The 1.6 DataTransfer.req payload carrying the 2.0.1 `action` request."""
    return {"vendorId": VENDOR_ID, "messageId": action, "data": json.dumps(payload, separators=(",", ":"))}


def _parse(action: str, data: Any) -> Any:
    """`data` (JSON text) as a value no deeper than a frame may be: ValueError naming the problem."""
    try:
        value = json.loads(data) if isinstance(data, str) else data
    except RecursionError:  # json's decoder recurses per nesting level
        raise ValueError(f"{action}: data nested too deep") from None
    if depth_exceeds(value, MAX_PAYLOAD_DEPTH):
        raise ValueError(f"{action}: data nested deeper than {MAX_PAYLOAD_DEPTH} levels")
    return value


def unwrap(action: str, answer: Payload) -> Payload | None:
    """The 2.0.1 response inside a DataTransfer.conf; None when the CSMS does not take the whitepaper's
    message (UnknownVendorId, UnknownMessageId, Rejected). CallError for an Accepted answer whose data is
    not a valid 2.0.1 `action` response: the CSMS broke the whitepaper, nothing can be made of it."""
    if answer.get("status") != "Accepted":
        return None
    try:
        response = _parse(action, answer.get("data") or "")
        schemas.validate_response(action, response)
    except (ValueError, schemas.PayloadViolation) as exc:  # ValueError: not JSON
        raise CallError("FormatViolation", f"DataTransfer {action}: data is no {action}Response: {exc}") from None
    assert isinstance(response, dict)  # validate_response accepts only objects
    return response


class PncDataTransfer:
    """The station's handler of the whitepaper's DataTransfer (registered under VENDOR_ID).

    Each wrapped request is answered by the 2.0.1 handler of the same action on `router` (the certificate
    store and the V2G certificates: the rules are the 2.0.1 ones). A messageId outside the whitepaper is
    UnknownMessageId; data that is not a valid 2.0.1 request is Rejected, naming the problem in data."""

    def __init__(self, router: Router) -> None:
        self._router = router

    async def __call__(self, request: m.DataTransferRequest) -> m.DataTransferResponse | Reply:
        action = request.messageId or ""
        request_type, found = INCOMING.get(action), self._router.lookup(action)
        if request_type is None or found is None:
            return m.DataTransferResponse(status=m.DataTransferStatusEnumType.UnknownMessageId)
        try:
            payload = _parse(action, request.data)
            schemas.validate_request(action, payload)
            inner = request_type.model_validate(payload)
        except (ValueError, schemas.PayloadViolation, ValidationError) as exc:  # ValueError: not JSON
            log.info("pnc DataTransfer %s refused: %s", action, exc)
            return m.DataTransferResponse(
                status=m.DataTransferStatusEnumType.Rejected, data=f"{action}: {str(exc)[:200]}"
            )
        outcome = as_reply(await found[1](inner))
        data = json.dumps(outcome.payload.model_dump(mode="json", exclude_none=True), separators=(",", ":"))
        response = m.DataTransferResponse(status=m.DataTransferStatusEnumType.Accepted, data=data)
        return Reply(response, then=outcome.then)


def register_trigger(router: Router, sign_v2g_certificate: Callable[[int | None], Awaitable[None]] | None) -> None:
    """TriggerMessage inside the whitepaper's DataTransfer: SignV2GCertificate only (the ISO 15118 modules
    make a key and CSR, then SignCertificate goes out); anything else is NotImplemented, and without an
    ISO 15118 module SignV2GCertificate is Rejected."""

    async def trigger(request: m.TriggerMessageRequest) -> m.TriggerMessageResponse | Reply:
        if request.requestedMessage is not m.MessageTriggerEnumType.SignV2GCertificate:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.NotImplemented)
        if sign_v2g_certificate is None:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Rejected)
        sign = sign_v2g_certificate
        evse_id = request.evse.id if request.evse is not None else None

        async def sign_v2g() -> None:
            await sign(evse_id)

        return Reply(m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Accepted), then=sign_v2g)

    router.register(m.TriggerMessageRequest, trigger)

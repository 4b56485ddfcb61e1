"""The station's own certificate over OCPP (A02): the SignCertificateRequest (sent when
evse.ocpp.signing_requests decides: trigger, renewal, retry), and CertificateSigned.

Key generation and the file writes (fsync) run in a worker thread so the event loop keeps serving the
connection. A refused certificate is answered Rejected and reported with an
InvalidChargingStationCertificate security event once the answer has left (A02.FR.07).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cryptography import x509

from evse.clock import Clock
from evse.devicemodel.model import DeviceModel
from evse.ocpp.calls import CallError, CallTimeout, NotConnected, Resp
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.security.cert_store import CertificateRejected, CertificateStoreError
from evse.security.csr import new_station_csr
from evse.security.keys import KeyStoreError
from evse.security.station_certificate import StationCertificate
from evse.station.shell.v2g_certificates import ChainOutcome

log = logging.getLogger(__name__)

Call = Callable[[m.OcppRequest, type[Resp]], Awaitable[Resp]]
CsmsRoots = Callable[[], list[x509.Certificate]]
_INFO_MAX = 512  # StatusInfoType.additionalInfo maxLength


def signed_response(outcome: ChainOutcome) -> m.CertificateSignedResponse:
    """The answer to a CertificateSigned of what the station made of the chain (a V2G chain: V2gCertificates)."""
    if outcome.accepted:
        return m.CertificateSignedResponse(status=m.CertificateSignedStatusEnumType.Accepted)
    detail = outcome.detail[:_INFO_MAX] if outcome.detail is not None else None
    info = m.StatusInfoType(reasonCode=outcome.reason, additionalInfo=detail) if outcome.reason is not None else None
    return m.CertificateSignedResponse(status=m.CertificateSignedStatusEnumType.Rejected, statusInfo=info)


async def send_sign_request(
    station_id: str, dm: DeviceModel, certificate: StationCertificate, call: Call[m.SignCertificateResponse]
) -> bool | None:
    """A new key (A02.FR.02) and a SignCertificateRequest with the PEM CSR for it (A02.FR.03): True when
    the CSMS accepted it, False when it rejected it, None when there was no answer."""
    organization = dm.get_str("SecurityCtrlr", "OrganizationName")
    try:
        csr = await asyncio.to_thread(new_station_csr, certificate.keys, station_id, organization)
    except KeyStoreError as exc:
        log.error("sign certificate: no request made: %s", exc)
        return False
    request = m.SignCertificateRequest(
        csr=csr, certificateType=m.CertificateSigningUseEnumType.ChargingStationCertificate
    )
    try:
        response = await call(request, m.SignCertificateResponse)
    except (NotConnected, CallTimeout) as exc:
        log.warning("sign certificate request not answered: %s", exc)
        return None
    except CallError as exc:
        # A CALLERROR or an answer the schema refuses: the CSMS's word, taken as a refusal. Raised on, it
        # ended the signing task and with it the daemon (found by the websocket fuzz run).
        log.error("sign certificate request refused by the CSMS: %s", exc)
        return False
    log.info("sign certificate type=ChargingStationCertificate csms answered %s", response.status.value)
    return response.status is m.GenericStatusEnumType.Accepted


def register(
    router: Router,
    certificate: StationCertificate,
    csms_roots: CsmsRoots,
    clock: Clock,
    call: Call[m.SecurityEventNotificationResponse],
    on_accepted: Callable[[], None] = lambda: None,
    v2g_signed: Callable[[str], Awaitable[ChainOutcome]] | None = None,
) -> None:
    """Attach CertificateSigned. `csms_roots` gives the CSMS root certificates the chain must lead to;
    `on_accepted` hears of each certificate accepted (it ends the request series, A02)."""

    async def certificate_signed(request: m.CertificateSignedRequest) -> m.CertificateSignedResponse | Reply:
        kind = request.certificateType or m.CertificateSigningUseEnumType.ChargingStationCertificate
        if kind is m.CertificateSigningUseEnumType.V2GCertificate and v2g_signed is not None:
            return signed_response(await v2g_signed(request.certificateChain))  # for an ISO 15118 module
        if kind is not m.CertificateSigningUseEnumType.ChargingStationCertificate:
            # No ISO 15118 certificate is requested by this station yet, so none can be pending.
            return m.CertificateSignedResponse(
                status=m.CertificateSignedStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(
                    reasonCode="UnsupportedRequest", additionalInfo=f"{kind.value} not supported"
                ),
            )
        now = clock.now()
        try:
            roots = await asyncio.to_thread(csms_roots)
            chain = await asyncio.to_thread(certificate.check, request.certificateChain, roots, now)
            await asyncio.to_thread(certificate.accept, chain)
        except CertificateRejected as exc:
            detail = exc.detail
            log.warning("certificate signed rejected: %s", detail)
            response = m.CertificateSignedResponse(
                status=m.CertificateSignedStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode=exc.reason, additionalInfo=detail[:512]),
            )

            async def report() -> None:
                event = m.SecurityEventNotificationRequest(
                    type="InvalidChargingStationCertificate", timestamp=clock.now(), techInfo=detail[:255]
                )
                await call(event, m.SecurityEventNotificationResponse)

            return Reply(response, then=report)
        except (CertificateStoreError, KeyStoreError) as exc:
            log.error("certificate signed not stored: %s", exc)
            return m.CertificateSignedResponse(
                status=m.CertificateSignedStatusEnumType.Rejected, statusInfo=m.StatusInfoType(reasonCode="WriteError")
            )
        on_accepted()
        return m.CertificateSignedResponse(status=m.CertificateSignedStatusEnumType.Accepted)

    router.register(m.CertificateSignedRequest, certificate_signed)

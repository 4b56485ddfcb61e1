"""The OCPP 1.6 security whitepaper (edition 3), CSMS to station, on the services 2.0.1 already has.

SignedUpdateFirmware and GetLog are jobs of the firmware updater and the log retrieval with the CSMS's
requestId (their progress goes out as SignedFirmwareStatusNotification / LogStatusNotification, said by
V16Sender); the certificate messages are answered by the 2.0.1 certificate handlers, the 1.6 certificate
types named as the certificate store names them. ExtendedTriggerMessage serves the Core messages as
TriggerMessage does and the whitepaper's own (LogStatusNotification, the signed FirmwareStatusNotification,
SignChargePointCertificate).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from evse.firmware.updater import FirmwareUpdater
from evse.logs.retrieval import LogRetrieval
from evse.ocpp.calls import OcppMessage
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.handlers.core import _core_trigger
from evse.ocpp.v16.handlers.services import ServiceHandlers, reply
from evse.ocpp.v201 import messages as m
from evse.security.events import SecurityEvents
from evse.station.shell.registration import Registration
from evse.station.shell.station import Station

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
Send = Callable[[m16.OcppRequest], Awaitable[None]]

#: The whitepaper's CertificateUseEnumType -> the certificate store's (2.0.1) type.
CERTIFICATE_USE = {
    m16.CertificateUseEnumType.CentralSystemRootCertificate: m.InstallCertificateUseEnumType.CSMSRootCertificate,
    m16.CertificateUseEnumType.ManufacturerRootCertificate: (
        m.InstallCertificateUseEnumType.ManufacturerRootCertificate
    ),
}


def register(router: Router, services: ServiceHandlers, security: SecurityEvents) -> None:
    """Attach SignedUpdateFirmware, GetLog, CertificateSigned, InstallCertificate,
    GetInstalledCertificateIds and DeleteCertificate; `services` holds their 2.0.1 handlers."""

    async def signed_update_firmware(request: m16.SignedUpdateFirmwareRequest) -> OcppMessage | Reply:
        firmware = request.firmware
        signed = m.UpdateFirmwareRequest(
            requestId=request.requestId,
            firmware=m.FirmwareType(
                location=firmware.location,
                retrieveDateTime=firmware.retrieveDateTime,
                installDateTime=firmware.installDateTime,
                signingCertificate=firmware.signingCertificate,
                signature=firmware.signature,
            ),
            retries=request.retries,
            retryInterval=request.retryInterval,
        )
        answer, then = await services.ask(signed, m.UpdateFirmwareResponse)
        status = m16.UpdateFirmwareStatusEnumType(answer.status.value)
        return reply(m16.SignedUpdateFirmwareResponse(status=status), then)

    async def get_log(request: m16.GetLogRequest) -> OcppMessage | Reply:
        asked = m.GetLogRequest(
            requestId=request.requestId,
            logType=m.LogEnumType(request.logType.value),
            log=m.LogParametersType(
                remoteLocation=request.log.remoteLocation,
                oldestTimestamp=request.log.oldestTimestamp,
                latestTimestamp=request.log.latestTimestamp,
            ),
            retries=request.retries,
            retryInterval=request.retryInterval,
        )
        answer, then = await services.ask(asked, m.GetLogResponse)
        status = m16.LogStatusEnumType(answer.status.value)
        return reply(m16.GetLogResponse(status=status, filename=answer.filename), then)

    async def certificate_signed(request: m16.CertificateSignedRequest) -> OcppMessage | Reply:
        asked = m.CertificateSignedRequest(
            certificateChain=request.certificateChain,
            certificateType=m.CertificateSigningUseEnumType.ChargingStationCertificate,
        )
        answer, then = await services.ask(asked, m.CertificateSignedResponse)
        status = m16.CertificateSignedStatusEnumType(answer.status.value)
        return reply(m16.CertificateSignedResponse(status=status), then)

    async def install_certificate(request: m16.InstallCertificateRequest) -> OcppMessage | Reply:
        asked = m.InstallCertificateRequest(
            certificateType=CERTIFICATE_USE[request.certificateType], certificate=request.certificate
        )
        answer, then = await services.ask(asked, m.InstallCertificateResponse)
        status = m16.InstallCertificateStatusEnumType(answer.status.value)
        if (
            status is m16.InstallCertificateStatusEnumType.Rejected
            and request.certificateType is m16.CertificateUseEnumType.CentralSystemRootCertificate
        ):
            # The 1.6 whitepaper reports a refused Central System root (InvalidCentralSystemCertificate; OCTT
            # TC_078_CS); 2.0.1's M05 does not, so it is said here, once the answer has left.
            info = answer.statusInfo.additionalInfo if answer.statusInfo is not None else None
            why = info or "certificate refused"

            async def report() -> None:
                security.report("InvalidCsmsCertificate", f"InstallCertificate: {why}")

            return Reply(m16.InstallCertificateResponse(status=status), then=report)
        return reply(m16.InstallCertificateResponse(status=status), then)

    async def get_installed_certificate_ids(
        request: m16.GetInstalledCertificateIdsRequest,
    ) -> m16.GetInstalledCertificateIdsResponse:
        use = m.GetCertificateIdUseEnumType(CERTIFICATE_USE[request.certificateType].value)
        asked = m.GetInstalledCertificateIdsRequest(certificateType=[use])
        answer, _then = await services.ask(asked, m.GetInstalledCertificateIdsResponse)
        hashes = [
            m16.CertificateHashDataType.model_validate(chain.certificateHashData.model_dump(exclude_none=True))
            for chain in answer.certificateHashDataChain or []
        ]
        if not hashes:
            return m16.GetInstalledCertificateIdsResponse(status=m16.GetInstalledCertificateStatusEnumType.NotFound)
        return m16.GetInstalledCertificateIdsResponse(
            status=m16.GetInstalledCertificateStatusEnumType.Accepted, certificateHashData=hashes
        )

    async def delete_certificate(request: m16.DeleteCertificateRequest) -> OcppMessage | Reply:
        asked = m.DeleteCertificateRequest(
            certificateHashData=m.CertificateHashDataType.model_validate(request.certificateHashData.model_dump())
        )
        answer, then = await services.ask(asked, m.DeleteCertificateResponse)
        status = m16.DeleteCertificateStatusEnumType(answer.status.value)
        return reply(m16.DeleteCertificateResponse(status=status), then)

    router.register(m16.SignedUpdateFirmwareRequest, signed_update_firmware)
    router.register(m16.GetLogRequest, get_log)
    router.register(m16.CertificateSignedRequest, certificate_signed)
    router.register(m16.InstallCertificateRequest, install_certificate)
    router.register(m16.GetInstalledCertificateIdsRequest, get_installed_certificate_ids)
    router.register(m16.DeleteCertificateRequest, delete_certificate)


def register_extended_trigger(
    router: Router,
    station: Station,
    updater: FirmwareUpdater,
    retrieval: LogRetrieval,
    send: Send,
    sign_certificate: Job,
) -> None:
    """Attach ExtendedTriggerMessage (whitepaper F04 in 1.6 terms)."""

    async def log_status() -> None:
        current = retrieval.triggered_status()
        if current.requestId is not None and current.requestId >= 0:  # a GetLog, not a GetDiagnostics
            await send(
                m16.LogStatusNotificationRequest(
                    status=m16.UploadLogStatusEnumType.Uploading, requestId=current.requestId
                )
            )
        else:
            await send(m16.LogStatusNotificationRequest(status=m16.UploadLogStatusEnumType.Idle))

    async def firmware_status() -> None:
        current = updater.triggered()
        if current.requestId is not None and current.requestId >= 0:  # a SignedUpdateFirmware, not a plain one
            status = m16.FirmwareStatusEnumType(current.status.value)
            await send(m16.SignedFirmwareStatusNotificationRequest(status=status, requestId=current.requestId))
        else:
            await send(m16.SignedFirmwareStatusNotificationRequest(status=m16.FirmwareStatusEnumType.Idle))

    own: dict[str, Job] = {
        "LogStatusNotification": log_status,
        "FirmwareStatusNotification": firmware_status,
        "SignChargePointCertificate": sign_certificate,
    }

    async def extended_trigger(request: m16.ExtendedTriggerMessageRequest) -> OcppMessage | Reply:
        what = request.requestedMessage.value
        connector = request.connectorId
        status = m16.TriggerMessageStatusEnumType
        if connector is not None and connector != 0 and connector not in station.evses:
            return m16.ExtendedTriggerMessageResponse(status=status.Rejected)
        if station.registrar.state is Registration.Rejected and what != "BootNotification":
            return m16.ExtendedTriggerMessageResponse(status=status.Rejected)
        job = own.get(what) or _core_trigger(station, what, connector)
        if job is None:
            return m16.ExtendedTriggerMessageResponse(status=status.NotImplemented)
        log.info("ExtendedTriggerMessage %s connector=%s", what, connector)
        return Reply(m16.ExtendedTriggerMessageResponse(status=status.Accepted), then=job)

    router.register(m16.ExtendedTriggerMessageRequest, extended_trigger)

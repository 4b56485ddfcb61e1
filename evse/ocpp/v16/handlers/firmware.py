"""OCPP 1.6 Firmware Management (edition 2, 5.7 GetDiagnostics, 5.19 UpdateFirmware, 4.4/4.5 status).

Both are jobs of the same services the 2.0.1 UpdateFirmware (L02, non-secure: no signature, so nothing is
verified) and GetLog run, under the requestId `PLAIN_REQUEST_ID`: V16Sender says their progress as
FirmwareStatusNotification and DiagnosticsStatusNotification, which carry no requestId.
TriggerMessage(FirmwareStatusNotification / DiagnosticsStatusNotification) reports Idle unless such a job
is under way (1.6 5.17), the job's status otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from evse.firmware.updater import FirmwareUpdater
from evse.logs.retrieval import LogRetrieval
from evse.ocpp.calls import OcppMessage
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16 import translate
from evse.ocpp.v16.handlers.services import ServiceHandlers, reply
from evse.ocpp.v16.sender import PLAIN_REQUEST_ID
from evse.ocpp.v201 import messages as m

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]
Send = Callable[[m16.OcppRequest], Awaitable[None]]

# 2.0.1 statuses after which no update is under way: a plain trigger then reports Idle (1.6 5.17).
_OVER = frozenset({"Idle", "Installed", "DownloadFailed", "InstallationFailed", "InstallVerificationFailed"})
# 2.0.1 steps 1.6 has no word for, as the 1.6 status of the phase they belong to.
_BETWEEN = {
    "DownloadScheduled": "Idle",
    "DownloadPaused": "Downloading",
    "SignatureVerified": "Downloaded",
    "InstallScheduled": "Downloaded",
}


def register(router: Router, services: ServiceHandlers) -> None:
    """Attach UpdateFirmware and GetDiagnostics; `services` holds the 2.0.1 UpdateFirmware and GetLog."""

    async def update_firmware(request: m16.UpdateFirmwareRequest) -> OcppMessage | Reply:
        plain = m.UpdateFirmwareRequest(
            requestId=PLAIN_REQUEST_ID,
            firmware=m.FirmwareType(location=request.location, retrieveDateTime=request.retrieveDate),
            retries=request.retries,
            retryInterval=request.retryInterval,
        )
        answer, then = await services.ask(plain, m.UpdateFirmwareResponse)
        # UpdateFirmware.conf is empty: a refusal (an install that cannot be stopped) is only logged.
        log.info("UpdateFirmware location=%s -> %s", request.location, answer.status.value)
        return reply(m16.UpdateFirmwareResponse(), then)

    async def get_diagnostics(request: m16.GetDiagnosticsRequest) -> OcppMessage | Reply:
        plain = m.GetLogRequest(
            requestId=PLAIN_REQUEST_ID,
            logType=m.LogEnumType.DiagnosticsLog,
            log=m.LogParametersType(
                remoteLocation=request.location,
                oldestTimestamp=request.startTime,
                latestTimestamp=request.stopTime,
            ),
            retries=request.retries,
            retryInterval=request.retryInterval,
        )
        answer, then = await services.ask(plain, m.GetLogResponse)
        if answer.status is m.LogStatusEnumType.Rejected:
            # 1.6 5.7: no fileName means no diagnostics will be uploaded (a location it cannot upload to).
            return m16.GetDiagnosticsResponse()
        return reply(m16.GetDiagnosticsResponse(fileName=answer.filename), then)

    router.register(m16.UpdateFirmwareRequest, update_firmware)
    router.register(m16.GetDiagnosticsRequest, get_diagnostics)


def plain_firmware_status(updater: FirmwareUpdater) -> m16.FirmwareStatus:
    """FirmwareStatusNotification's status for a TriggerMessage: Idle unless a plain update is under way."""
    current = updater.triggered()
    status = current.status.value
    if current.requestId is None or current.requestId >= 0 or status in _OVER:
        return m16.FirmwareStatus.Idle
    return m16.FirmwareStatus(_BETWEEN.get(status) or translate.firmware_status(status) or "Idle")


def plain_diagnostics_status(retrieval: LogRetrieval) -> m16.DiagnosticsStatus:
    """DiagnosticsStatusNotification's status for a TriggerMessage: Uploading while a GetDiagnostics runs."""
    current = retrieval.triggered_status()
    if current.requestId is not None and current.requestId < 0:
        return m16.DiagnosticsStatus.Uploading
    return m16.DiagnosticsStatus.Idle


def triggers(updater: FirmwareUpdater, retrieval: LogRetrieval, send: Send) -> dict[str, Job]:
    """The TriggerMessage jobs of this profile, for evse.ocpp.v16.handlers.core.register."""

    async def firmware_status() -> None:
        await send(m16.FirmwareStatusNotificationRequest(status=plain_firmware_status(updater)))

    async def diagnostics_status() -> None:
        await send(m16.DiagnosticsStatusNotificationRequest(status=plain_diagnostics_status(retrieval)))

    return {"FirmwareStatusNotification": firmware_status, "DiagnosticsStatusNotification": diagnostics_status}

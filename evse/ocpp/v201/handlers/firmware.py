"""UpdateFirmware (L01 secure, L02 non-secure): the answer, then the update run by the FirmwareUpdater."""

from __future__ import annotations

import asyncio
import logging

from evse.errors import StorageError
from evse.firmware.update_plan import Answer, new_job
from evse.firmware.updater import FirmwareUpdater
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.security.events import SecurityEvents

log = logging.getLogger(__name__)


def register(router: Router, updater: FirmwareUpdater, security: SecurityEvents, *, allow_unsigned: bool) -> None:
    """Attach the UpdateFirmware handler; `allow_unsigned` runs an update without signature (L02)."""

    async def update_firmware(request: m.UpdateFirmwareRequest) -> m.UpdateFirmwareResponse | Reply:
        firmware = request.firmware
        if not allow_unsigned and (firmware.signingCertificate is None or firmware.signature is None):
            # OCTT TC_L_18_CS: a station doing secure updates (L01) refuses one it could not verify. Checked
            # first: a refused request leaves any running update alone.
            missing = "signature" if firmware.signingCertificate is not None else "signingCertificate"
            log.warning(
                "UpdateFirmware request=%s refused: no %s (firmware.allow_unsigned)", request.requestId, missing
            )
            return m.UpdateFirmwareResponse(
                status=m.UpdateFirmwareStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="UnsignedFirmware", additionalInfo=f"no {missing}"),
            )
        if firmware.signingCertificate is not None:
            # L01.FR.22: the certificate is checked before the request is accepted; a refused one leaves any
            # running update alone (L01.FR.02: InvalidFirmwareSigningCertificate).
            why = await asyncio.to_thread(updater.check_signing_certificate, firmware.signingCertificate)
            if why is not None:
                log.warning("UpdateFirmware request=%s: signing certificate refused: %s", request.requestId, why)
                security.report("InvalidFirmwareSigningCertificate", f"requestId {request.requestId}: {why}")
                return m.UpdateFirmwareResponse(
                    status=m.UpdateFirmwareStatusEnumType.InvalidCertificate,
                    statusInfo=m.StatusInfoType(reasonCode="InvalidCertificate", additionalInfo=why[:512]),
                )
        answer = updater.decide()
        if answer is Answer.Rejected:
            # L01.FR.27: the running install cannot be stopped half way.
            return m.UpdateFirmwareResponse(
                status=m.UpdateFirmwareStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="InstallInProgress"),
            )
        job = new_job(
            request.requestId,
            firmware.location,
            firmware.retrieveDateTime,
            firmware.installDateTime,
            request.retries,
            request.retryInterval,
            firmware.signingCertificate,
            firmware.signature,
        )
        try:
            updater.accept(job)
        except StorageError as exc:
            # Not accepted unless remembered: an update the station would forget at its next start.
            log.error("UpdateFirmware request=%s refused, cannot persist it: %s", request.requestId, exc)
            return m.UpdateFirmwareResponse(
                status=m.UpdateFirmwareStatusEnumType.Rejected, statusInfo=m.StatusInfoType(reasonCode="WriteError")
            )
        log.info("UpdateFirmware request=%s -> %s", request.requestId, answer.value)

        async def begin() -> None:  # the first FirmwareStatusNotification follows the answer
            updater.start()

        return Reply(m.UpdateFirmwareResponse(status=m.UpdateFirmwareStatusEnumType(answer.value)), then=begin)

    router.register(m.UpdateFirmwareRequest, update_firmware)

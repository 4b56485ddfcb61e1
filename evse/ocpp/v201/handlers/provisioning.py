"""Reset (B11/B12, of the station or one EVSE) and TriggerMessage (F06) handlers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from evse.ocpp.calls import OcppMessage
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.samples import meter_values_from_samples
from evse.station.core import evse_fsm as fsm
from evse.station.shell.registration import Registration
from evse.station.shell.station import Station

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


def register(
    router: Router,
    station: Station,
    *,
    sign_station_certificate: Job | None = None,
    sign_v2g_certificate: Callable[[int | None], Awaitable[None]] | None = None,
    log_status: Callable[[], m.LogStatusNotificationRequest] | None = None,
    firmware_status: Callable[[], m.FirmwareStatusNotificationRequest] | None = None,
) -> None:
    """Attach the provisioning handlers that act on the station core.

    `sign_station_certificate` sends a SignCertificateRequest for a new station key (A02); without it a
    TriggerMessage(SignChargingStationCertificate) is NotImplemented. `log_status` and `firmware_status`
    give the LogStatusNotification (N01) and FirmwareStatusNotification (L01.FR.25/26) a trigger reports;
    without them, Idle."""

    async def reset(request: m.ResetRequest) -> m.ResetResponse | Reply:
        evse_id = request.evseId or None  # evseId 0 means the whole station
        if evse_id is not None:
            if evse_id not in station.evses:
                return m.ResetResponse(
                    status=m.ResetStatusEnumType.Rejected, statusInfo=m.StatusInfoType(reasonCode="UnknownEvse")
                )
            # Resetting one EVSE alone is optional; EVSE.AllowReset announces it (B11.FR.10).
            if not station.dm.get_bool("EVSE", "AllowReset", evse_id=evse_id):
                return m.ResetResponse(
                    status=m.ResetStatusEnumType.Rejected,
                    statusInfo=m.StatusInfoType(reasonCode="UnsupportedRequest"),
                )
        immediate = request.type is m.ResetEnumType.Immediate
        status = station.availability.request_reset(immediate, evse_id)
        log.info("reset type=%s evse=%s -> %s", request.type.value, evse_id, status)
        response = m.ResetResponse(status=m.ResetStatusEnumType(status))
        if status == "Accepted":

            async def begin() -> None:  # only after the CSMS has its answer
                station.availability.begin_reset(evse_id)

            return Reply(response, then=begin)
        return response

    async def trigger(request: m.TriggerMessageRequest) -> m.TriggerMessageResponse | Reply:
        what = request.requestedMessage
        evse_id = request.evse.id if request.evse is not None else None
        if evse_id is not None and evse_id not in station.evses:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Rejected)
        if station.registrar.state is Registration.Rejected and what is not m.MessageTriggerEnumType.BootNotification:
            # Rejected: the CSMS should not be asking for anything but a new boot (B03).
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Rejected)
        connector_id = request.evse.connectorId if request.evse else None
        send = _triggered(station, what, evse_id, connector_id, log_status, firmware_status)
        if what is m.MessageTriggerEnumType.SignChargingStationCertificate:
            send = sign_station_certificate
        if what is m.MessageTriggerEnumType.SignV2GCertificate and sign_v2g_certificate is not None:
            v2g = sign_v2g_certificate

            async def sign_v2g() -> None:  # the modules make the keys and CSRs (evse.security.v2g_chain)
                await v2g(evse_id)

            send = sign_v2g
        if send is None:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.NotImplemented)
        if what is m.MessageTriggerEnumType.BootNotification and station.registrar.state is Registration.Accepted:
            # F06.FR.17: a BootNotification after an accepted boot is refused.
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Rejected)
        return Reply(m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.Accepted), then=send)

    router.register(m.ResetRequest, reset)
    router.register(m.TriggerMessageRequest, trigger)


def _triggered(
    station: Station,
    what: m.MessageTriggerEnumType,
    evse_id: int | None,
    connector_id: int | None,
    log_report: Callable[[], m.LogStatusNotificationRequest] | None = None,
    firmware_report: Callable[[], m.FirmwareStatusNotificationRequest] | None = None,
) -> Callable[[], Awaitable[None]] | None:
    """The sending job for a triggered message, or None when this station cannot trigger it."""
    T = m.MessageTriggerEnumType
    evse_ids = [evse_id] if evse_id is not None else list(station.evses)
    call = station.call_direct

    if what is T.BootNotification:

        async def boot() -> None:
            await station.registrar.send_boot("Triggered")

        return boot
    if what is T.Heartbeat:
        return station.registrar.heartbeat
    if what is T.StatusNotification:

        async def status() -> None:
            for i in evse_ids:
                runtime = station.evses[i]
                request = m.StatusNotificationRequest(
                    timestamp=station.clock.now(),
                    connectorStatus=m.ConnectorStatusEnumType(fsm.connector_status(runtime.state).value),
                    evseId=i,
                    connectorId=connector_id or runtime.connector_id,
                )
                await call(request, m.StatusNotificationResponse)

        return status
    if what is T.MeterValues:

        async def meter_values() -> None:
            for i in evse_ids:
                samples = station.metering.triggered_meter_values(i)
                if samples:
                    request = m.MeterValuesRequest(evseId=i, meterValue=meter_values_from_samples(samples))
                    await call(request, m.MeterValuesResponse)

        return meter_values
    if what is T.TransactionEvent:

        async def transaction_event() -> None:
            for i in evse_ids:
                station.metering.queue_trigger_update(i)

        return transaction_event
    if what is T.LogStatusNotification:
        idle_log = m.LogStatusNotificationRequest(status=m.UploadLogStatusEnumType.Idle)
        return _status_job(station, log_report, idle_log, m.LogStatusNotificationResponse)
    if what is T.FirmwareStatusNotification:
        idle_firmware = m.FirmwareStatusNotificationRequest(status=m.FirmwareStatusEnumType.Idle)
        return _status_job(station, firmware_report, idle_firmware, m.FirmwareStatusNotificationResponse)
    return None


def _status_job(
    station: Station, report: Callable[[], OcppMessage] | None, idle: OcppMessage, answer: type[OcppMessage]
) -> Job:
    """Sends the job's current status (`report`), or Idle where the station runs no such job."""

    async def send() -> None:
        await station.call_direct(report() if report is not None else idle, answer)

    return send

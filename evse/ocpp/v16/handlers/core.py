"""OCPP 1.6 Core and Remote Trigger profiles, CSMS to station: each on the station's own commands.

ChangeAvailability, Reset, UnlockConnector, RemoteStartTransaction, RemoteStopTransaction, ClearCache,
DataTransfer and TriggerMessage do what their 2.0.1 counterparts do (the same station methods), with
1.6's numbering (connectorId = EVSE id, 0 = the charge point) and 1.6's answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from evse.errors import StorageError
from evse.ocpp.rpc import Reply, Router, as_reply
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.profiles import profile_from_16
from evse.ocpp.v16.tx_ids import TxIds
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.handlers.data_transfer import VendorRegistry
from evse.ocpp.v201.samples import meter_values_from_samples
from evse.smartcharging.model import Profile
from evse.station.core import evse_fsm as fsm
from evse.station.core.reservation_book import IdToken
from evse.station.shell.authorization_flow import group_of
from evse.station.shell.registration import Registration
from evse.station.shell.station import ID_TAG_TYPE_16, Station

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


def register(
    router: Router,
    station: Station,
    tx_ids: TxIds,
    vendors: VendorRegistry,
    *,
    triggers: dict[str, Job] | None = None,
) -> None:
    """`triggers` adds TriggerMessage jobs wired elsewhere (DiagnosticsStatusNotification,
    FirmwareStatusNotification); the Core ones are here."""

    async def change_availability(request: m16.ChangeAvailabilityRequest) -> m16.ChangeAvailabilityResponse:
        evse_id = request.connectorId
        if evse_id != 0 and evse_id not in station.evses:
            return m16.ChangeAvailabilityResponse(status=m16.AvailabilityStatus.Rejected)
        operative = request.type is m16.AvailabilityType.Operative
        try:
            status = station.availability.change_availability(evse_id, 0, operative)
        except StorageError as exc:
            log.error("ChangeAvailability not recorded: %s", exc)  # it must survive a reboot: refused instead
            return m16.ChangeAvailabilityResponse(status=m16.AvailabilityStatus.Rejected)
        if evse_id == 0 and station.fine_status is not None:
            station.fine_status.check_station()
        return m16.ChangeAvailabilityResponse(status=m16.AvailabilityStatus(status))

    async def reset(request: m16.ResetRequest) -> Reply:
        # 1.6 ends running transactions at once either way (HardReset / SoftReset), then restarts.
        station.availability.request_reset(True)
        reason = "ImmediateReset" if request.type is m16.ResetType.Hard else "SoftReset"
        log.info("reset type=%s", request.type.value)

        async def begin() -> None:  # only after the CSMS has its answer
            station.availability.begin_reset(None, reason)

        return Reply(m16.ResetResponse(status=m16.ResetStatus.Accepted), then=begin)

    async def unlock(request: m16.UnlockConnectorRequest) -> m16.UnlockConnectorResponse | Reply:
        runtime = station.evses.get(request.connectorId)
        if runtime is None:
            return m16.UnlockConnectorResponse(status=m16.UnlockStatus.NotSupported)
        if runtime.drivers.lock is None:
            # A fixed cable (a board without a connector lock) has nothing to unlock; the transaction goes on,
            # as UnlockConnector is not a way to stop one (1.6 section 5.18; OCTT TC_017_2, TC_018_2).
            return m16.UnlockConnectorResponse(status=m16.UnlockStatus.NotSupported)
        if runtime.state.tx is not None:
            # 1.6: a transaction on the connector is stopped first (reason UnlockCommand), then it unlocks.
            station.apply(request.connectorId, fsm.StopRequested("RemoteStop", "UnlockCommand", force=True))
        status = await station.remote.unlock(request.connectorId, runtime.connector_id)
        statuses = {"Unlocked": m16.UnlockStatus.Unlocked, "UnlockFailed": m16.UnlockStatus.UnlockFailed}
        return m16.UnlockConnectorResponse(status=statuses.get(status, m16.UnlockStatus.NotSupported))

    async def remote_start(request: m16.RemoteStartTransactionRequest) -> m16.RemoteStartTransactionResponse:
        if request.connectorId == 0:
            return m16.RemoteStartTransactionResponse(status=m16.RemoteStartStopStatus.Rejected)
        profile: Profile | None = None
        if request.chargingProfile is not None:
            if request.chargingProfile.chargingProfilePurpose is not m16.ChargingProfilePurposeType.TxProfile:
                return m16.RemoteStartTransactionResponse(status=m16.RemoteStartStopStatus.Rejected)
            profile = profile_from_16(request.chargingProfile)
        if _reserved_for_another(station, request.connectorId, request.idTag):
            # Accepted, it would wait for an authorization the reservation then refuses: nothing would start.
            return m16.RemoteStartTransactionResponse(status=m16.RemoteStartStopStatus.Rejected)
        # 1.6 has no remoteStartId; 0 stands for "started remotely" in the journal and is never sent.
        # Without an Authorize first (AuthorizeRemoteTxRequests false), the parentIdTag known locally is what
        # lets the idTag use a reservation made for its group.
        group = _known_group(station, request.idTag)
        status, _running = station.remote.remote_start(
            request.connectorId, request.idTag, ID_TAG_TYPE_16, 0, profile, group
        )
        return m16.RemoteStartTransactionResponse(status=m16.RemoteStartStopStatus(status))

    async def remote_stop(request: m16.RemoteStopTransactionRequest) -> m16.RemoteStopTransactionResponse:
        local = tx_ids.local_id(request.transactionId)
        status = station.remote.remote_stop(local) if local is not None else "Rejected"
        return m16.RemoteStopTransactionResponse(status=m16.RemoteStartStopStatus(status))

    async def clear_cache(_request: m16.ClearCacheRequest) -> m16.ClearCacheResponse:
        accepted = station.authorizer.clear_cache()
        return m16.ClearCacheResponse(
            status=m16.ClearCacheStatus.Accepted if accepted else m16.ClearCacheStatus.Rejected
        )

    async def data_transfer(request: m16.DataTransferRequest) -> m16.DataTransferResponse | Reply:
        handler = vendors.get(request.vendorId)
        if handler is None:
            return m16.DataTransferResponse(status=m16.DataTransferStatus.UnknownVendorId)
        outcome = as_reply(
            await handler(
                m.DataTransferRequest(vendorId=request.vendorId, messageId=request.messageId, data=request.data)
            )
        )
        answer = outcome.payload
        assert isinstance(answer, m.DataTransferResponse)
        data = answer.data if answer.data is None or isinstance(answer.data, str) else str(answer.data)
        response = m16.DataTransferResponse(status=m16.DataTransferStatus(answer.status.value), data=data)
        return Reply(response, then=outcome.then)

    jobs = dict(triggers or {})

    async def trigger(request: m16.TriggerMessageRequest) -> m16.TriggerMessageResponse | Reply:
        what = request.requestedMessage.value
        connector = request.connectorId
        if connector is not None and connector != 0 and connector not in station.evses:
            return m16.TriggerMessageResponse(status=m16.TriggerMessageStatus.Rejected)
        if station.registrar.state is Registration.Rejected and what != "BootNotification":
            return m16.TriggerMessageResponse(status=m16.TriggerMessageStatus.Rejected)
        job = jobs.get(what) or _core_trigger(station, what, connector)
        if job is None:
            return m16.TriggerMessageResponse(status=m16.TriggerMessageStatus.NotImplemented)
        return Reply(m16.TriggerMessageResponse(status=m16.TriggerMessageStatus.Accepted), then=job)

    router.register(m16.ChangeAvailabilityRequest, change_availability)
    router.register(m16.ResetRequest, reset)
    router.register(m16.UnlockConnectorRequest, unlock)
    router.register(m16.RemoteStartTransactionRequest, remote_start)
    router.register(m16.RemoteStopTransactionRequest, remote_stop)
    router.register(m16.ClearCacheRequest, clear_cache)
    router.register(m16.DataTransferRequest, data_transfer)
    router.register(m16.TriggerMessageRequest, trigger)


def _reserved_for_another(station: Station, connector_id: int | None, id_tag: str) -> bool:
    """Is `connector_id` held by a reservation `id_tag` cannot be shown to hold (OCPP 1.6 section 5.13)?

    The idTag may be of the reservation's parentIdTag. The Local Authorization List or the cache may know
    its parentIdTag at once; otherwise only an Authorize.conf tells, before the start, when
    AuthorizeRemoteTxRequests is true: then, for a reservation that names a parentIdTag, the station lets
    that authorization decide, as it does for a card presented locally.
    """
    reservations = station.reservations
    if reservations is None or connector_id is None:
        return False
    views = station.evse_views()
    if reservations.allowed(connector_id, IdToken(id_tag, ID_TAG_TYPE_16), _known_group(station, id_tag), views):
        return False
    by_group = any(r.group_id_token is not None and r.evse_id in (None, connector_id) for r in reservations.book)
    return not (by_group and station.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart"))


def _known_group(station: Station, id_tag: str) -> IdToken | None:
    """The parentIdTag the local list or the cache gives `id_tag`, as reservations compare tokens."""
    verdict = station.authorizer.known_verdict(id_tag, ID_TAG_TYPE_16)
    return group_of(verdict) if verdict is not None else None


def _core_trigger(station: Station, what: str, connector: int | None) -> Job | None:
    """The sending job for a triggered Core message (OCPP 1.6 section 5.17), or None."""
    evse_ids = [connector] if connector else list(station.evses)

    if what == "BootNotification":

        async def boot() -> None:
            await station.registrar.send_boot("Triggered")

        return boot
    if what == "Heartbeat":
        return station.registrar.heartbeat
    if what == "StatusNotification":

        async def status() -> None:
            fine = station.fine_status
            if fine is None:
                return
            if connector in (None, 0):
                fine.check_station(force=True)
            for evse_id in evse_ids:
                fine.check(evse_id, force=True)

        return status
    if what == "MeterValues":

        async def meter_values() -> None:
            for evse_id in evse_ids:
                samples = station.metering.triggered_meter_values(evse_id)
                if samples:
                    request = m.MeterValuesRequest(evseId=evse_id, meterValue=meter_values_from_samples(samples))
                    await station.call_direct(request, m.MeterValuesResponse)

        return meter_values
    return None

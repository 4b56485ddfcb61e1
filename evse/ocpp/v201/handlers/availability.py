"""ChangeAvailability (G03/G04): station, EVSE or connector; Scheduled while a transaction runs."""

from __future__ import annotations

from evse.errors import StorageError
from evse.ocpp.rpc import Router
from evse.ocpp.v201 import messages as m
from evse.station.shell.station import Station


def register(router: Router, station: Station) -> None:
    async def change_availability(request: m.ChangeAvailabilityRequest) -> m.ChangeAvailabilityResponse:
        evse_id = request.evse.id if request.evse is not None else 0
        connector_id = request.evse.connectorId if request.evse is not None and request.evse.connectorId else 0
        if evse_id != 0 and (evse_id not in station.evses or connector_id not in (0, 1)):
            return m.ChangeAvailabilityResponse(
                status=m.ChangeAvailabilityStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="UnknownEvse" if connector_id == 0 else "UnknownConnector"),
            )
        operative = request.operationalStatus is m.OperationalStatusEnumType.Operative
        try:
            status = station.availability.change_availability(evse_id, connector_id, operative)
        except StorageError as exc:
            # G03: the change must survive a reboot; a disk that cannot record it makes it a refusal.
            return m.ChangeAvailabilityResponse(
                status=m.ChangeAvailabilityStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="InternalError", additionalInfo=str(exc)[:512]),
            )
        return m.ChangeAvailabilityResponse(status=m.ChangeAvailabilityStatusEnumType(status))

    router.register(m.ChangeAvailabilityRequest, change_availability)

"""OCPP 1.6 Reservation profile: ReserveNow and CancelReservation on the station's reservation book.

The book (`station.reservations`) decides as it does for 2.0.1; this module says 1.6's request in its terms
(OCPP 1.6 sections 5.13, 5.2):

- connectorId is the EVSE id; connectorId 0 reserves "any connector" (a non-specific reservation), which
  only a station with ReserveConnectorZeroSupported (ReservationCtrlr.NonEvseSpecific) takes: the book
  answers Rejected otherwise. A connector the station does not have: Rejected.
- the idTag is a token of type `ID_TAG_TYPE_16`, as every idTag presented under 1.6; the parentIdTag is
  the group, typed as `translate.id_token_info` types a parentIdTag from the CSMS, so a card of the same
  parent may use the reservation.
- Occupied / Faulted / Unavailable / Rejected / Accepted are the book's outcomes under their own names.
  "Occupied" is read the 1.6 way: a connector that reports Preparing (a driver authorized and the EV not
  yet plugged in) or Finishing is not free, though the 2.0.1 view of it is still Available.

As for 2.0.1, the station is told of a change (the connector turns Reserved, or Available again) only once
the answer has left, so the CSMS sees ReserveNow.conf before the StatusNotification it causes. A
transaction started by the reserved idTag consumes the reservation and reports its id in
StartTransaction.req (the station's authorization flow and `translate.start_transaction`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.translate import GROUP_TOKEN_TYPE
from evse.station.core.evse_status import EvseStatus, evse_status
from evse.station.core.reservation_book import CancelStatus, EvseView, IdToken, Reservation, ReserveStatus
from evse.station.shell.reservations import Reservations
from evse.station.shell.station import ID_TAG_TYPE_16, Station


def reservation_from_16(request: m16.ReserveNowRequest) -> Reservation:
    """The reservation a 1.6 ReserveNow asks for; an expiryDate without offset is read as UTC."""
    expiry = request.expiryDate
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    parent = request.parentIdTag
    return Reservation(
        id=request.reservationId,
        expiry=expiry,
        id_token=IdToken(request.idTag, ID_TAG_TYPE_16),
        group_id_token=IdToken(parent, GROUP_TOKEN_TYPE) if parent is not None else None,
        evse_id=request.connectorId or None,
    )


#: The 1.6 statuses of a connector in use (OCPP 1.6 ReservationStatus Occupied).
_IN_USE = frozenset(
    {EvseStatus.Preparing, EvseStatus.Charging, EvseStatus.SuspendedEV, EvseStatus.SuspendedEVSE, EvseStatus.Finishing}
)


def evse_views_16(station: Station) -> dict[int, EvseView]:
    """The station's EVSE views with a connector in use under 1.6 (see the module docstring) as Occupied."""
    return {
        evse_id: replace(view, status="Occupied") if evse_status(station.evses[evse_id].state) in _IN_USE else view
        for evse_id, view in station.evse_views().items()
    }


def register(router: Router, station: Station, reservations: Reservations) -> None:
    """Attach ReserveNow and CancelReservation to `reservations` (the station's book)."""

    async def changed() -> None:
        station.refresh_reservations()

    async def reserve_now(request: m16.ReserveNowRequest) -> m16.ReserveNowResponse | Reply:
        if request.connectorId != 0 and request.connectorId not in station.evses:
            return m16.ReserveNowResponse(status=m16.ReservationStatus.Rejected)
        outcome = reservations.reserve(reservation_from_16(request), evse_views_16(station))
        response = m16.ReserveNowResponse(status=m16.ReservationStatus(outcome.status.value))
        if outcome.status is ReserveStatus.Accepted:
            return Reply(response, then=changed)
        return response

    async def cancel_reservation(request: m16.CancelReservationRequest) -> m16.CancelReservationResponse | Reply:
        status = reservations.cancel(request.reservationId)
        response = m16.CancelReservationResponse(status=m16.CancelReservationStatus(status.value))
        if status is CancelStatus.Accepted:
            return Reply(response, then=changed)
        return response

    router.register(m16.ReserveNowRequest, reserve_now)
    router.register(m16.CancelReservationRequest, cancel_reservation)

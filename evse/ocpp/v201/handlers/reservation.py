"""ReserveNow and CancelReservation (OCPP 2.0.1 H01, H02): translation to evse.station.shell.reservations.

Every decision is the reservation book's; this module turns messages into its values and back. After a
change the station core is told (`on_change`) only once the CALLRESULT has left, so the CSMS sees the
ReserveNowResponse before the StatusNotification(Reserved) it causes, as the H01 sequence shows. If the
answer cannot be sent the reservation still stands (it is already persisted) and the core learns of it at
its next recomputation, at the latest when it reports all connectors after reconnecting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC

from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.station.core.reservation_book import (
    CancelStatus,
    EvseView,
    IdToken,
    Reservation,
    ReserveOutcome,
    ReserveStatus,
)
from evse.station.shell.reservations import Reservations

_INFO_MAX = 512  # StatusInfoType.additionalInfo maxLength


def id_token(token: m.IdTokenType) -> IdToken:
    """The comparable part of an IdTokenType (value and type, C01.FR.25)."""
    return IdToken(token.idToken, token.type.value)


def reservation_from_request(request: m.ReserveNowRequest) -> Reservation:
    """The reservation a ReserveNowRequest asks for; a timestamp without offset is read as UTC."""
    expiry = request.expiryDateTime
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    return Reservation(
        id=request.id,
        expiry=expiry,
        id_token=id_token(request.idToken),
        group_id_token=id_token(request.groupIdToken) if request.groupIdToken is not None else None,
        evse_id=request.evseId,
        connector_type=request.connectorType.value if request.connectorType is not None else None,
    )


def _status_info(outcome: ReserveOutcome) -> m.StatusInfoType | None:
    if outcome.reason is None and outcome.detail is None:
        return None
    detail = outcome.detail[:_INFO_MAX] if outcome.detail else None
    return m.StatusInfoType(reasonCode=outcome.reason or "Unspecified", additionalInfo=detail)


def register(
    router: Router,
    reservations: Reservations,
    evse_states: Callable[[], Mapping[int, EvseView]],
    on_change: Callable[[], None],
) -> None:
    """Attach the H01/H02 handlers. `evse_states` gives every EVSE's current status and connector types."""

    async def changed() -> None:
        on_change()

    async def reserve_now(request: m.ReserveNowRequest) -> m.ReserveNowResponse | Reply:
        outcome = reservations.reserve(reservation_from_request(request), evse_states())
        response = m.ReserveNowResponse(
            status=m.ReserveNowStatusEnumType(outcome.status.value), statusInfo=_status_info(outcome)
        )
        if outcome.status is ReserveStatus.Accepted:
            return Reply(response, then=changed)
        return response

    async def cancel_reservation(request: m.CancelReservationRequest) -> m.CancelReservationResponse | Reply:
        status = reservations.cancel(request.reservationId)
        if status is CancelStatus.Accepted:
            return Reply(m.CancelReservationResponse(status=m.CancelReservationStatusEnumType.Accepted), then=changed)
        return m.CancelReservationResponse(
            status=m.CancelReservationStatusEnumType(status.value),
            statusInfo=m.StatusInfoType(
                reasonCode="NotFound", additionalInfo=f"no reservation {request.reservationId}"
            ),
        )

    router.register(m.ReserveNowRequest, reserve_now)
    router.register(m.CancelReservationRequest, cancel_reservation)

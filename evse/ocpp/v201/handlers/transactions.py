"""Remote control of transactions: RequestStart/StopTransaction (F01-F04), UnlockConnector (F05),
GetTransactionStatus (E14)."""

from __future__ import annotations

from evse.ocpp.rpc import Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import profile_from_201
from evse.station.core.reservation_book import IdToken
from evse.station.shell.station import Station


def register(router: Router, station: Station) -> None:
    async def request_start(request: m.RequestStartTransactionRequest) -> m.RequestStartTransactionResponse:
        status, tx_id = station.remote.remote_start(
            request.evseId,
            request.idToken.idToken,
            request.idToken.type.value,
            request.remoteStartId,
            profile_from_201(request.chargingProfile) if request.chargingProfile is not None else None,
            # H03.FR.09/H19: a token of the reserved token's group may use the reservation.
            IdToken(request.groupIdToken.idToken, request.groupIdToken.type.value) if request.groupIdToken else None,
        )
        return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType(status), transactionId=tx_id)

    async def request_stop(request: m.RequestStopTransactionRequest) -> m.RequestStopTransactionResponse:
        status = station.remote.remote_stop(request.transactionId)
        return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType(status))

    async def unlock(request: m.UnlockConnectorRequest) -> m.UnlockConnectorResponse:
        status = await station.remote.unlock(request.evseId, request.connectorId)
        return m.UnlockConnectorResponse(status=m.UnlockStatusEnumType(status))

    async def transaction_status(request: m.GetTransactionStatusRequest) -> m.GetTransactionStatusResponse:
        ongoing, queued = station.remote.transaction_status(request.transactionId)
        return m.GetTransactionStatusResponse(ongoingIndicator=ongoing, messagesInQueue=queued)

    router.register(m.RequestStartTransactionRequest, request_start)
    router.register(m.RequestStopTransactionRequest, request_stop)
    router.register(m.UnlockConnectorRequest, unlock)
    router.register(m.GetTransactionStatusRequest, transaction_status)

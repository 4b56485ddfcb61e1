"""CustomerInformation (OCPP 2.0.1 N09 report, N10 clear) -> NotifyCustomerInformation.

The request must name exactly one customer (idToken, customerIdentifier or customerCertificate), else it
is Invalid; one asking neither to report nor to clear is Rejected. After the Accepted answer has left,
the report (taken before a clear) follows in NotifyCustomerInformationRequests of at most 512 characters
each, seqNo 0.., tbc on all but the last; a clear without report is confirmed by one message saying what
was removed (counts only). No data at all: one message with empty data.
"""

from __future__ import annotations

import logging

from evse.clock import Clock
from evse.ocpp.calls import CallSender
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.station.shell.customer_data import CustomerData

log = logging.getLogger(__name__)

DATA_MAX = 512  # NotifyCustomerInformationRequest.data maxLength


def chunks(text: str, size: int = DATA_MAX) -> list[str]:
    """`text` in pieces of at most `size` characters, cut at line ends where a line fits; [""] for ""."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= size:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while len(line) > size:
            pieces.append(line[:size])
            line = line[size:]
        current = line
    pieces.append(current)
    return pieces


def register(router: Router, data: CustomerData, sender: CallSender, clock: Clock) -> None:
    """Serve CustomerInformation from `data`; the notifications go to the CSMS through `sender`."""

    async def customer_information(request: m.CustomerInformationRequest) -> m.CustomerInformationResponse | Reply:
        named = [x for x in (request.idToken, request.customerIdentifier, request.customerCertificate) if x is not None]
        if len(named) != 1:
            return m.CustomerInformationResponse(
                status=m.CustomerInformationStatusEnumType.Invalid,
                statusInfo=m.StatusInfoType(
                    reasonCode="InvalidCustomer",
                    additionalInfo="name exactly one of idToken, customerIdentifier, customerCertificate",
                ),
            )
        if not request.report and not request.clear:
            return m.CustomerInformationResponse(
                status=m.CustomerInformationStatusEnumType.Rejected,
                statusInfo=m.StatusInfoType(reasonCode="NothingToDo", additionalInfo="neither report nor clear"),
            )

        async def answer() -> None:
            token = request.idToken
            lines: list[str] = []
            if token is not None and request.report:
                lines = data.describe(token.idToken, token.type.value)
            if token is not None and request.clear:
                cleared = data.clear(token.idToken, token.type.value)
                log.info("customer information cleared request_id=%s %s", request.requestId, cleared.describe())
                if not request.report:
                    lines = [cleared.describe()]
            pieces = chunks("\n".join(lines))
            generated = clock.now()
            for seq_no, piece in enumerate(pieces):
                await sender.call(
                    m.NotifyCustomerInformationRequest(
                        data=piece,
                        seqNo=seq_no,
                        generatedAt=generated,
                        requestId=request.requestId,
                        tbc=seq_no < len(pieces) - 1,
                    ),
                    m.NotifyCustomerInformationResponse,
                )

        return Reply(m.CustomerInformationResponse(status=m.CustomerInformationStatusEnumType.Accepted), then=answer)

    router.register(m.CustomerInformationRequest, customer_information)

"""DataTransfer (P01): answered UnknownVendorId unless a vendor registered a handler.

Extension point for manufacturers: `vendors.add("com.example", handler)` where handler receives the
DataTransferRequest and returns a DataTransferResponse (UnknownMessageId for ids it does not know).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m

#: A Reply when work must follow the answer (a triggered message, say).
VendorHandler = Callable[[m.DataTransferRequest], Awaitable[m.DataTransferResponse | Reply]]


class VendorRegistry:
    """Vendor id -> handler for incoming DataTransfer."""

    def __init__(self) -> None:
        self._handlers: dict[str, VendorHandler] = {}

    def add(self, vendor_id: str, handler: VendorHandler) -> None:
        self._handlers[vendor_id] = handler

    def get(self, vendor_id: str) -> VendorHandler | None:
        return self._handlers.get(vendor_id)


def register(router: Router, vendors: VendorRegistry) -> None:
    async def data_transfer(request: m.DataTransferRequest) -> m.DataTransferResponse | Reply:
        handler = vendors.get(request.vendorId)
        if handler is None:
            return m.DataTransferResponse(status=m.DataTransferStatusEnumType.UnknownVendorId)
        return await handler(request)

    router.register(m.DataTransferRequest, data_transfer)

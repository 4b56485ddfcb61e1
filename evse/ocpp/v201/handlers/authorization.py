"""ClearCache (C11), SendLocalList (D01) and GetLocalListVersion (D02).

Thin translation to evse.station.shell.authorizer.Authorizer, which decides. What stays here is what only the
message layer can do: a SendLocalListRequest with more entries than LocalAuthListCtrlr.ItemsPerMessage is
answered with a CALLERROR OccurrenceConstraintViolation, one larger than BytesPerMessage with
FormatViolation (the byte size is that of the re-serialized payload), as the device-model handlers do
for DeviceDataCtrlr's limits.
"""

from __future__ import annotations

from evse.ocpp.rpc import Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.message_limits import enforce_message_limits
from evse.ocpp.v201.tokens import list_entry_from_authorization_data
from evse.station.core.tokens_neutral import ListUpdate
from evse.station.shell.authorizer import Authorizer

_INFO_MAX = 512  # StatusInfoType.additionalInfo maxLength


def register(router: Router, authorizer: Authorizer) -> None:
    async def clear_cache(request: m.ClearCacheRequest) -> m.ClearCacheResponse:
        if authorizer.clear_cache():
            return m.ClearCacheResponse(status=m.ClearCacheStatusEnumType.Accepted)
        return m.ClearCacheResponse(status=m.ClearCacheStatusEnumType.Rejected)

    async def send_local_list(request: m.SendLocalListRequest) -> m.SendLocalListResponse:
        entries = request.localAuthorizationList or []
        enforce_message_limits(
            authorizer.local_list_message_limits(),
            len(entries),
            request,
            "LocalAuthListCtrlr.ItemsPerMessage",
            "LocalAuthListCtrlr.BytesPerMessage",
        )
        outcome = authorizer.send_local_list(
            request.versionNumber,
            ListUpdate(request.updateType.value),
            [list_entry_from_authorization_data(item) for item in entries],
        )
        info = None
        if outcome.reason is not None:
            detail = outcome.detail[:_INFO_MAX] if outcome.detail else None
            info = m.StatusInfoType(reasonCode=outcome.reason, additionalInfo=detail)
        return m.SendLocalListResponse(status=m.SendLocalListStatusEnumType(outcome.status.value), statusInfo=info)

    async def get_local_list_version(request: m.GetLocalListVersionRequest) -> m.GetLocalListVersionResponse:
        return m.GetLocalListVersionResponse(versionNumber=authorizer.local_list_version())

    router.register(m.ClearCacheRequest, clear_cache)
    router.register(m.SendLocalListRequest, send_local_list)
    router.register(m.GetLocalListVersionRequest, get_local_list_version)

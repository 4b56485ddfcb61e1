"""OCPP 1.6 Local Auth List Management profile: SendLocalList and GetLocalListVersion.

The list is the one the 2.0.1 handlers keep (`station.authorizer`, the AuthStore), so a list sent under one
version authorizes under the other. A 1.6 entry is stored as a token of type `ID_TAG_TYPE_16`, the type the
station gives every idTag presented under 1.6, with its idTagInfo as the station's token verdict
(`translate.id_token_info`). What differs from 2.0.1 are 1.6's answers (OCPP 1.6 sections 5.10, 5.15):

- LocalAuthListEnabled false: SendLocalList NotSupported, GetLocalListVersion -1 (TC_043_1_CS, TC_042_1_CS);
- version 0 means an empty list, whatever version installed it (TC_042_2_CS: a Full list of version 1
  without entries, then GetLocalListVersion answers 0);
- a Differential update that does not raise the version: VersionMismatch (TC_043_2_CS);
- a list the station cannot take (an idTag twice, a Full entry without idTagInfo, more than
  LocalAuthListMaxLength idTags, version not positive): Failed (TC_043_3_CS);
- more entries in one message than SendLocalListMaxLength: CALLERROR OccurenceConstraintViolation, as the
  2.0.1 side answers ItemsPerMessage (1.6 names the limit but not the answer).
"""

from __future__ import annotations

import logging

from evse.ocpp.calls import CallError
from evse.ocpp.rpc import Router
from evse.ocpp.v16 import messages as m16
from evse.ocpp.v16.translate import id_token_info
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.tokens import verdict_from_info
from evse.station.core.tokens_neutral import ListUpdate, LocalListEntry, LocalListStatus, Token, TokenKind
from evse.station.shell.authorizer import Authorizer
from evse.station.shell.station import ID_TAG_TYPE_16

log = logging.getLogger(__name__)

#: GetLocalListVersion's answer when the station keeps no list (OCPP 1.6 section 5.10).
NOT_SUPPORTED_VERSION = -1

_STATUS = {
    LocalListStatus.Accepted: m16.UpdateStatus.Accepted,
    LocalListStatus.Failed: m16.UpdateStatus.Failed,
    LocalListStatus.VersionMismatch: m16.UpdateStatus.VersionMismatch,
}


def list_entry(entry: m16.AuthorizationData) -> LocalListEntry:
    """A 1.6 list entry as the station keeps it; without idTagInfo it removes the idTag (Differential)."""
    info = entry.idTagInfo
    verdict = (
        verdict_from_info(
            m.IdTokenInfoType.model_validate(id_token_info(info.model_dump(mode="json", exclude_none=True)))
        )
        if info is not None
        else None
    )
    return LocalListEntry(Token(entry.idTag, TokenKind(ID_TAG_TYPE_16)), verdict)


def register(router: Router, authorizer: Authorizer) -> None:
    """Attach SendLocalList and GetLocalListVersion to `authorizer` (the station's)."""

    async def send_local_list(request: m16.SendLocalListRequest) -> m16.SendLocalListResponse:
        if not authorizer.settings().local_list_enabled:
            return m16.SendLocalListResponse(status=m16.UpdateStatus.NotSupported)
        entries = request.localAuthorizationList or []
        items = authorizer.local_list_message_limits().items
        if items is not None and len(entries) > items:
            raise CallError(
                "OccurrenceConstraintViolation", f"{len(entries)} entries exceed SendLocalListMaxLength = {items}"
            )
        update = ListUpdate(request.updateType.value)
        outcome = authorizer.send_local_list(request.listVersion, update, [list_entry(e) for e in entries])
        if not outcome.accepted:
            log.info("SendLocalList version=%s refused: %s %s", request.listVersion, outcome.reason, outcome.detail)
        return m16.SendLocalListResponse(status=_STATUS.get(outcome.status, m16.UpdateStatus.Failed))

    async def get_local_list_version(_request: m16.GetLocalListVersionRequest) -> m16.GetLocalListVersionResponse:
        if not authorizer.settings().local_list_enabled:
            return m16.GetLocalListVersionResponse(listVersion=NOT_SUPPORTED_VERSION)
        version = authorizer.local_list_version() if authorizer.local_list_size() else 0
        return m16.GetLocalListVersionResponse(listVersion=version)

    router.register(m16.SendLocalListRequest, send_local_list)
    router.register(m16.GetLocalListVersionRequest, get_local_list_version)

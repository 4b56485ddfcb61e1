"""Display messages (O01-O06: SetDisplayMessage, GetDisplayMessages -> NotifyDisplayMessages,
ClearDisplayMessage) and the running cost of a transaction (I02: CostUpdated).

The rules of acceptance live in evse/station/core/display_rules.py, the stored messages in
evse/station/shell/display_messages.py and what the screen shows in evse/station/shell/driver_screen.py.
"""

from __future__ import annotations

import logging

from evse.ocpp.calls import CallSender
from evse.ocpp.rpc import Reply, Router
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.display import info_from_message, message_from_info
from evse.station.core import display_rules
from evse.station.core.display_rules import MessageState, Priority
from evse.station.shell.display_messages import as_rule
from evse.station.shell.driver_screen import DriverScreen

log = logging.getLogger(__name__)

#: MessageInfoType items per NotifyDisplayMessages: a full store (16 messages of up to 512 characters) would
#: make one frame of ~10 kB; parts of 4 stay well under the frame limits of small CSMS deployments.
ITEMS_PER_NOTIFY = 4


def register(router: Router, screen: DriverScreen, sender: CallSender, evse_ids: set[int]) -> None:
    """Serve the O messages and CostUpdated from ``screen``; NotifyDisplayMessages go out through ``sender``."""
    dm = screen.dm

    def enabled() -> bool:
        return dm.get_bool("DisplayMessageCtrlr", "Available") and dm.get_bool("DisplayMessageCtrlr", "Enabled")

    async def set_display_message(request: m.SetDisplayMessageRequest) -> m.SetDisplayMessageResponse:
        message = message_from_info(request.message)
        if not enabled():
            return _set_answer("Rejected", "Disabled")
        display = message.display
        if display is not None and display.evse_id is not None and display.evse_id not in evse_ids:
            return _set_answer("Rejected", "UnknownEvse")
        stored = screen.store.rules()
        rule = as_rule(message, 0.0)
        status = display_rules.check(rule, stored, screen.capabilities(), screen.running_transactions())
        if status != "Accepted":
            log.info("SetDisplayMessage id=%s: %s", message.id, status)
            return _set_answer(status, None)
        screen.store.put(message)  # O06.FR.01: the same id replaces the stored message
        replaced = screen.store.remove(display_rules.superseded(rule, stored))
        if replaced:
            log.info("AlwaysFront message %s replaces %s", message.id, replaced)
        screen.refresh()
        return m.SetDisplayMessageResponse(status=m.DisplayMessageStatusEnumType.Accepted)

    async def get_display_messages(request: m.GetDisplayMessagesRequest) -> m.GetDisplayMessagesResponse | Reply:
        chosen = display_rules.select(
            screen.store.rules(),
            request.id,
            Priority(request.priority.value) if request.priority is not None else None,
            MessageState(request.state.value) if request.state is not None else None,
        )
        if not chosen:
            # O03.FR.04 / TC_O_03, TC_O_11: nothing matches: Unknown, and no NotifyDisplayMessages.
            return m.GetDisplayMessagesResponse(status=m.GetDisplayMessagesStatusEnumType.Unknown)
        infos = [info_from_message(screen.store.message(message.id)) for message in chosen]
        parts = [infos[i : i + ITEMS_PER_NOTIFY] for i in range(0, len(infos), ITEMS_PER_NOTIFY)]

        async def notify() -> None:
            for number, part in enumerate(parts):
                await sender.call(
                    m.NotifyDisplayMessagesRequest(
                        requestId=request.requestId, messageInfo=part, tbc=number < len(parts) - 1
                    ),
                    m.NotifyDisplayMessagesResponse,
                )

        return Reply(m.GetDisplayMessagesResponse(status=m.GetDisplayMessagesStatusEnumType.Accepted), then=notify)

    async def clear_display_message(request: m.ClearDisplayMessageRequest) -> m.ClearDisplayMessageResponse:
        removed = screen.store.remove([request.id])
        screen.refresh()
        status = m.ClearMessageStatusEnumType.Accepted if removed else m.ClearMessageStatusEnumType.Unknown
        return m.ClearDisplayMessageResponse(status=status)

    async def cost_updated(request: m.CostUpdatedRequest) -> m.CostUpdatedResponse:
        screen.cost_updated(request.transactionId, request.totalCost)
        return m.CostUpdatedResponse()

    router.register(m.SetDisplayMessageRequest, set_display_message)
    router.register(m.GetDisplayMessagesRequest, get_display_messages)
    router.register(m.ClearDisplayMessageRequest, clear_display_message)
    router.register(m.CostUpdatedRequest, cost_updated)


def _set_answer(status: str, reason: str | None) -> m.SetDisplayMessageResponse:
    return m.SetDisplayMessageResponse(
        status=m.DisplayMessageStatusEnumType(status),
        statusInfo=m.StatusInfoType(reasonCode=reason) if reason else None,
    )

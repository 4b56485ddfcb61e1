"""Display messages to and from their OCPP 2.0.1 type (MessageInfoType), and their records in the station
database.

The shell keeps the neutral CsmsDisplayMessage (evse/station/shell/display_messages.py); the display handler
converts what SetDisplayMessage brings and what NotifyDisplayMessages reports here. The conversions are
lossless both ways (customData travels as its JSON text), so `info_from_message(message_from_info(info)) ==
info`: GetDisplayMessages reports a message exactly as it was set, and the records keep the MessageInfoType
JSON every earlier release wrote.
"""

from __future__ import annotations

import json

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.custom_data import custom_data, vendor_data
from evse.station.core.display_rules import DisplayMessage, MessageState, Priority
from evse.station.shell.display_messages import CsmsDisplayMessage, DisplayTarget


def _target(display: m.ComponentType) -> DisplayTarget:
    evse = display.evse
    return DisplayTarget(
        component=display.name,
        instance=display.instance,
        evse_id=evse.id if evse is not None else None,
        connector_id=evse.connectorId if evse is not None else None,
        vendor_data=vendor_data(display.customData),
        evse_vendor_data=vendor_data(evse.customData) if evse is not None else None,
    )


def _component(target: DisplayTarget) -> m.ComponentType:
    evse = (
        m.EVSEType(id=target.evse_id, connectorId=target.connector_id, customData=custom_data(target.evse_vendor_data))
        if target.evse_id is not None
        else None
    )
    return m.ComponentType(
        name=target.component, instance=target.instance, evse=evse, customData=custom_data(target.vendor_data)
    )


def message_from_info(info: m.MessageInfoType) -> CsmsDisplayMessage:
    """The neutral display message of a SetDisplayMessage's MessageInfoType."""
    display = _target(info.display) if info.display is not None else None
    shown = DisplayMessage(
        id=info.id,
        priority=Priority(info.priority.value),
        content=info.message.content,
        format=info.message.format.value,
        language=info.message.language,
        state=MessageState(info.state.value) if info.state is not None else None,
        start=info.startDateTime,
        end=info.endDateTime,
        transaction_id=info.transactionId,
        evse_id=display.evse_id if display is not None else None,
    )
    return CsmsDisplayMessage(
        shown=shown,
        display=display,
        vendor_data=vendor_data(info.customData),
        content_vendor_data=vendor_data(info.message.customData),
    )


def info_from_message(message: CsmsDisplayMessage) -> m.MessageInfoType:
    """The MessageInfoType NotifyDisplayMessages reports for a stored message."""
    shown = message.shown
    return m.MessageInfoType(
        id=shown.id,
        priority=m.MessagePriorityEnumType(shown.priority.value),
        message=m.MessageContentType(
            format=m.MessageFormatEnumType(shown.format),
            language=shown.language,
            content=shown.content,
            customData=custom_data(message.content_vendor_data),
        ),
        display=_component(message.display) if message.display is not None else None,
        state=m.MessageStateEnumType(shown.state.value) if shown.state is not None else None,
        startDateTime=shown.start,
        endDateTime=shown.end,
        transactionId=shown.transaction_id,
        customData=custom_data(message.vendor_data),
    )


class DisplayRecords201:
    """evse.station.shell.display_messages.DisplayRecords: a message is stored as its MessageInfoType JSON."""

    def dumps(self, message: CsmsDisplayMessage) -> str:
        return info_from_message(message).model_dump_json(exclude_none=True)

    def loads(self, text: str) -> CsmsDisplayMessage:
        # pydantic's ValidationError is a ValueError, as json's decode error is: the store drops either.
        return message_from_info(m.MessageInfoType.model_validate(json.loads(text)))

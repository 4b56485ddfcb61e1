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
from evse.station.core.display_rules import MessageState, Priority
from evse.station.shell.display_messages import CsmsDisplayMessage, DisplayTarget


def _vendor_data(custom: m.CustomDataType | None) -> str | None:
    return custom.model_dump_json() if custom is not None else None


def _custom_data(vendor_data: str | None) -> m.CustomDataType | None:
    return m.CustomDataType.model_validate_json(vendor_data) if vendor_data is not None else None


def _target(display: m.ComponentType) -> DisplayTarget:
    evse = display.evse
    return DisplayTarget(
        component=display.name,
        instance=display.instance,
        evse_id=evse.id if evse is not None else None,
        connector_id=evse.connectorId if evse is not None else None,
        vendor_data=_vendor_data(display.customData),
        evse_vendor_data=_vendor_data(evse.customData) if evse is not None else None,
    )


def _component(target: DisplayTarget) -> m.ComponentType:
    evse = (
        m.EVSEType(id=target.evse_id, connectorId=target.connector_id, customData=_custom_data(target.evse_vendor_data))
        if target.evse_id is not None
        else None
    )
    return m.ComponentType(
        name=target.component, instance=target.instance, evse=evse, customData=_custom_data(target.vendor_data)
    )


def message_from_info(info: m.MessageInfoType) -> CsmsDisplayMessage:
    """The neutral display message of a SetDisplayMessage's MessageInfoType."""
    return CsmsDisplayMessage(
        id=info.id,
        priority=Priority(info.priority.value),
        content=info.message.content,
        format=info.message.format.value,
        language=info.message.language,
        state=MessageState(info.state.value) if info.state is not None else None,
        start=info.startDateTime,
        end=info.endDateTime,
        transaction_id=info.transactionId,
        display=_target(info.display) if info.display is not None else None,
        vendor_data=_vendor_data(info.customData),
        content_vendor_data=_vendor_data(info.message.customData),
    )


def info_from_message(message: CsmsDisplayMessage) -> m.MessageInfoType:
    """The MessageInfoType NotifyDisplayMessages reports for a stored message."""
    return m.MessageInfoType(
        id=message.id,
        priority=m.MessagePriorityEnumType(message.priority.value),
        message=m.MessageContentType(
            format=m.MessageFormatEnumType(message.format),
            language=message.language,
            content=message.content,
            customData=_custom_data(message.content_vendor_data),
        ),
        display=_component(message.display) if message.display is not None else None,
        state=m.MessageStateEnumType(message.state.value) if message.state is not None else None,
        startDateTime=message.start,
        endDateTime=message.end,
        transactionId=message.transaction_id,
        customData=_custom_data(message.vendor_data),
    )


class DisplayRecords201:
    """evse.station.shell.display_messages.DisplayRecords: a message is stored as its MessageInfoType JSON."""

    def dumps(self, message: CsmsDisplayMessage) -> str:
        return info_from_message(message).model_dump_json(exclude_none=True)

    def loads(self, text: str) -> CsmsDisplayMessage:
        # pydantic's ValidationError is a ValueError, as json's decode error is: the store drops either.
        return message_from_info(m.MessageInfoType.model_validate(json.loads(text)))

"""ItemsPerMessage / BytesPerMessage of an incoming request (DeviceDataCtrlr for GetVariables, SetVariables,
GetReport; LocalAuthListCtrlr for SendLocalList): a request beyond them is refused with the CALLERROR the
specification names, before any of it is applied."""

from __future__ import annotations

from evse.devicemodel.operations import MessageLimits
from evse.ocpp.calls import CallError
from evse.ocpp.v201 import messages as m


def enforce_message_limits(
    limits: MessageLimits, items: int, payload: m.OcppRequest, items_variable: str, bytes_variable: str
) -> None:
    """Raise OccurrenceConstraintViolation for more than `limits.items` items, FormatViolation for a payload
    of more than `limits.bytes` bytes (its JSON as received); the variables name the limits in the text."""
    if limits.items is not None and items > limits.items:
        raise CallError("OccurrenceConstraintViolation", f"{items} items exceed {items_variable} = {limits.items}")
    if limits.bytes is not None:
        size = len(payload.model_dump_json(exclude_none=True).encode())
        if size > limits.bytes:
            raise CallError("FormatViolation", f"{size} bytes exceed {bytes_variable} = {limits.bytes}")

"""The DeviceDataCtrlr limits on message and value sizes, read from the device model itself.

Pure functions of a DeviceModel. Every limit is optional: a definition set without the variable (or a
variable without a value) means "no limit", which keeps small test models simple.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evse.devicemodel.definitions import AttributeAddress, ComponentKey, VariableDef, VariableKey
from evse.devicemodel.operations import MessageLimits
from evse.devicemodel.validation import parse_integer

if TYPE_CHECKING:
    from evse.devicemodel.model import DeviceModel

_CTRLR = ComponentKey("DeviceDataCtrlr")


def _integer(model: DeviceModel, variable: str, instance: str | None = None) -> int | None:
    found = model.find(_CTRLR, VariableKey(variable, instance))
    if not isinstance(found, VariableDef):
        return None
    value = model.current(AttributeAddress(found.component, found.variable))
    return parse_integer(value) if value is not None else None


def _smallest(*limits: int | None) -> int | None:
    present = [limit for limit in limits if limit is not None]
    return min(present) if present else None


def configuration_value_limit(model: DeviceModel) -> int | None:
    """Longest value a SetVariables (or override) may set: min(ConfigurationValueSize, ValueSize)."""
    return _smallest(_integer(model, "ConfigurationValueSize"), _integer(model, "ValueSize"))


def reporting_value_limit(model: DeviceModel) -> int | None:
    """Longest value reported: min(ReportingValueSize, ValueSize); longer ones are truncated."""
    return _smallest(_integer(model, "ReportingValueSize"), _integer(model, "ValueSize"))


def message_limits(model: DeviceModel, message: str) -> MessageLimits:
    """ItemsPerMessage[message] and BytesPerMessage[message], e.g. for message "GetVariables"."""
    return MessageLimits(
        items=_integer(model, "ItemsPerMessage", message),
        bytes=_integer(model, "BytesPerMessage", message),
    )

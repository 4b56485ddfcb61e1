"""The OCPP 2.0.1 device model: components x variables x attributes, defined as data, persisted in SQLite.

Start with `DeviceModel.open(...)` (evse.devicemodel.model); definitions are read by
`load_definitions` (evse.devicemodel.loader) from config/device_model/*.yaml.
"""

from evse.devicemodel.definitions import (
    AttributeAddress,
    AttributeType,
    ComponentKey,
    DataType,
    Mutability,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel, VariableChange

__all__ = [
    "AttributeAddress",
    "AttributeType",
    "ComponentKey",
    "DataType",
    "DeviceModel",
    "Mutability",
    "VariableChange",
    "VariableDef",
    "VariableKey",
    "load_definitions",
]

"""The typed shape of device-model definitions: components x variables x attributes.

These are plain frozen values with no behaviour beyond lookups. The definitions themselves are data
(`config/device_model/*.yaml`, read by `evse.devicemodel.loader`); by the time they reach this shape the
per-EVSE and per-connector templates are already instantiated for the station's layout, so nothing
downstream has to know templates exist.

Names keep the spelling of OCPP 2.0.1 (component "EVSE", variable "HeartbeatInterval", attribute type
"MaxSet") because that spelling goes on the wire unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DataType(StrEnum):
    """OCPP DataEnumType: how the string value of a variable is to be read."""

    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATETIME = "dateTime"
    BOOLEAN = "boolean"
    OPTION_LIST = "OptionList"
    SEQUENCE_LIST = "SequenceList"
    MEMBER_LIST = "MemberList"


LIST_TYPES = frozenset({DataType.OPTION_LIST, DataType.SEQUENCE_LIST, DataType.MEMBER_LIST})
"""Data types whose values are drawn from `valuesList`."""


class AttributeType(StrEnum):
    """OCPP AttributeEnumType: which of a variable's values is meant. Absent on the wire means Actual."""

    ACTUAL = "Actual"
    TARGET = "Target"
    MIN_SET = "MinSet"
    MAX_SET = "MaxSet"


class Mutability(StrEnum):
    """OCPP MutabilityEnumType. The CSMS may write ReadWrite and WriteOnly attributes, never ReadOnly."""

    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    READ_WRITE = "ReadWrite"


class Scope(StrEnum):
    """How often a component exists: once, once per EVSE, or once per connector of each EVSE."""

    STATION = "station"
    EVSE = "evse"
    CONNECTOR = "connector"


@dataclass(frozen=True)
class ComponentKey:
    """Identity of one component instance, as OCPP ComponentType addresses it.

    `evse_id` is set for components that live on an EVSE, `connector_id` additionally for those that
    live on a connector (OCPP puts both in the component's `evse` field).
    """

    name: str
    instance: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None

    def __str__(self) -> str:
        address = [part for part in (self.instance,) if part is not None]
        address += [str(n) for n in (self.evse_id, self.connector_id) if n is not None]
        return f"{self.name}[{','.join(address)}]" if address else self.name


@dataclass(frozen=True)
class VariableKey:
    """Identity of one variable of a component (OCPP VariableType)."""

    name: str
    instance: str | None = None

    def __str__(self) -> str:
        return f"{self.name}[{self.instance}]" if self.instance is not None else self.name


@dataclass(frozen=True)
class Characteristics:
    """OCPP VariableCharacteristicsType: the fixed rules a variable's values obey.

    For numbers `min_limit`/`max_limit` bound the value; for string and list types they bound the length
    of the (comma-separated) string, as the specification defines.
    """

    data_type: DataType
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: tuple[str, ...] = ()
    supports_monitoring: bool = False


@dataclass(frozen=True)
class AttributeDef:
    """One attribute (Actual/Target/MinSet/MaxSet) of a variable, with its default value as a wire string.

    `persistent` decides whether a value written at runtime (by the CSMS or the station) survives a reboot;
    `constant` promises the station itself never changes it at runtime.
    """

    type: AttributeType
    mutability: Mutability
    persistent: bool = False
    constant: bool = False
    default: str | None = None

    @property
    def writable_by_csms(self) -> bool:
        return self.mutability is not Mutability.READ_ONLY

    @property
    def readable(self) -> bool:
        """WriteOnly values (passwords) never leave the station: not in GetVariables, not in reports."""
        return self.mutability is not Mutability.WRITE_ONLY


@dataclass(frozen=True)
class VariableDef:
    """One variable of one concrete component, with everything needed to validate and report it."""

    component: ComponentKey
    variable: VariableKey
    characteristics: Characteristics
    attributes: tuple[AttributeDef, ...]
    required: bool = False
    reboot_required: bool = False
    source: str = ""
    """The definition file this came from, so errors can point at it."""

    def attribute(self, attribute_type: AttributeType) -> AttributeDef | None:
        for attribute in self.attributes:
            if attribute.type is attribute_type:
                return attribute
        return None

    @property
    def key(self) -> tuple[ComponentKey, VariableKey]:
        return (self.component, self.variable)

    def __str__(self) -> str:
        return f"{self.component}.{self.variable}"


@dataclass(frozen=True)
class AttributeAddress:
    """Full identity of one value in the device model: the key under which it is stored."""

    component: ComponentKey
    variable: VariableKey
    attribute: AttributeType = AttributeType.ACTUAL

    def __str__(self) -> str:
        suffix = "" if self.attribute is AttributeType.ACTUAL else f":{self.attribute}"
        return f"{self.component}.{self.variable}{suffix}"

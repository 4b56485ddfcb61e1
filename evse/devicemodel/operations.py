"""The device model's side of the OCPP provisioning operations, free of the wire format.

GetVariables, SetVariables, GetBaseReport and GetReport are expressed here as small frozen values. The
OCPP handlers (evse/ocpp/v201/handlers/device_model.py) translate the generated message models to and from
these, so the core stays testable without the message layer and the message layer stays thin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from evse.devicemodel.definitions import AttributeType, Characteristics, ComponentKey, Mutability, VariableKey


class GetVariableStatus(StrEnum):
    """OCPP GetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"


class SetVariableStatus(StrEnum):
    """OCPP SetVariableStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    NOT_SUPPORTED_ATTRIBUTE_TYPE = "NotSupportedAttributeType"
    REBOOT_REQUIRED = "RebootRequired"


class ReportBase(StrEnum):
    """OCPP ReportBaseEnumType."""

    CONFIGURATION_INVENTORY = "ConfigurationInventory"
    FULL_INVENTORY = "FullInventory"
    SUMMARY_INVENTORY = "SummaryInventory"


class ComponentCriterion(StrEnum):
    """OCPP ComponentCriterionEnumType: each names the boolean variable a component must have true."""

    ACTIVE = "Active"
    AVAILABLE = "Available"
    ENABLED = "Enabled"
    PROBLEM = "Problem"


@dataclass(frozen=True)
class GetVariableData:
    """One item of a GetVariablesRequest; no attribute type means Actual."""

    component: ComponentKey
    variable: VariableKey
    attribute_type: AttributeType | None = None


@dataclass(frozen=True)
class GetVariableResult:
    """One item of a GetVariablesResponse; component and variable echo the request as sent."""

    component: ComponentKey
    variable: VariableKey
    attribute_type: AttributeType
    status: GetVariableStatus
    value: str | None = None
    reason_code: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True)
class SetVariableData:
    """One item of a SetVariablesRequest; no attribute type means Actual."""

    component: ComponentKey
    variable: VariableKey
    value: str
    attribute_type: AttributeType | None = None


@dataclass(frozen=True)
class SetVariableResult:
    """One item of a SetVariablesResponse; component and variable echo the request as sent."""

    component: ComponentKey
    variable: VariableKey
    attribute_type: AttributeType
    status: SetVariableStatus
    reason_code: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True)
class ComponentVariableSelector:
    """One componentVariable of a GetReportRequest or GetMonitoringReportRequest.

    Whatever is None matches everything: no component instance or EVSE means every instance/EVSE
    (TC_B_56), no variable means every variable of the component, no variable instance means every
    instance of that variable (TC_B_54). Names compare case-insensitively.
    """

    component: ComponentKey
    variable: VariableKey | None = None

    def selects(self, component: ComponentKey, variable: VariableKey) -> bool:
        wanted = self.component
        if wanted.name.lower() != component.name.lower() or not _same(wanted.instance, component.instance):
            return False
        if wanted.evse_id is not None and wanted.evse_id != component.evse_id:
            return False
        if wanted.connector_id is not None and wanted.connector_id != component.connector_id:
            return False
        if self.variable is None:
            return True
        return self.variable.name.lower() == variable.name.lower() and _same(self.variable.instance, variable.instance)


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.lower() == actual.lower())


@dataclass(frozen=True)
class ReportedAttribute:
    """OCPP VariableAttributeType as reported; `value` is None for WriteOnly attributes."""

    type: AttributeType
    value: str | None
    mutability: Mutability
    persistent: bool
    constant: bool


@dataclass(frozen=True)
class ReportEntry:
    """OCPP ReportDataType: one variable of one component with the attributes being reported."""

    component: ComponentKey
    variable: VariableKey
    attributes: tuple[ReportedAttribute, ...]
    characteristics: Characteristics


@dataclass(frozen=True)
class ReportBatch:
    """The content of one NotifyReportRequest: its sequence number, whether more follow, its entries."""

    seq_no: int
    tbc: bool
    entries: tuple[ReportEntry, ...]


@dataclass(frozen=True)
class MessageLimits:
    """DeviceDataCtrlr ItemsPerMessage / BytesPerMessage for one message type; None means no limit."""

    items: int | None
    bytes: int | None

"""Base and custom reports of the device model (OCPP 2.0.1 use cases B07, B08) and their batching.

Pure functions of a DeviceModel. What each report contains:

- FullInventory: every variable with all its attributes.
- ConfigurationInventory: the variables the CSMS can set, with only their writable attributes.
- SummaryInventory: the AvailabilityState of ChargingStation, every EVSE and every Connector, plus every
  Problem, Tripped, Overload and Fallback variable that is currently true.
- Custom (GetReport): components selected by `componentCriteria` (a component matches a criterion when it
  has that boolean variable - Active, Available, Enabled, Problem - set to true; several criteria are
  alternatives) and/or by `componentVariable` selectors (absent instance, EVSE or variable = all).

WriteOnly values are never reported (the attribute is listed without a value), and values are truncated
to the reporting value size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from evse.devicemodel.definitions import (
    AttributeAddress,
    AttributeDef,
    ComponentKey,
    Mutability,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.operations import (
    ComponentCriterion,
    ComponentVariableSelector,
    ReportBase,
    ReportBatch,
    ReportedAttribute,
    ReportEntry,
)

if TYPE_CHECKING:
    from evse.devicemodel.model import DeviceModel

_AVAILABILITY_COMPONENTS = frozenset({"chargingstation", "evse", "connector"})
_FAULT_VARIABLES = frozenset({"problem", "tripped", "overload", "fallback"})

_AttributeFilter = Callable[[VariableDef, AttributeDef], bool]


def _entry(model: DeviceModel, definition: VariableDef, keep: _AttributeFilter) -> ReportEntry | None:
    attributes = tuple(
        ReportedAttribute(
            type=attribute.type,
            value=model.reported_value(
                AttributeAddress(definition.component, definition.variable, attribute.type), attribute
            ),
            mutability=attribute.mutability,
            persistent=attribute.persistent,
            constant=attribute.constant,
        )
        for attribute in definition.attributes
        if keep(definition, attribute)
    )
    if not attributes:
        return None
    return ReportEntry(definition.component, definition.variable, attributes, definition.characteristics)


def _is_true(model: DeviceModel, component: ComponentKey, variable: str) -> bool:
    found = model.find(component, VariableKey(variable))
    if not isinstance(found, VariableDef):
        return False
    return model.current(AttributeAddress(found.component, found.variable)) == "true"


def _in_summary(model: DeviceModel) -> _AttributeFilter:
    def keep(definition: VariableDef, attribute: AttributeDef) -> bool:
        name = definition.variable.name.lower()
        if name == "availabilitystate" and definition.component.name.lower() in _AVAILABILITY_COMPONENTS:
            return True
        if name in _FAULT_VARIABLES and attribute.readable:
            address = AttributeAddress(definition.component, definition.variable, attribute.type)
            return model.current(address) == "true"
        return False

    return keep


def _writable(_: VariableDef, attribute: AttributeDef) -> bool:
    return attribute.mutability is not Mutability.READ_ONLY


def _everything(_: VariableDef, __: AttributeDef) -> bool:
    return True


def base_report(model: DeviceModel, report_base: str) -> list[ReportEntry] | None:
    """The entries of a GetBaseReport, or None if `report_base` is not one this station supports."""
    keep: _AttributeFilter
    if report_base == ReportBase.FULL_INVENTORY:
        keep = _everything
    elif report_base == ReportBase.CONFIGURATION_INVENTORY:
        keep = _writable
    elif report_base == ReportBase.SUMMARY_INVENTORY:
        keep = _in_summary(model)
    else:
        return None
    entries = (_entry(model, definition, keep) for definition in model.definitions())
    return [entry for entry in entries if entry is not None]


def unsupported_criteria(criteria: Sequence[str]) -> list[str]:
    """Criteria this station cannot evaluate; GetReport answers NotSupported if there are any."""
    known = {criterion.value for criterion in ComponentCriterion}
    return [criterion for criterion in criteria if criterion not in known]


def custom_report(
    model: DeviceModel,
    criteria: Sequence[str] = (),
    selectors: Sequence[ComponentVariableSelector] = (),
) -> list[ReportEntry]:
    """The entries of a GetReport: variables passing both the criteria and the selectors (each if given).

    Criteria must be supported (check `unsupported_criteria` first); an empty result means the
    handler answers EmptyResultSet and sends no NotifyReport.
    """
    matching_components: dict[ComponentKey, bool] = {}

    def component_matches(component: ComponentKey) -> bool:
        if component not in matching_components:
            matching_components[component] = any(_is_true(model, component, criterion) for criterion in criteria)
        return matching_components[component]

    entries = []
    for definition in model.definitions():
        if criteria and not component_matches(definition.component):
            continue
        if selectors and not any(s.selects(definition.component, definition.variable) for s in selectors):
            continue
        entry = _entry(model, definition, _everything)
        if entry is not None:
            entries.append(entry)
    return entries


def notify_report_batches(entries: Sequence[ReportEntry], items_per_message: int | None) -> list[ReportBatch]:
    """Split report entries into NotifyReportRequests: seqNo from 0, tbc true on all but the last.

    `items_per_message` is DeviceDataCtrlr.ItemsPerMessage[GetReport]; None or < 1 means one message.
    """
    if not entries:
        return []
    size = items_per_message if items_per_message is not None and items_per_message > 0 else len(entries)
    chunks = [tuple(entries[start : start + size]) for start in range(0, len(entries), size)]
    return [ReportBatch(seq_no=index, tbc=index < len(chunks) - 1, entries=chunk) for index, chunk in enumerate(chunks)]

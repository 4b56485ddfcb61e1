"""The decisions on the CSMS's monitoring requests (OCPP 2.0.1 N02-N05), pure functions of the monitors
and the device model's definitions:

- `judge_set_monitoring`: SetVariableMonitoring item by item (N04).
- `judge_clear`: ClearVariableMonitoring (N05).
- `active_monitors`: what is in force under a SetMonitoringBase (N02).
- `select_for_report`: GetMonitoringReport's selection, grouped per component/variable.
- `split_by_size`: batching of report items by count and serialized size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.monitoring import (
    MAX_SEVERITY,
    NUMERIC,
    PERIODICS,
    THRESHOLDS,
    Monitor,
    MonitoringBase,
    MonitorKind,
    MonitorType,
)
from evse.devicemodel.operations import ComponentVariableSelector, GetVariableStatus

_T = TypeVar("_T")


class Criterion(StrEnum):
    """MonitoringCriterionEnumType."""

    THRESHOLD = "ThresholdMonitoring"
    DELTA = "DeltaMonitoring"
    PERIODIC = "PeriodicMonitoring"


_CRITERION_TYPES = {
    Criterion.THRESHOLD: THRESHOLDS,
    Criterion.DELTA: frozenset({MonitorType.DELTA}),
    Criterion.PERIODIC: PERIODICS,
}


# ---- SetVariableMonitoring (N04) ---------------------------------------------------------------------


class SetStatus(StrEnum):
    """SetMonitoringStatusEnumType."""

    ACCEPTED = "Accepted"
    UNKNOWN_COMPONENT = "UnknownComponent"
    UNKNOWN_VARIABLE = "UnknownVariable"
    UNSUPPORTED_MONITOR_TYPE = "UnsupportedMonitorType"
    REJECTED = "Rejected"
    DUPLICATE = "Duplicate"


@dataclass(frozen=True)
class SetRequest:
    """One SetMonitoringData, as the CSMS addressed it."""

    component: ComponentKey
    variable: VariableKey
    type: MonitorType
    value: float
    severity: int
    transaction: bool = False
    id: int | None = None


@dataclass(frozen=True)
class SetResult:
    """The answer to one SetMonitoringData; `monitor` is what is stored when Accepted."""

    request: SetRequest
    status: SetStatus
    reason: str | None = None
    monitor: Monitor | None = None


def _value_problem(request: SetRequest, definition: VariableDef) -> str | None:
    c = definition.characteristics
    numeric = c.data_type in NUMERIC
    if not math.isfinite(request.value):
        return "the value is not a finite number"
    if request.type in THRESHOLDS:
        if c.min_limit is not None and request.value < c.min_limit:
            return f"threshold {request.value:g} below the variable's minLimit {c.min_limit:g}"
        if c.max_limit is not None and request.value > c.max_limit:
            return f"threshold {request.value:g} above the variable's maxLimit {c.max_limit:g}"
    elif request.type is MonitorType.DELTA:
        if request.value < 0:
            return "a delta cannot be negative"
        if (
            numeric
            and c.min_limit is not None
            and c.max_limit is not None
            and request.value > c.max_limit - c.min_limit
        ):
            return f"delta {request.value:g} exceeds the variable's range {c.max_limit - c.min_limit:g}"
    elif request.value < 1 or request.value > 86_400 * 7:
        return f"a period of {request.value:g} s is out of range (1 s .. 7 days)"
    return None


def judge_set_monitoring(
    requests: Sequence[SetRequest],
    find: Callable[[ComponentKey, VariableKey], VariableDef | GetVariableStatus],
    existing: Sequence[Monitor],
    *,
    next_id: int,
    max_custom: int,
) -> list[SetResult]:
    """Judge every item; accepted ones see each other (a duplicate within one request is a Duplicate).

    New custom monitors get ids from `next_id` on. An id given must name an existing monitor on the same
    component/variable that is not hard-wired; it is then replaced (a preconfigured one stays
    preconfigured, so SetMonitoringBase FactoryDefault can restore it)."""
    monitors = {monitor.id: monitor for monitor in existing}
    custom = sum(1 for monitor in existing if monitor.kind is MonitorKind.CUSTOM)
    results: list[SetResult] = []
    for request in requests:
        result = _judge_one(request, find, monitors, next_id, custom >= max_custom)
        results.append(result)
        if result.monitor is not None:
            if result.monitor.id == next_id:
                next_id += 1
            if result.monitor.id not in monitors and result.monitor.kind is MonitorKind.CUSTOM:
                custom += 1
            monitors[result.monitor.id] = result.monitor
    return results


def _judge_one(
    request: SetRequest,
    find: Callable[[ComponentKey, VariableKey], VariableDef | GetVariableStatus],
    monitors: dict[int, Monitor],
    next_id: int,
    full: bool,
) -> SetResult:
    def refuse(status: SetStatus, reason: str) -> SetResult:
        return SetResult(request, status, reason)

    if not 0 <= request.severity <= MAX_SEVERITY:
        return refuse(SetStatus.REJECTED, f"severity {request.severity} is not 0..{MAX_SEVERITY}")
    found = find(request.component, request.variable)
    if found is GetVariableStatus.UNKNOWN_COMPONENT:
        return refuse(SetStatus.UNKNOWN_COMPONENT, f"no component {request.component}")
    if not isinstance(found, VariableDef):
        return refuse(SetStatus.UNKNOWN_VARIABLE, f"{request.component} has no variable {request.variable}")
    if not found.characteristics.supports_monitoring:
        return refuse(SetStatus.REJECTED, f"{found} does not support monitoring")
    if request.type in THRESHOLDS and found.characteristics.data_type not in NUMERIC:
        return refuse(SetStatus.UNSUPPORTED_MONITOR_TYPE, f"{found} is not a number: no threshold")
    problem = _value_problem(request, found)
    if problem is not None:
        return refuse(SetStatus.REJECTED, problem)
    kind = MonitorKind.CUSTOM
    if request.id is not None:
        old = monitors.get(request.id)
        if old is None:
            return refuse(SetStatus.REJECTED, f"no monitor with id {request.id}")
        if old.kind is MonitorKind.HARD_WIRED:
            return refuse(SetStatus.REJECTED, f"monitor {request.id} is hard-wired")
        if (old.component, old.variable) != (found.component, found.variable):
            return refuse(SetStatus.REJECTED, f"monitor {request.id} watches {old.component}.{old.variable}")
        kind = old.kind
    elif full:
        return refuse(SetStatus.REJECTED, "MonitoringCtrlr.MaxCustomMonitors reached")
    monitor = Monitor(
        id=request.id if request.id is not None else next_id,
        component=found.component,
        variable=found.variable,
        type=request.type,
        value=request.value,
        severity=request.severity,
        transaction=request.transaction,
        kind=kind,
    )
    for other in monitors.values():
        duplicate = other.same_target(monitor) and (other.type, other.severity) == (monitor.type, monitor.severity)
        if duplicate and other.id != monitor.id:
            return refuse(SetStatus.DUPLICATE, f"monitor {other.id} has the same type and severity")
    return SetResult(request, SetStatus.ACCEPTED, monitor=monitor)


class ClearStatus(StrEnum):
    """ClearMonitoringStatusEnumType."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    NOT_FOUND = "NotFound"


def judge_clear(ids: Sequence[int], active: Sequence[Monitor]) -> list[tuple[int, ClearStatus, str | None]]:
    """ClearVariableMonitoring (N05) against the monitors in force: custom and preconfigured ones go (a
    preconfigured one until SetMonitoringBase brings it back), hard-wired ones stay, Rejected; an id not in
    force is NotFound. One answer per id, in order."""
    kinds = {monitor.id: monitor.kind for monitor in active}
    results: list[tuple[int, ClearStatus, str | None]] = []
    for monitor_id in ids:
        kind = kinds.get(monitor_id)
        if kind is None:
            results.append((monitor_id, ClearStatus.NOT_FOUND, None))
        elif kind is MonitorKind.HARD_WIRED:
            results.append((monitor_id, ClearStatus.REJECTED, "a hard-wired monitor cannot be cleared"))
        else:
            results.append((monitor_id, ClearStatus.ACCEPTED, None))
    return results


# ---- which monitors are active ------------------------------------------------------------------------


def active_monitors(
    base: MonitoringBase,
    hard_wired: Iterable[Monitor],
    preconfigured: Iterable[tuple[Monitor, bool]],
    stored: Iterable[Monitor],
    cleared: Collection[int] = frozenset(),
) -> list[Monitor]:
    """Hard-wired always; preconfigured per the base (`(monitor, factory_default)`), with the CSMS's
    changes (stored monitors with a preconfigured id) in place of the original and without those it
    cleared; custom ones always."""
    changed = {monitor.id: monitor for monitor in stored if monitor.kind is MonitorKind.PRECONFIGURED}
    result = list(hard_wired)
    if base is not MonitoringBase.HARD_WIRED_ONLY:
        for monitor, factory_default in preconfigured:
            if (base is MonitoringBase.ALL or factory_default) and monitor.id not in cleared:
                result.append(changed.get(monitor.id, monitor))
    result += [monitor for monitor in stored if monitor.kind is MonitorKind.CUSTOM]
    return result


# ---- GetMonitoringReport (N02) ------------------------------------------------------------------------


def select_for_report(
    monitors: Iterable[Monitor], criteria: Sequence[Criterion] = (), selectors: Sequence[ComponentVariableSelector] = ()
) -> list[tuple[ComponentKey, VariableKey, list[Monitor]]]:
    """The monitors passing both the criteria and the selectors (each if given), grouped per
    component/variable in first-seen order; an empty result is answered EmptyResultSet."""
    types = frozenset().union(*(_CRITERION_TYPES[c] for c in criteria)) if criteria else None
    groups: dict[tuple[ComponentKey, VariableKey], list[Monitor]] = {}
    for monitor in monitors:
        if types is not None and monitor.type not in types:
            continue
        if selectors and not any(s.selects(monitor.component, monitor.variable) for s in selectors):
            continue
        groups.setdefault((monitor.component, monitor.variable), []).append(monitor)
    return [(component, variable, items) for (component, variable), items in groups.items()]


def split_by_size(
    items: Sequence[_T], max_items: int | None, max_bytes: int | None, size_of: Callable[[Sequence[_T]], int]
) -> list[list[_T]]:
    """Consecutive batches of at most `max_items` whose `size_of` stays within `max_bytes`; an item too big
    on its own still goes, alone (better an oversized message than a report that never ends)."""
    batches: list[list[_T]] = []
    current: list[_T] = []
    for item in items:
        candidate = [*current, item]
        too_many = max_items is not None and len(candidate) > max_items
        too_big = max_bytes is not None and size_of(candidate) > max_bytes
        if current and (too_many or too_big):
            batches.append(current)
            current = [item]
        else:
            current = candidate
    if current:
        batches.append(current)
    return batches

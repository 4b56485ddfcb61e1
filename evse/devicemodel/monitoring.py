"""Variable monitoring (OCPP 2.0.1 N02-N08) as pure functions: no I/O, no clock of its own.

- `evaluate`: one monitor, its watch state and the variable's current value -> new state and perhaps a
  `Trigger` (the NotifyEvent it calls for). UpperThreshold/LowerThreshold raise an Alerting event when
  the value passes the threshold (strictly) and a cleared one when it comes back; Delta reports a change
  of more than `value` since the last report (any change for values that are not numbers; the value is
  then ignored); Periodic reports every `value` seconds, PeriodicClockAligned on the multiples of `value`
  seconds since midnight UTC. The first evaluation only takes the reference (no event at set time).
- `judge_set_monitoring`: SetVariableMonitoring item by item (N04) against the device model's definitions
  and the monitors that exist.
- `select_for_report`: GetMonitoringReport's selection (N02), grouped per component/variable.
- `split_by_size`: batching of report items by count and serialized size.

Monitor kinds: hard-wired monitors are the station's own (the hardware faults; never changed or
cleared), preconfigured ones come with the firmware (config/preconfigured_monitors.yaml; the CSMS may
change them until SetMonitoringBase FactoryDefault restores them), custom ones are the CSMS's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from evse.devicemodel.definitions import ComponentKey, DataType, VariableDef, VariableKey
from evse.devicemodel.operations import GetVariableStatus
from evse.devicemodel.validation import parse_decimal

_T = TypeVar("_T")

# Id ranges, so a monitor's id tells its kind and custom ids never collide with the firmware's.
PRECONFIGURED_ID_BASE = 1_000_000
HARD_WIRED_ID_BASE = 2_000_000
MAX_SEVERITY = 9

_NUMERIC = frozenset({DataType.INTEGER, DataType.DECIMAL})


class MonitorType(StrEnum):
    """MonitorEnumType."""

    UPPER_THRESHOLD = "UpperThreshold"
    LOWER_THRESHOLD = "LowerThreshold"
    DELTA = "Delta"
    PERIODIC = "Periodic"
    PERIODIC_CLOCK_ALIGNED = "PeriodicClockAligned"


THRESHOLDS = frozenset({MonitorType.UPPER_THRESHOLD, MonitorType.LOWER_THRESHOLD})
PERIODICS = frozenset({MonitorType.PERIODIC, MonitorType.PERIODIC_CLOCK_ALIGNED})


class MonitorKind(StrEnum):
    """Who made the monitor, as NotifyEvent's eventNotificationType names it."""

    HARD_WIRED = "HardWiredMonitor"
    PRECONFIGURED = "PreconfiguredMonitor"
    CUSTOM = "CustomMonitor"


class MonitoringBase(StrEnum):
    """MonitoringBaseEnumType: which monitors are active besides the custom ones."""

    ALL = "All"
    FACTORY_DEFAULT = "FactoryDefault"
    HARD_WIRED_ONLY = "HardWiredOnly"


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


@dataclass(frozen=True)
class Monitor:
    """One VariableMonitoring: on a canonical component/variable (the definitions' spelling)."""

    id: int
    component: ComponentKey
    variable: VariableKey
    type: MonitorType
    value: float
    severity: int
    transaction: bool = False
    kind: MonitorKind = MonitorKind.CUSTOM

    def same_target(self, other: Monitor) -> bool:
        return (self.component, self.variable) == (other.component, other.variable)


@dataclass(frozen=True)
class Watch:
    """What `evaluate` remembers of one monitor between two values."""

    started: bool = False
    beyond: bool = False  # thresholds: the value is past the threshold (an Alerting event is standing)
    reference: str | None = None  # delta: the value last reported (or seen when the monitor was set)
    due: float | None = None  # periodic: monotonic time of the next report; clock-aligned: last slot


@dataclass(frozen=True)
class Trigger:
    """A monitor fired: NotifyEvent's trigger (Alerting, Delta, Periodic), actualValue and cleared."""

    monitor: Monitor
    trigger: str
    actual_value: str
    cleared: bool | None = None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    parsed = parse_decimal(value)
    return float(parsed) if parsed is not None else None


def evaluate(
    monitor: Monitor,
    watch: Watch,
    value: str | None,
    *,
    monotonic: float,
    wall: datetime,
    in_transaction: bool = True,
) -> tuple[Watch, Trigger | None]:
    """The monitor's new state and the event it raises now, if any.

    A monitor with the transaction flag is dormant (state reset) while no transaction runs on its
    component (N04: active only during a transaction). `value` "" means unknown (a meter not read yet):
    thresholds and delta keep their state, periodic monitors still report it. None means the variable has
    no value (unset): a Delta sees its first value as a change, a threshold waits for a number."""
    if monitor.transaction and not in_transaction:
        return Watch(), None
    if monitor.type in PERIODICS:
        return _periodic(monitor, watch, value or "", monotonic, wall)
    if value == "":
        return watch, None
    if monitor.type is MonitorType.DELTA:
        return _delta(monitor, watch, value if value is not None else "")
    if value is None:
        return watch, None
    number = _number(value)
    if number is None:
        return watch, None
    upper = monitor.type is MonitorType.UPPER_THRESHOLD
    beyond = number > monitor.value if upper else number < monitor.value
    started = Watch(started=True, beyond=beyond)
    if beyond == watch.beyond:
        return started, None
    # Coming back inside the limits clears the alert; a monitor set while already inside reports nothing.
    return started, Trigger(monitor, "Alerting", value, cleared=not beyond)


def _delta(monitor: Monitor, watch: Watch, value: str) -> tuple[Watch, Trigger | None]:
    if not watch.started or watch.reference is None:
        return Watch(started=True, reference=value), None
    old, new = _number(watch.reference), _number(value)
    numeric = old is not None and new is not None
    changed = abs((new or 0.0) - (old or 0.0)) > monitor.value if numeric else value != watch.reference
    if not changed:
        return watch, None
    return Watch(started=True, reference=value), Trigger(monitor, "Delta", value)


def _periodic(
    monitor: Monitor, watch: Watch, value: str, monotonic: float, wall: datetime
) -> tuple[Watch, Trigger | None]:
    interval = max(monitor.value, 1.0)
    if monitor.type is MonitorType.PERIODIC:
        if watch.due is None:
            return Watch(started=True, due=monotonic + interval), None
        if monotonic < watch.due:
            return watch, None
        # After a stall (a long suspend) one report, then the rhythm again, rather than a burst.
        due = watch.due + interval if watch.due + interval > monotonic else monotonic + interval
        return Watch(started=True, due=due), Trigger(monitor, "Periodic", value)
    slot = float(math.floor(wall.astimezone(UTC).timestamp() / interval))
    if watch.due is None:
        return Watch(started=True, due=slot), None
    if slot <= watch.due:
        return watch, None
    return Watch(started=True, due=slot), Trigger(monitor, "Periodic", value)


def reported(trigger: Trigger, level: int) -> bool:
    """SetMonitoringLevel: only events of the level's severity or a more severe one (lower number)."""
    return trigger.monitor.severity <= level


def queued_offline(severity: int, offline_queuing_severity: int) -> bool:
    """OfflineQueuingSeverity: while offline an event waits in the outbox only if this severe or more."""
    return severity <= offline_queuing_severity


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
    numeric = c.data_type in _NUMERIC
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
    if request.type in THRESHOLDS and found.characteristics.data_type not in _NUMERIC:
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


def judge_clear(ids: Sequence[int], existing: Sequence[Monitor]) -> list[tuple[int, ClearStatus, str | None]]:
    """ClearVariableMonitoring (N05): custom monitors go; the firmware's (hard-wired, preconfigured) stay,
    Rejected; an unknown id is NotFound. One answer per id, in order."""
    kinds = {monitor.id: monitor.kind for monitor in existing}
    results: list[tuple[int, ClearStatus, str | None]] = []
    for monitor_id in ids:
        kind = kinds.get(monitor_id)
        if kind is None:
            results.append((monitor_id, ClearStatus.NOT_FOUND, None))
        elif kind is MonitorKind.CUSTOM:
            results.append((monitor_id, ClearStatus.ACCEPTED, None))
        else:
            results.append((monitor_id, ClearStatus.REJECTED, f"a {kind.value} cannot be cleared"))
    return results


# ---- which monitors are active ------------------------------------------------------------------------


def active_monitors(
    base: MonitoringBase,
    hard_wired: Iterable[Monitor],
    preconfigured: Iterable[tuple[Monitor, bool]],
    stored: Iterable[Monitor],
) -> list[Monitor]:
    """Hard-wired always; preconfigured per the base (`(monitor, factory_default)`), with the CSMS's
    changes (stored monitors with a preconfigured id) in place of the original; custom ones always."""
    changed = {monitor.id: monitor for monitor in stored if monitor.kind is MonitorKind.PRECONFIGURED}
    result = list(hard_wired)
    if base is not MonitoringBase.HARD_WIRED_ONLY:
        for monitor, factory_default in preconfigured:
            if base is MonitoringBase.ALL or factory_default:
                result.append(changed.get(monitor.id, monitor))
    result += [monitor for monitor in stored if monitor.kind is MonitorKind.CUSTOM]
    return result


# ---- GetMonitoringReport (N02) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """One componentVariable of GetMonitoringReport: absent instance/EVSE/variable mean any."""

    component: ComponentKey
    variable: VariableKey | None = None


def _same(wanted: str | None, actual: str | None) -> bool:
    return wanted is None or (actual is not None and wanted.lower() == actual.lower())


def _selected(selector: Selector, monitor: Monitor) -> bool:
    wanted, actual = selector.component, monitor.component
    if wanted.name.lower() != actual.name.lower() or not _same(wanted.instance, actual.instance):
        return False
    if wanted.evse_id is not None and wanted.evse_id != actual.evse_id:
        return False
    if wanted.connector_id is not None and wanted.connector_id != actual.connector_id:
        return False
    if selector.variable is None:
        return True
    return selector.variable.name.lower() == monitor.variable.name.lower() and _same(
        selector.variable.instance, monitor.variable.instance
    )


def select_for_report(
    monitors: Iterable[Monitor], criteria: Sequence[Criterion] = (), selectors: Sequence[Selector] = ()
) -> list[tuple[ComponentKey, VariableKey, list[Monitor]]]:
    """The monitors passing both the criteria and the selectors (each if given), grouped per
    component/variable in first-seen order; an empty result is answered EmptyResultSet."""
    types = frozenset().union(*(_CRITERION_TYPES[c] for c in criteria)) if criteria else None
    groups: dict[tuple[ComponentKey, VariableKey], list[Monitor]] = {}
    for monitor in monitors:
        if types is not None and monitor.type not in types:
            continue
        if selectors and not any(_selected(selector, monitor) for selector in selectors):
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

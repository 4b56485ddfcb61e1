"""Variable monitoring (OCPP 2.0.1 N02-N08) as pure functions: no I/O, no clock of its own.

- `evaluate`: one monitor, its watch state and the variable's current value -> new state and perhaps a
  `Trigger` (the NotifyEvent it calls for). UpperThreshold/LowerThreshold raise an Alerting event when
  the value passes the threshold (strictly) and a cleared one when it comes back; Delta reports a change
  of more than `value` since the last report (any change for values that are not numbers; the value is
  then ignored); Periodic reports every `value` seconds, PeriodicClockAligned on the multiples of `value`
  seconds since midnight UTC. A Delta's or a periodic monitor's first evaluation only takes its
  reference; a threshold already passed when the monitor is set raises at once.
- `reported` (SetMonitoringLevel) and `queued_offline` (OfflineQueuingSeverity): which events go out.

The decisions on the CSMS's requests (SetVariableMonitoring, ClearVariableMonitoring, the active set per
SetMonitoringBase, GetMonitoringReport's selection) are in evse.devicemodel.monitor_requests.

Monitor kinds: hard-wired monitors are the station's own (the hardware faults; never changed or
cleared), preconfigured ones come with the firmware (config/preconfigured_monitors.yaml; the CSMS may
change or clear them until SetMonitoringBase restores them), custom ones are the CSMS's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from evse.devicemodel.definitions import ComponentKey, DataType, VariableKey
from evse.devicemodel.validation import parse_decimal

# Id ranges, so a monitor's id tells its kind and custom ids never collide with the firmware's.
PRECONFIGURED_ID_BASE = 1_000_000
HARD_WIRED_ID_BASE = 2_000_000
MAX_SEVERITY = 9

NUMERIC = frozenset({DataType.INTEGER, DataType.DECIMAL})


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

"""Variable monitors at work: the shell around evse.devicemodel.monitoring.

Holds the active monitors (hard-wired, preconfigured per ActiveMonitoringBase, the CSMS's custom ones
from the station database), evaluates them once a second against the device model's current values
(live ones included: the meter's power, current and voltage) and at once when a variable changes
(DeviceModel.on_change), and sends what fires as NotifyEvent through the durable outbox.

Hard-wired monitors stand for the hardware faults the station already reports on its own (Station's
fault events); they are listed in GetMonitoringReport and never evaluated here, so no fault is told twice.
While offline, an event less severe than MonitoringCtrlr.OfflineQueuingSeverity is dropped, not queued.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from evse.clock import Clock
from evse.devicemodel.definitions import AttributeAddress, AttributeType, ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.devicemodel.monitor_requests import (
    ClearStatus,
    Criterion,
    SetRequest,
    SetResult,
    active_monitors,
    judge_clear,
    judge_set_monitoring,
    select_for_report,
)
from evse.devicemodel.monitor_store import MonitorStore
from evse.devicemodel.monitoring import (
    HARD_WIRED_ID_BASE,
    MAX_SEVERITY,
    Monitor,
    MonitoringBase,
    MonitorKind,
    MonitorType,
    Trigger,
    Watch,
    evaluate,
    queued_offline,
    reported,
)
from evse.devicemodel.operations import ComponentVariableSelector
from evse.errors import StorageError
from evse.ocpp.calls import OcppMessage
from evse.station.core.faults import FAULTS
from evse.station.shell.wire_events import EventReport

log = logging.getLogger(__name__)

_CTRLR = "MonitoringCtrlr"
_TECH_INFO_MAX = 500  # EventDataType.techInfo maxLength
_VALUE_MAX = 2500  # EventDataType.actualValue maxLength
_EVENTS_PER_MESSAGE = 20  # ~10 KiB of eventData at most per NotifyEvent
# Severity of the hard-wired monitors: an emergency stop or a tripped RCD is a danger, the station-wide
# Problem flag a system failure, any other part's Problem a hardware failure.
_HARD_WIRED_SEVERITY = {"EmergencyStopSensor": 0, "RCD": 0, "ChargingStation": 2}


def hard_wired_monitors(model: DeviceModel) -> list[Monitor]:
    """One Delta monitor per fault variable of every component instance the device model has."""
    wanted = {(f.component.lower(), f.variable.lower()) for f in FAULTS.values()}
    monitors: list[Monitor] = []
    for definition in model.definitions():
        key = (definition.component.name.lower(), definition.variable.name.lower())
        if key not in wanted:
            continue
        monitors.append(
            Monitor(
                id=HARD_WIRED_ID_BASE + len(monitors) + 1,
                component=definition.component,
                variable=definition.variable,
                type=MonitorType.DELTA,
                value=0.0,
                severity=_HARD_WIRED_SEVERITY.get(definition.component.name, 1),
                kind=MonitorKind.HARD_WIRED,
            )
        )
    return monitors


@dataclass(frozen=True)
class MonitorSink:
    """Where fired monitors go: the station's wire and outbox, its link state and its eventId sequence."""

    # The station wire's renderer (EventWire.notify_event) and the outbox it queues the report in.
    render: Callable[[datetime, Sequence[EventReport]], OcppMessage]
    send: Callable[[OcppMessage], None]
    is_online: Callable[[], bool]
    next_event_id: Callable[[], int]
    # The transaction running on an EVSE (None: on any EVSE), or None.
    transaction_on: Callable[[int | None], str | None]


class VariableMonitors:
    """The station's monitors: N02-N04 operations, evaluation and NotifyEvent."""

    def __init__(
        self,
        model: DeviceModel,
        store: MonitorStore,
        clock: Clock,
        sink: MonitorSink,
        *,
        preconfigured: Sequence[tuple[Monitor, bool]] = (),
    ) -> None:
        self._model = model
        self._store = store
        self._clock = clock
        self._sink = sink
        self._preconfigured = list(preconfigured)
        self.hard_wired = hard_wired_monitors(model)
        self._stored = [monitor for monitor in store.load() if self._still_defined(monitor)]
        self._cleared = store.cleared()
        self._watches: dict[int, Watch] = {}
        self._active: list[Monitor] = []
        self._by_target: dict[tuple[ComponentKey, VariableKey], list[Monitor]] = {}
        self._refresh()
        model.on_change(self._on_change)

    def _still_defined(self, monitor: Monitor) -> bool:
        """A stored monitor on a variable this layout no longer has (an EVSE removed) is left out, not
        reported: the row stays, in case the EVSE comes back."""
        if isinstance(self._model.find(monitor.component, monitor.variable), VariableDef):
            return True
        log.warning(
            "monitor id=%s on %s.%s: no such variable now, ignored", monitor.id, monitor.component, monitor.variable
        )
        return False

    # ---- state ---------------------------------------------------------------------------------------
    @property
    def base(self) -> MonitoringBase:
        return MonitoringBase(self._model.get_str(_CTRLR, "ActiveMonitoringBase"))

    @property
    def level(self) -> int:
        return self._model.get_int(_CTRLR, "ActiveMonitoringLevel")

    def hard_wired_id(self, component: str, variable: str, evse_id: int | None, connector_id: int | None) -> int | None:
        """The id of the hard-wired monitor on a fault variable (Station.fault_event names it), if any."""
        for monitor in self.hard_wired:
            key = monitor.component
            if (key.name.lower(), key.evse_id, key.connector_id) == (component.lower(), evse_id, connector_id) and (
                monitor.variable.name.lower() == variable.lower()
            ):
                return monitor.id
        return None

    def active(self) -> list[Monitor]:
        """Every monitor in force, hard-wired first."""
        return list(self._active)

    def _refresh(self) -> None:
        self._active = active_monitors(self.base, self.hard_wired, self._preconfigured, self._stored, self._cleared)
        self._by_target = {}
        for monitor in self._active:
            self._by_target.setdefault((monitor.component, monitor.variable), []).append(monitor)
        ids = {monitor.id for monitor in self._active}
        self._watches = {i: watch for i, watch in self._watches.items() if i in ids}

    # ---- N04 / N05 / N02 / N03 -------------------------------------------------------------------------
    def set_monitoring(self, requests: Sequence[SetRequest]) -> list[SetResult]:
        """SetVariableMonitoring: judged, the accepted ones stored in one write, then in force."""
        results = judge_set_monitoring(
            requests,
            self._model.find,
            self._active,
            next_id=self._store.next_custom_id(),
            max_custom=self._model.get_int(_CTRLR, "MaxCustomMonitors"),
        )
        accepted = [result.monitor for result in results if result.monitor is not None]
        if accepted:
            self._store.save(accepted)
            replaced = {monitor.id for monitor in accepted}
            self._stored = [monitor for monitor in self._stored if monitor.id not in replaced] + accepted
            for monitor in accepted:
                self._watches.pop(monitor.id, None)  # a changed monitor starts afresh
            self._refresh()
            # Evaluated at once: a Delta counts from the value at set time, not from the next tick's.
            self._fire([monitor for monitor in self._active if monitor.id in replaced])
        for result in results:
            log.info(
                "SetVariableMonitoring %s.%s type=%s -> %s id=%s %s",
                result.request.component,
                result.request.variable,
                result.request.type.value,
                result.status.value,
                result.monitor.id if result.monitor else result.request.id,
                result.reason or "",
            )
        return results

    def clear(self, ids: Sequence[int]) -> list[tuple[int, ClearStatus, str | None]]:
        """ClearVariableMonitoring: custom monitors are deleted, preconfigured ones noted as cleared (until
        SetMonitoringBase), hard-wired ones Rejected."""
        results = judge_clear(ids, self._active)
        gone = {i for i, status, _ in results if status is ClearStatus.ACCEPTED}
        if gone:
            kinds = {monitor.id: monitor.kind for monitor in self._active}
            preconfigured = {i for i in gone if kinds[i] is MonitorKind.PRECONFIGURED}
            self._store.delete(sorted(gone), mark_cleared=sorted(preconfigured))
            self._stored = [monitor for monitor in self._stored if monitor.id not in gone]
            self._cleared |= preconfigured
            self._refresh()
        return results

    def set_base(self, base: MonitoringBase) -> None:
        """SetMonitoringBase: FactoryDefault and HardWiredOnly remove every custom monitor and every change
        the CSMS made to a preconfigured one; All keeps them and brings back the preconfigured monitors the
        CSMS cleared."""
        if base is MonitoringBase.ALL:
            self._store.forget_clearings()
        else:
            self._store.delete_all()
            self._stored = []
        self._cleared = set()
        self._model.set_station_value(_CTRLR, "ActiveMonitoringBase", base.value)
        self._refresh()

    def set_level(self, severity: int) -> bool:
        """SetMonitoringLevel: False (Rejected) outside 0..9."""
        if not 0 <= severity <= MAX_SEVERITY:
            return False
        self._model.set_station_value(_CTRLR, "ActiveMonitoringLevel", severity)
        return True

    def report(
        self, criteria: Sequence[Criterion], selectors: Sequence[ComponentVariableSelector]
    ) -> list[tuple[ComponentKey, VariableKey, list[Monitor]]]:
        return select_for_report(self._active, criteria, selectors)

    # ---- evaluation ------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Evaluate every monitor once a second (live values change without telling anyone)."""
        while True:
            try:
                self.evaluate_all()
            except StorageError:
                raise  # the daemon restarts this task once the storage fault is raised
            except Exception:
                # Monitoring is diagnosis: a fault in it is logged, it must not take charging down with it.
                log.exception("monitor evaluation failed; trying again in a second")
            await asyncio.sleep(1.0)

    def evaluate_all(self) -> None:
        self._fire([monitor for monitor in self._active if monitor.kind is not MonitorKind.HARD_WIRED])

    def _on_change(self, change: VariableChange) -> None:
        if change.address.attribute is not AttributeType.ACTUAL:
            return
        monitors = self._by_target.get((change.address.component, change.address.variable), [])
        self._fire([monitor for monitor in monitors if monitor.kind is not MonitorKind.HARD_WIRED])

    def _fire(self, monitors: Sequence[Monitor]) -> None:
        if not monitors or not self._model.get_bool(_CTRLR, "Enabled"):
            return
        monotonic, wall, level = self._clock.monotonic(), self._clock.now(), self.level
        fired: list[Trigger] = []
        for monitor in monitors:
            address = AttributeAddress(monitor.component, monitor.variable, AttributeType.ACTUAL)
            tx = self._sink.transaction_on(monitor.component.evse_id)
            watch, trigger = evaluate(
                monitor,
                self._watches.get(monitor.id, Watch()),
                self._model.current(address),
                monotonic=monotonic,
                wall=wall,
                in_transaction=tx is not None,
            )
            self._watches[monitor.id] = watch
            if trigger is not None and reported(trigger, level):
                fired.append(trigger)
        if fired:
            self._deliver(fired)

    def _deliver(self, fired: list[Trigger]) -> None:
        if not self._sink.is_online():
            threshold = self._model.get_int(_CTRLR, "OfflineQueuingSeverity")
            kept = [t for t in fired if queued_offline(t.monitor.severity, threshold)]
            for trigger in fired:
                if trigger not in kept:
                    log.info(
                        "offline: monitor=%s severity=%s event dropped", trigger.monitor.id, trigger.monitor.severity
                    )
            fired = kept
        if not fired:
            return
        now = self._clock.now()
        events = [self._event_data(trigger, now) for trigger in fired]
        # Many monitors firing at once (a supply dip trips them all) go out as several NotifyEvents, each
        # a complete report of its own, so none grows past what a CSMS accepts in one frame.
        for start in range(0, len(events), _EVENTS_PER_MESSAGE):
            batch = events[start : start + _EVENTS_PER_MESSAGE]
            self._sink.send(self._sink.render(now, batch))

    def _event_data(self, trigger: Trigger, now: datetime) -> EventReport:
        monitor = trigger.monitor
        component = monitor.component
        value = trigger.actual_value if self._readable(monitor) else ""
        bound = "" if monitor.type is MonitorType.DELTA else f" (monitor value {monitor.value:g})"
        log.info(
            "monitor fired id=%s %s.%s trigger=%s value=%s",
            monitor.id,
            component,
            monitor.variable,
            trigger.trigger,
            value,
        )
        return EventReport(
            event_id=self._sink.next_event_id(),
            at=now,
            trigger=trigger.trigger,
            actual_value=value[:_VALUE_MAX],
            component=component.name,
            component_instance=component.instance,
            # A component of EVSE 0 (none is numbered so) counts as the station's, as it always did.
            evse_id=component.evse_id or None,
            connector_id=component.connector_id,
            variable=monitor.variable.name,
            variable_instance=monitor.variable.instance,
            notification=monitor.kind.value,
            monitor_id=monitor.id,
            cleared=trigger.cleared,
            tech_code=monitor.type.value,
            tech_info=f"{monitor.type.value} severity {monitor.severity}{bound}"[:_TECH_INFO_MAX],
            transaction_id=self._sink.transaction_on(component.evse_id) if monitor.transaction else None,
        )

    def _readable(self, monitor: Monitor) -> bool:
        """A WriteOnly variable (a password) is monitored, but its value never leaves the station."""
        found = self._model.find(monitor.component, monitor.variable)
        attribute = found.attribute(AttributeType.ACTUAL) if isinstance(found, VariableDef) else None
        return attribute is not None and attribute.readable

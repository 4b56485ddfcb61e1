"""The sources of external limits without the network: the EMS's limits and failsafe, the grid operator's
input, the gate of ExternalControlSignalsEnabled, and the reports to the CSMS (K11-K13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drivers.interfaces import InputChanged
from evse.ocpp.calls import OcppMessage
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.schemas import validate_request
from evse.ocpp.v201.wire.charging import Charging201
from evse.smartcharging.ems_control import EmsControl
from evse.smartcharging.ems_registers import Limit
from evse.smartcharging.external_limits import EMS, GRID_OPERATOR, LOAD_BALANCING, ExternalLimit, ExternalLimits
from evse.smartcharging.grid_input import GridLimitInput
from evse.smartcharging.limit_reports import LimitReports, significant
from evse.smartcharging.limit_sink import SignalGate

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def ems(registry: ExternalLimits, clock: Clock, timeout_s: int = 60) -> EmsControl:
    return EmsControl(registry, [1, 2], failsafe_a=6.0, timeout_s=timeout_s, monotonic=clock)


def test_an_ems_limit_for_the_station_or_an_evse_enters_the_registry_and_no_limit_lifts_it() -> None:
    registry, clock = ExternalLimits(), Clock()
    control = ems(registry, clock)
    control.write_limit(0, Limit(watts=11_000))
    control.write_limit(2, Limit(amps=10.0))
    assert set(registry.in_force()) == {ExternalLimit(EMS, 0, watts=11_000), ExternalLimit(EMS, 2, amps=10.0)}
    control.write_limit(2, Limit())
    assert registry.in_force() == [ExternalLimit(EMS, 0, watts=11_000)]


def test_a_silent_ems_gives_way_to_the_failsafe_current_on_every_evse_until_it_writes_again() -> None:
    registry, clock = ExternalLimits(), Clock()
    control = ems(registry, clock)
    control.write_limit(0, Limit(amps=20.0))
    clock.t += 59
    control.check()
    assert not control.failsafe_active
    clock.t += 1
    control.check()
    assert control.failsafe_active
    # Its own limits are stale: dropped, and the failsafe caps each EVSE.
    assert set(registry.in_force()) == {ExternalLimit(EMS, 1, amps=6.0), ExternalLimit(EMS, 2, amps=6.0)}
    assert control.written(0) == Limit()
    control.write_limit(1, Limit(amps=12.0))
    assert not control.failsafe_active
    assert registry.in_force() == [ExternalLimit(EMS, 1, amps=12.0)]


def test_the_timeout_runs_from_start_up_so_an_ems_that_never_writes_is_silent_too() -> None:
    registry, clock = ExternalLimits(), Clock()
    control = ems(registry, clock, timeout_s=30)
    clock.t += 30
    control.check()
    assert control.failsafe_active
    assert len(registry.in_force()) == 2


def test_a_timeout_of_zero_never_applies_the_failsafe() -> None:
    registry, clock = ExternalLimits(), Clock()
    control = ems(registry, clock, timeout_s=0)
    clock.t += 1e6
    control.check()
    assert not control.failsafe_active
    assert registry.in_force() == []


def test_the_grid_input_caps_the_station_while_closed_as_a_grid_critical_so_limit() -> None:
    registry = ExternalLimits()
    grid = GridLimitInput(registry, input_name="grid_limit", power_w=4200)
    grid.on_driver_event(InputChanged(1, "parking_bay", True))
    assert registry.in_force() == []
    grid.on_driver_event(InputChanged(1, "grid_limit", True))
    assert registry.in_force() == [ExternalLimit(GRID_OPERATOR, 0, watts=4200, is_grid_critical=True)]
    grid.on_driver_event(InputChanged(1, "grid_limit", False))
    assert registry.in_force() == []


def test_with_external_control_signals_disabled_the_registry_holds_none_until_they_are_enabled() -> None:
    registry, enabled = ExternalLimits(), [False]
    gate = SignalGate(registry, lambda: enabled[0])
    gate.set(ExternalLimit(GRID_OPERATOR, 0, watts=4200, is_grid_critical=True))
    assert registry.in_force() == []
    enabled[0] = True
    gate.refresh()
    assert registry.in_force() == [ExternalLimit(GRID_OPERATOR, 0, watts=4200, is_grid_critical=True)]
    enabled[0] = False
    gate.refresh()
    assert registry.in_force() == []


class NoCalls:
    """A CallSender for a wire that only renders: a call would be a bug."""

    async def call(self, request: OcppMessage, response_type: type[Any]) -> Any:
        raise AssertionError(f"unexpected CALL {request.ACTION}")


def reports(sent: list[m.OcppRequest], percent: float = 5.0, schedules: bool = False) -> LimitReports:
    return LimitReports(
        sent.append,  # type: ignore[arg-type]  # the 2.0.1 wire renders 2.0.1 requests
        Charging201(NoCalls()),
        significance_percent=lambda: percent,
        with_schedules=lambda: schedules,
        now=lambda: NOW,
    )


def payload(request: m.OcppRequest) -> dict[str, Any]:
    data = request.model_dump(mode="json", exclude_none=True)
    validate_request(request.ACTION, data)
    return data


def test_K12_FR_02_a_new_limit_is_notified_and_K13_FR_02_its_release_is_cleared() -> None:
    sent: list[m.OcppRequest] = []
    registry = ExternalLimits()
    registry.subscribe(reports(sent).on_change)
    registry.set(ExternalLimit(GRID_OPERATOR, 0, watts=4200, is_grid_critical=True))
    registry.set(ExternalLimit(EMS, 2, amps=10.0))
    registry.clear(GRID_OPERATOR, 0)
    assert [payload(r) for r in sent] == [
        {"chargingLimit": {"chargingLimitSource": "SO", "isGridCritical": True}},  # station: no evseId
        {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False}, "evseId": 2},
        {"chargingLimitSource": "SO"},
    ]


def test_K11_FR_02_a_change_within_LimitChangeSignificance_is_not_notified_but_creep_adds_up() -> None:
    sent: list[m.OcppRequest] = []
    registry = ExternalLimits()
    registry.subscribe(reports(sent, percent=10).on_change)
    for amps in (20.0, 21.0, 22.0, 22.5):  # +5 %, +10 %, +12.5 % from the 20 A reported
        registry.set(ExternalLimit(EMS, 1, amps=amps))
    notified = [r for r in sent if isinstance(r, m.NotifyChargingLimitRequest)]
    assert len(notified) == 2
    registry.set(ExternalLimit(EMS, 1, amps=22.5, watts=10_000))  # a new unit is always significant
    assert len(sent) == 3


def test_K12_FR_03_with_NotifyChargingLimitWithSchedules_the_limit_goes_as_one_schedule_per_unit() -> None:
    sent: list[m.OcppRequest] = []
    registry = ExternalLimits()
    registry.subscribe(reports(sent, schedules=True).on_change)
    registry.set(ExternalLimit(EMS, 0, amps=16.04, watts=11_000))
    schedules = payload(sent[0])["chargingSchedule"]
    assert [(s["chargingRateUnit"], s["chargingSchedulePeriod"]) for s in schedules] == [
        ("A", [{"startPeriod": 0, "limit": 16.0}]),
        ("W", [{"startPeriod": 0, "limit": 11_000.0}]),
    ]
    assert schedules[0]["id"] != schedules[1]["id"]


def test_load_balancing_is_internal_and_never_reported() -> None:
    sent: list[m.OcppRequest] = []
    registry = ExternalLimits()
    registry.subscribe(reports(sent).on_change)
    registry.set(ExternalLimit(LOAD_BALANCING, 1, amps=8.0))
    registry.clear(LOAD_BALANCING, 1)
    assert sent == []


def test_significance_compares_each_unit_and_the_grid_critical_flag() -> None:
    base = ExternalLimit(EMS, 1, amps=10.0)
    assert significant(None, base, 50)
    assert not significant(base, ExternalLimit(EMS, 1, amps=10.5), 5)
    assert significant(base, ExternalLimit(EMS, 1, amps=10.6), 5)
    assert significant(base, ExternalLimit(EMS, 1, amps=10.0, is_grid_critical=True), 50)
    assert significant(ExternalLimit(EMS, 1, amps=0.0), ExternalLimit(EMS, 1, amps=0.1), 50)

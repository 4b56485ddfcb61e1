"""The dev CSMS's plan for an EV's needs (evse.devcsms.ev_planning.planned_current, pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from evse.devcsms.ev_planning import planned_current

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def ac(energy_wh: int, hours: float | None, *, mode: str = "AC_three_phase", least: int = 0) -> dict[str, Any]:
    needs: dict[str, Any] = {
        "requestedEnergyTransfer": mode,
        "acChargingParameters": {
            "energyAmount": energy_wh,
            "evMinCurrent": least,
            "evMaxCurrent": 32,
            "evMaxVoltage": 400,
        },
    }
    if hours is not None:
        needs["departureTime"] = (NOW + timedelta(hours=hours)).isoformat()
    return needs


def test_the_energy_by_the_departure_at_a_constant_current() -> None:
    assert planned_current(ac(11_000, 1), NOW) == 16.0  # 11 kWh / (230 V x 3 x 1 h) = 15.94 A, rounded up
    assert planned_current(ac(11_000, 2, mode="AC_single_phase"), NOW) == 24.0  # 23.9 A


def test_never_under_6_a_or_the_ev_minimum_never_over_its_maximum() -> None:
    assert planned_current(ac(1_000, 8), NOW) == 6.0
    assert planned_current(ac(1_000, 8, least=10), NOW) == 10.0
    assert planned_current(ac(100_000, 1), NOW) == 32.0


def test_without_departure_energy_or_time_left_the_ev_gets_its_maximum() -> None:
    assert planned_current(ac(11_000, None), NOW) == 32.0
    assert planned_current(ac(0, 1), NOW) == 32.0
    assert planned_current(ac(11_000, -1), NOW) == 32.0


def test_a_dc_ev_gets_its_maximum_current() -> None:
    needs = {"requestedEnergyTransfer": "DC", "dcChargingParameters": {"evMaxCurrent": 125, "evMaxVoltage": 450}}
    assert planned_current(needs, NOW) == 125.0

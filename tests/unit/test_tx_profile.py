"""The limit of the TxProfile that comes with RequestStartTransaction (F01 with chargingProfile)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evse.ocpp.v201 import messages as m
from evse.station.core.tx_profile import tx_profile_limit_a

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def profile(unit: str, periods: list[tuple[int, float]], duration: int | None = None) -> m.ChargingProfileType:
    return m.ChargingProfileType(
        id=1,
        stackLevel=0,
        chargingProfilePurpose=m.ChargingProfilePurposeEnumType.TxProfile,
        chargingProfileKind=m.ChargingProfileKindEnumType.Relative,
        chargingSchedule=[
            m.ChargingScheduleType(
                id=1,
                chargingRateUnit=m.ChargingRateUnitEnumType(unit),
                duration=duration,
                chargingSchedulePeriod=[m.ChargingSchedulePeriodType(startPeriod=s, limit=v) for s, v in periods],
            )
        ],
    )


def test_the_period_in_force_gives_the_limit_in_amperes() -> None:
    p = profile("A", [(0, 16.0), (60, 10.0)])
    assert tx_profile_limit_a(p, T0, T0 + timedelta(seconds=30), 3) == 16.0
    assert tx_profile_limit_a(p, T0, T0 + timedelta(seconds=90), 3) == 10.0


def test_watts_become_amperes_per_phase() -> None:
    p = profile("W", [(0, 6900.0)])
    assert tx_profile_limit_a(p, T0, T0, 3) == pytest.approx(10.0)
    assert tx_profile_limit_a(p, T0, T0, 1) == pytest.approx(30.0)


def test_no_limit_after_the_duration() -> None:
    p = profile("A", [(0, 8.0)], duration=60)
    assert tx_profile_limit_a(p, T0, T0 + timedelta(seconds=61), 3) is None

"""SettingSystemTime is reported only for a clock adjustment past ClockCtrlr.TimeAdjustmentReportingThreshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evse.security.clock_adjustment import ReportingClock

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class ManualClock:
    """Wall time that moves only when set."""

    def __init__(self) -> None:
        self.wall = START

    def monotonic(self) -> float:
        return 0.0

    def now(self) -> datetime:
        return self.wall

    def set_now(self, utc: datetime) -> None:
        self.wall = utc


def make(threshold: int) -> tuple[ReportingClock, ManualClock, list[tuple[str, str]], list[int]]:
    inner, reports, limit = ManualClock(), [], [threshold]
    clock = ReportingClock(inner, lambda: limit[0], lambda kind, info: reports.append((kind, info)))
    return clock, inner, reports, limit


def test_drift_within_threshold_is_not_reported() -> None:
    clock, inner, reports, _ = make(20)
    clock.set_now(START + timedelta(seconds=20))
    clock.set_now(START)
    assert reports == []
    assert inner.wall == START  # the time is taken all the same


def test_jump_past_threshold_is_reported_with_its_size_and_sign() -> None:
    clock, inner, reports, _ = make(20)
    clock.set_now(START - timedelta(seconds=90))
    assert reports == [("SettingSystemTime", "clock set from the CSMS, moved -90.0s")]
    assert clock.now() == inner.wall == START - timedelta(seconds=90)


def test_threshold_is_read_at_each_adjustment() -> None:
    """A SetVariables of TimeAdjustmentReportingThreshold applies to the next Heartbeat."""
    clock, _, reports, limit = make(20)
    limit[0] = 5
    clock.set_now(START + timedelta(seconds=10))
    assert [kind for kind, _ in reports] == ["SettingSystemTime"]


def test_naive_time_counts_as_utc() -> None:
    clock, _, reports, _ = make(20)
    clock.set_now(datetime(2026, 1, 1, 12, 0, 10))
    assert reports == []

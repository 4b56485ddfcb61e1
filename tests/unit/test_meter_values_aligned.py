"""Clock-aligned meter values (J01): boundaries counted from midnight UTC, when a sample is due, where it goes.

Named after the use case: TC_J_01/02/06 also need the shell's clock-aligned task, which is not wired yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evse.station.core.aligned import AlignedRoute, aligned_due, aligned_slot, clock_aligned_route, next_aligned


def utc(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0, day: int = 1) -> datetime:
    return datetime(2024, 3, day, hour, minute, second, microsecond, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "interval", "slot", "following"),
    [
        (utc(12, 7, 13), 900, utc(12, 0), utc(12, 15)),
        (utc(12, 15), 900, utc(12, 15), utc(12, 30)),  # on a boundary: that slot, and the next one strictly after
        (utc(12, 14, 59, 999_999), 900, utc(12, 0), utc(12, 15)),
        (utc(23, 50), 900, utc(23, 45), utc(0, day=2)),
        (utc(0, 0, 0, 1), 900, utc(0), utc(0, 15)),
        (utc(12, 30), 3600, utc(12), utc(13)),
        (utc(23, 30), 3600, utc(23), utc(0, day=2)),
        (utc(0, 0, 20), 20, utc(0, 0, 20), utc(0, 0, 40)),
    ],
)
def test_boundaries_are_counted_from_midnight_utc(
    now: datetime, interval: int, slot: datetime, following: datetime
) -> None:
    assert aligned_slot(now, interval) == slot
    assert next_aligned(now, interval) == following


def test_an_interval_that_does_not_divide_the_day_restarts_at_midnight() -> None:
    # 7000 s: 00:00, 01:56:40, ... 23:20:00 (12 x 7000 = 84000), then a short 40-minute slot to midnight.
    assert next_aligned(utc(23, 0), 7000) == utc(23, 20)
    assert aligned_slot(utc(23, 59, 59), 7000) == utc(23, 20)
    assert next_aligned(utc(23, 30), 7000) == utc(0, day=2)
    assert next_aligned(utc(0, 0, 1, day=2), 7000) == utc(1, 56, 40, day=2)
    assert next_aligned(utc(23, 59, 58), 7) == utc(0, day=2)  # not 00:00:05


def test_an_interval_longer_than_a_day_gives_one_slot_per_day() -> None:
    assert aligned_slot(utc(15), 2 * 86400) == utc(0)
    assert next_aligned(utc(15), 2 * 86400) == utc(0, day=2)


def test_times_in_other_zones_are_aligned_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    assert next_aligned(datetime(2024, 3, 1, 13, 7, tzinfo=cet), 3600) == utc(13)
    assert next_aligned(datetime(2024, 3, 1, 0, 30, tzinfo=cet), 86400) == utc(0, day=1)


def test_naive_times_and_non_positive_intervals_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_aligned(datetime(2024, 3, 1, 12), 900)
    with pytest.raises(ValueError, match="positive"):
        next_aligned(utc(12), 0)
    with pytest.raises(ValueError, match="positive"):
        aligned_slot(utc(12), -5)


_moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(_moments, st.integers(min_value=1, max_value=2 * 86400))
def test_next_boundary_is_after_now_within_one_interval_and_on_the_daily_grid(now: datetime, interval: int) -> None:
    slot = aligned_slot(now, interval)
    following = next_aligned(now, interval)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert slot <= now < following
    assert following - slot <= timedelta(seconds=interval)
    assert (slot - midnight) % timedelta(seconds=interval) == timedelta(0)
    assert following == midnight + timedelta(days=1) or (following - midnight) % timedelta(
        seconds=interval
    ) == timedelta(0)


def test_a_sample_is_due_once_per_boundary_crossed() -> None:
    assert not aligned_due(utc(12, 0, 0), utc(12, 14, 59), 900)
    assert aligned_due(utc(12, 14, 59), utc(12, 15, 0), 900)
    assert not aligned_due(utc(12, 15, 0), utc(12, 15, 1), 900)  # just sent at the boundary


def test_many_missed_boundaries_make_one_sample_not_a_burst() -> None:
    last = utc(9, 0)
    now = utc(12, 40)
    assert aligned_due(last, now, 900)
    assert not aligned_due(now, now + timedelta(seconds=1), 900)


def test_a_clock_set_back_into_an_earlier_slot_does_not_silence_the_schedule() -> None:
    assert aligned_due(utc(12, 40), utc(11, 5), 900)


def test_interval_zero_disables_clock_aligned_sampling() -> None:
    assert not aligned_due(utc(0), utc(23), 0)


def test_J01_without_a_transaction_clock_aligned_values_go_in_meter_values() -> None:
    route = clock_aligned_route(evse_in_transaction=False, any_transaction=False, send_during_idle=False)
    assert route is AlignedRoute.METER_VALUES
    assert clock_aligned_route(evse_in_transaction=False, any_transaction=False, send_during_idle=True) is route


def test_J01_during_a_transaction_clock_aligned_values_go_in_transaction_events() -> None:
    route = clock_aligned_route(evse_in_transaction=True, any_transaction=True, send_during_idle=False)
    assert route is AlignedRoute.TRANSACTION_EVENT
    idle_neighbour = clock_aligned_route(evse_in_transaction=False, any_transaction=True, send_during_idle=False)
    assert idle_neighbour is AlignedRoute.METER_VALUES


def test_J01_send_during_idle_stops_clock_aligned_values_while_a_transaction_runs() -> None:
    assert clock_aligned_route(evse_in_transaction=True, any_transaction=True, send_during_idle=True) is None
    assert clock_aligned_route(evse_in_transaction=False, any_transaction=True, send_during_idle=True) is None

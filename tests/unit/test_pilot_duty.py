"""IEC 61851-1 duty-cycle mapping (drivers/pilot/duty.py) against the standard's table."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.pilot.duty import current_for_duty, duty_for_current


@pytest.mark.parametrize(
    ("amps", "permille"),
    [
        (6, 100),  # 10 %
        (10, 167),  # 16.7 %
        (13, 217),
        (16, 267),  # 26.7 %
        (20, 333),
        (25, 417),
        (32, 533),  # 53.3 %
        (40, 667),
        (51, 850),  # 85 %, top of the first band
        (55, 860),  # (55 / 2.5 + 64) = 86 %
        (63, 892),
        (70, 920),
        (80, 960),  # 96 %
        (None, 1000),  # X1: no PWM
    ],
)
def test_current_to_duty_matches_the_standard_table(amps: float | None, permille: int) -> None:
    assert duty_for_current(amps) == permille


@pytest.mark.parametrize("amps", [0, 5.99, 80.01, 100, -6, math.nan, math.inf])
def test_current_outside_6_to_80_amps_is_refused(amps: float) -> None:
    with pytest.raises(ValueError, match=r"6\.\.80 A"):
        duty_for_current(amps)


@pytest.mark.parametrize(
    ("permille", "amps"),
    [(100, 6.0), (267, 16.02), (500, 30.0), (850, 51.0), (860, 55.0), (900, 65.0), (960, 80.0), (1000, None)],
)
def test_duty_to_current_as_the_ev_reads_it(permille: int, amps: float | None) -> None:
    assert current_for_duty(permille) == amps


@pytest.mark.parametrize("permille", [0, 50, 99, 961, 999, 1001, -1])
def test_duty_that_offers_no_current_is_refused(permille: int) -> None:
    with pytest.raises(ValueError, match="offers no current"):
        current_for_duty(permille)


@given(st.integers(min_value=100, max_value=960))
def test_every_duty_cycle_round_trips(permille: int) -> None:
    amps = current_for_duty(permille)
    assert amps is not None
    assert duty_for_current(amps) == permille


@given(st.floats(min_value=6.0, max_value=80.0))
def test_the_ev_never_reads_more_than_half_a_step_above_the_offer(amps: float) -> None:
    read = current_for_duty(duty_for_current(amps))
    assert read is not None
    # 0.1 % is 0.06 A in the lower band and 0.25 A in the upper one; rounding adds at most half.
    assert read <= amps + 0.125 + 1e-9
    # Only the standard's gap (above 51 A, up to 52.5 A and its rounding) reads lower than that.
    if amps <= 51.0 or amps >= 52.625:
        assert read >= amps - 0.125 - 1e-9


def test_gap_between_the_bands_errs_on_the_safe_side() -> None:
    # 52 A has no duty cycle in IEC 61851-1; the EV must read less, never more.
    assert duty_for_current(52) == 848
    assert current_for_duty(848) == pytest.approx(50.88)

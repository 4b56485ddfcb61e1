"""K04 load balancing, the pure allocator: worked examples and properties over random stations.

Properties checked on every random case: the shares never sum above the site limit; no share lies
between 0 and the IEC 61851-1 minimum of 6 A, none above the EVSE's maximum and none for an EVSE that
does not charge; the sharing is fair (an EVSE that gets less than another got all it could use); capacity
is not left idle while a charging EVSE could use it; and the two-step transition never passes the limit.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from evse.smartcharging.load_balancing import (
    HEADROOM_A,
    MIN_CURRENT_A,
    EvseLoad,
    allocate,
    lower_first,
    need_a,
)

#: Shares are whole deciamperes: a fair split may leave at most this much per EVSE undistributed.
STEP_A = 0.1


def charging(evse_id: int, max_a: float = 32.0, measured: float | None = None, share: float = 0.0) -> EvseLoad:
    return EvseLoad(evse_id, True, max_a, measured, share)


def idle(evse_id: int, max_a: float = 32.0) -> EvseLoad:
    return EvseLoad(evse_id, False, max_a)


# ---- worked examples ------------------------------------------------------------------------------


def test_K04_two_charging_evses_share_the_site_limit_equally() -> None:
    assert allocate(32, [charging(1), charging(2)]) == {1: 16.0, 2: 16.0}


def test_K04_an_evse_alone_gets_the_limit_up_to_its_maximum() -> None:
    assert allocate(32, [charging(1), idle(2)]) == {1: 32.0, 2: 0.0}
    assert allocate(40, [charging(1, max_a=16), idle(2)]) == {1: 16.0, 2: 0.0}


def test_K04_an_evse_that_draws_less_than_its_share_hands_the_rest_on() -> None:
    # EVSE 1 was given 16 A and its EV takes 3.3 A: it keeps 6 A (the minimum), EVSE 2 gets the other 26 A.
    shares = allocate(32, [charging(1, measured=3.3, share=16), charging(2, measured=15.9, share=16)])
    assert shares == {1: 6.0, 2: 26.0}


def test_K04_an_ev_using_its_reduced_share_gets_its_fair_share_back() -> None:
    # After the hand-on above, EVSE 1's EV takes all of its 6 A again: it wants more, the split is equal again.
    shares = allocate(32, [charging(1, measured=5.9, share=6), charging(2, measured=25.8, share=26)])
    assert shares == {1: 16.0, 2: 16.0}


def test_K04_capacity_nobody_else_wants_stays_with_the_light_drawer() -> None:
    # EVSE 2 is capped at 10 A by its cable: EVSE 1 may use the rest even though it draws little today.
    shares = allocate(32, [charging(1, measured=4.0, share=22), charging(2, max_a=10, measured=9.9, share=10)])
    assert shares == {1: 22.0, 2: 10.0}


def test_K04_when_six_amperes_each_do_not_fit_the_last_comer_is_paused() -> None:
    """IEC 61851-1: no offer below 6 A. 16 A for three EVSEs would be 5.3 A each: the third waits."""
    assert allocate(16, [charging(1), charging(2), charging(3)]) == {1: 8.0, 2: 8.0, 3: 0.0}
    assert allocate(18, [charging(1), charging(2), charging(3)]) == {1: 6.0, 2: 6.0, 3: 6.0}


def test_K04_no_site_capacity_for_anyone_below_six_amperes() -> None:
    assert allocate(5.9, [charging(1)]) == {1: 0.0}


def test_K04_shares_are_whole_deciamperes_and_never_sum_above_the_limit() -> None:
    shares = allocate(20, [charging(1), charging(2), charging(3)])
    assert shares == {1: 6.6, 2: 6.6, 3: 6.6}


def test_need_follows_the_draw_only_once_it_is_measured_under_a_real_share() -> None:
    assert need_a(charging(1, measured=None, share=16)) == 32  # not measured yet: it may want everything
    assert need_a(charging(1, measured=0.0, share=0)) == 32  # paused: its draw says nothing
    assert need_a(charging(1, measured=15.5, share=16)) == 32  # uses its share: it may want more
    assert need_a(charging(1, measured=10.0, share=16)) == 10.0 + HEADROOM_A
    assert need_a(charging(1, measured=1.0, share=16)) == MIN_CURRENT_A
    assert need_a(idle(1)) == 0


def test_K04_lower_first_publishes_decreases_before_increases() -> None:
    first, second = lower_first({1: 32.0, 2: 0.0}, {1: 16.0, 2: 16.0})
    assert first == {1: 16.0, 2: 0.0}
    assert second == {1: 16.0, 2: 16.0}


# ---- properties -----------------------------------------------------------------------------------

loads = st.builds(
    lambda evse_id, is_charging, max_a, measured, share: EvseLoad(evse_id, is_charging, max_a, measured, share),
    st.just(0),
    st.booleans(),
    st.floats(min_value=0, max_value=80, allow_nan=False),
    st.none() | st.floats(min_value=0, max_value=80, allow_nan=False),
    st.floats(min_value=0, max_value=80, allow_nan=False),
)
stations = st.lists(loads, min_size=1, max_size=8).map(
    lambda evses: [EvseLoad(i, e.charging, e.max_current_a, e.measured_a, e.share_a) for i, e in enumerate(evses, 1)]
)
limits = st.floats(min_value=0, max_value=250, allow_nan=False) | st.sampled_from([5.9, 5.99, 6.0, 11.9, 12.0, 17.99])


def _usable(evse: EvseLoad) -> bool:
    return evse.charging and evse.max_current_a >= MIN_CURRENT_A


@given(limits, stations)
def test_shares_never_sum_above_the_site_limit(limit: float, evses: list[EvseLoad]) -> None:
    assert sum(allocate(limit, evses).values()) <= limit + 1e-9


@given(limits, stations)
def test_every_share_is_zero_or_between_six_amperes_and_the_evse_maximum(limit: float, evses: list[EvseLoad]) -> None:
    shares = allocate(limit, evses)
    assert set(shares) == {e.evse_id for e in evses}
    for evse in evses:
        share = shares[evse.evse_id]
        assert share == 0 or MIN_CURRENT_A <= share <= evse.max_current_a
        if not evse.charging:
            assert share == 0


@given(limits, stations)
def test_sharing_is_fair(limit: float, evses: list[EvseLoad]) -> None:
    """An EVSE that gets less than another (beyond one rounding step) got all it can use now."""
    shares = allocate(limit, evses)
    served = [e for e in evses if shares[e.evse_id] > 0]
    for low in served:
        for high in served:
            if shares[low.evse_id] < shares[high.evse_id] - STEP_A - 1e-9:
                assert shares[low.evse_id] >= min(need_a(low), low.max_current_a) - STEP_A - 1e-9


@given(limits, stations)
def test_idle_capacity_is_redistributed(limit: float, evses: list[EvseLoad]) -> None:
    """Capacity is left over only when every served EVSE is at its maximum and nobody paused could get 6 A."""
    shares = allocate(limit, evses)
    usable = [e for e in evses if _usable(e)]
    served = [e for e in usable if shares[e.evse_id] > 0]
    paused = [e for e in usable if shares[e.evse_id] == 0]
    left = limit - sum(shares.values())
    if left > STEP_A * max(1, len(served)) + 1e-9:
        assert all(shares[e.evse_id] >= e.max_current_a - STEP_A - 1e-9 for e in served)
        assert not paused or left < MIN_CURRENT_A + STEP_A * len(served)


@given(limits, stations)
def test_paused_evses_are_the_latest_comers(limit: float, evses: list[EvseLoad]) -> None:
    shares = allocate(limit, evses)
    order = [shares[e.evse_id] > 0 for e in evses if _usable(e)]
    assert order == sorted(order, reverse=True)  # served ones first, then only paused ones


@given(limits, stations, stations)
def test_the_two_step_transition_never_passes_the_limit(
    limit: float, before: list[EvseLoad], after: list[EvseLoad]
) -> None:
    old = allocate(limit, before)
    new = allocate(limit, [*after[: len(before)], *before[len(after) :]])
    first, second = lower_first(old, new)
    for step in (first, second):
        assert sum(step.values()) <= limit + 1e-9
    # The first step only lowers; the second only raises from it.
    assert all(first[i] <= old.get(i, 0.0) and first[i] <= second[i] for i in first)

"""K04 load balancing, the shell: shares published into the station's external limits, in two steps.

The EVSEs are real shell runtimes on the simulated board's drivers. The power path that turns a share
into a pilot offer is not on this branch's side of the registry (it reads the LoadBalancing limit), so
these tests play it with `OfferFollower`: a pilot per EVSE that takes a given time to apply a new share.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import pytest

from drivers.interfaces import MeterReading
from drivers.sim.board import SimBoard
from evse.smartcharging.external_limits import EMS, LOAD_BALANCING, ExternalLimit, ExternalLimits
from evse.smartcharging.load_balancer import LoadBalancer
from evse.station.core import evse_fsm as fsm
from evse.station.shell.runtime import EvseRuntime

SITE_A = 32.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def runtimes(count: int = 2) -> dict[int, EvseRuntime]:
    board = SimBoard(list(range(1, count + 1)))
    return {i: EvseRuntime(board.drivers(i), fsm.EvseState(evse_id=i)) for i in range(1, count + 1)}


def start(runtime: EvseRuntime) -> None:
    runtime.state = replace(runtime.state, offering=True)


def stop(runtime: EvseRuntime) -> None:
    runtime.state = replace(runtime.state, offering=False)
    runtime.offered_a = None


def draw(runtime: EvseRuntime, amps: float) -> None:
    runtime.reading = MeterReading(1000.0, 0.0, amps * 690, (230.0,) * 3, (amps,) * 3, 50.0, 0.0)


def shares(limits: ExternalLimits) -> dict[int, float | None]:
    return {x.evse_id: x.amps for x in limits.in_force() if x.source == LOAD_BALANCING}


class OfferFollower:
    """Plays the power path: each EVSE's offer follows its LoadBalancing share after that EVSE's delay,
    and the sum of the offers in force is recorded at every change."""

    def __init__(self, limits: ExternalLimits, evses: dict[int, EvseRuntime], delays: dict[int, float]) -> None:
        self.evses, self.delays = evses, delays
        self.sums: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []
        limits.subscribe(self._changed)

    def _changed(self, _old: ExternalLimit | None, new: ExternalLimit | None) -> None:
        if new is not None and new.source == LOAD_BALANCING and new.amps is not None:
            self.tasks.append(asyncio.get_running_loop().create_task(self._apply(new.evse_id, new.amps)))

    async def _apply(self, evse_id: int, amps: float) -> None:
        await asyncio.sleep(self.delays[evse_id])
        runtime = self.evses[evse_id]
        runtime.offered_a = amps if runtime.state.offering and amps >= 6 else None
        self.sums.append(sum(r.offered_a or 0.0 for r in self.evses.values()))


def test_K04_every_evse_starts_at_a_zero_share_before_anything_runs() -> None:
    limits = ExternalLimits()
    balancer = LoadBalancer(SITE_A, runtimes(), {1: 32, 2: 32}, limits, FakeClock())
    assert shares(limits) == {1: 0.0, 2: 0.0}
    assert balancer.share(1) == 0.0


async def test_K04_without_a_site_limit_nothing_is_published() -> None:
    limits = ExternalLimits()
    evses = runtimes()
    balancer = LoadBalancer(None, evses, {1: 32, 2: 32}, limits, FakeClock())
    start(evses[1])
    await balancer.rebalance()
    assert shares(limits) == {} and balancer.share(1) is None
    await asyncio.wait_for(balancer.run(), timeout=1)  # returns at once: nothing to balance


async def test_K04_shares_follow_sessions_starting_and_stopping() -> None:
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock(), apply_timeout_s=5)
    follower = OfferFollower(limits, evses, {1: 0.01, 2: 0.01})
    start(evses[1])
    await balancer.rebalance()
    assert shares(limits) == {1: 32.0, 2: 0.0}
    await asyncio.sleep(0.05)
    start(evses[2])
    await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 16.0}
    stop(evses[2])
    await balancer.rebalance()
    assert shares(limits) == {1: 32.0, 2: 0.0}
    await asyncio.gather(*follower.tasks)
    assert max(follower.sums) <= SITE_A


async def test_K04_a_raise_waits_until_the_lowered_offer_is_applied() -> None:
    """EVSE 1's pilot is slow to take the lower share, EVSE 2's is quick: raising EVSE 2 at once would put
    48 A on a 32 A supply for as long as EVSE 1's pilot takes."""
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock(), apply_timeout_s=5)
    follower = OfferFollower(limits, evses, {1: 0.3, 2: 0.0})
    start(evses[1])
    await balancer.rebalance()
    await asyncio.gather(*follower.tasks)
    assert evses[1].offered_a == 32
    start(evses[2])
    await balancer.rebalance()
    await asyncio.gather(*follower.tasks)
    assert (evses[1].offered_a, evses[2].offered_a) == (16, 16)
    assert follower.sums and max(follower.sums) <= SITE_A


async def test_K04_raises_wait_while_a_lowered_offer_does_not_follow(caplog: pytest.LogCaptureFixture) -> None:
    """Fail safe: when a lowered EVSE's offer stays above its new share (a pilot that does not answer), the
    others are not raised (the supply would be over its limit); the next rebalance after it follows does."""
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock(), apply_timeout_s=0.1)
    start(evses[1])
    await balancer.rebalance()
    evses[1].offered_a = 32.0  # and it stays there: nothing applies the shares
    start(evses[2])
    with caplog.at_level(logging.ERROR, logger="evse.smartcharging.load_balancer"):
        await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 0.0}
    assert "raises held back" in caplog.text and "{1: 32.0}" in caplog.text
    evses[1].offered_a = 16.0
    await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 16.0}


async def test_K04_an_ev_drawing_less_hands_its_capacity_on_once_settled() -> None:
    clock = FakeClock()
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, clock, settle_s=5, apply_timeout_s=0.05)
    start(evses[1])
    start(evses[2])
    await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 16.0}
    draw(evses[1], 3.3)
    draw(evses[2], 15.9)
    await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 16.0}  # too early: the EV may still be ramping up
    clock.now += 5
    await balancer.rebalance()
    assert shares(limits) == {1: 6.0, 2: 26.0}
    # Lowered, EVSE 1 is judged on its draw at once (an EV can only take less): no swing back to 16/16.
    await balancer.rebalance()
    assert shares(limits) == {1: 6.0, 2: 26.0}
    # The EV on EVSE 1 takes all of its 6 A again: once that has settled, the split is equal again.
    draw(evses[1], 6.0)
    clock.now += 5
    await balancer.rebalance()
    assert shares(limits) == {1: 16.0, 2: 16.0}


async def test_K04_the_plugged_cable_caps_the_share_and_the_rest_goes_to_the_other() -> None:
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock(), apply_timeout_s=0.05)
    evses[2].cable_max_a = 13.0
    start(evses[1])
    start(evses[2])
    await balancer.rebalance()
    assert shares(limits) == {1: 19.0, 2: 13.0}


async def test_K04_the_first_to_start_keeps_charging_when_six_amperes_each_do_not_fit() -> None:
    limits, evses = ExternalLimits(), runtimes(3)
    balancer = LoadBalancer(16, evses, {1: 32, 2: 32, 3: 32}, limits, FakeClock(), apply_timeout_s=0.05)
    for evse_id in (3, 1):
        start(evses[evse_id])
        await balancer.rebalance()
    start(evses[2])
    await balancer.rebalance()
    assert shares(limits) == {3: 8.0, 1: 8.0, 2: 0.0}  # EVSE 2 came last: paused, not everyone below 6 A
    stop(evses[3])
    await balancer.rebalance()
    assert shares(limits) == {3: 0.0, 1: 8.0, 2: 8.0}


async def test_K04_other_sources_are_left_alone() -> None:
    limits, evses = ExternalLimits(), runtimes()
    limits.set(ExternalLimit(EMS, 1, amps=10))
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock())
    start(evses[1])
    await balancer.rebalance()
    assert ExternalLimit(EMS, 1, amps=10) in limits.in_force(1)
    assert shares(limits)[1] == 32.0


async def test_K04_run_shares_again_when_woken() -> None:
    limits, evses = ExternalLimits(), runtimes()
    balancer = LoadBalancer(SITE_A, evses, {1: 32, 2: 32}, limits, FakeClock())
    published = asyncio.Event()
    limits.subscribe(lambda _old, new: published.set() if new is not None and new.amps == 32.0 else None)
    task = asyncio.create_task(balancer.run())
    try:
        start(evses[1])
        balancer.wake()
        await asyncio.wait_for(published.wait(), timeout=2)
        assert shares(limits) == {1: 32.0, 2: 0.0}
    finally:
        task.cancel()

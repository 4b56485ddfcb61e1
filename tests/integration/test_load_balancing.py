"""K04 load balancing on the running daemon: two EVSEs of the simulated board share `site.max_current_a`.

Asserted on the station's external limits (source LoadBalancing, where the offer reads each share) and
on `evse status --json` through the control socket. Every change of a share is recorded: the published
shares never sum above the site limit, and a share is lowered before another is raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from evse import control
from evse.devcsms.server import DevCsms
from evse.smartcharging.external_limits import LOAD_BALANCING, ExternalLimit, ExternalLimits
from tests.integration.conftest import StationUnderTest

SITE_A = 32.0
TOKENS = {1: "AABBCCDD", 2: "DEADBEEF"}


def shares(limits: ExternalLimits) -> dict[int, float | None]:
    return {x.evse_id: x.amps for x in limits.in_force() if x.source == LOAD_BALANCING}


class ShareLog:
    """Every LoadBalancing change as (evse, amps), and the sum of the shares in force after it."""

    def __init__(self, limits: ExternalLimits) -> None:
        self.limits = limits
        self.changes: list[tuple[int, float]] = []
        self.sums: list[float] = []
        self._changed = asyncio.Event()
        limits.subscribe(self._on_change)

    def _on_change(self, _old: ExternalLimit | None, new: ExternalLimit | None) -> None:
        if new is not None and new.source == LOAD_BALANCING:
            self.changes.append((new.evse_id, new.amps or 0.0))
            self.sums.append(sum(a or 0.0 for a in shares(self.limits).values()))
            self._changed.set()

    async def until(self, expected: dict[int, float], timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while shares(self.limits) != expected:
                self._changed.clear()
                await self._changed.wait()

    def before(self, first: tuple[int, float], then: tuple[int, float], since: int = 0) -> bool:
        """Among the changes from index `since` on, `first` was published before `then`."""
        changes = self.changes[since:]
        return first in changes and then in changes and changes.index(first) < changes.index(then)


async def until_true(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the board's offer is state, not an event source
            await asyncio.sleep(0.05)


async def two_evse_station(make_station: Callable[..., Any], csms: DevCsms) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=2, site={"max_current_a": SITE_A})
    await booted(csms)
    return sut


async def booted(csms: DevCsms) -> None:
    """The boot was accepted and the connectors reported: a card is now checked with the CSMS."""
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)


def charge(sut: StationUnderTest, evse_id: int) -> None:
    assert sut.d.board is not None
    sut.d.board.plug(evse_id)
    sut.d.board.swipe(evse_id, TOKENS[evse_id])
    sut.d.board.set_ev_state(evse_id, "C")


async def status_shares(sut: StationUnderTest) -> dict[int, Any]:
    answer = await asyncio.to_thread(control.request, sut.settings.socket_path, {"cmd": "status"})
    return {e["id"]: e["load_balancing_share_a"] for e in answer["evses"]}


async def test_K04_two_evses_share_the_site_limit_and_the_first_gets_it_back_when_the_other_stops(
    csms: DevCsms, make_station: Any
) -> None:
    sut = await two_evse_station(make_station, csms)
    log = ShareLog(sut.d.station.external_limits)
    assert shares(log.limits) == {1: 0.0, 2: 0.0}  # nobody charges: nobody has a share
    charge(sut, 1)
    await log.until({1: 32.0, 2: 0.0})
    charge(sut, 2)
    await log.until({1: 16.0, 2: 16.0})
    assert log.before((1, 16.0), (2, 16.0))  # EVSE 1 lowered first, EVSE 2 raised after
    assert await status_shares(sut) == {1: 16.0, 2: 16.0}
    board = sut.d.board
    assert board is not None
    # The shares are what the pilots offer (the composite takes the LoadBalancing limit, K08).
    await until_true(lambda: [board.snapshot(i)["offered_current_a"] for i in (1, 2)] == [16.0, 16.0])
    assert sut.d.board is not None
    mark = len(log.changes)
    sut.d.board.swipe(2, TOKENS[2])  # the driver on EVSE 2 stops with the same card
    await log.until({1: 32.0, 2: 0.0})
    assert log.before((2, 0.0), (1, 32.0), since=mark)
    assert max(log.sums) <= SITE_A


async def test_K04_an_ev_drawing_less_than_its_share_hands_the_rest_to_the_other(
    csms: DevCsms, make_station: Any
) -> None:
    """The EV on EVSE 1 takes 2.3 kW (3.3 A per phase) of its 16 A: once measured, EVSE 1 keeps the 6 A
    minimum and EVSE 2, whose EV could take 22 kW, gets the other 26 A; when the EV on EVSE 1 takes all
    of its 6 A again, the split is even again."""
    sut = await two_evse_station(make_station, csms)
    log = ShareLog(sut.d.station.external_limits)
    assert sut.d.board is not None
    sut.d.board.set_power(2, 22000)
    charge(sut, 1)
    charge(sut, 2)
    await log.until({1: 16.0, 2: 16.0})
    mark = len(log.changes)
    sut.d.board.set_power(1, 2300)
    await log.until({1: 6.0, 2: 26.0})
    assert log.before((1, 6.0), (2, 26.0), since=mark)
    assert await status_shares(sut) == {1: 6.0, 2: 26.0}
    mark = len(log.changes)
    sut.d.board.set_power(1, 11000)
    await log.until({1: 16.0, 2: 16.0})
    assert log.before((2, 16.0), (1, 16.0), since=mark)
    assert max(log.sums) <= SITE_A


async def test_K04_after_a_restart_every_share_starts_at_zero_and_is_shared_again(
    csms: DevCsms, make_station: Any
) -> None:
    sut = await two_evse_station(make_station, csms)
    charge(sut, 1)
    charge(sut, 2)
    await ShareLog(sut.d.station.external_limits).until({1: 16.0, 2: 16.0})
    await sut.stop()
    csms.skip("StatusNotification")
    await sut.start()
    # Published when the station is built, before any driver event: no EVSE may offer its full 32 A
    # while the other charges because it came up first.
    log = ShareLog(sut.d.station.external_limits)
    assert shares(log.limits) == {1: 0.0, 2: 0.0}
    await booted(csms)
    charge(sut, 2)
    charge(sut, 1)
    await log.until({1: 16.0, 2: 16.0})
    assert max(log.sums) <= SITE_A


async def test_K04_without_a_site_section_no_share_is_published(csms: DevCsms, station: StationUnderTest) -> None:
    charge(station, 1)
    await csms.wait_for("TransactionEvent", timeout=10)
    assert shares(station.d.station.external_limits) == {}
    assert await status_shares(station) == {1: None}

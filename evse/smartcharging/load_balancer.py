"""The shell of K04 load balancing: reads each EVSE's state and meter, shares the site limit, and publishes
each EVSE's share in the station's external limits (source LoadBalancing), where the offer reads it.

It reacts to the station's events (a session starts or stops wanting power) and to every meter sample (an
EV draws less than it was given), and changes shares in two steps so the offers in force never sum above
the site limit: it lowers first, waits until the lowered EVSEs' offers are applied, then raises.

Shares live in memory only: after a restart every EVSE starts at 0 (published before any driver event is
handled, so no EVSE offers its full maximum while another already charges) and shares are computed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Final

from evse.smartcharging.external_limits import LOAD_BALANCING, ExternalLimit, ExternalLimits
from evse.smartcharging.load_balancing import EvseLoad, allocate, lower_first
from evse.station.shell.runtime import EvseRuntime

log = logging.getLogger(__name__)

#: How long a share must have been in force before the EV's draw says what it wants: IEC 61851-1 gives
#: an EV 5 s to follow a new PWM offer.
SETTLE_S: Final = 5.0
#: How long the lowered offers may take to reach the pilot before the raises are published all the same.
APPLY_TIMEOUT_S: Final = 2.0
_POLL_S: Final = 0.02


class LoadBalancer:
    """K04: shares `site_limit_a` between the EVSEs that want power; one per station.

    Without a site limit it publishes nothing and every EVSE may use its own maximum."""

    def __init__(
        self,
        site_limit_a: float | None,
        evses: Mapping[int, EvseRuntime],
        max_current_a: Mapping[int, float],
        limits: ExternalLimits,
        monotonic: Callable[[], float],
        *,
        settle_s: float = SETTLE_S,
        apply_timeout_s: float = APPLY_TIMEOUT_S,
        wants: Callable[[int], bool] | None = None,
    ) -> None:
        # Who asks for a share: by default an EVSE that offers; the station passes the state machine's
        # "would offer if the limit allowed it", since a share of 0 withdraws the offer itself.
        self._wants = wants or (lambda evse_id: evses[evse_id].state.offering)
        self.site_limit_a = site_limit_a
        self._evses = evses
        self._max_current_a = max_current_a
        self._limits = limits
        self._monotonic = monotonic
        self._settle_s = settle_s
        self._apply_timeout_s = apply_timeout_s
        self._wake = asyncio.Event()
        self._order: list[int] = []  # EVSEs wanting power, in the order they started: the precedence
        # When each EVSE started or was last given more: until SETTLE_S later its EV may still be ramping
        # up, so its draw does not yet say what it wants. (After a decrease the draw is meaningful at
        # once: an EV can only take less.)
        self._raised_at: dict[int, float] = {}
        for evse_id in evses:
            if site_limit_a is None:
                limits.clear(LOAD_BALANCING, evse_id)
            else:
                self._publish({evse_id: 0.0})  # nobody charges yet: the first share comes with the session

    def wake(self) -> None:
        """Something changed (an EVSE's state, a meter sample): share again soon. Never blocks."""
        self._wake.set()

    def share(self, evse_id: int) -> float | None:
        """The share in force for the EVSE, or None without a site limit."""
        if self.site_limit_a is None:
            return None
        return self._published().get(evse_id, 0.0)

    async def run(self) -> None:
        """Share again after every change; never returns (returns at once without a site limit)."""
        if self.site_limit_a is None:
            return
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.rebalance()

    async def rebalance(self) -> None:
        """Compute the shares for the state now and publish them: decreases first, increases once the
        decreased EVSEs' offers are at or below their new share."""
        if self.site_limit_a is None:
            return
        published = self._published()
        first, target = lower_first(published, allocate(self.site_limit_a, self._loads()))
        lowered = {i: amps for i, amps in first.items() if amps < published.get(i, 0.0)}
        self._publish(first)
        if target == first:
            return
        if lowered and not await self._until_applied(lowered):
            return  # the raises wait for the next rebalance: the supply is never over its limit
        self._publish(target)

    def _loads(self) -> list[EvseLoad]:
        now = self._monotonic()
        for evse_id in self._evses:
            wants = self._wants(evse_id)
            if wants and evse_id not in self._order:
                self._order.append(evse_id)
                self._raised_at[evse_id] = now
            elif not wants and evse_id in self._order:
                self._order.remove(evse_id)
        precedence = self._order + [i for i in self._evses if i not in self._order]
        published = self._published()
        return [self._load(evse_id, published.get(evse_id, 0.0), now) for evse_id in precedence]

    def _load(self, evse_id: int, share: float, now: float) -> EvseLoad:
        runtime = self._evses[evse_id]
        top = self._max_current_a[evse_id]
        if runtime.cable_max_a is not None:
            top = min(top, runtime.cable_max_a)
        settled = now - self._raised_at.get(evse_id, now) >= self._settle_s
        reading = runtime.reading
        measured = max(reading.current_a, default=0.0) if reading is not None and settled else None
        return EvseLoad(evse_id, self._wants(evse_id), top, measured, share)

    async def _until_applied(self, lowered: Mapping[int, float]) -> bool:
        """Whether every lowered EVSE's offer came down to its new share within the timeout."""

        def above() -> dict[int, float]:
            offers = {i: self._evses[i].offered_a or 0.0 for i in lowered}
            return {i: offer for i, offer in offers.items() if offer > lowered[i] + 1e-9}

        try:
            async with asyncio.timeout(self._apply_timeout_s):
                # The offer is the power path's (it reads the share): no event to wait on, so poll it.
                while above():  # noqa: ASYNC110
                    await asyncio.sleep(_POLL_S)
        except TimeoutError:
            # The offer does not follow the shares (a pilot that does not answer ...): raising the others
            # now could put the supply over its limit, so they keep their lower shares until it does.
            log.error(
                "load balancing: offers above their lowered share after %ss (evse: offer) %s; raises held back",
                self._apply_timeout_s,
                above(),
            )
            return False
        return True

    def _published(self) -> dict[int, float]:
        return {
            limit.evse_id: limit.amps or 0.0
            for limit in self._limits.in_force()
            if limit.source == LOAD_BALANCING and limit.evse_id in self._evses
        }

    def _publish(self, shares: Mapping[int, float]) -> None:
        published, now = self._published(), self._monotonic()
        for evse_id, amps in shares.items():
            if published.get(evse_id) == amps:
                continue
            if amps > published.get(evse_id, 0.0):
                self._raised_at[evse_id] = now
            self._limits.set(ExternalLimit(LOAD_BALANCING, evse_id, amps=amps))

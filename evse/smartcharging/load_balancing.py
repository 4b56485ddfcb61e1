"""Load balancing between the EVSEs of one station (K04), as pure functions: no I/O, no clock.

A site limit (amperes per phase, a house connection or a feeder fuse) is shared between the EVSEs that
want power. Each gets what it can use up to an equal part (max-min fairness, "water filling"), and what
one cannot use goes to the others. An EVSE that draws clearly less than its share only needs a little
more than it draws; the rest is handed on. Below the IEC 61851-1 minimum of 6 A an EV may not charge, so
when the limit cannot give every EVSE 6 A, the latest comers get 0 (paused) rather than everyone
dropping below 6 A.

A change of shares is made in two steps (`lower_first`) so the sum in force never exceeds the limit:
first every share that goes down, then, once those offers are applied, every share that goes up.

Arithmetic is done in whole deciamperes, so the sum of the shares can never exceed the limit by a
rounding error, and a share is a value the pilot can be told as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

#: IEC 61851-1: the smallest current a PWM offer may announce.
MIN_CURRENT_A: Final = 6.0
#: An EVSE drawing at least its share minus this uses all it is given (the EV is held back by us).
SATURATION_MARGIN_A: Final = 1.0
#: What an EVSE that draws less than its share keeps above its draw, so it can grow before the next sample.
HEADROOM_A: Final = 2.0

_SCALE: Final = 10  # deciamperes


@dataclass(frozen=True)
class EvseLoad:
    """What the allocator knows of one EVSE.

    ``charging``: the EVSE offers power to an EV (its session wants a share), whether or not the EV draws.
    ``max_current_a``: the most it may be given (its rating, capped by the plugged cable's).
    ``measured_a``: its highest phase current, or None while it is not yet known what the EV would draw
    under the share in force (just started, or the share changed too recently for the EV to follow).
    ``share_a``: the share in force now (0 if none).
    """

    evse_id: int
    charging: bool
    max_current_a: float
    measured_a: float | None = None
    share_a: float = 0.0


def need_a(evse: EvseLoad) -> float:
    """The most this EVSE can use now: its maximum, unless it measurably draws less than its share."""
    if not evse.charging:
        return 0.0
    top = evse.max_current_a
    measured = evse.measured_a
    if measured is None or evse.share_a < MIN_CURRENT_A or measured >= evse.share_a - SATURATION_MARGIN_A:
        return top  # unknown, paused, or using what it has: it might use everything
    return min(top, max(MIN_CURRENT_A, measured + HEADROOM_A))


def allocate(site_limit_a: float, evses: Sequence[EvseLoad]) -> dict[int, float]:
    """Each EVSE's share of `site_limit_a`, in amperes: 0 or between 6 A and its maximum.

    `evses` is in order of precedence: when the limit cannot give 6 A to every charging EVSE, those at
    the end get 0 (first come, first served; the shell lists them in the order they started).
    """
    limit = _deci_down(site_limit_a)
    minimum = _deci_up(MIN_CURRENT_A)
    shares = {e.evse_id: 0 for e in evses}
    # An EVSE whose maximum is below 6 A could never charge: it is left out rather than given capacity.
    wanting = [e for e in evses if e.charging and _deci_down(e.max_current_a) >= minimum]
    served = wanting[: limit // minimum]
    if not served:
        return {evse_id: 0.0 for evse_id in shares}
    needs = {e.evse_id: max(minimum, _deci_down(need_a(e))) for e in served}
    tops = {e.evse_id: _deci_down(e.max_current_a) for e in served}
    given = _water_fill(limit, needs, dict.fromkeys(needs, 0))
    # Capacity nobody needs now is not held back: it goes (fairly again) to those below their maximum,
    # so an EV that wants more can take it at once instead of after the next sample.
    given = _water_fill(limit - sum(given.values()), tops, given)
    shares.update(given)
    return {evse_id: amps / _SCALE for evse_id, amps in shares.items()}


def lower_first(
    published: Mapping[int, float], target: Mapping[int, float]
) -> tuple[dict[int, float], dict[int, float]]:
    """The two steps from the shares in force to the target: (decreases only, then the target).

    After the first step no share is above both its old and its new value, so if the old and the new
    sums are within the limit, so is every state in between."""
    first = {evse_id: min(published.get(evse_id, 0.0), amps) for evse_id, amps in target.items()}
    return first, dict(target)


def _water_fill(capacity: int, caps: Mapping[int, int], base: Mapping[int, int]) -> dict[int, int]:
    """Raise every share from `base` towards its cap, all at the same level, with `capacity` more in all.

    The level is where the capacity runs out: shares whose cap is below it stop at their cap, the others
    end equal (to a deciampere: the remainder is not handed out, so the sum never exceeds)."""
    shares = dict(base)
    open_ids = sorted((i for i in caps if caps[i] > shares[i]), key=lambda i: caps[i])
    remaining = capacity
    while open_ids and remaining > 0:
        level = _level(remaining, [shares[i] for i in open_ids])
        first = open_ids[0]
        if caps[first] <= level:
            remaining -= caps[first] - shares[first]
            shares[first] = caps[first]
            open_ids.pop(0)
            continue
        for i in open_ids:
            remaining -= max(0, level - shares[i])
            shares[i] = max(shares[i], level)
        break
    return shares


def _level(capacity: int, shares: Sequence[int]) -> int:
    """The highest common level L with sum(max(0, L - s)) <= capacity over `shares`."""
    ordered = sorted(shares)
    total = 0
    for count, share in enumerate(ordered, start=1):
        total += share
        level = (capacity + total) // count
        if count == len(ordered) or level <= ordered[count]:
            return level
    raise AssertionError("unreachable: the loop returns at the last share")


def _deci_down(amps: float) -> int:
    # The epsilon keeps 16.0 A at 160 although 16.0 * 10 may come out a hair below in binary.
    return max(0, math.floor(amps * _SCALE + 1e-9))


def _deci_up(amps: float) -> int:
    return math.ceil(amps * _SCALE - 1e-9)

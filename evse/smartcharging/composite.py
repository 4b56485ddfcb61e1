"""The composite schedule (OCPP 2.0.1 K08): the limit every source puts on an EVSE, merged. Pure.

At any instant, for one EVSE:

- within one purpose the leading profile is the one of the highest stackLevel that has a period in force
  then (valid, started, not past its duration): a higher stack level that has ended does not shadow a lower
  one;
- a TxProfile of the EVSE's transaction replaces the TxDefaultProfiles (the EVSE's own and EVSE 0's) while
  it has a period in force; once it ends, the TxDefaultProfile leads again;
- the limit is the lowest of: the leading ChargingStationMaxProfile, the leading Tx/TxDefault profile, every
  external limit in force for the EVSE or the station (ChargingStationExternalConstraints: EMS, grid operator,
  load balancing), the EVSE's rated current and the plugged cable's rating.

Everything is compared in amperes per phase. Watts become amperes with the nominal 230 V and the phases: a
period's numberPhases where it gives one (never more than the EVSE has), else the phases the EVSE uses. A
period that allows fewer phases than the EVSE has lowers the composite's phase count. A limit below the
leading Tx/TxDefault schedule's minChargingRate is no use to the EV: it becomes 0, as the pilot would
withdraw the offer. Limits are rounded down to 0.1 (the precision a schedule period carries).

For EVSE 0 the composite is what the grid connection is expected to carry: the sum of every EVSE's composite,
capped by the ChargingStationMaxProfile and the station-wide external limits. Each EVSE is also capped by
the ChargingStationMaxProfile on its own; sharing it between EVSEs is load balancing's job (K04).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import CompositePeriod, InstalledProfile, Purpose, RateUnit
from evse.smartcharging.schedule import PeriodInForce, changes, period_at

NOMINAL_VOLTAGE_V = 230.0
#: How far ahead `next_change` looks: a weekly recurrence changes at least once in this window.
HORIZON = timedelta(days=8)

CABLE = "cable"
EVSE_MAX = "evse_max"


@dataclass(frozen=True)
class EvseFacts:
    """What the composite needs to know about one EVSE now."""

    evse_id: int
    max_current_a: float
    phases: int = 3
    cable_max_a: float | None = None
    transaction_id: str | None = None
    session_start: datetime | None = None  # the transaction's start: origin of Relative profiles


@dataclass(frozen=True)
class Limit:
    """The limit at one instant: amperes per phase (0: no charging), the phases, and who set it (a
    profile purpose, an external source such as EMS, SO or LoadBalancing, evse_max or cable)."""

    amps: float
    phases: int
    source: str


@dataclass(frozen=True)
class Sources:
    """Every input of the composite: installed profiles, external limits in force, the EVSEs."""

    profiles: Sequence[InstalledProfile]
    external: Sequence[ExternalLimit]
    evses: Mapping[int, EvseFacts]
    by_evse: dict[int, list[InstalledProfile]] = field(default_factory=dict, init=False, compare=False)

    def applicable(self, evse_id: int) -> list[InstalledProfile]:
        """The profiles that may bind this EVSE: the station's max and defaults, its own defaults, and the
        TxProfiles of its running transaction."""
        cached = self.by_evse.get(evse_id)
        if cached is not None:
            return cached
        facts = self.evses[evse_id]
        found = [item for item in self.profiles if _binds(item, facts)]
        self.by_evse[evse_id] = found
        return found


def _binds(item: InstalledProfile, facts: EvseFacts) -> bool:
    purpose, profile = item.profile.purpose, item.profile
    if purpose is Purpose.ChargingStationMaxProfile:
        return item.evse_id == 0
    if purpose is Purpose.TxDefaultProfile:
        return item.evse_id in (0, facts.evse_id)
    if purpose is Purpose.TxProfile:
        tx = facts.transaction_id
        return item.evse_id == facts.evse_id and tx is not None and profile.transaction_id == tx
    return False  # ChargingStationExternalConstraints come as ExternalLimit, never installed by the CSMS


def floor_tenth(value: float) -> float:
    """Round down to 0.1: a limit may become lower by rounding, never higher."""
    return math.floor(value * 10 + 1e-6) / 10


def to_amps(limit: float, unit: RateUnit, phases: int) -> float:
    """Amperes per phase of a limit in A or W, with the nominal voltage and `phases`."""
    if unit is RateUnit.A:
        return limit
    return limit / (NOMINAL_VOLTAGE_V * phases)


def from_amps(amps: float, unit: RateUnit, phases: int) -> float:
    """A limit in amperes per phase, as `unit`."""
    if unit is RateUnit.A:
        return floor_tenth(amps)
    return floor_tenth(amps * NOMINAL_VOLTAGE_V * phases)


def leading(items: Iterable[InstalledProfile], at: datetime, session_start: datetime) -> PeriodInForce | None:
    """The period of the highest stack level that has one in force at `at`."""
    best: tuple[int, PeriodInForce] | None = None
    for item in items:
        period = period_at(item.profile, at, session_start)
        if period is not None and (best is None or item.profile.stack_level > best[0]):
            best = (item.profile.stack_level, period)
    return best[1] if best is not None else None


def evse_limit(sources: Sources, evse_id: int, at: datetime, origin: datetime | None = None) -> Limit:
    """The limit on one EVSE at `at`. `origin` starts Relative profiles when no transaction runs (the
    composite's start; by default `at`)."""
    facts = sources.evses[evse_id]
    session_start = facts.session_start or origin or at
    profiles = sources.applicable(evse_id)
    # (amps, source) in the order a tie is attributed: the hardware first, then the profiles, then the rest.
    candidates: list[tuple[float, str]] = [(facts.max_current_a, EVSE_MAX)]
    if facts.cable_max_a is not None:
        candidates.append((facts.cable_max_a, CABLE))
    phases = facts.phases
    min_rate: float | None = None
    by_purpose = (
        (Purpose.ChargingStationMaxProfile,),
        (Purpose.TxProfile, Purpose.TxDefaultProfile),  # the TxProfile first: it replaces the default
    )
    for purposes in by_purpose:
        for purpose in purposes:
            period = leading((p for p in profiles if p.profile.purpose is purpose), at, session_start)
            if period is None:
                continue
            used = min(period.number_phases or facts.phases, facts.phases)
            phases = min(phases, used)
            candidates.append((floor_tenth(to_amps(period.limit, period.unit, used)), purpose.value))
            if purpose is not Purpose.ChargingStationMaxProfile and period.min_charging_rate is not None:
                min_rate = to_amps(period.min_charging_rate, period.unit, used)
            break
    for external in sources.external:
        if external.evse_id not in (0, evse_id):
            continue
        if external.amps is not None:
            candidates.append((floor_tenth(external.amps), external.source))
        if external.watts is not None:
            candidates.append((floor_tenth(external.watts / (NOMINAL_VOLTAGE_V * facts.phases)), external.source))
    amps, source = min(candidates, key=lambda c: c[0])  # min keeps the first of equals
    amps = max(amps, 0.0)
    if min_rate is not None and amps < min_rate:
        amps = 0.0
    return Limit(amps, phases, source)


def station_limit(sources: Sources, at: datetime, origin: datetime | None = None) -> Limit:
    """EVSE 0: the sum of the EVSEs' limits, capped by the station max and the station-wide external limits."""
    limits = [evse_limit(sources, evse_id, at, origin) for evse_id in sorted(sources.evses)]
    phases = max((limit.phases for limit in limits), default=3)
    candidates: list[tuple[float, str]] = [(floor_tenth(sum(limit.amps for limit in limits)), EVSE_MAX)]
    station_max = [
        p for p in sources.profiles if p.evse_id == 0 and p.profile.purpose is Purpose.ChargingStationMaxProfile
    ]
    period = leading(station_max, at, origin or at)
    if period is not None:
        used = min(period.number_phases or phases, phases)
        candidates.append(
            (floor_tenth(to_amps(period.limit, period.unit, used)), Purpose.ChargingStationMaxProfile.value)
        )
    for external in sources.external:
        if external.evse_id != 0:
            continue
        if external.amps is not None:
            candidates.append((floor_tenth(external.amps), external.source))
        if external.watts is not None:
            candidates.append((floor_tenth(external.watts / (NOMINAL_VOLTAGE_V * phases)), external.source))
    amps, source = min(candidates, key=lambda c: c[0])
    return Limit(max(amps, 0.0), phases, source)


def limit_at(sources: Sources, evse_id: int, at: datetime, origin: datetime | None = None) -> Limit:
    return station_limit(sources, at, origin) if evse_id == 0 else evse_limit(sources, evse_id, at, origin)


def _relevant(sources: Sources, evse_id: int) -> list[tuple[InstalledProfile, datetime | None]]:
    """(profile, session start) of every profile that can change EVSE `evse_id`'s limit."""
    ids = sorted(sources.evses) if evse_id == 0 else [evse_id]
    seen: list[tuple[InstalledProfile, datetime | None]] = []
    for one in ids:
        start = sources.evses[one].session_start
        seen.extend((item, start) for item in sources.applicable(one))
    return seen


def change_points(sources: Sources, evse_id: int, start: datetime, end: datetime) -> list[datetime]:
    """Instants in (start, end) at which the limit of `evse_id` may change (external limits change only
    when their source sets them, which the caller hears of)."""
    found: set[datetime] = set()
    for item, session_start in _relevant(sources, evse_id):
        found.update(changes(item.profile, start, end, session_start or start))
    return sorted(found)


def next_change(sources: Sources, evse_id: int, after: datetime) -> datetime | None:
    """The first instant after `after` at which the EVSE's limit may change; None within HORIZON."""
    points = change_points(sources, evse_id, after, after + HORIZON)
    return points[0] if points else None


def _whole_seconds_up(delta: timedelta) -> int:
    """Seconds rounded up, exactly (a float would put a change 1 µs after a second on that second)."""
    return delta.days * 86_400 + delta.seconds + (1 if delta.microseconds else 0)


def composite_schedule(
    sources: Sources, evse_id: int, start: datetime, duration: int, unit: RateUnit
) -> list[CompositePeriod]:
    """The composite for [start, start + duration) in whole seconds from `start`, in `unit`; consecutive
    equal periods merged. A change between two whole seconds shows from the next whole second."""
    end = start + timedelta(seconds=duration)
    offsets = {0}
    for point in change_points(sources, evse_id, start, end):
        offset = _whole_seconds_up(point - start)
        if 0 <= offset < duration:
            offsets.add(offset)
    periods: list[CompositePeriod] = []
    for offset in sorted(offsets):
        limit = limit_at(sources, evse_id, start + timedelta(seconds=offset), origin=start)
        value = from_amps(limit.amps, unit, limit.phases)
        if periods and (periods[-1].limit, periods[-1].phases) == (value, limit.phases):
            continue
        periods.append(CompositePeriod(offset, value, limit.phases))
    return periods

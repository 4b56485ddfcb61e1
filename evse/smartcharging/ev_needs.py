"""An ISO 15118 EV's charging needs and the schedule it gets (K15-K17). Pure.

The bridge reports what the EV asked for (drivers.interfaces.Iso15118ChargingNeeds), which the adapter tells
the CSMS as it is (2.0.1: NotifyEVChargingNeeds, evse/ocpp/v201/wire/charging.py). This tells a restatement
from a renegotiation, and turns the composite schedule in force into the schedule the EV accepts
(NotifyEVChargingSchedule): the EV never draws more than it said it can, and an AC EV is offered nothing
under 6 A (IEC 61851-1: no PWM below 6 A), so those periods are 0 in what it accepted.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from drivers.interfaces import EnergyTransferMode, Iso15118ChargingNeeds
from evse.smartcharging.model import CompositeSchedule, RateUnit, Schedule, SchedulePeriod

#: The module restates needs at every reconnect with the departure time it has left; a restatement is
#: not a renegotiation (K17) as long as the departure moved by less than this.
DEPARTURE_TOLERANCE = timedelta(seconds=60)
#: The longest schedule offered when the EV gives no departure time (ISO 15118-2 plans up to 24 h).
DEFAULT_HORIZON_S = 24 * 3600
#: IEC 61851-1: an AC EV is never offered less than this (no PWM), so a lower limit means 0 to it.
AC_MIN_OFFER_A = 6.0


def same_needs(old: Iso15118ChargingNeeds | None, new: Iso15118ChargingNeeds) -> bool:
    """True when ``new`` only restates ``old`` (a module's replay), False for a renegotiation by the EV."""
    if old is None:
        return False
    if (old.departure_time is None) != (new.departure_time is None):
        return False
    if (
        old.departure_time is not None
        and new.departure_time is not None
        and abs(old.departure_time - new.departure_time) > DEPARTURE_TOLERANCE
    ):
        return False
    return (
        old.requested_energy_wh,
        old.max_current_a,
        old.max_voltage_v,
        old.max_power_w,
        old.energy_mode,
        old.min_current_a,
    ) == (
        new.requested_energy_wh,
        new.max_current_a,
        new.max_voltage_v,
        new.max_power_w,
        new.energy_mode,
        new.min_current_a,
    )


def horizon_s(needs: Iso15118ChargingNeeds, now: datetime) -> int:
    """How far ahead the EV's schedule reaches: up to its departure, else DEFAULT_HORIZON_S."""
    if needs.departure_time is None:
        return DEFAULT_HORIZON_S
    left = math.ceil((needs.departure_time - now).total_seconds())
    return min(max(left, 1), DEFAULT_HORIZON_S)


def accepted_schedule(
    composite: CompositeSchedule, needs: Iso15118ChargingNeeds, schedule_id: int, max_periods: int
) -> Schedule:
    """The schedule the EV accepts from the composite in force (A): capped at the EV's maximum current, AC
    periods under 6 A as 0, equal neighbours merged; past ``max_periods`` periods the schedule ends early
    (its duration stops where the first period left out would have started)."""
    ac = needs.energy_mode is not EnergyTransferMode.DC
    periods: list[SchedulePeriod] = []
    for period in composite.periods:
        limit = min(period.limit, needs.max_current_a)
        if ac and limit < AC_MIN_OFFER_A:
            limit = 0.0
        limit = math.floor(limit * 10) / 10  # the schema's one decimal, never above what is allowed
        if periods and (periods[-1].limit, periods[-1].number_phases) == (limit, period.phases):
            continue
        periods.append(SchedulePeriod(start_period=period.start_period, limit=limit, number_phases=period.phases))
    keep = max(1, max_periods)
    duration = periods[keep].start_period if len(periods) > keep else composite.duration
    return Schedule(
        id=schedule_id,
        rate_unit=RateUnit.A,
        periods=tuple(periods[:keep]),
        start=composite.start,
        duration=duration,
    )

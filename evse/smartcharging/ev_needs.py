"""An ISO 15118 EV's charging needs and the schedule it gets, in OCPP 2.0.1 terms (K15-K17). Pure.

The bridge reports what the EV asked for (drivers.interfaces.Iso15118ChargingNeeds); this turns it into the
NotifyEVChargingNeeds the CSMS plans with, and turns the composite schedule in force into the schedule the EV
accepts (NotifyEVChargingSchedule): the EV never draws more than it said it can, and an AC EV is offered
nothing under 6 A (IEC 61851-1: no PWM below 6 A), so those periods are 0 in what it accepted.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from drivers.interfaces import EnergyTransferMode, Iso15118ChargingNeeds
from evse.ocpp.v201 import messages as m

#: The module restates needs at every reconnect with the departure time it has left; a restatement is
#: not a renegotiation (K17) as long as the departure moved by less than this.
DEPARTURE_TOLERANCE = timedelta(seconds=60)
#: The longest schedule offered when the EV gives no departure time (ISO 15118-2 plans up to 24 h).
DEFAULT_HORIZON_S = 24 * 3600
#: IEC 61851-1: an AC EV is never offered less than this (no PWM), so a lower limit means 0 to it.
AC_MIN_OFFER_A = 6.0


def needs_request(evse_id: int, needs: Iso15118ChargingNeeds) -> m.NotifyEVChargingNeedsRequest:
    """NotifyEVChargingNeeds with what the EV sent (K15.FR.01): AC or DC parameters by the requested mode.

    The schema's integers are whole amperes and volts, rounded down so the CSMS never plans with more than
    the EV allows. ACChargingParametersType requires every field: what the EV did not say is 0.
    maxScheduleTuples is left out: bridge message set v1 does not carry the EV's MaxEntriesSAScheduleTuple.
    """
    if needs.energy_mode is EnergyTransferMode.DC:
        dc = m.DCChargingParametersType(
            evMaxCurrent=math.floor(needs.max_current_a),
            evMaxVoltage=math.floor(needs.max_voltage_v),
            energyAmount=needs.requested_energy_wh,
            evMaxPower=needs.max_power_w,
        )
        ac = None
    else:
        ac = m.ACChargingParametersType(
            energyAmount=needs.requested_energy_wh or 0,
            evMinCurrent=math.ceil(needs.min_current_a or 0),
            evMaxCurrent=math.floor(needs.max_current_a),
            evMaxVoltage=math.floor(needs.max_voltage_v),
        )
        dc = None
    return m.NotifyEVChargingNeedsRequest(
        evseId=evse_id,
        chargingNeeds=m.ChargingNeedsType(
            requestedEnergyTransfer=m.EnergyTransferModeEnumType(needs.energy_mode.value),
            departureTime=needs.departure_time,
            acChargingParameters=ac,
            dcChargingParameters=dc,
        ),
    )


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
    composite: m.CompositeScheduleType, needs: Iso15118ChargingNeeds, schedule_id: int, max_periods: int
) -> m.ChargingScheduleType:
    """The schedule the EV accepts from the composite in force (A): capped at the EV's maximum current, AC
    periods under 6 A as 0, equal neighbours merged; past ``max_periods`` periods the schedule ends early
    (its duration stops where the first period left out would have started)."""
    ac = needs.energy_mode is not EnergyTransferMode.DC
    periods: list[m.ChargingSchedulePeriodType] = []
    for period in composite.chargingSchedulePeriod:
        limit = min(period.limit, needs.max_current_a)
        if ac and limit < AC_MIN_OFFER_A:
            limit = 0.0
        limit = math.floor(limit * 10) / 10  # the schema's one decimal, never above what is allowed
        if periods and (periods[-1].limit, periods[-1].numberPhases) == (limit, period.numberPhases):
            continue
        periods.append(
            m.ChargingSchedulePeriodType(startPeriod=period.startPeriod, limit=limit, numberPhases=period.numberPhases)
        )
    keep = max(1, max_periods)
    duration = periods[keep].startPeriod if len(periods) > keep else composite.duration
    return m.ChargingScheduleType(
        id=schedule_id,
        chargingRateUnit=m.ChargingRateUnitEnumType.A,
        startSchedule=composite.scheduleStart,
        duration=duration,
        chargingSchedulePeriod=periods[:keep],
    )

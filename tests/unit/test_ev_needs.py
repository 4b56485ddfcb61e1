"""The EV's charging needs in OCPP 2.0.1 terms (evse.ocpp.v201.wire.charging) and the schedule it accepts
(evse.smartcharging.ev_needs, pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from drivers.interfaces import EnergyTransferMode, Iso15118ChargingNeeds
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.wire.charging import needs_request
from evse.smartcharging.ev_needs import DEFAULT_HORIZON_S, accepted_schedule, horizon_s, same_needs
from evse.smartcharging.model import CompositePeriod, CompositeSchedule, RateUnit

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DEPARTURE = NOW + timedelta(hours=2)
AC = Iso15118ChargingNeeds(
    evse_id=1,
    requested_energy_wh=20_000,
    departure_time=DEPARTURE,
    max_current_a=16.5,
    max_voltage_v=400.0,
    max_power_w=None,
    energy_mode=EnergyTransferMode.AC_THREE_PHASE,
    min_current_a=5.5,
)
DC = Iso15118ChargingNeeds(
    evse_id=2,
    requested_energy_wh=None,
    departure_time=None,
    max_current_a=125.0,
    max_voltage_v=450.0,
    max_power_w=50_000,
    energy_mode=EnergyTransferMode.DC,
)


def composite(*periods: tuple[int, float], duration: int = 3600) -> CompositeSchedule:
    return CompositeSchedule(
        evse_id=1,
        duration=duration,
        start=NOW,
        rate_unit=RateUnit.A,
        periods=tuple(CompositePeriod(start_period=s, limit=a, phases=3) for s, a in periods),
    )


def test_ac_needs_never_overstate_what_the_ev_allows() -> None:
    """ACChargingParametersType: whole amperes, the maximum rounded down and the minimum up."""
    request = needs_request(1, AC)
    assert request.evseId == 1
    assert request.chargingNeeds.requestedEnergyTransfer is m.EnergyTransferModeEnumType.AC_three_phase
    assert request.chargingNeeds.departureTime == NOW + timedelta(hours=2)
    assert request.chargingNeeds.dcChargingParameters is None
    assert request.chargingNeeds.acChargingParameters == m.ACChargingParametersType(
        energyAmount=20_000, evMinCurrent=6, evMaxCurrent=16, evMaxVoltage=400
    )
    assert request.maxScheduleTuples is None


def test_dc_needs_carry_power_and_leave_out_what_the_ev_did_not_say() -> None:
    request = needs_request(2, DC)
    assert request.chargingNeeds.acChargingParameters is None
    assert request.chargingNeeds.departureTime is None
    dumped = request.model_dump(mode="json", exclude_none=True)
    assert dumped["chargingNeeds"] == {
        "requestedEnergyTransfer": "DC",
        "dcChargingParameters": {"evMaxCurrent": 125, "evMaxVoltage": 450, "evMaxPower": 50_000},
    }


def test_ac_needs_without_energy_or_minimum_still_fill_the_required_fields() -> None:
    params = needs_request(1, replace(AC, requested_energy_wh=None, min_current_a=None)).chargingNeeds
    assert params.acChargingParameters is not None
    assert (params.acChargingParameters.energyAmount, params.acChargingParameters.evMinCurrent) == (0, 0)


def test_a_replay_is_not_a_renegotiation_but_a_change_is() -> None:
    assert not same_needs(None, AC)
    assert same_needs(AC, replace(AC, departure_time=DEPARTURE + timedelta(seconds=2)))
    assert not same_needs(AC, replace(AC, departure_time=DEPARTURE + timedelta(minutes=30)))
    assert not same_needs(AC, replace(AC, departure_time=None))
    assert not same_needs(AC, replace(AC, requested_energy_wh=8_000))
    assert not same_needs(AC, replace(AC, max_current_a=10.0))


def test_the_schedule_reaches_to_the_departure_or_a_day() -> None:
    assert horizon_s(AC, NOW) == 7200
    assert horizon_s(DC, NOW) == DEFAULT_HORIZON_S
    assert horizon_s(replace(AC, departure_time=NOW - timedelta(minutes=5)), NOW) == 1  # departure passed


def test_the_accepted_schedule_is_capped_by_the_ev_and_has_no_ac_offer_under_6_a() -> None:
    schedule = accepted_schedule(composite((0, 32.0), (600, 20.0), (1200, 4.0), (1800, 10.0)), AC, 7, 1024)
    assert schedule.id == 7
    assert schedule.start == NOW
    assert schedule.duration == 3600
    # 32 and 20 A both become the EV's 16.5 A and merge; 4 A is no offer at all.
    assert [(p.start_period, p.limit) for p in schedule.periods] == [(0, 16.5), (1200, 0.0), (1800, 10.0)]


def test_a_dc_ev_accepts_low_currents() -> None:
    schedule = accepted_schedule(composite((0, 200.0), (60, 4.0)), DC, 1, 1024)
    assert [(p.start_period, p.limit) for p in schedule.periods] == [(0, 125.0), (60, 4.0)]


def test_past_the_period_limit_the_schedule_ends_where_the_first_period_left_out_begins() -> None:
    schedule = accepted_schedule(composite((0, 10.0), (100, 11.0), (200, 12.0)), AC, 1, 2)
    assert [p.start_period for p in schedule.periods] == [0, 100]
    assert schedule.duration == 200

"""The composite schedule (K08) on hand-computed examples: stacking, recurring across midnight, a TxProfile
ending mid-period, A and W mixed, external limits, minChargingRate, EVSE 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from evse.smartcharging.composite import (
    EvseFacts,
    Sources,
    composite_schedule,
    evse_limit,
    next_change,
)
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import CompositePeriod, InstalledProfile, Profile, RateUnit
from tests.charging_profiles import profile

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
A = RateUnit.A
W = RateUnit.W


def sources(*installed: tuple[int, Profile], external: tuple[ExternalLimit, ...] = (), **facts: Any) -> Sources:
    evse = EvseFacts(evse_id=1, max_current_a=facts.pop("max_a", 32.0), **facts)
    return Sources([InstalledProfile(e, p) for e, p in installed], list(external), {1: evse})


def periods(src: Sources, duration: int, unit: RateUnit = A, evse_id: int = 1) -> list[tuple[int, float]]:
    return [(p.start_period, p.limit) for p in composite_schedule(src, evse_id, T0, duration, unit)]


def test_K08_no_profile_is_the_evse_rating() -> None:
    assert periods(sources(), 3600) == [(0, 32.0)]
    assert evse_limit(sources(), 1, T0).source == "evse_max"


def test_K08_the_cable_caps_the_evse() -> None:
    src = sources(cable_max_a=20.0)
    assert periods(src, 60) == [(0, 20.0)]
    assert evse_limit(src, 1, T0).source == "cable"


def test_K08_stacking_the_higher_level_leads_while_it_has_a_period() -> None:
    """Stack 1 leads although its 20 A is more than stack 0's 16 A; when its duration ends, stack 0 again."""
    low = profile(1, "TxDefaultProfile", [(0, 16.0)], start=T0 - timedelta(hours=1))
    high = profile(2, "TxDefaultProfile", [(0, 10.0), (600, 20.0)], stack_level=1, start=T0, duration=1800)
    assert periods(sources((0, low), (1, high)), 3600) == [(0, 10.0), (600, 20.0), (1800, 16.0)]


def test_K08_purposes_combine_by_the_lowest() -> None:
    station_max = profile(1, "ChargingStationMaxProfile", [(0, 25.0), (1200, 12.0)], start=T0)
    default = profile(2, "TxDefaultProfile", [(0, 16.0)], start=T0)
    src = sources((0, station_max), (1, default))
    assert periods(src, 3600) == [(0, 16.0), (1200, 12.0)]
    assert evse_limit(src, 1, T0 + timedelta(seconds=1300)).source == "ChargingStationMaxProfile"


def test_K08_recurring_daily_across_midnight() -> None:
    """Daily from 22:00 for 8 h: 10 A until midnight, 16 A until 06:00; the EVSE's 32 A outside."""
    daily = profile(
        1,
        "TxDefaultProfile",
        [(0, 10.0), (7200, 16.0)],
        kind="Recurring",
        recurrency="Daily",
        start=datetime(2026, 1, 1, 22, 0, tzinfo=UTC),
        duration=8 * 3600,
    )
    start = datetime(2026, 3, 5, 21, 0, tzinfo=UTC)
    got = composite_schedule(sources((0, daily)), 1, start, 12 * 3600, A)
    assert [(p.start_period, p.limit) for p in got] == [(0, 32.0), (3600, 10.0), (3 * 3600, 16.0), (9 * 3600, 32.0)]


def test_K08_recurring_weekly_repeats_from_its_start() -> None:
    weekly = profile(
        1,
        "TxDefaultProfile",
        [(0, 8.0)],
        kind="Recurring",
        recurrency="Weekly",
        start=T0 - timedelta(days=14),
        duration=3600,
    )
    assert periods(sources((0, weekly)), 7200) == [(0, 8.0), (3600, 32.0)]
    assert periods(sources((0, weekly)), 7200)[0] == (0, 8.0)
    assert next_change(sources((0, weekly)), 1, T0 + timedelta(hours=2)) == T0 + timedelta(days=7)


def test_K08_a_tx_profile_ending_mid_period_gives_way_to_the_default() -> None:
    """The TxProfile (relative to the transaction, begun 5 min ago) runs 15 min: 10 A for 10 more minutes,
    then the TxDefaultProfile's 16 A although the default's own period goes on."""
    default = profile(1, "TxDefaultProfile", [(0, 16.0)], start=T0 - timedelta(hours=1))
    tx = profile(2, "TxProfile", [(0, 10.0)], kind="Relative", duration=900, transaction_id="tx-1")
    src = sources((0, default), (1, tx), transaction_id="tx-1", session_start=T0 - timedelta(minutes=5))
    assert periods(src, 1800) == [(0, 10.0), (600, 16.0)]


def test_K08_a_tx_profile_of_another_transaction_does_not_bind() -> None:
    tx = profile(2, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="old")
    assert periods(sources((1, tx), transaction_id="tx-1", session_start=T0), 60) == [(0, 32.0)]


def test_K08_amperes_and_watts_mixed() -> None:
    """11040 W on 3 phases is 16 A; a 1-phase period of 13 A makes the composite 1 phase: 2990 W."""
    station_max = profile(1, "ChargingStationMaxProfile", [(0, 11040.0)], unit="W", start=T0)
    default = profile(2, "TxDefaultProfile", [(0, 20.0), (600, 13.0, 1)], start=T0)
    src = sources((0, station_max), (0, default))
    assert periods(src, 1200) == [(0, 16.0), (600, 13.0)]
    assert periods(src, 1200, W) == [(0, 11040.0), (600, 2990.0)]
    assert [p.phases for p in composite_schedule(src, 1, T0, 1200, W)] == [3, 1]


def test_K08_watts_on_a_single_phase_evse() -> None:
    default = profile(1, "TxDefaultProfile", [(0, 3680.0)], unit="W", start=T0)
    assert periods(sources((0, default), phases=1), 60) == [(0, 16.0)]


def test_K08_valid_from_and_valid_to_bound_a_profile() -> None:
    default = profile(
        1,
        "TxDefaultProfile",
        [(0, 10.0)],
        start=T0,
        valid_from=T0 + timedelta(seconds=100),
        valid_to=T0 + timedelta(seconds=250),
    )
    assert periods(sources((0, default)), 400) == [(0, 32.0), (100, 10.0), (250, 32.0)]


def test_K08_a_change_between_whole_seconds_shows_from_the_next_second() -> None:
    default = profile(1, "TxDefaultProfile", [(0, 10.0)], start=T0 + timedelta(seconds=10, milliseconds=1))
    assert periods(sources((0, default)), 60) == [(0, 32.0), (11, 10.0)]


def test_K08_relative_without_a_transaction_starts_with_the_schedule_asked_for() -> None:
    default = profile(1, "TxDefaultProfile", [(0, 10.0), (300, 20.0)], kind="Relative")
    assert periods(sources((0, default)), 600) == [(0, 10.0), (300, 20.0)]


def test_K11_external_limits_are_constraints_named_by_their_source() -> None:
    """Every external limit in force for the EVSE or the station caps it; the lowest names the source."""
    ems = ExternalLimit("EMS", 0, amps=20.0)
    balance = ExternalLimit("LoadBalancing", 1, amps=12.0)
    grid = ExternalLimit("SO", 0, watts=4200.0)  # 4200 W / (230 V x 3) = 6.08 A
    assert evse_limit(sources(external=(ems,)), 1, T0).source == "EMS"
    limit = evse_limit(sources(external=(ems, balance)), 1, T0)
    assert (limit.amps, limit.source) == (12.0, "LoadBalancing")
    limit = evse_limit(sources(external=(ems, balance, grid)), 1, T0)
    assert (limit.amps, limit.source) == (6.0, "SO")
    other_evse = ExternalLimit("EMS", 2, amps=6.0)
    assert evse_limit(sources(external=(other_evse,)), 1, T0).amps == 32.0


def test_K08_below_the_ev_minimum_charging_rate_is_no_charging() -> None:
    default = profile(1, "TxDefaultProfile", [(0, 16.0)], start=T0, min_rate=10.0)
    station_max = profile(2, "ChargingStationMaxProfile", [(0, 20.0), (60, 8.0)], start=T0)
    assert periods(sources((0, default), (0, station_max)), 120) == [(0, 16.0), (60, 0.0)]


def test_K08_evse_0_is_the_sum_capped_by_the_station_max() -> None:
    two = {1: EvseFacts(1, 32.0), 2: EvseFacts(2, 16.0)}
    src = Sources([], [], two)
    assert [(p.start_period, p.limit) for p in composite_schedule(src, 0, T0, 60, A)] == [(0, 48.0)]
    station_max = profile(1, "ChargingStationMaxProfile", [(0, 40.0)], start=T0 + timedelta(seconds=30))
    src = Sources([InstalledProfile(0, station_max)], [], two)
    assert composite_schedule(src, 0, T0, 60, A) == [CompositePeriod(0, 48.0, 3), CompositePeriod(30, 40.0, 3)]

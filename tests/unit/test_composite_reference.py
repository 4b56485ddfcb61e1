"""The composite schedule against a deliberately naive reference that evaluates the limit second by second.

The reference is written apart from evse.smartcharging: it walks recurrences one cycle at a time, scans
periods in order and combines the sources with plain loops. It shares only the unit arithmetic (to_amps,
floor_tenth), whose own cases are the hand-computed examples of test_composite_schedule.py; what is checked
here is the time logic: breakpoints, stacking, validity, recurrence, TxProfile over TxDefaultProfile. The
reference reads the profiles as the CSMS sent them (2.0.1); the engine gets them as the 2.0.1 adapter reads them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.profiles import profile_from_201
from evse.smartcharging.composite import (
    EvseFacts,
    Sources,
    composite_schedule,
    floor_tenth,
    from_amps,
    to_amps,
)
from evse.smartcharging.external_limits import ExternalLimit
from evse.smartcharging.model import InstalledProfile, RateUnit
from tests.charging_profiles import profile_201

START = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
TX = "tx-1"


def ref_period(
    p: m.ChargingProfileType, at: datetime, session: datetime
) -> tuple[float, str, int | None, float | None] | None:
    if p.validFrom is not None and at < p.validFrom:
        return None
    if p.validTo is not None and at >= p.validTo:
        return None
    schedule = p.chargingSchedule[0]
    if p.chargingProfileKind.value == "Relative" or schedule.startSchedule is None:
        origin = session
    else:
        origin = schedule.startSchedule
        if p.chargingProfileKind.value == "Recurring":
            cycle = timedelta(days=7 if p.recurrencyKind is not None and p.recurrencyKind.value == "Weekly" else 1)
            while origin > at:
                origin -= cycle
            while origin + cycle <= at:
                origin += cycle
    if at < origin:
        return None
    if schedule.duration is not None and at >= origin + timedelta(seconds=schedule.duration):
        return None
    found = None
    for period in schedule.chargingSchedulePeriod:
        if origin + timedelta(seconds=period.startPeriod) <= at:
            found = period
    if found is None:
        return None
    return found.limit, schedule.chargingRateUnit.value, found.numberPhases, schedule.minChargingRate


def ref_limit(
    installed: list[tuple[int, m.ChargingProfileType]], external: list[ExternalLimit], facts: EvseFacts, at: datetime
) -> tuple[float, int]:
    session = facts.session_start or START
    best: dict[str, tuple[int, tuple[float, str, int | None, float | None]]] = {}
    for evse_id, p in installed:
        purpose = p.chargingProfilePurpose.value
        if purpose == "ChargingStationMaxProfile" and evse_id != 0:
            continue
        if purpose == "TxDefaultProfile" and evse_id not in (0, facts.evse_id):
            continue
        if purpose == "TxProfile" and (
            evse_id != facts.evse_id or facts.transaction_id is None or p.transactionId != facts.transaction_id
        ):
            continue
        found = ref_period(p, at, session)
        if found is None:
            continue
        if purpose not in best or p.stackLevel > best[purpose][0]:
            best[purpose] = (p.stackLevel, found)
    if "TxProfile" in best:
        best.pop("TxDefaultProfile", None)
    amps = [facts.max_current_a]
    phases = facts.phases
    minimum = None
    for purpose, (_, (limit, unit, number_phases, min_rate)) in best.items():
        used = min(number_phases or facts.phases, facts.phases)
        phases = min(phases, used)
        amps.append(floor_tenth(to_amps(limit, RateUnit(unit), used)))
        if purpose != "ChargingStationMaxProfile" and min_rate is not None:
            minimum = to_amps(min_rate, RateUnit(unit), used)
    for limit in external:
        if limit.evse_id in (0, facts.evse_id) and limit.amps is not None:
            amps.append(floor_tenth(limit.amps))
    value = max(min(amps), 0.0)
    if minimum is not None and value < minimum:
        value = 0.0
    return value, phases


# ---- strategies ---------------------------------------------------------------------------------------
# Whole days away plus a few hours: recurrences and period boundaries fall inside the window asked for.
seconds_near = st.builds(lambda d, s: d * 86400 + s, st.integers(-8, 1), st.integers(-7200, 3 * 3600))
moments = st.builds(
    lambda s, ms: START + timedelta(seconds=s, milliseconds=ms), st.integers(-7200, 7200), st.sampled_from([0, 0, 250])
)


@st.composite
def profiles(draw: st.DrawFn, profile_id: int) -> tuple[int, m.ChargingProfileType]:
    purpose = draw(st.sampled_from(["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"]))
    evse_id = {"ChargingStationMaxProfile": 0, "TxProfile": 1}.get(purpose) or draw(st.sampled_from([0, 1]))
    kind = draw(
        st.sampled_from(
            ["Absolute", "Recurring", "Relative"]
            if purpose != "ChargingStationMaxProfile"
            else ["Absolute", "Recurring"]
        )
    )
    unit = draw(st.sampled_from(["A", "W"]))
    count = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.integers(1, 5000), min_size=count - 1, max_size=count - 1)))
    scale = 25000.0 if unit == "W" else 40.0
    limits = draw(st.lists(st.floats(0, scale).map(lambda v: round(v, 1)), min_size=count, max_size=count))
    phases = draw(st.lists(st.sampled_from([None, None, 1, 3]), min_size=count, max_size=count))
    periods = [(s, v, ph) if ph else (s, v) for s, v, ph in zip([0, *starts], limits, phases, strict=True)]
    options: dict[str, object] = {
        "stack_level": draw(st.integers(0, 3)),
        "kind": kind,
        "unit": unit,
        "duration": draw(st.none() | st.integers(1, 9000)),
        "min_rate": draw(st.none() | st.sampled_from([6.0, 10.0, 2000.0])),
    }
    if kind != "Relative":
        options["start"] = START + timedelta(seconds=draw(seconds_near))
    if kind == "Recurring":
        options["recurrency"] = draw(st.sampled_from(["Daily", "Weekly"]))
    if draw(st.booleans()):
        options["valid_from"] = draw(moments)
    if draw(st.booleans()):
        options["valid_to"] = draw(moments)
    if purpose == "TxProfile":
        options["transaction_id"] = draw(st.sampled_from([TX, TX, "other"]))
    return evse_id, profile_201(profile_id, purpose, periods, **options)


@st.composite
def situations(draw: st.DrawFn) -> tuple[list[tuple[int, m.ChargingProfileType]], list[ExternalLimit], EvseFacts]:
    installed = [draw(profiles(i)) for i in range(1, draw(st.integers(0, 5)) + 1)]
    external = [
        ExternalLimit(source, evse_id, amps=draw(st.floats(0, 40).map(lambda v: round(v, 1))))
        for source, evse_id in draw(
            st.lists(
                st.sampled_from([("EMS", 0), ("SO", 1), ("LoadBalancing", 1), ("EMS", 2)]), max_size=2, unique=True
            )
        )
    ]
    in_tx = draw(st.booleans())
    facts = EvseFacts(
        1,
        max_current_a=draw(st.sampled_from([16.0, 32.0])),
        phases=draw(st.sampled_from([1, 3])),
        transaction_id=TX if in_tx else None,
        session_start=draw(moments) if in_tx else None,
    )
    return installed, external, facts


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(situations(), st.integers(1, 3 * 3600), st.sampled_from(["A", "W"]))
def test_K08_composite_matches_the_second_by_second_reference(
    situation: tuple[list[tuple[int, m.ChargingProfileType]], list[ExternalLimit], EvseFacts],
    duration: int,
    unit_name: str,
) -> None:
    installed, external, facts = situation
    unit = RateUnit(unit_name)
    sources = Sources([InstalledProfile(e, profile_from_201(p)) for e, p in installed], external, {1: facts})
    got = composite_schedule(sources, 1, START, duration, unit)
    assert got[0].start_period == 0
    assert all(a.start_period < b.start_period for a, b in itertools.pairwise(got))
    expanded: list[tuple[float, int]] = []
    for index, period in enumerate(got):
        end = got[index + 1].start_period if index + 1 < len(got) else duration
        expanded.extend([(period.limit, period.phases)] * (end - period.start_period))
    reference = []
    for second in range(duration):
        amps, phases = ref_limit(installed, external, facts, START + timedelta(seconds=second))
        reference.append((from_amps(amps, unit, phases), phases))
    assert expanded == reference

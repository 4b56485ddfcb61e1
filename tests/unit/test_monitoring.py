"""The pure monitoring core (evse.devicemodel.monitoring): evaluation, judging SetVariableMonitoring,
active monitors per base, report selection and batching. Properties with hypothesis where a rule is
about every value sequence, examples where the specification names a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from evse.devicemodel.definitions import Characteristics, ComponentKey, DataType, VariableDef, VariableKey
from evse.devicemodel.monitor_requests import (
    ClearStatus,
    Criterion,
    SetRequest,
    SetStatus,
    active_monitors,
    judge_clear,
    judge_set_monitoring,
    select_for_report,
    split_by_size,
)
from evse.devicemodel.monitoring import (
    Monitor,
    MonitoringBase,
    MonitorKind,
    MonitorType,
    Trigger,
    Watch,
    evaluate,
    queued_offline,
    reported,
)
from evse.devicemodel.operations import ComponentVariableSelector, GetVariableStatus
from evse.ocpp.v201.handlers.customer_information import chunks

EVSE1 = ComponentKey("EVSE", evse_id=1)
POWER = VariableKey("Power")
STATE = VariableKey("AvailabilityState")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def mon(type_: MonitorType, value: float, *, id: int = 1, severity: int = 5, **extra: object) -> Monitor:
    return Monitor(id, EVSE1, POWER, type_, value, severity, **extra)  # type: ignore[arg-type]


def run(monitor: Monitor, values: list[str | None], *, step: float = 1.0) -> list[Trigger]:
    """Evaluate a sequence of values one `step` apart; the triggers in order."""
    watch, fired = Watch(), []
    for i, value in enumerate(values):
        watch, trigger = evaluate(monitor, watch, value, monotonic=i * step, wall=T0 + timedelta(seconds=i * step))
        if trigger is not None:
            fired.append(trigger)
    return fired


# ---- evaluation --------------------------------------------------------------------------------------------

numbers = st.lists(st.integers(min_value=0, max_value=30000).map(str), min_size=1, max_size=40)


@given(numbers, st.integers(min_value=0, max_value=30000))
def test_upper_threshold_alerts_alternate_raise_and_clear(values: list[str], threshold: int) -> None:
    """N07: events alternate raised (cleared false) / cleared, the first is a raise, each raise is a value
    above the threshold and each clear one at or below it; one raise per excursion."""
    fired = run(mon(MonitorType.UPPER_THRESHOLD, threshold), values)
    assert [t.cleared for t in fired] == [i % 2 == 1 for i in range(len(fired))]
    assert all(t.trigger == "Alerting" for t in fired)
    for t in fired:
        assert (float(t.actual_value) > threshold) is (t.cleared is False)
    excursions = sum(
        1 for i, v in enumerate(values) if int(v) > threshold and (i == 0 or int(values[i - 1]) <= threshold)
    )
    assert sum(1 for t in fired if t.cleared is False) == excursions


@given(numbers, st.integers(min_value=0, max_value=30000))
def test_lower_threshold_mirrors_upper(values: list[str], threshold: int) -> None:
    fired = run(mon(MonitorType.LOWER_THRESHOLD, threshold), values)
    for t in fired:
        assert (float(t.actual_value) < threshold) is (t.cleared is False)


@given(numbers, st.integers(min_value=0, max_value=5000))
def test_delta_reports_each_move_beyond_the_delta_from_the_last_report(values: list[str], delta: int) -> None:
    """N07: the first value is the reference (no event); an event exactly when the value is more than
    `delta` away from the last reported (or reference) value."""
    fired = run(mon(MonitorType.DELTA, delta), values)
    reference, expected = int(values[0]), []
    for value in values[1:]:
        if abs(int(value) - reference) > delta:
            expected.append(value)
            reference = int(value)
    assert [t.actual_value for t in fired] == expected
    assert all(t.trigger == "Delta" and t.cleared is None for t in fired)


def test_delta_on_a_value_that_is_not_a_number_reports_every_change() -> None:
    fired = run(mon(MonitorType.DELTA, 0), ["Available", "Available", "Occupied", "Occupied", "Faulted"])
    assert [t.actual_value for t in fired] == ["Occupied", "Faulted"]


def test_unknown_value_keeps_the_threshold_and_delta_state() -> None:
    fired = run(mon(MonitorType.UPPER_THRESHOLD, 10), ["20", None, "", "20", "5"])
    assert [(t.actual_value, t.cleared) for t in fired] == [("20", False), ("5", True)]
    assert run(mon(MonitorType.DELTA, 100), ["", "50", "", "60", "200"]) == run(
        mon(MonitorType.DELTA, 100), ["50", "60", "200"]
    )


def test_delta_sees_the_first_value_of_an_unset_variable() -> None:
    """A WriteOnly password set for the first time is a change (TC_N_48)."""
    assert [t.actual_value for t in run(mon(MonitorType.DELTA, 0), [None, None, "secret"])] == ["secret"]


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=1, max_value=200))
def test_periodic_reports_once_per_period(period: int, seconds: int) -> None:
    """N08: one report per full period elapsed after the monitor was set, none before the first."""
    fired = run(mon(MonitorType.PERIODIC, period), ["1"] * (seconds + 1))
    assert len(fired) == seconds // period
    assert all(t.trigger == "Periodic" for t in fired)


def test_periodic_clock_aligned_reports_on_the_clock_multiples() -> None:
    """N08: PeriodicClockAligned 10 s, evaluated every 3 s from 00:00:00: reports in the 3 s steps that
    reach a new 10 s slot (00:00:12, :21, :30 ...), never twice in one slot."""
    monitor = mon(MonitorType.PERIODIC_CLOCK_ALIGNED, 10)
    watch, slots = Watch(), []
    for i in range(20):
        wall = T0 + timedelta(seconds=3 * i)
        watch, trigger = evaluate(monitor, watch, "1", monotonic=3.0 * i, wall=wall)
        if trigger is not None:
            slots.append(int((wall - T0).total_seconds()) // 10)
    assert slots == sorted(set(slots)) == list(range(1, 6))


def test_transaction_monitor_is_dormant_outside_a_transaction() -> None:
    monitor = mon(MonitorType.UPPER_THRESHOLD, 10, transaction=True)
    watch, trigger = evaluate(monitor, Watch(), "50", monotonic=0, wall=T0, in_transaction=False)
    assert trigger is None and watch == Watch()
    _, trigger = evaluate(monitor, watch, "50", monotonic=1, wall=T0, in_transaction=True)
    assert trigger is not None and trigger.cleared is False


@given(st.integers(min_value=0, max_value=9), st.integers(min_value=0, max_value=9))
def test_level_and_offline_severity_keep_the_more_severe(severity: int, level: int) -> None:
    """N03 and OfflineQueuingSeverity: a lower number is more severe; equal counts as kept."""
    trigger = Trigger(mon(MonitorType.DELTA, 0, severity=severity), "Delta", "1")
    assert reported(trigger, level) is (severity <= level)
    assert queued_offline(severity, level) is (severity <= level)


# ---- SetVariableMonitoring judging (N04) -------------------------------------------------------------------

DEFINITIONS = {
    (EVSE1, POWER): VariableDef(
        EVSE1, POWER, Characteristics(DataType.DECIMAL, min_limit=0, max_limit=22080, supports_monitoring=True), ()
    ),
    (EVSE1, STATE): VariableDef(
        EVSE1, STATE, Characteristics(DataType.OPTION_LIST, values_list=("A", "B"), supports_monitoring=True), ()
    ),
    (EVSE1, VariableKey("SupplyPhases")): VariableDef(
        EVSE1, VariableKey("SupplyPhases"), Characteristics(DataType.INTEGER), ()
    ),
}


def find(component: ComponentKey, variable: VariableKey) -> VariableDef | GetVariableStatus:
    if component != EVSE1:
        return GetVariableStatus.UNKNOWN_COMPONENT
    return DEFINITIONS.get((component, variable), GetVariableStatus.UNKNOWN_VARIABLE)


def req(
    kind: MonitorType, value: float, severity: int = 5, variable: VariableKey = POWER, **extra: object
) -> SetRequest:
    return SetRequest(EVSE1, variable, kind, value, severity, **extra)  # type: ignore[arg-type]


def judge(*requests: SetRequest, existing: list[Monitor] | None = None, max_custom: int = 10) -> list[SetStatus]:
    results = judge_set_monitoring(requests, find, existing or [], next_id=1, max_custom=max_custom)
    return [r.status for r in results]


def test_set_monitoring_statuses() -> None:
    A, R = SetStatus.ACCEPTED, SetStatus.REJECTED
    assert judge(req(MonitorType.UPPER_THRESHOLD, 5000)) == [A]
    assert judge(req(MonitorType.UPPER_THRESHOLD, 30000)) == [R]  # above maxLimit
    assert judge(req(MonitorType.DELTA, -1)) == [R]
    assert judge(req(MonitorType.DELTA, 30000)) == [R]  # more than the whole range
    assert judge(req(MonitorType.PERIODIC, 0)) == [R]
    assert judge(req(MonitorType.UPPER_THRESHOLD, 1, severity=10)) == [R]
    assert judge(req(MonitorType.UPPER_THRESHOLD, 1, variable=STATE)) == [SetStatus.UNSUPPORTED_MONITOR_TYPE]
    assert judge(req(MonitorType.DELTA, 0, variable=STATE)) == [A]
    assert judge(req(MonitorType.DELTA, 0, variable=VariableKey("SupplyPhases"))) == [R]  # no monitoring
    assert judge(req(MonitorType.DELTA, 0, variable=VariableKey("Nope"))) == [SetStatus.UNKNOWN_VARIABLE]
    assert judge(SetRequest(ComponentKey("EVSE", evse_id=2), POWER, MonitorType.DELTA, 1, 1)) == [
        SetStatus.UNKNOWN_COMPONENT
    ]


def test_duplicates_within_a_request_and_against_existing_monitors() -> None:
    same = req(MonitorType.UPPER_THRESHOLD, 5000, 4)
    assert judge(same, req(MonitorType.UPPER_THRESHOLD, 6000, 4), req(MonitorType.UPPER_THRESHOLD, 6000, 3)) == [
        SetStatus.ACCEPTED,
        SetStatus.DUPLICATE,
        SetStatus.ACCEPTED,
    ]
    existing = [mon(MonitorType.UPPER_THRESHOLD, 1, id=7, severity=4)]
    assert judge(same, existing=existing) == [SetStatus.DUPLICATE]
    # ... unless it replaces that very monitor
    assert judge(req(MonitorType.UPPER_THRESHOLD, 5000, 4, id=7), existing=existing) == [SetStatus.ACCEPTED]


def test_new_ids_are_consecutive_and_replacements_keep_theirs() -> None:
    existing = [mon(MonitorType.DELTA, 1, id=40, kind=MonitorKind.PRECONFIGURED)]
    results = judge_set_monitoring(
        [req(MonitorType.DELTA, 2, 1), req(MonitorType.DELTA, 3, id=40), req(MonitorType.DELTA, 4, 2)],
        find,
        existing,
        next_id=5,
        max_custom=10,
    )
    assert [r.monitor.id for r in results if r.monitor] == [5, 40, 6]
    assert results[1].monitor is not None and results[1].monitor.kind is MonitorKind.PRECONFIGURED


def test_ids_that_cannot_be_replaced() -> None:
    hard = mon(MonitorType.DELTA, 0, id=90, kind=MonitorKind.HARD_WIRED)
    elsewhere = Monitor(91, EVSE1, STATE, MonitorType.DELTA, 0, 5)
    assert judge(req(MonitorType.DELTA, 1, id=90), existing=[hard]) == [SetStatus.REJECTED]
    assert judge(req(MonitorType.DELTA, 1, id=91), existing=[elsewhere]) == [SetStatus.REJECTED]
    assert judge(req(MonitorType.DELTA, 1, id=92)) == [SetStatus.REJECTED]


def test_max_custom_monitors() -> None:
    assert judge(req(MonitorType.DELTA, 1, 1), req(MonitorType.DELTA, 1, 2), max_custom=1) == [
        SetStatus.ACCEPTED,
        SetStatus.REJECTED,
    ]


def test_clear_judges_each_id() -> None:
    existing = [
        mon(MonitorType.DELTA, 0, id=1),
        mon(MonitorType.DELTA, 0, id=2, kind=MonitorKind.PRECONFIGURED),
        mon(MonitorType.DELTA, 0, id=3, kind=MonitorKind.HARD_WIRED),
    ]
    assert [status for _, status, _ in judge_clear([1, 2, 3, 4], existing)] == [
        ClearStatus.ACCEPTED,
        ClearStatus.ACCEPTED,  # until SetMonitoringBase brings it back
        ClearStatus.REJECTED,
        ClearStatus.NOT_FOUND,
    ]


# ---- active monitors, report, batching ---------------------------------------------------------------------


def test_active_monitors_per_base() -> None:
    hard = mon(MonitorType.DELTA, 0, id=100, kind=MonitorKind.HARD_WIRED)
    factory = mon(MonitorType.UPPER_THRESHOLD, 10, id=200, kind=MonitorKind.PRECONFIGURED)
    extra = mon(MonitorType.UPPER_THRESHOLD, 20, id=201, kind=MonitorKind.PRECONFIGURED)
    changed = mon(MonitorType.UPPER_THRESHOLD, 99, id=200, kind=MonitorKind.PRECONFIGURED)
    custom = mon(MonitorType.DELTA, 5, id=1)
    pre = [(factory, True), (extra, False)]
    assert active_monitors(MonitoringBase.ALL, [hard], pre, [changed, custom]) == [hard, changed, extra, custom]
    assert active_monitors(MonitoringBase.FACTORY_DEFAULT, [hard], pre, []) == [hard, factory]
    assert active_monitors(MonitoringBase.HARD_WIRED_ONLY, [hard], pre, [custom]) == [hard, custom]
    assert active_monitors(MonitoringBase.ALL, [hard], pre, [custom], cleared={200}) == [hard, extra, custom]


def test_report_selection_by_criteria_and_selectors() -> None:
    upper = mon(MonitorType.UPPER_THRESHOLD, 1, id=1)
    delta = mon(MonitorType.DELTA, 1, id=2)
    other = Monitor(3, ComponentKey("EVSE", evse_id=2), POWER, MonitorType.PERIODIC, 60, 5)
    everything = [upper, delta, other]
    assert select_for_report(everything) == [(EVSE1, POWER, [upper, delta]), (other.component, POWER, [other])]
    assert select_for_report(everything, [Criterion.DELTA]) == [(EVSE1, POWER, [delta])]
    assert select_for_report(everything, selectors=[ComponentVariableSelector(ComponentKey("evse", evse_id=2))]) == [
        (other.component, POWER, [other])
    ]
    assert select_for_report(
        everything, [Criterion.THRESHOLD], [ComponentVariableSelector(ComponentKey("EVSE"), POWER)]
    ) == [(EVSE1, POWER, [upper])]
    assert select_for_report(everything, selectors=[ComponentVariableSelector(ComponentKey("Nope"))]) == []


@given(
    st.lists(st.text(max_size=30), max_size=40),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=10, max_value=200),
)
def test_split_by_size_keeps_order_and_limits(items: list[str], most: int, biggest: int) -> None:
    def size(batch: object) -> int:
        return sum(len(x) + 1 for x in batch)  # type: ignore[attr-defined]

    batches = split_by_size(items, most, biggest, size)
    assert [x for batch in batches for x in batch] == items
    assert all(batch for batch in batches)
    assert all(len(batch) <= most for batch in batches)
    assert all(size(batch) <= biggest or len(batch) == 1 for batch in batches)


@given(st.lists(st.text(alphabet="ab c", max_size=700), max_size=6).map("\n".join))
def test_customer_information_chunks(text: str) -> None:
    """NotifyCustomerInformation data: at most 512 characters each, together the whole text (with the line
    ends at the cuts that fell on one)."""
    pieces = chunks(text)
    assert all(len(p) <= 512 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert chunks("") == [""]

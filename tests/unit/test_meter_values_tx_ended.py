"""TxEnded sampling (J02/J01): what the Ended event carries, on schedule, bounded, and surviving a crash.

Named after the use cases: TC_J_03/10 also need the shell to feed the sampler and persist it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.interfaces import MeterReading
from evse.ocpp.v201.samples import meter_values_from_samples
from evse.ocpp.v201.schemas import validate_request
from evse.station.core.meter_values import SamplingConfig, ended_values
from evse.station.core.samples import MeterSample
from evse.station.core.tx_ended import DEFAULT_MAX_SAMPLES, TxEndedSampler

START = datetime(2024, 3, 1, 12, 7, 30, tzinfo=UTC)
START_MONO = 1000.0
SAMPLED = SamplingConfig(
    tx_ended_measurands=("Energy.Active.Import.Register", "Current.Import"), tx_ended_interval_s=60
)
ALIGNED = SamplingConfig(
    tx_ended_measurands=("Energy.Active.Import.Register",),
    aligned_tx_ended_measurands=("Energy.Active.Import.Register", "Voltage"),
    aligned_tx_ended_interval_s=900,
)


def reading(energy: float) -> MeterReading:
    return MeterReading(
        energy_import_wh=energy,
        energy_export_wh=0.0,
        power_w=7360.0,
        voltage_v=(230.0,),
        current_a=(32.0,),
        frequency_hz=50.0,
        timestamp=0.0,
    )


def run(sampler: TxEndedSampler, seconds: int, *, step: int = 1, offset: float = 0.0) -> TxEndedSampler:
    """Feed the sampler a reading every `step` seconds for `seconds`, as the shell would."""
    for t in range(step, seconds + 1, step):
        mono = START_MONO + offset + t
        sampler = sampler.feed(reading(1000.0 + t), mono, START + timedelta(seconds=offset + t))
    return sampler


def contexts(values: list[MeterSample]) -> list[str]:
    return [str(v.values[0].context) for v in values]


def assert_valid_ended_event(values: list[MeterSample]) -> None:
    """The samples, as the 2.0.1 adapter renders them, make a schema-valid TransactionEvent Ended."""
    validate_request(
        "TransactionEvent",
        {
            "eventType": "Ended",
            "timestamp": "2024-03-01T13:00:00Z",
            "triggerReason": "EVCommunicationLost",
            "seqNo": 3,
            "transactionInfo": {"transactionId": "tx-1", "stoppedReason": "EVDisconnected"},
            "meterValue": [v.model_dump(mode="json", exclude_none=True) for v in meter_values_from_samples(values)],
        },
    )


def test_J02_ended_event_has_a_sample_every_tx_ended_interval_then_transaction_end() -> None:
    sampler = run(TxEndedSampler.start(SAMPLED, START_MONO, START, phases=1), 5 * 60 + 20)
    end = START + timedelta(seconds=320)
    values = ended_values(sampler.samples, reading(1320.0), SAMPLED, end, phases=1)
    assert contexts(values) == ["Sample.Periodic"] * 5 + ["Transaction.End"]
    stamps = [v.at for v in values[:-1]]
    assert stamps == [START + timedelta(seconds=60 * k) for k in range(1, 6)]
    assert {str(s.measurand) for v in values[:-1] for s in v.values} == set(SAMPLED.tx_ended_measurands)
    assert [v.values[0].value for v in values] == [1060.0, 1120.0, 1180.0, 1240.0, 1300.0, 1320.0]
    assert_valid_ended_event(values)


def test_J01_ended_event_has_clock_aligned_samples_at_each_boundary_then_transaction_end() -> None:
    sampler = run(TxEndedSampler.start(ALIGNED, START_MONO, START, phases=1), 40 * 60, step=7)
    values = ended_values(sampler.samples, reading(9999.0), ALIGNED, START + timedelta(minutes=40), phases=1)
    assert contexts(values) == ["Sample.Clock"] * 3 + ["Transaction.End"]
    assert [v.at for v in values[:3]] == [
        datetime(2024, 3, 1, 12, 15, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
        datetime(2024, 3, 1, 12, 45, tzinfo=UTC),
    ]  # on the boundary although the shell read the meter up to 7 s later
    assert_valid_ended_event(values)


def test_due_says_exactly_when_feeding_would_record_a_sample() -> None:
    sampler = TxEndedSampler.start(SAMPLED, START_MONO, START, phases=1)
    assert not sampler.due(START_MONO + 59.9, START + timedelta(seconds=59.9))
    assert sampler.feed(reading(1.0), START_MONO + 59.9, START + timedelta(seconds=59.9)) is sampler
    assert sampler.due(START_MONO + 60, START + timedelta(seconds=60))
    fed = sampler.feed(reading(1.0), START_MONO + 60, START + timedelta(seconds=60))
    assert len(fed.samples) == 1
    assert not fed.due(START_MONO + 61, START + timedelta(seconds=61))


def test_a_late_reading_records_one_sample_at_the_latest_point_passed_not_a_burst() -> None:
    sampler = TxEndedSampler.start(SAMPLED, START_MONO, START, phases=1)
    sampler = sampler.feed(reading(5.0), START_MONO + 250, START + timedelta(seconds=250))
    assert [v.at for v in sampler.samples] == [START + timedelta(seconds=240)]
    assert not sampler.due(START_MONO + 299, START + timedelta(seconds=299))
    assert sampler.due(START_MONO + 300, START + timedelta(seconds=300))


def test_interval_zero_collects_nothing_and_ended_carries_only_transaction_end() -> None:
    config = SamplingConfig(tx_ended_interval_s=0, aligned_tx_ended_interval_s=0)
    sampler = run(TxEndedSampler.start(config, START_MONO, START, phases=1), 3600, step=30)
    assert sampler.samples == ()
    assert not sampler.due(START_MONO + 7200, START + timedelta(hours=2))
    values = ended_values(sampler.samples, reading(1.0), config, START + timedelta(hours=1), phases=1)
    assert contexts(values) == ["Transaction.End"]


def test_a_three_day_session_stays_bounded_and_evenly_spaced() -> None:
    config = SamplingConfig(tx_ended_interval_s=60, aligned_tx_ended_interval_s=900)
    sampler = TxEndedSampler.start(config, START_MONO, START, phases=1)
    most = 0
    for t in range(10, 3 * 86400 + 1, 10):
        sampler = sampler.feed(reading(float(t)), START_MONO + t, START + timedelta(seconds=t))
        most = max(most, len(sampler.samples))
    assert most <= DEFAULT_MAX_SAMPLES
    periodic = [v.at for v in sampler.samples if str(v.values[0].context) == "Sample.Periodic"]
    clock = [v.at for v in sampler.samples if str(v.values[0].context) == "Sample.Clock"]
    assert len(periodic) >= 30 and len(clock) >= 30
    assert periodic[0] == START + timedelta(seconds=60)  # the first sample of each kind survives thinning
    assert clock[0] == datetime(2024, 3, 1, 12, 15, tzinfo=UTC)
    assert {b - a for a, b in pairwise(periodic)} == {timedelta(seconds=60 * sampler.sampled_stride)}
    assert {b - a for a, b in pairwise(clock)} == {timedelta(seconds=900 * sampler.aligned_stride)}
    assert periodic[-1] > START + timedelta(days=3) - timedelta(seconds=60 * sampler.sampled_stride)
    assert_valid_ended_event(ended_values(sampler.samples, reading(1.0), config, START + timedelta(days=3), phases=1))


def test_a_restored_sampler_continues_the_schedule_after_a_restart() -> None:
    sampler = run(TxEndedSampler.start(SAMPLED, START_MONO, START, phases=1), 130)
    restored = TxEndedSampler.from_json(sampler.to_json())
    # The process restarted: the monotonic clock starts again near zero, 100 s of wall time later.
    now = START + timedelta(seconds=230)
    assert restored.due(5.0, now)
    resumed = restored.feed(reading(2230.0), 5.0, now)
    assert [v.at for v in resumed.samples] == [START + timedelta(seconds=s) for s in (60, 120, 180)]
    assert resumed == restored.resumed(5.0, now).feed(reading(2230.0), 5.0, now)
    later = resumed.feed(reading(2290.0), 5.0 + 10, now + timedelta(seconds=10))
    assert [v.at for v in later.samples][-1] == START + timedelta(seconds=240)


def test_bad_arguments_and_bad_json_are_refused() -> None:
    with pytest.raises(ValueError, match="max_samples"):
        TxEndedSampler.start(SAMPLED, START_MONO, START, phases=1, max_samples=1)
    with pytest.raises(ValueError, match="timezone"):
        TxEndedSampler.start(SAMPLED, START_MONO, datetime(2024, 3, 1), phases=1)
    for text in ("", "[]", '{"format": 2}', '{"format": 1}', '{"format": 1, "samples": [{}]}'):
        with pytest.raises(ValueError):
            TxEndedSampler.from_json(text)


_configs = st.builds(
    SamplingConfig,
    tx_ended_measurands=st.lists(
        st.sampled_from(["Energy.Active.Import.Register", "Voltage", "Current.Import", "Frequency"]), max_size=3
    ).map(tuple),
    tx_ended_interval_s=st.integers(0, 120),
    aligned_tx_ended_measurands=st.lists(st.sampled_from(["Energy.Active.Import.Register", "Voltage"])).map(tuple),
    aligned_tx_ended_interval_s=st.integers(0, 600),
)


@settings(max_examples=60, deadline=None)
@given(
    _configs,
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    st.lists(st.tuples(st.floats(0.001, 400), st.floats(0, 1e7, allow_nan=False)), max_size=40),
    st.integers(2, 8),
)
def test_json_round_trip_is_exact(
    config: SamplingConfig, start: datetime, feeds: list[tuple[float, float]], cap: int
) -> None:
    sampler = TxEndedSampler.start(config, START_MONO, start, phases=1, max_samples=cap)
    elapsed = 0.0
    for step, energy in feeds:
        elapsed += step
        sampler = sampler.feed(reading(energy), START_MONO + elapsed, start + timedelta(seconds=elapsed))
        assert len(sampler.samples) <= cap
        assert TxEndedSampler.from_json(sampler.to_json()) == sampler

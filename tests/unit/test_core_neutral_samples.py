"""The station core's meter samples are protocol-neutral, and rendering them as 2.0.1 changes nothing on the wire.

docs/ocpp16-design.md step 3: meter_values.py and tx_ended.py build MeterSample / Reading values
(evse/station/core/samples.py); evse/ocpp/v201/samples.py renders them. The reference JSON in
tests/data/meter_samples_before_neutral.json was written by the code that still built 2.0.1 models in the
core: the same inputs must give the same bytes, and a TxEnded sampler it journaled must still be read.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.interfaces import MeterReading
from evse.ocpp.v201.samples import meter_value_from_sample, meter_values_from_samples
from evse.ocpp.v201.schemas import validate_request
from evse.station.core.meter_values import Offered, SamplingConfig, build_meter_value, ended_values
from evse.station.core.samples import (
    Location,
    Measurand,
    MeterSample,
    Phase,
    Reading,
    ReadingContext,
    Unit,
    sample_from_json,
    sample_to_json,
)
from evse.station.core.tx_ended import TxEndedSampler

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "evse" / "station" / "core"
BEFORE: dict[str, str] = json.loads((ROOT / "tests" / "data" / "meter_samples_before_neutral.json").read_text())

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
READING = MeterReading(
    energy_import_wh=12345.678,
    energy_export_wh=10.04,
    power_w=11040.44,
    voltage_v=(230.04, 231.06, 229.98),
    current_a=(16.004, 15.996, 16.0),
    frequency_hz=50.012,
    timestamp=0.0,
)
# In the order the reference was written with (the order of the configured list is the order sent).
EVERY_MEASURAND = (
    "Energy.Active.Import.Register",
    "Energy.Active.Export.Register",
    "Power.Active.Import",
    "Power.Active.Export",
    "Current.Import",
    "Voltage",
    "Frequency",
    "Current.Offered",
    "Power.Offered",
)
START = datetime(2024, 3, 1, 12, 7, 30, tzinfo=UTC)
TX_ENDED = SamplingConfig(
    tx_ended_measurands=("Energy.Active.Import.Register", "Current.Import", "Voltage"),
    tx_ended_interval_s=60,
    aligned_tx_ended_measurands=("Energy.Active.Import.Register", "Power.Active.Export"),
    aligned_tx_ended_interval_s=900,
)


def compact(payload: Any) -> str:
    """JSON as the outbox stores it (evse/ocpp/outbox.py)."""
    return json.dumps(payload, separators=(",", ":"))


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("name", ["meter_values.py", "tx_ended.py", "samples.py"])
def test_core_meter_modules_name_no_ocpp_message_module(name: str) -> None:
    path = CORE / name
    assert re.search(r"ocpp.v201", path.read_text()) is None  # as `grep ocpp.v201` reads it
    assert not any(module.startswith("evse.ocpp") for module in imports_of(path))


def test_a_sample_with_every_field_set_renders_to_the_bytes_the_core_used_to_build() -> None:
    sample = build_meter_value(
        READING, EVERY_MEASURAND, "Sample.Clock", AT, phases=3, location="Inlet", offered=Offered(16.0, 11040.0)
    )
    assert sample is not None
    assert {r.measurand for r in sample.values} == set(Measurand)  # every measurand, phases, location, context
    assert {r.phase for r in sample.values} >= {Phase.L1, Phase.L3, Phase.L3_N, None}
    rendered = meter_value_from_sample(sample).model_dump(mode="json", exclude_none=True)
    assert compact(rendered) == BEFORE["every_field_meter_value"]


def test_a_tx_ended_sampler_journaled_by_the_previous_build_is_read_and_written_back_unchanged() -> None:
    blob = BEFORE["tx_ended_sampler_format1"]
    sampler = TxEndedSampler.from_json(blob)
    assert [(s.at, s.values[0].context) for s in sampler.samples] == [
        (START + timedelta(seconds=60), ReadingContext.SAMPLE_PERIODIC),
        (START + timedelta(seconds=120), ReadingContext.SAMPLE_PERIODIC),
        (START + timedelta(seconds=420), ReadingContext.SAMPLE_PERIODIC),
        (datetime(2024, 3, 1, 12, 15, tzinfo=UTC), ReadingContext.SAMPLE_CLOCK),
    ]
    first = sampler.samples[0].values
    assert first[0] == Reading(
        Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, 1008.6, ReadingContext.SAMPLE_PERIODIC, Unit.WH, None, Location.OUTLET
    )
    assert first[1].phase is Phase.L1 and first[1].unit is Unit.A
    assert sampler.to_json() == blob


def test_transaction_end_values_from_a_journaled_sampler_render_to_the_bytes_sent_before() -> None:
    sampler = TxEndedSampler.from_json(BEFORE["tx_ended_sampler_format1"])
    values = ended_values(sampler.samples, READING, TX_ENDED, START + timedelta(seconds=500), phases=3)
    rendered = [value.model_dump(mode="json", exclude_none=True) for value in meter_values_from_samples(values)]
    assert compact(rendered) == BEFORE["ended_meter_values"]


def test_a_multiplier_is_stated_only_when_not_zero_and_a_missing_location_is_left_out() -> None:
    """2.0.1 SampledValueType: multiplier defaults to 0 and location to Outlet, so leaving them out says the same."""
    plain = Reading(Measurand.ENERGY_ACTIVE_IMPORT_REGISTER, 12.5, ReadingContext.TRANSACTION_END, Unit.WH)
    scaled = Reading(Measurand.POWER_ACTIVE_IMPORT, 7.4, ReadingContext.SAMPLE_PERIODIC, Unit.W, multiplier=3)
    rendered = meter_value_from_sample(MeterSample(AT, (plain, scaled))).model_dump(mode="json", exclude_none=True)
    assert rendered["sampledValue"] == [
        {
            "value": 12.5,
            "context": "Transaction.End",
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "Wh"},
        },
        {
            "value": 7.4,
            "context": "Sample.Periodic",
            "measurand": "Power.Active.Import",
            "unitOfMeasure": {"unit": "W", "multiplier": 3},
        },
    ]
    validate_request("MeterValues", {"evseId": 1, "meterValue": [rendered]})


def test_an_empty_sample_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MeterSample(AT, ())


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"timestamp": "2024-03-01T12:00:00Z", "sampledValue": []},
        {"timestamp": "2024-03-01T12:00:00", "sampledValue": [{"value": 1.0}]},
        {"timestamp": "2024-03-01T12:00:00Z", "sampledValue": [{"value": 1.0, "context": "Trigger"}]},
        {
            "timestamp": "2024-03-01T12:00:00Z",
            "sampledValue": [
                {"value": 1.0, "context": "Trigger", "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}}
            ],
        },
    ],
)
def test_stored_samples_that_are_not_what_sample_to_json_writes_are_refused(stored: dict[str, Any]) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        sample_from_json(stored)


_readings = st.builds(
    Reading,
    measurand=st.sampled_from(Measurand),
    value=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    context=st.sampled_from(ReadingContext),
    unit=st.sampled_from(Unit),
    phase=st.none() | st.sampled_from(Phase),
    location=st.none() | st.sampled_from(Location),
    multiplier=st.integers(-3, 3),
)
_samples = st.builds(
    MeterSample,
    at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    values=st.lists(_readings, min_size=1, max_size=5).map(tuple),
)


@given(_samples)
def test_the_journal_form_round_trips_and_is_the_2_0_1_rendering(sample: MeterSample) -> None:
    stored = json.loads(compact(sample_to_json(sample)))
    assert sample_from_json(stored) == sample
    rendered = meter_value_from_sample(sample).model_dump(mode="json", exclude_none=True)
    assert stored == rendered  # one shape for the journal and the 2.0.1 wire, as before
    validate_request("MeterValues", {"evseId": 1, "meterValue": [rendered]})

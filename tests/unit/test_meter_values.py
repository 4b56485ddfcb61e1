"""Meter-value samples per the device model (J01/J02): measurand selection, phases, units, configuration.

Tests are named after use cases, not OCTT ids: they check the pure builders, while TC_J_01/07/09 also need
the station shell to send these samples (docs/conformance.md must not claim them before it does).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.interfaces import MeterReading
from evse.devicemodel.loader import load_definitions
from evse.devicemodel.model import DeviceModel
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201.samples import meter_values_from_samples
from evse.ocpp.v201.schemas import validate_request
from evse.station.core.meter_values import (
    Offered,
    SamplingConfig,
    build_meter_value,
    clock_aligned_values,
    ended_values,
    energy_sample,
    periodic_sample,
    started_values,
    triggered_values,
    unsupported_measurands,
    updated_values,
)
from evse.station.core.samples import Location, MeterSample, ReadingContext

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config" / "device_model"
DEFINITIONS = load_definitions(CONFIG_DIR, [(1, [1])])
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ALL = (
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
THREE_PHASE = MeterReading(
    energy_import_wh=12345.678,
    energy_export_wh=10.04,
    power_w=11040.44,
    voltage_v=(230.04, 231.06, 229.98),
    current_a=(16.004, 15.996, 16.0),
    frequency_hz=50.012,
    timestamp=0.0,
)


def reading(**changes: object) -> MeterReading:
    values = {
        "energy_import_wh": THREE_PHASE.energy_import_wh,
        "energy_export_wh": THREE_PHASE.energy_export_wh,
        "power_w": THREE_PHASE.power_w,
        "voltage_v": THREE_PHASE.voltage_v,
        "current_a": THREE_PHASE.current_a,
        "frequency_hz": THREE_PHASE.frequency_hz,
        "timestamp": 0.0,
    }
    values.update(changes)
    return MeterReading(**values)  # type: ignore[arg-type]


def rows(value: MeterSample | None) -> list[tuple[str, str | None, float, str | None]]:
    """(measurand, phase, value, unit) of each reading, for compact assertions."""
    assert value is not None
    return [(str(r.measurand), r.phase.value if r.phase else None, r.value, r.unit.value) for r in value.values]


def assert_valid_meter_values(*values: MeterSample) -> None:
    """The samples, as the 2.0.1 adapter renders them, make a schema-valid MeterValuesRequest."""
    rendered = meter_values_from_samples(values)
    payload = {"evseId": 1, "meterValue": [v.model_dump(mode="json", exclude_none=True) for v in rendered]}
    validate_request("MeterValues", payload)


# ---- build_meter_value ------------------------------------------------------------------------------


def test_only_configured_measurands_are_sampled_in_configured_order_once_each() -> None:
    value = build_meter_value(
        THREE_PHASE,
        ["Frequency", "Energy.Active.Import.Register", "Frequency"],
        "Sample.Periodic",
        AT,
        phases=3,
    )
    assert rows(value) == [("Frequency", None, 50.01, "Hz"), ("Energy.Active.Import.Register", None, 12345.7, "Wh")]
    assert value is not None and value.at == AT


def test_three_phase_current_and_voltage_carry_one_value_per_phase_and_totals_carry_no_phase() -> None:
    value = build_meter_value(
        THREE_PHASE, ["Current.Import", "Voltage", "Power.Active.Import"], "Sample.Periodic", AT, phases=3
    )
    assert rows(value) == [
        ("Current.Import", "L1", 16.0, "A"),
        ("Current.Import", "L2", 16.0, "A"),
        ("Current.Import", "L3", 16.0, "A"),
        ("Voltage", "L1-N", 230.0, "V"),
        ("Voltage", "L2-N", 231.1, "V"),
        ("Voltage", "L3-N", 230.0, "V"),
        ("Power.Active.Import", None, 11040.4, "W"),
    ]


def test_a_single_phase_evse_reports_only_L1_even_from_a_three_phase_meter() -> None:
    value = build_meter_value(THREE_PHASE, ["Current.Import", "Voltage"], "Sample.Periodic", AT, phases=1)
    assert [(name, phase) for name, phase, _, _ in rows(value)] == [("Current.Import", "L1"), ("Voltage", "L1-N")]


def test_every_value_states_its_context_location_and_unit() -> None:
    value = build_meter_value(THREE_PHASE, ALL, "Sample.Clock", AT, phases=3, location="Inlet", offered=Offered(16, 11))
    assert value is not None
    for sampled in value.values:
        assert sampled.context is ReadingContext.SAMPLE_CLOCK
        assert sampled.location is Location.INLET
        assert sampled.multiplier == 0
    for rendered in meter_values_from_samples([value])[0].sampledValue:
        assert rendered.unitOfMeasure is not None and rendered.unitOfMeasure.unit
        assert rendered.unitOfMeasure.multiplier is None


def test_power_is_split_by_direction_into_import_and_export() -> None:
    charging = build_meter_value(THREE_PHASE, ["Power.Active.Import", "Power.Active.Export"], "Trigger", AT, phases=3)
    assert [v for _, _, v, _ in rows(charging)] == [11040.4, 0.0]
    feeding = reading(power_w=-3000.0)
    discharging = build_meter_value(feeding, ["Power.Active.Import", "Power.Active.Export"], "Trigger", AT, phases=3)
    assert [v for _, _, v, _ in rows(discharging)] == [0.0, 3000.0]


def test_offered_current_and_power_are_sampled_only_when_offered_values_are_given() -> None:
    offered = ["Current.Offered", "Power.Offered"]
    assert build_meter_value(THREE_PHASE, offered, "Sample.Periodic", AT, phases=3) is None
    value = build_meter_value(THREE_PHASE, offered, "Sample.Periodic", AT, phases=3, offered=Offered(13.0, 8970.0))
    assert rows(value) == [("Current.Offered", None, 13.0, "A"), ("Power.Offered", None, 8970.0, "W")]
    only_current = Offered(current_a=6.0)
    assert unsupported_measurands(offered, THREE_PHASE, offered=only_current) == ["Power.Offered"]


def test_measurands_the_reading_cannot_supply_are_skipped_and_listed_once() -> None:
    dc_meter = reading(voltage_v=(), current_a=(), frequency_hz=None)
    wanted = ["Energy.Active.Import.Register", "Voltage", "Frequency", "SoC", "Current.Import", "Voltage", "Bogus"]
    assert rows(build_meter_value(dc_meter, wanted, "Sample.Periodic", AT, phases=3)) == [
        ("Energy.Active.Import.Register", None, 12345.7, "Wh")
    ]
    assert unsupported_measurands(wanted, dc_meter) == ["Voltage", "Frequency", "SoC", "Current.Import", "Bogus"]
    assert unsupported_measurands(ALL[:7], THREE_PHASE) == []


def test_a_non_finite_meter_value_is_left_out_rather_than_sent() -> None:
    glitch = reading(power_w=float("nan"), current_a=(16.0, float("inf"), 15.0))
    value = build_meter_value(glitch, ["Power.Active.Import", "Current.Import"], "Sample.Periodic", AT, phases=3)
    assert [(name, phase) for name, phase, _, _ in rows(value)] == [("Current.Import", "L1"), ("Current.Import", "L3")]
    assert unsupported_measurands(["Power.Active.Import"], glitch) == ["Power.Active.Import"]


def test_nothing_to_report_gives_none_not_an_empty_meter_value() -> None:
    assert build_meter_value(THREE_PHASE, [], "Sample.Periodic", AT, phases=3) is None
    assert build_meter_value(reading(frequency_hz=None), ["Frequency"], "Sample.Periodic", AT, phases=3) is None


def test_phases_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="phases"):
        build_meter_value(THREE_PHASE, ["Voltage"], "Sample.Periodic", AT, phases=0)


_finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
_per_phase = st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), max_size=3).map(tuple)
_readings = st.builds(
    MeterReading,
    energy_import_wh=st.floats(min_value=0, max_value=1e12, allow_nan=False),
    energy_export_wh=st.floats(min_value=0, max_value=1e12, allow_nan=False),
    power_w=_finite,
    voltage_v=_per_phase,
    current_a=_per_phase,
    frequency_hz=st.none() | st.floats(min_value=0, max_value=100),
    timestamp=st.just(0.0),
)
_contexts = st.sampled_from([c.value for c in m.ReadingContextEnumType])
_locations = st.sampled_from([loc.value for loc in m.LocationEnumType])
_offered = st.none() | st.builds(Offered, st.none() | st.floats(0, 80), st.none() | st.floats(0, 50000))
_datetimes = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(
    _readings,
    st.lists(st.sampled_from((*ALL, "SoC"))),
    _contexts,
    _datetimes,
    st.integers(1, 3),
    _locations,
    _offered,
)
def test_every_built_meter_value_validates_against_the_official_schema(
    sample: MeterReading,
    measurands: list[str],
    context: str,
    at: datetime,
    phases: int,
    location: str,
    offered: Offered | None,
) -> None:
    value = build_meter_value(sample, measurands, context, at, phases=phases, location=location, offered=offered)
    missing = unsupported_measurands(measurands, sample, offered=offered)
    supplied = {name for name in measurands if name not in missing}
    if value is None:
        assert supplied == set()
        return
    assert_valid_meter_values(value)
    assert {str(s.measurand) for s in value.values} == supplied


# ---- configuration --------------------------------------------------------------------------------


def test_sampling_config_reads_the_shipped_device_model_defaults() -> None:
    config = SamplingConfig.from_device_model(DeviceModel(DEFINITIONS))
    assert config == SamplingConfig(
        tx_started_measurands=("Energy.Active.Import.Register",),
        tx_updated_measurands=("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage"),
        tx_updated_interval_s=60,
        tx_ended_measurands=("Energy.Active.Import.Register",),
        tx_ended_interval_s=0,
        aligned_measurands=("Energy.Active.Import.Register",),
        aligned_interval_s=900,
        aligned_send_during_idle=False,
        aligned_tx_ended_measurands=("Energy.Active.Import.Register",),
        aligned_tx_ended_interval_s=0,
    )


def test_sampling_config_follows_values_set_in_the_device_model() -> None:
    dm = DeviceModel(
        DEFINITIONS,
        overrides={
            "SampledDataCtrlr.TxEndedMeasurands": "Energy.Active.Import.Register,Frequency",
            "SampledDataCtrlr.TxEndedInterval": 30,
            "AlignedDataCtrlr.SendDuringIdle": True,
            "AlignedDataCtrlr.TxEndedInterval": 300,
            "AlignedDataCtrlr.Measurands": "Voltage,Current.Import",
        },
    )
    config = SamplingConfig.from_device_model(dm)
    assert config.tx_ended_measurands == ("Energy.Active.Import.Register", "Frequency")
    assert config.tx_ended_interval_s == 30
    assert config.aligned_send_during_idle is True
    assert config.aligned_tx_ended_interval_s == 300
    assert config.aligned_measurands == ("Voltage", "Current.Import")
    assert config.all_measurands() == [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
        "Frequency",
    ]


def test_a_disabled_controller_samples_nothing() -> None:
    dm = DeviceModel(DEFINITIONS, overrides={"SampledDataCtrlr.Enabled": False, "AlignedDataCtrlr.Enabled": False})
    config = SamplingConfig.from_device_model(dm)
    assert config.all_measurands() == []
    assert (config.tx_updated_interval_s, config.aligned_interval_s, config.tx_ended_interval_s) == (0, 0, 0)
    assert started_values(THREE_PHASE, config, AT, phases=3) == []
    assert ended_values([], THREE_PHASE, config, AT, phases=3) == []


# ---- what each message carries ------------------------------------------------------------------------

CONFIG = SamplingConfig(
    tx_started_measurands=("Energy.Active.Import.Register", "Voltage"),
    tx_updated_measurands=("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"),
    tx_updated_interval_s=60,
    tx_ended_measurands=("Energy.Active.Import.Register", "Energy.Active.Export.Register"),
    aligned_measurands=("Energy.Active.Import.Register", "Frequency"),
    aligned_interval_s=900,
)


def test_J02_started_event_carries_tx_started_measurands_with_context_transaction_begin() -> None:
    values = started_values(THREE_PHASE, CONFIG, AT, phases=1)
    assert [(name, phase) for name, phase, _, _ in rows(values[0])] == [
        ("Energy.Active.Import.Register", None),
        ("Voltage", "L1-N"),
    ]
    assert {s.context for s in values[0].values} == {ReadingContext.TRANSACTION_BEGIN}
    assert_valid_meter_values(*values)


def test_J02_updated_event_carries_every_tx_updated_measurand_with_context_sample_periodic() -> None:
    values = updated_values(THREE_PHASE, CONFIG, AT, phases=3)
    assert {str(s.measurand) for s in values[0].values} == set(CONFIG.tx_updated_measurands)
    assert {s.context for s in values[0].values} == {ReadingContext.SAMPLE_PERIODIC}
    assert_valid_meter_values(*values)


def test_J01_clock_aligned_sample_carries_every_aligned_measurand_with_context_sample_clock() -> None:
    values = clock_aligned_values(THREE_PHASE, CONFIG, AT, phases=3)
    assert [name for name, _, _, _ in rows(values[0])] == list(CONFIG.aligned_measurands)
    assert values[0].values[0].context is ReadingContext.SAMPLE_CLOCK
    assert_valid_meter_values(*values)


def test_triggered_samples_use_tx_updated_measurands_in_a_transaction_and_aligned_ones_outside() -> None:
    in_tx = triggered_values(THREE_PHASE, CONFIG, AT, phases=3, in_transaction=True)
    idle = triggered_values(THREE_PHASE, CONFIG, AT, phases=3, in_transaction=False)
    assert {str(s.measurand) for s in in_tx[0].values} == set(CONFIG.tx_updated_measurands)
    assert [name for name, _, _, _ in rows(idle[0])] == list(CONFIG.aligned_measurands)
    assert {s.context for s in in_tx[0].values + idle[0].values} == {ReadingContext.TRIGGER}


def test_a_trigger_always_answers_with_a_meter_value_falling_back_to_the_energy_register() -> None:
    nothing = SamplingConfig(aligned_measurands=("Frequency",))
    values = triggered_values(reading(frequency_hz=None), nothing, AT, phases=3, in_transaction=False)
    assert rows(values[0]) == [("Energy.Active.Import.Register", None, 12345.7, "Wh")]


def test_ended_event_lists_collected_samples_in_time_order_then_transaction_end_last() -> None:
    later = datetime(2024, 5, 1, 11, 30, tzinfo=UTC)
    earlier = datetime(2024, 5, 1, 11, 15, tzinfo=UTC)
    collected = [
        clock_aligned_values(THREE_PHASE, CONFIG, later, phases=3)[0],
        updated_values(THREE_PHASE, CONFIG, earlier, phases=3)[0],
    ]
    values = ended_values(collected, THREE_PHASE, CONFIG, AT, phases=3)
    assert [v.at for v in values] == [earlier, later, AT]
    assert [name for name, _, _, _ in rows(values[-1])] == list(CONFIG.tx_ended_measurands)
    assert values[-1].values[0].context is ReadingContext.TRANSACTION_END
    assert ended_values(collected, None, CONFIG, AT, phases=3) == values[:2]  # meter lost: no final sample
    assert_valid_meter_values(*values)


def test_the_station_cores_energy_and_periodic_samples_keep_their_shape() -> None:
    begin = energy_sample(THREE_PHASE, "Transaction.Begin", AT)
    assert rows(begin) == [("Energy.Active.Import.Register", None, 12345.7, "Wh")]
    periodic = periodic_sample(THREE_PHASE, AT, context="Trigger")
    assert [(name, phase) for name, phase, _, _ in rows(periodic)] == [
        ("Energy.Active.Import.Register", None),
        ("Power.Active.Import", None),
        ("Current.Import", "L1"),
        ("Current.Import", "L2"),
        ("Current.Import", "L3"),
        ("Voltage", "L1-N"),
        ("Voltage", "L2-N"),
        ("Voltage", "L3-N"),
    ]
    assert_valid_meter_values(begin, periodic)

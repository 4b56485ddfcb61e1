"""The station core's meter samples (evse/station/core/samples.py) as OCPP 2.0.1 MeterValueType.

The core's vocabularies are the 2.0.1 enum values, so each field converts by value. What a CSMS receives
is exactly what the core built these models from before it had neutral samples: the multiplier is
stated only when it is not 0 (the 2.0.1 default) and a reading without a location states none.
"""

from __future__ import annotations

from collections.abc import Iterable

from evse.ocpp.v201 import messages as m
from evse.station.core.samples import MeterSample, Reading


def sampled_value_from_reading(reading: Reading) -> m.SampledValueType:
    """One 2.0.1 SampledValue carrying the reading, its unit always stated."""
    return m.SampledValueType(
        value=reading.value,
        context=m.ReadingContextEnumType(reading.context.value),
        measurand=m.MeasurandEnumType(reading.measurand.value),
        phase=m.PhaseEnumType(reading.phase.value) if reading.phase is not None else None,
        location=m.LocationEnumType(reading.location.value) if reading.location is not None else None,
        unitOfMeasure=m.UnitOfMeasureType(unit=reading.unit.value, multiplier=reading.multiplier or None),
    )


def meter_value_from_sample(sample: MeterSample) -> m.MeterValueType:
    """The sample as one 2.0.1 MeterValue (same timestamp, readings in order)."""
    return m.MeterValueType(
        timestamp=sample.at, sampledValue=[sampled_value_from_reading(reading) for reading in sample.values]
    )


def meter_values_from_samples(samples: Iterable[MeterSample]) -> list[m.MeterValueType]:
    """Each sample as a 2.0.1 MeterValue, in order (what a TransactionEvent or MeterValues carries)."""
    return [meter_value_from_sample(sample) for sample in samples]

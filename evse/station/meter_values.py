"""MeterValueType samples built from a meter reading (J01/J02), in the units OCPP expects."""

from __future__ import annotations

from datetime import datetime

from drivers.interfaces import MeterReading
from evse.ocpp.v201 import messages as m


def _value(value: float, measurand: str, context: str, unit: str, phase: str | None = None) -> m.SampledValueType:
    return m.SampledValueType(
        value=round(value, 3),
        measurand=m.MeasurandEnumType(measurand),
        context=m.ReadingContextEnumType(context),
        phase=m.PhaseEnumType(phase) if phase else None,
        location=m.LocationEnumType.Outlet,
        unitOfMeasure=m.UnitOfMeasureType(unit=unit),
    )


def energy_sample(reading: MeterReading, context: str, at: datetime) -> m.MeterValueType:
    """The energy register alone: what Transaction.Begin / Transaction.End carry."""
    return m.MeterValueType(
        timestamp=at,
        sampledValue=[_value(reading.energy_import_wh, "Energy.Active.Import.Register", context, "Wh")],
    )


def periodic_sample(reading: MeterReading, at: datetime, context: str = "Sample.Periodic") -> m.MeterValueType:
    """Energy, power and per-phase current/voltage, for periodic and triggered samples."""
    values = [
        _value(reading.energy_import_wh, "Energy.Active.Import.Register", context, "Wh"),
        _value(reading.power_w, "Power.Active.Import", context, "W"),
    ]
    for phase, amps in zip(("L1", "L2", "L3"), reading.current_a, strict=False):
        values.append(_value(amps, "Current.Import", context, "A", phase))
    for phase, volts in zip(("L1-N", "L2-N", "L3-N"), reading.voltage_v, strict=False):
        values.append(_value(volts, "Voltage", context, "V", phase))
    return m.MeterValueType(timestamp=at, sampledValue=values)

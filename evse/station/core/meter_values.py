"""Meter samples built from a meter reading as the device model asks (OCPP 2.0.1 J01-J02).

Pure functions: the shell reads the meter and the clock and sends what these return. Which measurands go
in which message is device-model configuration (SampledDataCtrlr, AlignedDataCtrlr), read once into a
:class:`SamplingConfig`; the station re-reads it when a variable changes.

Samples are the core's own :class:`~evse.station.core.samples.MeterSample`; each protocol adapter renders
them into its messages. Units are the OCPP defaults for each quantity (Wh, W, A, V, Hz), always stated,
with no multiplier, so a CSMS never has to guess; values are rounded to what a meter resolves (0.1 Wh, 0.1 W,
0.01 A, 0.1 V, 0.01 Hz) to keep long TxEnded lists short. Power is split by sign: the reading's power_w
is positive towards the EV, so Power.Active.Import is its positive part and Power.Active.Export the
negative part. Only per-phase quantities (Current.Import, Voltage) carry a phase; the energy registers
are totals (RegisterValuesWithoutPhases is true: meters here report no per-phase registers).

A configured measurand the reading cannot supply (no frequency, a DC meter without phase voltages, an
offered value nobody computed, a name OCPP does not define) is left out rather than faked;
:func:`unsupported_measurands` lists them so the station can log the gap once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from drivers.interfaces import MeterReading
from evse.devicemodel.model import DeviceModel
from evse.errors import DeviceModelError
from evse.station.core.samples import Location, Measurand, MeterSample, Phase, Reading, ReadingContext, Unit

ENERGY_IMPORT: Final = Measurand.ENERGY_ACTIVE_IMPORT_REGISTER.value

_UNITS: Final[dict[str, Unit]] = {
    ENERGY_IMPORT: Unit.WH,
    "Energy.Active.Export.Register": Unit.WH,
    "Power.Active.Import": Unit.W,
    "Power.Active.Export": Unit.W,
    "Power.Offered": Unit.W,
    "Current.Import": Unit.A,
    "Current.Offered": Unit.A,
    "Voltage": Unit.V,
    "Frequency": Unit.HZ,
}
_DECIMALS: Final[dict[Unit, int]] = {Unit.WH: 1, Unit.W: 1, Unit.A: 2, Unit.V: 1, Unit.HZ: 2}
_CURRENT_PHASES: Final = (Phase.L1, Phase.L2, Phase.L3)
_VOLTAGE_PHASES: Final = (Phase.L1_N, Phase.L2_N, Phase.L3_N)

#: What periodic_sample reports: the measurands every meter driver delivers.
_PERIODIC_MEASURANDS: Final = (ENERGY_IMPORT, "Power.Active.Import", "Current.Import", "Voltage")


@dataclass(frozen=True, slots=True)
class Offered:
    """What the station currently offers the EV (from smart charging), for Current.Offered / Power.Offered."""

    current_a: float | None = None
    power_w: float | None = None


def _finite(values: Iterable[tuple[float, Phase | None]]) -> list[tuple[float, Phase | None]]:
    # A NaN or infinite number is not valid JSON; such a value is a meter glitch, not a measurement.
    return [(value, phase) for value, phase in values if math.isfinite(value)]


def _per_phase(values: Sequence[float], names: Sequence[Phase], phases: int) -> list[tuple[float, Phase | None]]:
    return [(value, name) for value, name in zip(values[:phases], names, strict=False)]


def _readings(
    measurand: str, reading: MeterReading, phases: int, offered: Offered | None
) -> list[tuple[float, Phase | None]]:
    """The (value, phase) pairs the reading supplies for one measurand; empty when it supplies none."""
    pairs: list[tuple[float, Phase | None]]
    if measurand == ENERGY_IMPORT:
        pairs = [(reading.energy_import_wh, None)]
    elif measurand == "Energy.Active.Export.Register":
        pairs = [(reading.energy_export_wh, None)]
    elif measurand == "Power.Active.Import":
        pairs = [(max(reading.power_w, 0.0), None)]
    elif measurand == "Power.Active.Export":
        pairs = [(max(-reading.power_w, 0.0), None)]
    elif measurand == "Current.Import":
        pairs = _per_phase(reading.current_a, _CURRENT_PHASES, phases)
    elif measurand == "Voltage":
        pairs = _per_phase(reading.voltage_v, _VOLTAGE_PHASES, phases)
    elif measurand == "Frequency":
        pairs = [] if reading.frequency_hz is None else [(reading.frequency_hz, None)]
    elif measurand == "Current.Offered":
        pairs = [] if offered is None or offered.current_a is None else [(offered.current_a, None)]
    elif measurand == "Power.Offered":
        pairs = [] if offered is None or offered.power_w is None else [(offered.power_w, None)]
    else:
        pairs = []
    return _finite(pairs)


def _unique(measurands: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(measurands))


def unsupported_measurands(
    measurands: Sequence[str], reading: MeterReading, *, offered: Offered | None = None
) -> list[str]:
    """The configured measurands (in order, once each) that build_meter_value leaves out for this reading."""
    phases = max(len(reading.current_a), len(reading.voltage_v), 1)
    return [name for name in _unique(measurands) if not _readings(name, reading, phases, offered)]


def build_meter_value(
    reading: MeterReading,
    measurands: Sequence[str],
    context: str,
    at: datetime,
    *,
    phases: int,
    location: str = "Outlet",
    offered: Offered | None = None,
) -> MeterSample | None:
    """One sample holding every configured measurand the reading can supply, or None if it supplies none.

    `phases` is how many phases the EVSE uses (1 or 3): per-phase values beyond it are left out even if
    the meter measures them. `context`, `location` are ReadingContext / Location values (a wrong name
    raises ValueError). None rather than an empty sample because a MeterValue needs at least one value.
    """
    if phases < 1:
        raise ValueError(f"phases must be at least 1, got {phases}")
    reading_context = ReadingContext(context)
    where = Location(location)
    values: list[Reading] = []
    for name in _unique(measurands):
        unit = _UNITS.get(name)
        if unit is None:
            continue  # not a measurand any reading supplies (unsupported_measurands names it)
        for value, phase in _readings(name, reading, phases, offered):
            values.append(
                Reading(
                    measurand=Measurand(name),
                    value=round(value, _DECIMALS[unit]) + 0.0,  # + 0.0 turns -0.0 into 0.0
                    context=reading_context,
                    unit=unit,
                    phase=phase,
                    location=where,
                )
            )
    return MeterSample(at=at, values=tuple(values)) if values else None


# ---- configuration ------------------------------------------------------------------------------


def _optional_bool(dm: DeviceModel, component: str, variable: str, default: bool) -> bool:
    try:
        return dm.get_bool(component, variable)
    except DeviceModelError:  # an optional variable this station's definitions leave out
        return default


@dataclass(frozen=True, slots=True)
class SamplingConfig:
    """The SampledDataCtrlr / AlignedDataCtrlr variables that decide what is sampled when.

    Intervals are seconds, 0 meaning off. A disabled controller (Enabled false) is folded in as empty
    measurand lists and zero intervals, so code using the config needs no separate check.
    """

    tx_started_measurands: tuple[str, ...] = (ENERGY_IMPORT,)
    tx_updated_measurands: tuple[str, ...] = (ENERGY_IMPORT,)
    tx_updated_interval_s: int = 0
    tx_ended_measurands: tuple[str, ...] = (ENERGY_IMPORT,)
    tx_ended_interval_s: int = 0
    aligned_measurands: tuple[str, ...] = (ENERGY_IMPORT,)
    aligned_interval_s: int = 0
    aligned_send_during_idle: bool = False
    aligned_tx_ended_measurands: tuple[str, ...] = (ENERGY_IMPORT,)
    aligned_tx_ended_interval_s: int = 0

    @classmethod
    def from_device_model(cls, dm: DeviceModel) -> SamplingConfig:
        """Read the current values; raises DeviceModelError if a required variable is missing."""
        sampled = "SampledDataCtrlr"
        aligned = "AlignedDataCtrlr"
        sampled_on = _optional_bool(dm, sampled, "Enabled", True)
        aligned_on = _optional_bool(dm, aligned, "Enabled", True)

        def members(component: str, variable: str, enabled: bool) -> tuple[str, ...]:
            return tuple(dm.get_list(component, variable)) if enabled else ()

        def seconds(component: str, variable: str, enabled: bool) -> int:
            return max(dm.get_int(component, variable), 0) if enabled else 0

        return cls(
            tx_started_measurands=members(sampled, "TxStartedMeasurands", sampled_on),
            tx_updated_measurands=members(sampled, "TxUpdatedMeasurands", sampled_on),
            tx_updated_interval_s=seconds(sampled, "TxUpdatedInterval", sampled_on),
            tx_ended_measurands=members(sampled, "TxEndedMeasurands", sampled_on),
            tx_ended_interval_s=seconds(sampled, "TxEndedInterval", sampled_on),
            aligned_measurands=members(aligned, "Measurands", aligned_on),
            aligned_interval_s=seconds(aligned, "Interval", aligned_on),
            aligned_send_during_idle=_optional_bool(dm, aligned, "SendDuringIdle", False),
            aligned_tx_ended_measurands=members(aligned, "TxEndedMeasurands", aligned_on),
            aligned_tx_ended_interval_s=seconds(aligned, "TxEndedInterval", aligned_on),
        )

    def all_measurands(self) -> list[str]:
        """Every measurand configured anywhere, once each: what to check with unsupported_measurands."""
        return _unique(
            self.tx_started_measurands
            + self.tx_updated_measurands
            + self.tx_ended_measurands
            + self.aligned_measurands
            + self.aligned_tx_ended_measurands
        )


# ---- the samples each message carries -------------------------------------------------------------


def _listed(value: MeterSample | None) -> list[MeterSample]:
    return [value] if value is not None else []


def started_values(
    reading: MeterReading, config: SamplingConfig, at: datetime, *, phases: int, offered: Offered | None = None
) -> list[MeterSample]:
    """TransactionEvent Started: TxStartedMeasurands, context Transaction.Begin (J02, TC_J_07/08)."""
    return _listed(
        build_meter_value(
            reading, config.tx_started_measurands, "Transaction.Begin", at, phases=phases, offered=offered
        )
    )


def updated_values(
    reading: MeterReading, config: SamplingConfig, at: datetime, *, phases: int, offered: Offered | None = None
) -> list[MeterSample]:
    """TransactionEvent Updated every TxUpdatedInterval: TxUpdatedMeasurands, Sample.Periodic (J02, TC_J_09)."""
    return _listed(
        build_meter_value(reading, config.tx_updated_measurands, "Sample.Periodic", at, phases=phases, offered=offered)
    )


def clock_aligned_values(
    reading: MeterReading, config: SamplingConfig, at: datetime, *, phases: int, offered: Offered | None = None
) -> list[MeterSample]:
    """A clock-aligned sample: AlignedDataCtrlr.Measurands, Sample.Clock (J01); `at` should be the aligned slot.

    The same sample serves MeterValues outside a transaction and TransactionEvent Updated inside one
    (evse.station.aligned.clock_aligned_route decides which).
    """
    return _listed(
        build_meter_value(reading, config.aligned_measurands, "Sample.Clock", at, phases=phases, offered=offered)
    )


def triggered_values(
    reading: MeterReading,
    config: SamplingConfig,
    at: datetime,
    *,
    phases: int,
    in_transaction: bool,
    offered: Offered | None = None,
) -> list[MeterSample]:
    """TriggerMessage answers, context Trigger (F06).

    A triggered TransactionEvent reports the TxUpdatedMeasurands, a triggered MeterValues the
    AlignedDataCtrlr.Measurands. OCTT requires a meterValue in either answer, so when the configured list
    yields nothing (empty, or nothing the meter supplies) the energy register is sent alone.
    """
    measurands = config.tx_updated_measurands if in_transaction else config.aligned_measurands
    value = build_meter_value(reading, measurands, "Trigger", at, phases=phases, offered=offered)
    if value is None:
        value = build_meter_value(reading, (ENERGY_IMPORT,), "Trigger", at, phases=phases)
    return _listed(value)


def ended_values(
    samples_collected: Sequence[MeterSample],
    final_reading: MeterReading | None,
    config: SamplingConfig,
    at: datetime,
    *,
    phases: int,
    offered: Offered | None = None,
) -> list[MeterSample]:
    """TransactionEvent Ended: the samples collected during the transaction, then the final one.

    `samples_collected` are the Sample.Periodic (SampledDataCtrlr.TxEndedInterval) and Sample.Clock
    (AlignedDataCtrlr.TxEndedInterval) values an evse.station.tx_ended.TxEndedSampler kept; they come out
    in time order. The final sample has the TxEndedMeasurands with context Transaction.End (TC_J_10, TC_J_03:
    "the last one has Transaction.End"); it is left out when there is no reading (meter lost).
    """
    values = sorted(samples_collected, key=lambda sample: sample.at)
    if final_reading is not None:
        values += _listed(
            build_meter_value(
                final_reading, config.tx_ended_measurands, "Transaction.End", at, phases=phases, offered=offered
            )
        )
    return values


# ---- the station core's original entry points ------------------------------------------------------


def _required(value: MeterSample | None) -> MeterSample:
    if value is None:
        raise ValueError("the meter reading has no finite energy register")
    return value


def energy_sample(reading: MeterReading, context: str, at: datetime) -> MeterSample:
    """The energy register alone: what Transaction.Begin / Transaction.End carry without a SamplingConfig."""
    return _required(build_meter_value(reading, (ENERGY_IMPORT,), context, at, phases=1))


def periodic_sample(reading: MeterReading, at: datetime, context: str = "Sample.Periodic") -> MeterSample:
    """Energy, power and per-phase current/voltage of every phase the meter measures, without a SamplingConfig."""
    phases = max(len(reading.current_a), len(reading.voltage_v), 1)
    return _required(build_meter_value(reading, _PERIODIC_MEASURANDS, context, at, phases=phases))

"""Meter samples as the station core knows them, in no protocol's message types.

A :class:`MeterSample` is what the meter said at one instant, as a list of :class:`Reading` s; each
protocol adapter renders it into its own message (for 2.0.1 a ``MeterValueType``, by the adapter's
``meter_value_from_sample``).
The vocabularies (measurand, reading context, phase, location) are the names OCPP 1.6 and 2.0.1 share,
so rendering is a rename, never a lookup that can fail. Only what the core produces is listed: a
measurand or unit joins its enum when a meter driver can supply it.

Nothing here does I/O. :func:`sample_to_json` / :func:`sample_from_json` are the persisted form the TxEnded
sampler has always journaled (the JSON of a 2.0.1 MeterValue, with None fields left out), kept so a
journal written by an older or a newer build reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Measurand(StrEnum):
    """What a reading measures (the names both OCPP versions use)."""

    ENERGY_ACTIVE_IMPORT_REGISTER = "Energy.Active.Import.Register"
    ENERGY_ACTIVE_EXPORT_REGISTER = "Energy.Active.Export.Register"
    POWER_ACTIVE_IMPORT = "Power.Active.Import"
    POWER_ACTIVE_EXPORT = "Power.Active.Export"
    POWER_OFFERED = "Power.Offered"
    CURRENT_IMPORT = "Current.Import"
    CURRENT_OFFERED = "Current.Offered"
    VOLTAGE = "Voltage"
    FREQUENCY = "Frequency"


class ReadingContext(StrEnum):
    """Why the sample was taken."""

    INTERRUPTION_BEGIN = "Interruption.Begin"
    INTERRUPTION_END = "Interruption.End"
    OTHER = "Other"
    SAMPLE_CLOCK = "Sample.Clock"
    SAMPLE_PERIODIC = "Sample.Periodic"
    TRANSACTION_BEGIN = "Transaction.Begin"
    TRANSACTION_END = "Transaction.End"
    TRIGGER = "Trigger"


class Phase(StrEnum):
    """The phase (or phase pair) a per-phase reading belongs to."""

    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    N = "N"
    L1_N = "L1-N"
    L2_N = "L2-N"
    L3_N = "L3-N"
    L1_L2 = "L1-L2"
    L2_L3 = "L2-L3"
    L3_L1 = "L3-L1"


class Location(StrEnum):
    """Where the quantity is measured."""

    BODY = "Body"
    CABLE = "Cable"
    EV = "EV"
    INLET = "Inlet"
    OUTLET = "Outlet"


class Unit(StrEnum):
    """The unit a reading's value is stated in (before its multiplier)."""

    WH = "Wh"
    W = "W"
    A = "A"
    V = "V"
    HZ = "Hz"


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value: ``value x 10**multiplier`` in ``unit``.

    ``phase`` is None for totals; ``location`` None means the protocol's default (Outlet) and is then not
    stated, which is how a reading rebuilt from the journal after a power loss is sent.
    """

    measurand: Measurand
    value: float
    context: ReadingContext
    unit: Unit
    phase: Phase | None = None
    location: Location | None = None
    multiplier: int = 0


@dataclass(frozen=True, slots=True)
class MeterSample:
    """Every reading taken at one instant (never empty: a sample with nothing to say is None instead)."""

    at: datetime
    values: tuple[Reading, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("a meter sample holds at least one reading")


# ---- persisted form ---------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    # The form pydantic wrote when these were 2.0.1 models ("Z" for UTC), so the journal bytes do not change.
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _reading_to_json(reading: Reading) -> dict[str, Any]:
    # Key order and left-out defaults as the 2.0.1 SampledValue model dumped them.
    item: dict[str, Any] = {
        "value": reading.value,
        "context": str(reading.context),
        "measurand": str(reading.measurand),
    }
    if reading.phase is not None:
        item["phase"] = str(reading.phase)
    if reading.location is not None:
        item["location"] = str(reading.location)
    unit: dict[str, Any] = {"unit": str(reading.unit)}
    if reading.multiplier:
        unit["multiplier"] = reading.multiplier
    item["unitOfMeasure"] = unit
    return item


def sample_to_json(sample: MeterSample) -> dict[str, Any]:
    """The sample as a JSON-ready dict in the journal's format (see the module docstring)."""
    return {
        "sampledValue": [_reading_to_json(reading) for reading in sample.values],
        "timestamp": _timestamp(sample.at),
    }


def _reading_from_json(item: dict[str, Any]) -> Reading:
    unit = item["unitOfMeasure"]
    phase, location = item.get("phase"), item.get("location")
    return Reading(
        measurand=Measurand(item["measurand"]),
        value=float(item["value"]),
        context=ReadingContext(item["context"]),
        unit=Unit(unit["unit"]),
        phase=None if phase is None else Phase(phase),
        location=None if location is None else Location(location),
        multiplier=int(unit.get("multiplier", 0)),
    )


def sample_from_json(data: dict[str, Any]) -> MeterSample:
    """The sample sample_to_json wrote; raises ValueError (KeyError, TypeError) for anything else."""
    at = datetime.fromisoformat(data["timestamp"])
    if at.tzinfo is None:
        raise ValueError(f"a sample timestamp must carry its offset: {data['timestamp']!r}")
    return MeterSample(at=at, values=tuple(_reading_from_json(item) for item in data["sampledValue"]))

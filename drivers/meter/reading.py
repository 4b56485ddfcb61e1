"""Turn the registers of one poll into a MeterReading, refusing values no working meter reports.

A garbled answer that passed the CRC, a register that reads "not available", or an energy register
lower than before must never reach a TransactionEvent: the invoice is computed from these figures.
Such a poll is a bad read, counted like a timeout towards ``meter_lost``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from drivers.interfaces import MeterReading
from drivers.meter.plan import ReadBlock
from drivers.meter.register_map import MeterField, RegisterMap
from drivers.meter.registers import decode, not_available_marker


class BadReading(Exception):
    """The answers decoded, but to values a working meter does not report; ``str()`` says which."""


ENERGY_FIELDS = (MeterField.ENERGY_IMPORT_WH, MeterField.ENERGY_EXPORT_WH)


def decode_reading(
    register_map: RegisterMap,
    plan: Sequence[ReadBlock],
    answers: Sequence[tuple[int, ...]],
    *,
    timestamp: float,
    previous: MeterReading | None = None,
) -> MeterReading:
    """The reading held in ``answers`` (one tuple of words per block of ``plan``).

    Raises BadReading for a non-finite or "not available" value (frequency excepted: it becomes
    None), a negative energy, or an energy lower than in ``previous``.
    """
    values: dict[tuple[MeterField, int | None], float | None] = {}
    for block, words in zip(plan, answers, strict=True):
        for reg in block.registers:
            raw = decode(reg.type, reg.word_order, block.words_of(reg, words))
            if register_map.not_available_markers and raw == not_available_marker(reg.type):
                if reg.feeds is not MeterField.FREQUENCY_HZ:
                    raise BadReading(f"{reg.label} reads 'not available'")
                values[(reg.feeds, reg.phase)] = None
                continue
            value = raw * reg.factor
            if not math.isfinite(value):
                raise BadReading(f"{reg.label} is not a number ({raw!r})")
            values[(reg.feeds, reg.phase)] = float(value)

    def scalar(field: MeterField) -> float | None:
        return values.get((field, None))

    def phases(field: MeterField) -> tuple[float, ...]:
        count = register_map.phase_count(field)
        return tuple(values[(field, p)] or 0.0 for p in range(1, count + 1))

    energy = {field: scalar(field) or 0.0 for field in ENERGY_FIELDS}
    for field, wh in energy.items():
        if wh < 0:
            raise BadReading(f"{field} is negative ({wh:.1f} Wh)")
        before = getattr(previous, str(field)) if previous is not None else None
        if before is not None and wh < before:
            raise BadReading(f"{field} went backwards: {wh:.1f} Wh after {before:.1f} Wh")
    return MeterReading(
        energy_import_wh=energy[MeterField.ENERGY_IMPORT_WH],
        energy_export_wh=energy[MeterField.ENERGY_EXPORT_WH],
        power_w=scalar(MeterField.POWER_W) or 0.0,
        voltage_v=phases(MeterField.VOLTAGE_V),
        current_a=phases(MeterField.CURRENT_A),
        frequency_hz=scalar(MeterField.FREQUENCY_HZ),
        timestamp=timestamp,
    )

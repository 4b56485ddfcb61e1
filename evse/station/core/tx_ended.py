"""The samples a TransactionEvent Ended carries, collected during the transaction (J02, J01).

SampledDataCtrlr.TxEndedInterval asks for the TxEndedMeasurands "every TxEndedInterval seconds from the
start of the transaction" (context Sample.Periodic) and AlignedDataCtrlr.TxEndedInterval for the aligned
TxEndedMeasurands at every clock-aligned boundary (context Sample.Clock); all of them travel in the one
Ended message. :class:`TxEndedSampler` is the pure accumulator: the shell asks :meth:`~TxEndedSampler.due`,
reads the meter when it is, and :meth:`~TxEndedSampler.feed` returns the new state. Nothing here does I/O.

Timestamps sit on the schedule, not on the moment the shell got round to reading: Sample.Periodic values
at start + k x interval, Sample.Clock values on the aligned boundary, because OCTT checks that consecutive
timestamps are exactly one interval apart (TC_J_03, TC_J_10). Missed points (the station was busy or off)
give one sample at the latest point, never a burst of identical readings.

Bounded memory: at most ``max_samples`` samples are kept (default 120, about 30 kB of JSON per measurand
and a size CSMSs accept in one message). When one more would exceed it, every other sample of the kind
(Sample.Periodic or Sample.Clock) that has the most is dropped, keeping that kind's first, and that kind's
stride doubles, so what is kept stays evenly spaced at 2, 4, 8 ... times its interval and a fast periodic
series cannot crowd out the clock-aligned one. A 3-day session at 60 s (4320 points) plus 15 min aligned
(288) thus ends with about 60 of each, an hour apart, instead of exhausting memory or the CSMS's patience;
only then are consecutive timestamps more than one interval apart.

Durability: :meth:`~TxEndedSampler.to_json` / :meth:`~TxEndedSampler.from_json` round-trip exactly, so the
shell can persist the sampler with the transaction and a crash loses no sample. The samples keep the JSON
shape format 1 always had (evse.station.core.samples.sample_to_json), so a journal written by an earlier
build is read as it was written. The monotonic clock
restarts with the process; a restored sampler re-bases its schedule on the UTC start time
(:meth:`~TxEndedSampler.resumed`), which also happens by itself when the monotonic time is seen to go back.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from drivers.interfaces import MeterReading
from evse.station.core.aligned import aligned_due, aligned_slot
from evse.station.core.meter_values import SamplingConfig, build_meter_value
from evse.station.core.samples import MeterSample, sample_from_json, sample_to_json

DEFAULT_MAX_SAMPLES: Final = 120
_FORMAT: Final = 1
_PERIODIC: Final = "Sample.Periodic"
_CLOCK: Final = "Sample.Clock"


def _kind(sample: MeterSample) -> str:
    return sample.values[0].context.value


def _thinned(samples: Sequence[MeterSample], kind: str) -> list[MeterSample]:
    """Every other sample of one kind (context), keeping its first; other kinds and the order are untouched."""
    kept: list[MeterSample] = []
    rank = 0
    for sample in samples:
        if _kind(sample) == kind:
            rank += 1
            if rank % 2 == 0:
                continue
        kept.append(sample)
    return kept


@dataclass(frozen=True, slots=True)
class TxEndedSampler:
    """The TxEnded samples of one transaction so far, and when the next ones are due.

    Build it with :meth:`start`; the fields are its persisted state. ``next_sampled_k`` is the index k
    of the next Sample.Periodic point (start + k x interval), None when periodic TxEnded sampling is off;
    ``last_aligned_at`` is when the aligned schedule last fired (or started), None when it is off.
    """

    sampled_interval_s: int
    sampled_measurands: tuple[str, ...]
    aligned_interval_s: int
    aligned_measurands: tuple[str, ...]
    phases: int
    location: str
    max_samples: int
    started_utc: datetime
    started_monotonic: float
    next_sampled_k: int | None
    last_aligned_at: datetime | None
    aligned_count: int = 0
    sampled_stride: int = 1
    aligned_stride: int = 1
    samples: tuple[MeterSample, ...] = ()

    @classmethod
    def start(
        cls,
        config: SamplingConfig,
        started_monotonic: float,
        started_utc: datetime,
        *,
        phases: int,
        location: str = "Outlet",
        max_samples: int = DEFAULT_MAX_SAMPLES,
    ) -> TxEndedSampler:
        """A sampler for a transaction that started at the given times (monotonic s, UTC)."""
        if max_samples < 2:
            raise ValueError(f"max_samples must be at least 2, got {max_samples}")
        if started_utc.tzinfo is None:
            raise ValueError("started_utc must be timezone-aware (UTC)")
        sampled_on = config.tx_ended_interval_s > 0 and bool(config.tx_ended_measurands)
        aligned_on = config.aligned_tx_ended_interval_s > 0 and bool(config.aligned_tx_ended_measurands)
        return cls(
            sampled_interval_s=config.tx_ended_interval_s,
            sampled_measurands=config.tx_ended_measurands,
            aligned_interval_s=config.aligned_tx_ended_interval_s,
            aligned_measurands=config.aligned_tx_ended_measurands,
            phases=phases,
            location=location,
            max_samples=max_samples,
            started_utc=started_utc,
            started_monotonic=started_monotonic,
            next_sampled_k=1 if sampled_on else None,
            last_aligned_at=started_utc if aligned_on else None,
        )

    # ---- scheduling ------------------------------------------------------------------------------
    def resumed(self, monotonic: float, now_utc: datetime) -> TxEndedSampler:
        """The same sampler after a restart: its schedule re-based from the UTC start on the new monotonic clock."""
        elapsed = (now_utc - self.started_utc).total_seconds()
        return replace(self, started_monotonic=monotonic - max(elapsed, 0.0))

    def _rebased(self, monotonic: float, now_utc: datetime) -> TxEndedSampler:
        # Monotonic time before the start can only mean the process restarted with a new clock.
        return self.resumed(monotonic, now_utc) if monotonic < self.started_monotonic else self

    def _sampled_point(self, monotonic: float) -> int | None:
        """The schedule index to record now (the latest on this stride that has passed), or None."""
        if self.next_sampled_k is None:
            return None
        passed = math.floor((monotonic - self.started_monotonic) / self.sampled_interval_s)
        if passed < self.next_sampled_k:
            return None
        stride = self.sampled_stride
        return self.next_sampled_k + (passed - self.next_sampled_k) // stride * stride

    def _aligned_is_due(self, now_utc: datetime) -> bool:
        return self.last_aligned_at is not None and aligned_due(self.last_aligned_at, now_utc, self.aligned_interval_s)

    def due(self, monotonic: float, now_utc: datetime) -> bool:
        """Whether feeding a reading now would record a sample (so the shell knows to read the meter)."""
        current = self._rebased(monotonic, now_utc)
        return current._sampled_point(monotonic) is not None or current._aligned_is_due(now_utc)

    def feed(self, reading: MeterReading, monotonic: float, now_utc: datetime) -> TxEndedSampler:
        """Record whatever is due with this reading; if nothing is, the same state comes back (re-based at most)."""
        current = self._rebased(monotonic, now_utc)
        samples = list(current.samples)
        point = current._sampled_point(monotonic)
        aligned = current._aligned_is_due(now_utc)
        if point is None and not aligned:
            return current
        if point is not None:
            at = current.started_utc + timedelta(seconds=point * current.sampled_interval_s)
            samples += current._sample(reading, current.sampled_measurands, _PERIODIC, at)
        aligned_count = current.aligned_count
        if aligned:
            aligned_count += 1
            if (aligned_count - 1) % current.aligned_stride == 0:  # boundaries 1 + j x stride, as for periodic
                at = aligned_slot(now_utc, current.aligned_interval_s)
                samples += current._sample(reading, current.aligned_measurands, _CLOCK, at)
        strides = {_PERIODIC: current.sampled_stride, _CLOCK: current.aligned_stride}
        while len(samples) > current.max_samples:
            # Thin the kind that has the most samples, so a 60 s periodic series cannot starve a 15 min
            # clock-aligned one: each kind keeps its own stride.
            counts = Counter(_kind(sample) for sample in samples)
            kind = max(strides, key=lambda name: counts[name])
            samples = _thinned(samples, kind)
            strides[kind] *= 2
        stride = strides[_PERIODIC]
        next_k = current.next_sampled_k if point is None else point + 1
        if next_k is not None:
            # Points are 1 + j x stride; staying on that grid keeps the thinned series evenly spaced.
            next_k += -(next_k - 1) % stride
        return replace(
            current,
            samples=tuple(samples),
            sampled_stride=stride,
            aligned_stride=strides[_CLOCK],
            next_sampled_k=next_k,
            aligned_count=aligned_count,
            last_aligned_at=now_utc if aligned else current.last_aligned_at,
        )

    def _sample(
        self, reading: MeterReading, measurands: Sequence[str], context: str, at: datetime
    ) -> list[MeterSample]:
        value = build_meter_value(reading, measurands, context, at, phases=self.phases, location=self.location)
        return [value] if value is not None else []

    # ---- persistence ------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The whole state as compact JSON (format version 1)."""
        state = {
            "format": _FORMAT,
            "sampled_interval_s": self.sampled_interval_s,
            "sampled_measurands": list(self.sampled_measurands),
            "aligned_interval_s": self.aligned_interval_s,
            "aligned_measurands": list(self.aligned_measurands),
            "phases": self.phases,
            "location": self.location,
            "max_samples": self.max_samples,
            "started_utc": self.started_utc.isoformat(),
            "started_monotonic": self.started_monotonic,
            "next_sampled_k": self.next_sampled_k,
            "last_aligned_at": self.last_aligned_at.isoformat() if self.last_aligned_at is not None else None,
            "aligned_count": self.aligned_count,
            "sampled_stride": self.sampled_stride,
            "aligned_stride": self.aligned_stride,
            "samples": [sample_to_json(sample) for sample in self.samples],
        }
        return json.dumps(state, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TxEndedSampler:
        """The sampler to_json wrote; raises ValueError for anything else (the caller drops the samples)."""
        try:
            state = json.loads(text)
            if state.get("format") != _FORMAT:
                raise ValueError(f"unknown TxEnded sampler format {state.get('format')!r}")
            last = state["last_aligned_at"]
            return cls(
                sampled_interval_s=int(state["sampled_interval_s"]),
                sampled_measurands=tuple(str(name) for name in state["sampled_measurands"]),
                aligned_interval_s=int(state["aligned_interval_s"]),
                aligned_measurands=tuple(str(name) for name in state["aligned_measurands"]),
                phases=int(state["phases"]),
                location=str(state["location"]),
                max_samples=int(state["max_samples"]),
                started_utc=datetime.fromisoformat(state["started_utc"]),
                started_monotonic=float(state["started_monotonic"]),
                next_sampled_k=None if state["next_sampled_k"] is None else int(state["next_sampled_k"]),
                last_aligned_at=None if last is None else datetime.fromisoformat(last),
                aligned_count=int(state["aligned_count"]),
                sampled_stride=int(state["sampled_stride"]),
                aligned_stride=int(state["aligned_stride"]),
                samples=tuple(sample_from_json(sample) for sample in state["samples"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a TxEnded sampler: {error}") from error

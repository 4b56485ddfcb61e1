"""The in-process run: generated frames straight into the station's RpcSession, checked one step at a time.

Batches alternate: an even batch holds only frames that must be refused before any handler runs, and
the station's state is compared before and after it; an odd batch mixes in valid (and valid-but-odd) CALLs
that reach the real handlers and may change state legitimately.
"""

from __future__ import annotations

import gc
import logging
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evse.ocpp.rpc import RpcSession
from tests.fuzz.frames import Probe
from tests.fuzz.oracle import check_step, reply_code
from tests.fuzz.station import (
    Capture,
    build_station,
    fuzz_session,
    rss_bytes,
    seeded_generators,
    state,
    state_difference,
    station_version,
)
from tests.fuzz.versions import V201, FuzzVersion

MAX_REPORTED = 40


@dataclass
class Failure:
    """One wrong reaction, with what it takes to reproduce it."""

    seed: int
    index: int
    kind: str
    detail: str
    frame: str
    problem: str

    def __str__(self) -> str:
        return (
            f"seed={self.seed} frame={self.index} kind={self.kind} {self.detail}\n"
            f"  frame: {self.frame[:300]}\n  problem: {self.problem}"
        )


@dataclass
class Report:
    """What a run did and found; `ok` when nothing went wrong."""

    name: str
    seed: int
    frames: int = 0
    seconds: float = 0.0
    kinds: Counter[str] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)
    handled: Counter[str] = field(default_factory=Counter)  # CALLRESULTs by action:status
    failures: list[Failure] = field(default_factory=list)
    failure_count: int = 0
    state_checks: int = 0
    memory: list[tuple[int, int]] = field(default_factory=list)  # (frames so far, RSS bytes)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failure_count == 0

    def fail(self, failure: Failure) -> None:
        self.failure_count += 1
        if len(self.failures) < MAX_REPORTED:
            self.failures.append(failure)

    def count(self, probes: Sequence[Probe], replies: Sequence[Any]) -> None:
        """Tally the replies of one step by code, and the handlers' answers by action and status."""
        actions = {p.expect.message_id: p.expect.action for p in probes}
        for reply in replies:
            code = reply_code(reply)
            self.replies[code] += 1
            if code == "CALLRESULT" and len(reply) == 3 and isinstance(reply[2], dict):
                self.handled[f"{actions.get(reply[1])}:{reply[2].get('status', 'ok')}"] += 1

    def memory_growth(self) -> int:
        """RSS growth after the first sample (the first 100k frames warm caches and compile validators)."""
        if len(self.memory) < 2:
            return 0
        return self.memory[-1][1] - self.memory[1 if len(self.memory) > 2 else 0][1]

    def summary(self) -> str:
        mib = 1024 * 1024
        lines = [
            f"== {self.name}: seed={self.seed} frames={self.frames} seconds={self.seconds:.1f} "
            f"({self.frames / max(self.seconds, 1e-9):.0f} frames/s) failures={self.failure_count} "
            f"state checks={self.state_checks}",
            "frames by generator: " + ", ".join(f"{k}={v}" for k, v in sorted(self.kinds.items())),
            "replies by code: " + ", ".join(f"{k}={v}" for k, v in sorted(self.replies.items())),
            "handler answers: " + ", ".join(f"{k}={v}" for k, v in sorted(self.handled.items())),
        ]
        if self.memory:
            samples = " ".join(f"{n // 1000}k:{rss / mib:.1f}" for n, rss in self.memory)
            lines.append(
                f"memory RSS MiB start={self.memory[0][1] / mib:.1f} end={self.memory[-1][1] / mib:.1f} "
                f"growth after warm-up={self.memory_growth() / mib:+.1f} [{samples}]"
            )
        lines += self.notes
        lines += [str(f) for f in self.failures]
        return "\n".join(lines)


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else repr(data)


async def run_in_process(
    frames: int,
    seed: int,
    tmp: Path,
    *,
    batch: int = 2_000,
    sample_every: int = 100_000,
    progress: Callable[[str], None] | None = None,
    ocpp_version: str | None = None,
) -> Report:
    """Feed `frames` generated frames to a fresh station built under `tmp`, speaking `ocpp_version`
    ("1.6"; None: the default, 2.0.1)."""
    logging.disable(logging.CRITICAL)  # a million CALLERROR log lines would measure logging, not the station
    try:
        return await _run(frames, seed, tmp, batch, sample_every, progress, ocpp_version)
    finally:
        logging.disable(logging.NOTSET)


async def _run(
    frames: int,
    seed: int,
    tmp: Path,
    batch: int,
    sample_every: int,
    progress: Callable[[str], None] | None,
    ocpp_version: str | None,
) -> Report:
    daemon = build_station(tmp, ocpp_version=ocpp_version)
    version = station_version(daemon)
    capture = Capture()
    session = fuzz_session(daemon, capture)
    generators = seeded_generators(daemon, seed)
    report = Report(run_name("in-process", version), seed)
    gc.collect()
    report.memory.append((0, rss_bytes()))
    started = time.perf_counter()
    index = 0
    batch_number = 0
    while index < frames:
        invalid_only = batch_number % 2 == 0
        before = state(daemon) if invalid_only else None
        end = min(index + batch, frames)
        while index < end:
            probes = generators.next(f"f{index}", invalid_only=invalid_only)
            await _step(session, capture, probes, seed, index, report, version)
            index += 1
            if index % sample_every == 0:
                gc.collect()
                report.memory.append((index, rss_bytes()))
                if progress is not None:
                    progress(f"  {index} frames, {time.perf_counter() - started:.0f}s, failures={report.failure_count}")
        if before is not None:
            report.state_checks += 1
            for difference in state_difference(before, state(daemon)):
                report.fail(
                    Failure(seed, index, "state", f"batch ending at {index}", "", f"state changed: {difference}")
                )
        batch_number += 1
    report.frames = index
    report.seconds = time.perf_counter() - started
    if not report.memory or report.memory[-1][0] != index:
        gc.collect()
        report.memory.append((index, rss_bytes()))
    session.close()
    await daemon.station.open_all()
    return report


def run_name(name: str, version: FuzzVersion) -> str:
    """The report's name: the 2.0.1 runs keep their plain names."""
    return name if version is V201 else f"{name} OCPP {version.name}"


async def _step(
    session: RpcSession,
    capture: Capture,
    probes: list[Probe],
    seed: int,
    index: int,
    report: Report,
    version: FuzzVersion = V201,
) -> None:
    capture.sent.clear()
    for probe in probes:
        report.kinds[probe.kind] += 1
        try:
            await session.handle_frame(probe.data)
        except Exception as exc:
            problem = f"uncaught {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"
            report.fail(Failure(seed, index, probe.kind, probe.detail, _text(probe.data), problem))
    await session.drain()
    problems, replies = check_step(probes, capture.sent, version)
    report.count(probes, replies)
    for problem in problems:
        first = probes[0]
        report.fail(Failure(seed, index, first.kind, first.detail, _text(first.data), problem))

"""`python -m tests.fuzz.run --frames N --seed S`: the in-process run, then the websocket run; exit 1 on any
failure. `--show I` prints the probe of frame I instead (same seed), to reproduce a failure by hand.
`--ocpp 1.6` fuzzes a station speaking OCPP 1.6J instead of 2.0.1 (the default)."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

from tests.fuzz.inproc import Report, run_in_process
from tests.fuzz.station import build_station, seeded_generators
from tests.fuzz.wire import run_over_websocket

# RSS growth tolerated after warm-up: SQLite's page cache and pymalloc arenas settle in steps of a few MiB.
MEMORY_SLACK = 16 * 1024 * 1024


def _show(seed: int, index: int, batch: int, ocpp_version: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = build_station(Path(tmp), ocpp_version=ocpp_version)
        generators = seeded_generators(daemon, seed)
        for n in range(index + 1):
            probes = generators.next(f"f{n}", invalid_only=(n // batch) % 2 == 0)
        for probe in probes:
            statuses = f" statuses={sorted(probe.expect.statuses)}" if probe.expect.statuses else ""
            print(f"kind={probe.kind} {probe.detail}\nexpect={probe.expect}{statuses}\n{probe.data!r}")


async def _main(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    print(f"fuzz seed={seed} (rerun with --seed {seed})", flush=True)
    reports: list[Report] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.frames:
            reports.append(
                await run_in_process(
                    args.frames, seed, Path(tmp) / "inproc", batch=args.batch, progress=print, ocpp_version=args.ocpp
                )
            )
            print(reports[-1].summary(), flush=True)
        if args.websocket_frames:
            reports.append(
                await run_over_websocket(
                    args.websocket_frames, seed, Path(tmp) / "wire", progress=print, ocpp_version=args.ocpp
                )
            )
            print(reports[-1].summary(), flush=True)
    bad = [r for r in reports if not r.ok or r.memory_growth() > MEMORY_SLACK]
    for report in bad:
        if report.ok:
            print(f"{report.name}: memory grew {report.memory_growth() / 2**20:.1f} MiB after warm-up")
    print("fuzz: " + ("FAILED" if bad else "clean"))
    return 1 if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=1_000_000, help="in-process frames (0: skip)")
    parser.add_argument("--websocket-frames", type=int, default=20_000, help="frames over the websocket (0: skip)")
    parser.add_argument("--seed", type=int, default=None, help="random when not given; printed either way")
    parser.add_argument("--batch", type=int, default=2_000, help="frames per state-checked batch")
    parser.add_argument("--show", type=int, default=None, metavar="I", help="print in-process frame I and exit")
    # None (not "2.0.1") by default: the 2.0.1 station is built exactly as before the option existed.
    parser.add_argument("--ocpp", choices=["2.0.1", "1.6"], default=None, help="OCPP version (default 2.0.1)")
    args = parser.parse_args()
    if args.show is not None:
        if args.seed is None:
            parser.error("--show needs --seed")
        _show(args.seed, args.show, args.batch, args.ocpp)
        return
    sys.exit(asyncio.run(_main(args)))


if __name__ == "__main__":
    main()

"""`make bench`: the figures quoted in issue notes. Prints tables; asserts nothing.

- round_trips.py: start-up time, GetVariables round trips (dev CSMS, bare CSMS, websocket echo), idle RSS
- replay.py: 10,000 queued TransactionEvents delivered after the station reconnects, and peak RSS
- fsm_rate.py: events/s of the pure EVSE state machine
- meter_rate.py: Modbus meter polls/s at 9600 and 115200 baud next to the serial line-rate limit
- tls.py: security profiles 0, 2 and 3: connect + upgrade, start -> BootNotification, idle RSS
- firmware.py: firmware download throughput and RSS (two image sizes), signature check of a 50 MB image
- smart_charging.py: GetCompositeSchedule with 30 stacked profiles on 2 EVSEs (pure and on the wire), and
  SetChargingProfile -> new pilot offer
- external_limits.py: Modbus write (EMS) and grid input -> the registry of external limits, -> NotifyChargingLimit
- ev_needs.py: ISO 15118 CHARGING_NEEDS -> NotifyEVChargingNeeds, TxProfile -> CURRENT_LIMIT at the module
- plug_and_charge.py: CONTRACT from the emulated SECC (virtual CAN) -> AUTHORIZATION back, dev CSMS on loopback

It ends with the figures that have a target (issue 8, section 4), each next to its target.
evse/ and drivers/ are byte-compiled first, as on an installed station: without .pyc files (e.g. under
PYTHONDONTWRITEBYTECODE=1 with an editable install) every start would compile the sources again.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ev_needs import ev_needs_latencies, print_ev_needs
from external_limits import TOGGLES as EXT_TOGGLES
from external_limits import WRITES as EXT_WRITES
from external_limits import ExternalLimitResult, external_limit_latencies
from firmware import SIGNED_MB, DownloadResult, SignatureResult, downloads, signature_checks
from fsm_rate import FsmResult, fsm_rate
from harness import percentile
from meter_rate import SECONDS as METER_SECONDS
from meter_rate import MeterRateResult, meter_rates
from plug_and_charge import SESSIONS as PNC_SESSIONS
from plug_and_charge import PlugAndChargeResult, contract_to_authorization
from replay import BARE_RUNS, EARLY, EVENTS, ReplayResult, replay_bare_csms16, replays
from round_trips import CALLS, STARTS, echo_round_trip, raw_round_trips, round_trips, round_trips16, startup
from smart_charging import PROFILES, SmartChargingResult, smart_charging
from tls import HANDSHAKES as TLS_HANDSHAKES
from tls import STARTS as TLS_STARTS
from tls import TlsResult, tls_profiles


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[bool] = ()) -> None:
    """Columns as wide as their widest cell; numbers (right[i] True) right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    aligned = list(right) + [False] * (len(headers) - len(right))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(cells, widths, aligned, strict=True)
        ).rstrip()

    print("  " + line(headers))
    for row in rows:
        print("  " + line(row))


def mib(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB"


def ms(samples: list[float], p: float) -> str:
    return f"{percentile(samples, p) * 1000:.2f} ms"


def print_round_trips(
    start: tuple[float, float],
    trips: dict[int, list[float]],
    raw: dict[int, list[float]],
    raw_errors: int,
    echo: list[float],
    rss_kb: int,
) -> None:
    print(f"\nStart-up, round trips ({CALLS} calls each), memory")
    rows = [
        [f"process start -> BootNotification at CSMS (median of {STARTS})", f"{start[0] * 1000:.0f} ms", "", ""],
        ["  CPU time the daemon used until then (median)", f"{start[1] * 1000:.0f} ms", "", ""],
    ]
    for size, samples in trips.items():
        rows.append([f"GetVariables {size:>2} item(s), dev CSMS", ms(samples, 0.5), ms(samples, 0.99), ""])
    for size, samples in raw.items():
        note = f"{raw_errors} answers not CALLRESULT" if raw_errors else ""
        rows.append([f"GetVariables {size:>2} item(s), bare websocket CSMS", ms(samples, 0.5), ms(samples, 0.99), note])
    rows.append(["bare websocket echo", ms(echo, 0.5), ms(echo, 0.99), ""])
    rows.append(["daemon RSS idle after boot", mib(rss_kb), "", ""])
    table(["figure", "p50 / value", "p99", ""], rows, right=[False, True, True])


def print_replay16(r: ReplayResult) -> None:
    print(f"\nReplay after reconnect under OCPP 1.6J: the same {EVENTS} queued events, said in 1.6 at send time")
    rows = [
        [r.csms, str(r.delivered), f"{r.seconds:.2f} s", f"{r.per_second:.0f}/s", mib(r.peak_rss_kb),
         "in order" if r.seq_in_order else "; ".join(r.notes)],
    ]  # fmt: skip
    table(
        ["CSMS", "messages", "boot -> StopTransaction", "rate", "peak RSS", ""], rows, right=[False, True, True, True]
    )


def print_round_trips16(trips: dict[str, list[float]], rss_kb: int, boot_s: float) -> None:
    print(f"\nOCPP 1.6J ({CALLS} calls each)")
    rows = [[f"GetConfiguration {name}, 1.6 dev CSMS", ms(s, 0.5), ms(s, 0.99)] for name, s in trips.items()]
    rows.append(["process start -> BootNotification at the 1.6 CSMS (one start)", f"{boot_s * 1000:.0f} ms", ""])
    rows.append(["1.6 daemon RSS idle after boot", mib(rss_kb), ""])
    table(["figure", "p50 / value", "p99"], rows, right=[False, True, True])


def print_replays(results: list[ReplayResult]) -> None:
    print(f"\nReplay after reconnect: {EVENTS} queued TransactionEvents, BootNotification -> last one at the CSMS")
    rows = []
    for r in results:
        order = "0.." + str(r.delivered - 1) + " in order" if r.seq_in_order else "OUT OF ORDER"
        notes = [order]
        if r.failures:
            notes.append(f"{r.failures} CSMS failures")
        notes += r.notes
        rows.append(
            [
                r.csms,
                str(r.delivered),
                f"{r.seconds:.2f} s",
                f"{r.per_second:.0f}",
                f"{r.seconds / r.delivered * 1000:.2f} ms" if r.delivered else "-",
                f"{r.cpu_s:.2f} s" if r.cpu_s else "-",
                mib(r.peak_rss_kb),
                mib(r.early_rss_kb),
                mib(r.rss_kb),
                ", ".join(notes),
            ]
        )
    headers = [
        "CSMS",
        "delivered",
        "time",
        "events/s",
        "per event",
        "daemon CPU",
        "peak RSS (VmHWM)",
        f"RSS at {EARLY}th",
    ]
    table([*headers, "at end", "seqNo"], rows, right=[False, *[True] * 8])


@dataclass(frozen=True)
class Target:
    """A figure with a target: met when the measured value is at most the target."""

    figure: str
    value: float
    target: float
    unit: str

    @property
    def met(self) -> bool:
        return 0 < self.value <= self.target


def targets(start: tuple[float, float], idle_kb: int, bare: list[ReplayResult], dev: ReplayResult) -> list[Target]:
    complete = [r for r in bare if r.delivered == EVENTS]
    replay_s = statistics.median(r.seconds for r in complete) if len(complete) == len(bare) else 0.0
    peak_kb = max(r.peak_rss_kb for r in [dev, *bare])
    return [
        Target(f"process start -> BootNotification at CSMS (median of {STARTS})", start[0] * 1000, 350, "ms"),
        Target("daemon RSS idle after boot", idle_kb / 1024, 40, "MiB"),
        Target(f"replay of {EVENTS} TransactionEvents, bare CSMS (median of {BARE_RUNS})", replay_s, 4.0, "s"),
        Target(f"peak RSS during the replays (highest of {BARE_RUNS + 1})", peak_kb / 1024, 45, "MiB"),
    ]


DIGITS = {"ms": 0, "s": 2, "MiB": 1}


def print_targets(rows: list[Target]) -> None:
    print("\nTargets (issue 8, section 4)")
    table(
        ["figure", "measured", "target", ""],
        [
            [
                t.figure,
                f"{t.value:.{DIGITS[t.unit]}f} {t.unit}" if t.value else "-",
                f"{t.target:g} {t.unit}",
                "met" if t.met else "not met",
            ]
            for t in rows
        ],
        right=[False, True, True],
    )


def byte_compile() -> None:
    root = Path(__file__).resolve().parent.parent
    for package in ("evse", "drivers"):
        compileall.compile_dir(root / package, quiet=1)


def print_fsm(r: FsmResult) -> None:
    print("\nEVSE state machine: evse_fsm.transition, pure core, one thread")
    table(
        ["random events", "best of 3", "events/s", "per event", "actions", "transactions"],
        [
            [
                f"{r.events}",
                f"{r.best_s:.2f} s",
                f"{r.per_second:,.0f}",
                f"{r.best_s / r.events * 1e6:.1f} us",
                str(r.actions),
                str(r.transactions),
            ]
        ],
        right=[True] * 6,
    )


def print_meters(results: list[MeterRateResult]) -> None:
    print(f"\nModbus meter polls, back to back (poll_interval_s=0), {METER_SECONDS:.0f} s each, emulator on a pty")
    print("  paced at the line rate of the baud rate ('none': answers at once, the driver's software ceiling)")
    rows = []
    for r in results:
        limit = f"{r.line_limit:.1f}" if r.line_limit else "-"
        share = f"{r.measured / r.line_limit:.0%}" if r.line_limit else "-"
        rows.append(
            [
                r.model,
                str(r.baudrate) if r.baudrate else "none",
                str(r.requests),
                str(r.wire_bytes),
                limit,
                f"{r.measured:.1f}",
                share,
                f"{1000 / r.measured:.2f} ms" if r.measured else "-",
                f"{r.faults} fault events" if r.faults else "",
            ]
        )
    headers = ["map", "baud", "requests/poll", "bytes/poll", "line limit polls/s", "measured polls/s", "of limit"]
    table([*headers, "per poll", ""], rows, right=[False, True, True, True, True, True, True, True])


def print_tls(results: list[TlsResult]) -> None:
    print(f"\nSecurity profiles: handshake (median of {TLS_HANDSHAKES}), start -> BootNotification and idle RSS")
    print(f"  (median of {TLS_STARTS} daemon starts each; TLS with an ECDSA P-256 dev CA, TLS 1.3 as negotiated)")
    rows = [
        [
            f"profile {r.profile}" + {0: " (ws://)", 2: " (TLS + Basic auth)", 3: " (mutual TLS)"}[r.profile],
            f"{r.handshake_s * 1000:.2f} ms",
            f"{r.boot_s * 1000:.0f} ms",
            mib(r.idle_rss_kb),
        ]
        for r in results
    ]
    table(["profile", "connect + upgrade", "start -> Boot", "RSS idle"], rows, right=[False, True, True, True])


def print_smart_charging(r: SmartChargingResult) -> None:
    print(f"\nSmart charging: {PROFILES} stacked profiles on 2 EVSEs, composite of one day (86,400 s)")
    rows = []
    for evse_id, samples in r.pure_s.items():
        label = f"composite_schedule() EVSE {evse_id} ({r.periods[evse_id]} periods), pure"
        rows.append([label, ms(samples, 0.5), ms(samples, 0.99)])
    rows.append(["GetCompositeSchedule round trip (EVSE 1, 2, 0), dev CSMS", ms(r.wire_s, 0.5), ms(r.wire_s, 0.99)])
    rows.append(["SetChargingProfile sent -> new offer on the sim pilot", ms(r.offer_s, 0.5), ms(r.offer_s, 0.99)])
    table(["", "p50", "p99"], rows, right=[False, True, True])


def print_firmware(loads: list[DownloadResult], checks: list[SignatureResult]) -> None:
    print("\nFirmware update (issue 10): download to state_dir from the loopback HTTP server, signature check")
    rows = [
        [
            f"download {r.size_mb} MiB",
            f"{r.size_mb / r.seconds:.0f} MiB/s",
            mib(r.rss_before_kb),
            mib(r.rss_peak_kb),
            mib(r.hwm_kb),
        ]
        for r in loads
    ]
    table(
        ["transfer", "throughput", "RSS before", "RSS peak", "VmHWM"],
        rows,
        right=[False, True, True, True, True],
    )
    growth = loads[-1].rss_peak_kb - loads[0].rss_peak_kb
    print(f"  RSS peak grows by {growth / 1024:.1f} MiB from {loads[0].size_mb} to {loads[-1].size_mb} MiB images")
    table(
        ["signature check", f"{SIGNED_MB} MB image (median)"],
        [[c.key, f"{c.seconds * 1000:.0f} ms"] for c in checks],
        right=[False, True],
    )


def print_external_limits(r: ExternalLimitResult) -> None:
    print("\nExternal limits (issue 11): cause -> registry, CSMS and pilot offer (daemon in-process, same loop)")
    rows = [
        [f"Modbus write EVSE current -> registry ({EXT_WRITES} writes)", r.modbus_to_registry],
        ["  Modbus write round trip (answer at the EMS)", r.modbus_round_trip],
        ["  Modbus write -> NotifyChargingLimit at the CSMS", r.modbus_to_csms],
        [f"grid input via control socket -> registry ({EXT_TOGGLES} toggles)", r.grid_to_registry],
        ["Modbus write EVSE current -> new offer on the sim pilot (charging)", r.modbus_to_offer],
        ["grid input via control socket -> new offer on the sim pilot (charging)", r.grid_to_offer],
    ]
    table(["figure", "p50", "p99"], [[name, ms(s, 0.5), ms(s, 0.99)] for name, s in rows], right=[False, True, True])


def print_plug_and_charge(r: PlugAndChargeResult) -> None:
    print("\nPlug & Charge (issue 12): CONTRACT on the bridge -> AUTHORIZATION at the module (virtual CAN, dev CSMS)")
    rows = [
        [f"new chain: 2 x GetCertificateStatus + Authorize ({PNC_SESSIONS} sessions)", r.new_chain],
        [f"same chain, OCSP cached: Authorize only ({PNC_SESSIONS} sessions)", r.cached_chain],
    ]
    table(["figure", "p50", "p99"], [[name, ms(s, 0.5), ms(s, 0.99)] for name, s in rows], right=[False, True, True])


async def main() -> None:
    began = time.monotonic()
    # Other work on the machine (a soak, a test run) slows the fsync-bound replay most: say how busy it was.
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average at start {load}")
    byte_compile()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        start = await startup(tmp)
        trips, rss_kb = await round_trips(tmp)
        raw, raw_errors = await raw_round_trips(tmp)
        echo = await echo_round_trip()
        print_round_trips(start, trips, raw, raw_errors, echo, rss_kb)
        print_round_trips16(*await round_trips16(tmp))
        dev, bare = await replays(tmp)
        print_replays([dev, *bare])
        print_replay16(await replay_bare_csms16(tmp))
        print_tls(await tls_profiles(tmp))
        print_firmware(await downloads(tmp), signature_checks(tmp))
        print_smart_charging(await smart_charging(tmp))
        print_external_limits(await external_limit_latencies(tmp))
        print_ev_needs(await ev_needs_latencies(tmp))
        print_plug_and_charge(await contract_to_authorization(tmp))
    print_fsm(fsm_rate())
    print_meters(await meter_rates())
    print_targets(targets(start, rss_kb, bare, dev))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end {load}")
    print(f"\n(bench took {time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    asyncio.run(main())

"""ISO 15118 charging needs and schedules (issue 12, K15-K17) end to end, over the real serial bridge.

The emulated SECC module sits on a pty behind the station's serial bridge (115200 baud), the rest of the board
is simulated, the dev CSMS is on loopback; the daemon runs in-process (as in tests/integration), sharing its
event loop with the module and the CSMS, so each figure includes their share of one loop on the same core.

- CHARGING_NEEDS sent by the module -> NotifyEVChargingNeeds answered at the CSMS (new needs each time:
  the requested energy alternates, so every one is a K17 renegotiation).
- SetChargingProfile (a TxProfile, 10 A and 16 A alternating) sent by the CSMS -> CURRENT_LIMIT at the module,
  and -> NotifyEVChargingSchedule received by the CSMS.

`python bench/ev_needs.py` runs it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocpp.v201 import call

from drivers.iso15118.messages import CurrentLimit
from evse.config import parse_settings
from evse.daemon import build
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc

ROUNDS = 100
STATION = "BENCHHLC"


@dataclass(frozen=True)
class EvNeedsResult:
    needs_to_csms: list[float]
    profile_to_module: list[float]
    profile_to_schedule: list[float]


def _settings(tmp: Path, csms_port: int, port: str) -> Any:
    board: dict[str, Any] = {kind: {"driver": "sim"} for kind in ("meter", "contactor", "pilot", "lock", "rfid")}
    board["iso15118"] = {"driver": "serial_bridge", "port": port}
    return parse_settings(
        {
            "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
            "csms": {"url": f"ws://127.0.0.1:{csms_port}/ocpp", "security_profile": 0},
            "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
            "board": board,
            "state_dir": str(tmp / "hlc-state"),
            "log_level": "WARNING",
        },
        "bench.yaml",
    )


def _tx_profile(tx_id: str, amps: float) -> dict[str, Any]:
    return {
        "id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "transaction_id": tx_id,
        "charging_schedule": [
            {
                "id": 1,
                "start_schedule": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": amps}],
            }
        ],
    }


async def ev_needs_latencies(tmp: Path) -> EvNeedsResult:
    csms = DevCsms(boot_interval=300)
    await csms.start()
    async with EmulatedSecc.on_pty() as module:
        assert module.port is not None
        daemon = build(_settings(tmp, csms.port, module.port))
        task = asyncio.create_task(daemon.run())
        try:
            await csms.wait_for("StatusNotification", timeout=20)
            await module.wait_until(lambda: bool(module.limits), timeout=10)
            board = daemon.board
            board.plug(1)
            board.swipe(1, "AABBCCDD")
            board.set_ev_state(1, "C")
            started = await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started")
            tx_id = started["transactionInfo"]["transactionId"]
            await module.start_session("0A1B2C3D4E5F")
            to_csms = []
            for i in range(ROUNDS):
                began = time.perf_counter()
                await module.send_charging_needs(
                    max_current_a=32, max_voltage_v=400, requested_energy_wh=20_000 + i % 2, departure_s=3600
                )
                await csms.wait_for("NotifyEVChargingNeeds", timeout=10)
                to_csms.append(time.perf_counter() - began)
            to_module, to_schedule = [], []
            for i in range(ROUNDS):
                amps = 16.0 if i % 2 else 10.0
                want = CurrentLimit(round(amps * 10), None)
                request = call.SetChargingProfile(evse_id=1, charging_profile=_tx_profile(tx_id, amps))
                began = time.perf_counter()
                sent = asyncio.create_task(csms.call(STATION, request))
                await module.wait_until(lambda want=want: module.last_limit == want, timeout=10)
                to_module.append(time.perf_counter() - began)
                await csms.wait_for("NotifyEVChargingSchedule", timeout=10)
                to_schedule.append(time.perf_counter() - began)
                await sent
            return EvNeedsResult(to_csms, to_module, to_schedule)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await csms.stop()


def print_ev_needs(r: EvNeedsResult) -> None:
    def ms(samples: list[float], p: float) -> str:
        ordered = sorted(samples)
        return f"{ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000:.1f} ms"

    print("\nISO 15118 needs and schedules (issue 12): emulated module on a pty, serial bridge, daemon in-process")
    rows = [
        [f"CHARGING_NEEDS at the module -> NotifyEVChargingNeeds answered ({ROUNDS})", r.needs_to_csms],
        [f"SetChargingProfile TxProfile -> CURRENT_LIMIT at the module ({ROUNDS})", r.profile_to_module],
        ["  SetChargingProfile TxProfile -> NotifyEVChargingSchedule at the CSMS", r.profile_to_schedule],
    ]
    width = max(len(name) for name, _ in rows)
    print(f"  {'figure'.ljust(width)}  {'p50':>8}  {'p99':>8}")
    for name, samples in rows:
        print(f"  {name.ljust(width)}  {ms(samples, 0.5):>8}  {ms(samples, 0.99):>8}")


async def _main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        print_ev_needs(await ev_needs_latencies(Path(tmpdir)))


if __name__ == "__main__":
    asyncio.run(_main())

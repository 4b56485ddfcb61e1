"""Modbus meter polls per second against the emulator on a pty, next to the serial line-rate limit.

ModbusMeter polls back to back (poll_interval_s=0) through pyserial and pymodbus; the emulator runs
in its own thread (EmulatorThread) and holds back each answer for the time request and answer would
occupy a real RS-485 line at the baud rate (MeterEmulator line_baudrate). So the measured rate can only
approach 1 / poll_line_time_s(plan, baud). The gap is what the driver, pymodbus and the pty cost, plus
the emulator's own lateness: its answers wait on asyncio's call_later, which rounds up to whole
milliseconds (0.2-2 ms late per answer here), so at 115200 baud most of the gap is the emulator's.
The same run without line pacing (the emulator answers at once) gives the software ceiling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from drivers.interfaces import DriverEvent
from drivers.meter.modbus import ModbusMeter
from drivers.meter.plan import poll_line_time_s, request_bytes_on_wire
from drivers.meter.register_map import load_register_map, map_path
from hil.emulators.meter import MeterEmulator
from hil.emulators.pty_link import EmulatorThread, PtyLink

MAPS = ("eastron_sdm630", "abb_b23")
BAUDS = (9600, 115_200)
SECONDS = 5.0
UNPACED_SECONDS = 2.0


@dataclass(frozen=True)
class MeterRateResult:
    model: str
    baudrate: int | None  # None: no line pacing, the software ceiling
    requests: int  # read requests per poll
    wire_bytes: int  # request + response bytes per poll
    line_limit: float | None  # polls/s the line allows: 1 / poll_line_time_s
    measured: float  # polls/s
    faults: int  # meter_lost raised/cleared while measuring


async def measure(model: str, baudrate: int | None, seconds: float = SECONDS) -> MeterRateResult:
    emulator = MeterEmulator(load_register_map(map_path(model)), line_baudrate=baudrate, grow_energy=True)
    events: list[DriverEvent] = []
    with PtyLink.open() as link, EmulatorThread(emulator, link.master_fd):
        meter = ModbusMeter(
            evse_id=1, model=model, port=link.slave_path, baudrate=baudrate or 115_200, poll_interval_s=0
        )
        task = asyncio.create_task(meter.run(events.append))
        try:
            # The first poll opens the port: start the clock after it.
            async with asyncio.timeout(5):
                while meter.poll_count == 0:  # noqa: ASYNC110 - the driver has no event to wait on
                    await asyncio.sleep(0.005)
            polls, started = meter.poll_count, time.perf_counter()
            await asyncio.sleep(seconds)
            polls, elapsed = meter.poll_count - polls, time.perf_counter() - started
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return MeterRateResult(
        model,
        baudrate,
        len(meter.plan),
        request_bytes_on_wire(meter.plan),
        1 / poll_line_time_s(meter.plan, baudrate) if baudrate else None,
        polls / elapsed,
        len(events),
    )


async def meter_rates() -> list[MeterRateResult]:
    results = []
    for model in MAPS:
        results += [await measure(model, baud) for baud in BAUDS]
        results.append(await measure(model, None, UNPACED_SECONDS))
    return results

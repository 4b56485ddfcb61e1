"""Time from an external limit's cause to the station's registry of external limits (issue 11, section 4).

- Modbus write: an EMS (pymodbus' TCP client on loopback) writes EVSE 1's current limit, alternating two
  values so every write is a change; measured from the client's call to the registry's listener, and the
  client's write round trip (the answer back) beside it.
- Modbus write -> NotifyChargingLimit received by the dev CSMS (LimitChangeSignificance 0, so each is reported).
- grid input: `evse sim input grid_limit on|off` as the control socket carries it (JSON over the unix socket,
  as the CLI sends it, without the CLI's interpreter start), to the registry's listener.

The same causes are also measured to the offer the simulated pilot generates during a charging session
(the composite schedule takes the external limit, issue 11 section 2): a Modbus write of EVSE 1's current and
the grid contact (4200 W on 3 phases: 6.0 A) each until the pilot offers the new current.

The daemon runs in-process (as in tests/integration) so the listener can timestamp the registry change; the
client shares its event loop, so each figure includes the other side's share of one loop on the same core.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymodbus.client import AsyncModbusTcpClient

from evse import control
from evse.config import parse_settings
from evse.daemon import build
from evse.devcsms.server import DevCsms
from evse.smartcharging import ems_registers as regs
from evse.smartcharging.external_limits import ExternalLimit

WRITES = 300
TOGGLES = 200
STATION = "BENCHEXT"


@dataclass(frozen=True)
class ExternalLimitResult:
    modbus_to_registry: list[float]
    modbus_round_trip: list[float]
    modbus_to_csms: list[float]
    grid_to_registry: list[float]
    modbus_to_offer: list[float]
    grid_to_offer: list[float]


def _settings(tmp: Path, csms_port: int, ems_port: int) -> Any:
    return parse_settings(
        {
            "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
            "csms": {"url": f"ws://127.0.0.1:{csms_port}/ocpp", "security_profile": 0},
            "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
            "state_dir": str(tmp / "ext-state"),
            "log_level": "WARNING",
            "ems": {"modbus": {"host": "127.0.0.1", "port": ems_port, "unit_id": 1}, "timeout_s": 0},
            "device_model": {"SmartChargingCtrlr.LimitChangeSignificance": 0},
        },
        "bench.yaml",
    )


async def _offered(daemon: Any, amps: float) -> float:
    """The moment the simulated pilot of EVSE 1 offers `amps`."""
    board = daemon.board
    async with asyncio.timeout(5):
        while board.snapshot(1)["offered_current_a"] != amps:  # noqa: ASYNC110 - the pilot is state
            await asyncio.sleep(0)
    return time.perf_counter()


async def _to_the_offer(daemon: Any, client: AsyncModbusTcpClient) -> tuple[list[float], list[float]]:
    """A charging session on EVSE 1, then each cause until the pilot offers its limit."""
    board = daemon.board
    board.plug(1)
    board.swipe(1, "AABBCCDD")
    board.set_ev_state(1, "C")
    to_offer = []
    for i in range(WRITES // 3):
        value = 160 if i % 2 else 100
        started = time.perf_counter()
        await client.write_register(100 + regs.Evse.CURRENT_LIMIT, value, device_id=1)
        to_offer.append(await _offered(daemon, value / 10) - started)
    grid = []
    for i in range(TOGGLES // 2):
        on = i % 2 == 0
        request = {"cmd": "sim.input", "evse": 1, "name": "grid_limit", "active": on}
        started = time.perf_counter()
        await asyncio.to_thread(control.request, daemon.settings.socket_path, request)
        grid.append(await _offered(daemon, 6.0 if on else 16.0) - started)
    return to_offer, grid


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def external_limit_latencies(tmp: Path) -> ExternalLimitResult:
    csms = DevCsms(boot_interval=300)
    await csms.start()
    ems_port = _free_port()
    daemon = build(_settings(tmp, csms.port, ems_port))
    task = asyncio.create_task(daemon.run())
    changed: asyncio.Queue[float] = asyncio.Queue()

    def listener(_old: ExternalLimit | None, _new: ExternalLimit | None) -> None:
        changed.put_nowait(time.perf_counter())

    daemon.station.external_limits.subscribe(listener)
    client = AsyncModbusTcpClient("127.0.0.1", port=ems_port, timeout=5, retries=0)
    try:
        await csms.wait_for("StatusNotification", timeout=20)
        # The server listens from the daemon's first loop turn, long before the boot is answered.
        assert await client.connect(), "EMS server not listening"
        to_registry, round_trip, to_csms = [], [], []
        for i in range(WRITES):
            value = 160 if i % 2 else 100
            started = time.perf_counter()
            answer = await client.write_register(100 + regs.Evse.CURRENT_LIMIT, value, device_id=1)
            answered = time.perf_counter()
            assert not answer.isError(), answer
            to_registry.append(await asyncio.wait_for(changed.get(), 5) - started)
            round_trip.append(answered - started)
            await csms.wait_for("NotifyChargingLimit", timeout=10)
            to_csms.append(time.perf_counter() - started)
        grid = []
        for i in range(TOGGLES):
            request = {"cmd": "sim.input", "evse": 1, "name": "grid_limit", "active": i % 2 == 0}
            started = time.perf_counter()
            await asyncio.to_thread(control.request, daemon.settings.socket_path, request)
            grid.append(await asyncio.wait_for(changed.get(), 5) - started)
        to_offer, grid_offer = await _to_the_offer(daemon, client)
        return ExternalLimitResult(to_registry, round_trip, to_csms, grid, to_offer, grid_offer)
    finally:
        client.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await csms.stop()

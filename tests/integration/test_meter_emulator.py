"""The meter emulator as the HIL rig uses it: a standalone process behind a symlink, or a thread."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from drivers.errors import DriverError
from drivers.meter.modbus import ModbusMeter
from drivers.meter.register_map import load_register_map, map_path
from hil.emulators.meter import FaultMode, MeterEmulator, MeterValues
from hil.emulators.pty_link import EmulatorThread, PtyLink

REPO = Path(__file__).resolve().parents[2]


async def test_standalone_emulator_behind_a_symlink_serves_a_daemon_style_port(tmp_path: Path) -> None:
    link = tmp_path / "meter0"
    args = ["--map", "abb_b23", "--link", str(link), "--address", "5", "--energy-wh", "5000000", "--no-grow"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil.emulators.meter", *args, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        banner = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        assert f"(link {link})" in banner
        assert link.is_symlink() and os.readlink(link).startswith("/dev/pts/")
        meter = ModbusMeter(evse_id=1, model="abb_b23", port=str(link), address=5, timeout_s=0.2)
        reading = await meter.read()
        assert reading.energy_import_wh == 5_000_000.0
        assert reading.voltage_v == (230.0, 230.0, 230.0)
        process.send_signal(signal.SIGUSR1)  # go silent
        with pytest.raises(DriverError, match="no answer"):
            async with asyncio.timeout(5):
                while True:
                    await meter.read()
                    await asyncio.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
        assert not link.exists() and not link.is_symlink()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_emulator_thread_serves_while_the_driver_runs_on_its_own_loop() -> None:
    emu = MeterEmulator(load_register_map(map_path("carlo_gavazzi_em340")), values=MeterValues(power_w=3_680.0))
    with PtyLink.open() as link, EmulatorThread(emu, link.master_fd):
        meter = ModbusMeter(evse_id=1, model="carlo_gavazzi_em340", port=link.slave_path, timeout_s=0.2)
        assert (await meter.read()).power_w == 3_680.0
        emu.set_fault(FaultMode.EXCEPTION, exception_code=2, count=1)
        with pytest.raises(DriverError, match=r"exception 2 \(illegal data address\)"):
            await meter.read()
        assert (await meter.read()).power_w == 3_680.0
        assert len(emu.requests) == 3 * 1 + 1 + 3  # 3 blocks, 1 refused at the first block, 3 blocks

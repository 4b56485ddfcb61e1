"""``python -m hil.emulators.safety_mcu`` as a HIL rig runs it: a process, a linked pty, stdin and a FIFO."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from drivers.interfaces import CableCapacityChanged, DriverEvent, PilotState, PilotStateChanged
from drivers.pilot.safety_mcu import SafetyMcuPilot

REPO = Path(__file__).resolve().parents[2]
FAST = {"heartbeat_ms": 40, "response_timeout_ms": 80, "retries": 2, "reconnect_ms": 100}


async def read_until(stream: asyncio.StreamReader, predicate: Callable[[str], bool], timeout: float = 5.0) -> str:
    async with asyncio.timeout(timeout):
        while True:
            line = (await stream.readline()).decode()
            if not line:
                raise AssertionError("emulator closed its stdout")
            if predicate(line.strip()):
                return line.strip()


async def eventually(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_hil_entry_point_drives_a_real_driver(tmp_path: Path) -> None:
    link, control = tmp_path / "mcu0", tmp_path / "mcu0.ctl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil.emulators.safety_mcu",
        "--link",
        str(link),
        "--control",
        str(control),
        "--heartbeat-timeout-ms",
        "400",
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    events: list[DriverEvent] = []
    driver = SafetyMcuPilot(evse_id=1, port=str(link), **FAST)
    task: asyncio.Task[None] | None = None
    try:
        ready = await read_until(proc.stdout, lambda line: line.startswith("ready"), timeout=20)
        assert f"link={link}" in ready and link.is_symlink()
        task = asyncio.create_task(driver.run(events.append))
        await eventually(lambda: driver.connected)

        proc.stdin.write(b"cp B\n")
        assert await read_until(proc.stdout, lambda line: line.startswith("ok")) == "ok cp B"
        await eventually(lambda: PilotStateChanged(1, PilotState.B) in events)

        fd = os.open(control, os.O_WRONLY | os.O_NONBLOCK)  # what `echo "pp 20" > mcu0.ctl` does
        os.write(fd, b"pp 20\n")
        os.close(fd)
        await eventually(lambda: CableCapacityChanged(1, 20.0) in events)

        await driver.set_current_limit(32)
        state = await read_until(proc.stdout, lambda line: line.startswith("state") and "duty=533" in line)
        assert "relay=open" in state  # state B: the MCU does not enable the relay

        proc.stdin.write(b"status\n")
        status = await read_until(proc.stdout, lambda line: line.startswith("status"))
        assert "cp=B" in status and "pp=20" in status and "safe=no" in status

        proc.stdin.write(b"quit\n")
        async with asyncio.timeout(5):
            assert await proc.wait() == 0
        assert not link.exists()
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

"""Charging profiles survive a SIGKILL: `evse run` as a real process, profiles set over the wire, the process
killed, started again on the same state_dir (as systemd would). The profiles are still installed and
applied: `evse status --json` and the simulated pilot show the offer they allow."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from evse.devcsms.server import DevCsms
from tests.charging_profiles import wire_profile
from tests.conformance.smart_charging import reported_ids, set_profile
from tests.integration.conftest import PASSWORD, STATION_ID

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, port: int) -> Path:
    config = tmp_path / "station.yaml"
    data = {
        "station": {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel"},
        "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
        "board": "sim",
        "evses": [{"id": 1, "connectors": [{"id": 1}]}],
        "state_dir": str(tmp_path / "state"),
        "device_model": {
            "OCPPCommCtrlr.RetryBackOffWaitMinimum": 1,
            "OCPPCommCtrlr.RetryBackOffRandomRange": 0,
            "TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"],
            "TxCtrlr.TxStopPoint": ["EVConnected", "Authorized"],
        },
    }
    config.write_text(yaml.safe_dump(data))
    return config


async def cli(config: Path, *args: str) -> Any:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evse", *args, "--config", str(config),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def status(config: Path) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(await cli(config, "status", "--json"))
    return next(e for e in answer["evses"] if e["id"] == 1)


async def until_status(config: Path, check: Any, what: str, timeout: float = 15) -> dict[str, Any]:
    try:
        async with asyncio.timeout(timeout):
            while True:
                evse = await status(config)
                if check(evse):
                    return evse
                await asyncio.sleep(0.2)
    except TimeoutError:
        raise AssertionError(f"`evse status` never showed {what}") from None


async def test_profiles_survive_a_sigkill_and_apply_after_it(tmp_path: Path, csms: DevCsms) -> None:
    config = write_config(tmp_path, csms.port)
    log = (tmp_path / "daemon.log").open("ab")

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "evse", "run", "--config", str(config), cwd=ROOT, stdout=log, stderr=log
        )

    process = await start()
    try:
        await csms.wait_for("BootNotification", timeout=20)
        start_at = datetime.now(UTC) - timedelta(minutes=1)
        station_max = wire_profile(1, "ChargingStationMaxProfile", [(0, 20.0)], start=start_at)
        default = wire_profile(2, "TxDefaultProfile", [(0, 11.0)], start=start_at, stack_level=1)
        assert (await set_profile(csms, 0, station_max))[0] == "Accepted"
        assert (await set_profile(csms, 1, default))[0] == "Accepted"
        process.send_signal(signal.SIGKILL)
        await process.wait()
        csms.skip()
        process = await start()
        await csms.wait_for("BootNotification", timeout=20)
        assert await reported_ids(csms, 1, {}) == {0: [1], 1: [2]}
        await cli(config, "sim", "plug", "1")
        await cli(config, "sim", "swipe", "1", "AABBCCDD")
        await cli(config, "sim", "ev-state", "1", "C")
        evse = await until_status(config, lambda e: e["offered_current_a"] == 11.0, "an 11 A offer")
        assert evse["limited_by"] == "TxDefaultProfile"
        sim = json.loads(await cli(config, "sim", "status", "1"))  # what the simulated pilot generates
        assert sim["offered_current_a"] == 11.0
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(10):
                await process.wait()
        log.close()

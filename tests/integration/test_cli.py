"""The `evse` command as a technician uses it: real processes, control socket, sd_notify, reset re-exec."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evse.devcsms.server import DevCsms
from tests.integration.conftest import PASSWORD, STATION_ID

ROOT = Path(__file__).resolve().parents[2]


def evse(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evse", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def write_config(tmp_path: Path, port: int, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "station": {"id": STATION_ID, "vendor": "V", "model": "M"},
        "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
        "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
        "state_dir": str(tmp_path / "state"),
        "device_model": {"OCPPCommCtrlr.RetryBackOffWaitMinimum": 1, "OCPPCommCtrlr.RetryBackOffRandomRange": 0},
    }
    data.update(extra)
    path = tmp_path / "evse.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
async def csms() -> AsyncIterator[DevCsms]:
    server = DevCsms(basic_auth={STATION_ID: PASSWORD})
    await server.start()
    yield server
    await server.stop()


async def start_daemon(config: Path, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evse", "run", "--config", str(config),
        cwd=ROOT, env={**os.environ, **(env or {})}, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def stop_daemon(proc: asyncio.subprocess.Process) -> int:
    if proc.returncode is None:
        proc.terminate()
    return await asyncio.wait_for(proc.wait(), 15)


def test_check_config_ok_and_one_line_errors(tmp_path: Path) -> None:
    good = write_config(tmp_path, 9000)
    result = evse("check-config", str(good))
    assert (result.returncode, result.stdout.strip()) == (0, "ok")
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("security_profile: 1", "security_profile: 7"))
    result = evse("check-config", str(bad))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "bad.yaml: csms.security_profile" in result.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("station: [unclosed\n")
    result = evse("check-config", str(broken))
    assert result.returncode == 2 and "broken.yaml:" in result.stderr and "invalid YAML" in result.stderr


def test_check_config_validates_device_model_overrides_like_set_variables(tmp_path: Path) -> None:
    path = write_config(tmp_path, 9000, device_model={"OCPPCommCtrlr.HeartbeatInterval": "often"})
    result = evse("check-config", str(path))
    assert result.returncode == 2
    assert "OCPPCommCtrlr.HeartbeatInterval" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_run_refuses_a_broken_config_and_does_not_start(tmp_path: Path) -> None:
    path = tmp_path / "evse.yaml"
    path.write_text("station: {id: CS001}\n")
    result = evse("run", "--config", str(path))
    assert result.returncode == 2
    assert not (tmp_path / "state").exists()


def test_status_without_daemon_is_one_line_exit_1(tmp_path: Path) -> None:
    path = write_config(tmp_path, 9000)
    result = evse("status", "--config", str(path))
    assert result.returncode == 1
    assert "daemon not running" in result.stderr and len(result.stderr.strip().splitlines()) == 1


async def test_status_and_sim_commands_drive_a_running_daemon(tmp_path: Path, csms: DevCsms) -> None:
    config = write_config(tmp_path, csms.port)
    proc = await start_daemon(config)
    try:
        await csms.wait_for("StatusNotification", timeout=20)
        c = str(config)
        assert (await asyncio.to_thread(evse, "sim", "plug", "1", "--config", c)).returncode == 0
        assert (await asyncio.to_thread(evse, "sim", "swipe", "1", "AABBCCDD", "--config", c)).returncode == 0
        await csms.wait_for("TransactionEvent", timeout=10)
        assert (await asyncio.to_thread(evse, "sim", "ev-state", "1", "C", "--config", c)).returncode == 0
        assert (await asyncio.to_thread(evse, "sim", "meter", "1", "--power", "7000", "--config", c)).returncode == 0
        await asyncio.sleep(2.5)
        result = await asyncio.to_thread(evse, "status", "--json", "--config", c)
        status = json.loads(result.stdout)
        assert status["connected"] is True and status["registration"] == "Accepted"
        evse1 = status["evses"][0]
        assert evse1["transaction_id"] is not None and evse1["status"] == "Occupied"
        assert 6000 < evse1["power_w"] <= 7000 and evse1["energy_wh"] > 0
        assert evse1["display"][0] == "Charging" and evse1["display"][1].endswith("kWh 0:00")  # the text on screen
        human = await asyncio.to_thread(evse, "status", "--config", c)
        assert "evse 1: Occupied" in human.stdout
        assert "screen | Charging |" in human.stdout
        unknown = await asyncio.to_thread(evse, "sim", "plug", "7", "--config", c)
        assert unknown.returncode == 1 and "unknown EVSE 7" in unknown.stderr
        bad_fault = await asyncio.to_thread(evse, "sim", "fault", "1", "gremlins", "--config", c)
        assert bad_fault.returncode == 1 and "unknown fault" in bad_fault.stderr
        assert (await asyncio.to_thread(evse, "sim", "fault", "1", "rcd_trip", "--config", c)).returncode == 0
        await csms.wait_for("StatusNotification", predicate=lambda p: p["connectorStatus"] == "Faulted", timeout=5)
    finally:
        assert await stop_daemon(proc) == 0


async def test_TC_B_20_CS_reset_reexecutes_the_process_and_boots_with_remote_reset(
    tmp_path: Path, csms: DevCsms
) -> None:
    from ocpp.v201 import call

    proc = await start_daemon(write_config(tmp_path, csms.port))
    try:
        first = await csms.wait_for("BootNotification", timeout=20)
        assert first["reason"] == "PowerUp"
        await csms.wait_for("StatusNotification", timeout=10)
        assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
        second = await csms.wait_for("BootNotification", timeout=30)
        assert second["reason"] == "RemoteReset"
        assert proc.returncode is None  # same process (re-exec), as systemd expects for Type=notify
    finally:
        await stop_daemon(proc)


async def test_systemd_notify_ready_watchdog_stopping(tmp_path: Path, csms: DevCsms) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.setblocking(False)
    proc = await start_daemon(
        write_config(tmp_path, csms.port), env={"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"}
    )
    received: list[str] = []
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(20):
            while "WATCHDOG=1" not in received:
                received.extend((await loop.sock_recv(sock, 4096)).decode().splitlines())
    finally:
        assert await stop_daemon(proc) == 0
    async with asyncio.timeout(5):
        while "STOPPING=1" not in received:
            received.extend((await loop.sock_recv(sock, 4096)).decode().splitlines())
    sock.close()
    assert received.index("READY=1") < received.index("WATCHDOG=1") < received.index("STOPPING=1")

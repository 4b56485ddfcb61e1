"""`evse sim input NAME on|off [--evse N]` as a technician types it (a real `evse` process), against the
running daemon's control socket: the grid operator's contact tried by hand on the simulated board."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from evse.devcsms.server import DevCsms
from evse.smartcharging.external_limits import GRID_OPERATOR, ExternalLimit
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest

ROOT = Path(__file__).resolve().parents[2]


def cli_config(tmp_path: Path, sut: StationUnderTest) -> Path:
    """A config file that leads the CLI to the in-process daemon's control socket."""
    data = {
        "station": {"id": STATION_ID, "vendor": "V", "model": "M"},
        "csms": {"url": "ws://127.0.0.1:1/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD},
        "evses": [{"id": 1, "connectors": [{"id": 1}]}, {"id": 2, "connectors": [{"id": 1}]}],
        "control_socket": str(sut.settings.socket_path),
    }
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


async def evse(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "evse", "sim", *args, "--config", str(config)]
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=30, cwd=ROOT)


async def test_sim_input_grid_limit_on_and_off_caps_and_frees_the_station(
    tmp_path: Path, csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station(evses=2)
    await csms.wait_for("StatusNotification", timeout=10)
    config = cli_config(tmp_path, sut)

    on = await evse(config, "input", "grid_limit", "on", "--evse", "2")
    assert on.returncode == 0, on.stderr
    notified = await csms.wait_for("NotifyChargingLimit", timeout=5)
    assert notified["chargingLimit"] == {"chargingLimitSource": "SO", "isGridCritical": True}
    # Wired to EVSE 2's board, it still limits the whole station (default 4200 W).
    assert sut.d.station.external_limits.in_force() == [
        ExternalLimit(GRID_OPERATOR, 0, watts=4200, is_grid_critical=True)
    ]
    status = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "evse", "status", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert "external limit SO station: 4200 W (grid critical)" in status.stdout.splitlines()

    off = await evse(config, "input", "grid_limit", "off")
    assert off.returncode == 0, off.stderr
    assert await csms.wait_for("ClearedChargingLimit", timeout=5) == {"chargingLimitSource": "SO"}
    assert sut.d.station.external_limits.in_force() == []


async def test_sim_input_refuses_an_unknown_evse_and_a_bad_state_in_one_line(
    tmp_path: Path, csms: DevCsms, make_station: Any
) -> None:
    sut: StationUnderTest = await make_station()
    await csms.wait_for("StatusNotification", timeout=10)
    config = cli_config(tmp_path, sut)
    unknown = await evse(config, "input", "grid_limit", "on", "--evse", "7")
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == ["error: unknown EVSE 7 (this station has 1)"]
    bad_state = await evse(config, "input", "grid_limit", "closed")
    assert bad_state.returncode == 2 and "invalid choice" in bad_state.stderr
    assert sut.d.station.external_limits.in_force() == []

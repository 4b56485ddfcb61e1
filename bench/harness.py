"""What every bench needs to run a station: its YAML, the daemon as a subprocess, /proc figures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml

STATION = "BENCH01"


def config(state: Path, port: int, ocpp_version: str = "2.0.1") -> Path:
    """A security-profile-0 station config under `state`; its state_dir is `state / "state"`."""
    path = state / "bench.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "station": {"id": STATION, "vendor": "Bench", "model": "Bench"},
                "csms": {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 0, "ocpp_version": ocpp_version},
                "evses": [{"id": 1, "connectors": [{"id": 1, "type": "cType2"}]}],
                "state_dir": str(state_dir(state)),
                "log_level": "WARNING",
            }
        )
    )
    return path


def state_dir(state: Path) -> Path:
    return state / "state"


async def start_station(config_file: Path) -> asyncio.subprocess.Process:
    """`python -m evse run --config <config_file>`; its stderr is dropped (log level WARNING)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evse", "run", "--config", str(config_file), stderr=subprocess.DEVNULL
    )


async def stop_station(proc: asyncio.subprocess.Process) -> None:
    proc.terminate()
    await proc.wait()


def proc_status_kb(pid: int, field: str) -> int:
    """A kB figure of /proc/<pid>/status (VmRSS, VmHWM ...); 0 when absent or the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far; 0.0 when it is gone. Unlike wall time,
    this hardly moves when other work shares the cores."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

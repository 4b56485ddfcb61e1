"""Helpers of the package tests: building the packages, the test station's configuration, a short daemon run."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from evse.devcsms.server import DevCsms
from tests.integration.conftest import PASSWORD, STATION_ID
from tests.package.debian_root import REPO

TOOLS = ("dpkg-deb", "mmdebstrap", "unshare", "chroot")
# Every test module of tests/package carries this mark.
NEEDS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(tool) is None for tool in TOOLS),
    reason=f"needs root and {', '.join(TOOLS)} (.ci/run installs them)",
)
RUN = "exec evse run --config /etc/evse/evse.yaml"


def project_version() -> str:
    """The package's default version: pyproject.toml's, as scripts/build_deb.py takes it."""
    with (REPO / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


def build_package(arch: str, version: str, out: Path, *extra: str) -> Path:
    """scripts/build_deb.py for one architecture; pip's complaint in the failure message if it fails."""
    build = [sys.executable, str(REPO / "scripts/build_deb.py"), "--arch", arch, "--version", version, *extra]
    result = subprocess.run([*build, "--out", str(out), "--work", str(out / "work")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    deb = out / f"evse_{version}_{arch}.deb"
    assert deb.is_file()
    return deb


def write_station_config(root: Path, port: int) -> None:
    """The technician's configuration: the test station of tests/integration against the dev CSMS on ``port``."""
    (root / "etc/evse/evse.yaml").write_text(
        f"station: {{id: {STATION_ID}, vendor: TestVendor, model: TestModel, serial: S1}}\n"
        f"csms: {{url: 'ws://127.0.0.1:{port}/ocpp', security_profile: 1, basic_auth_password: {PASSWORD}}}\n"
        "board: sim\n"
        "evses: [{id: 1, connectors: [{id: 1, type: cType2}]}]\n"
        "state_dir: /var/lib/evse\n"
    )


async def boots_and_stops_cleanly(argv: list[str], csms: DevCsms) -> None:
    """Start the daemon, see it boot and report its connector to the CSMS, stop it with SIGTERM: exit 0."""
    daemon = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
    try:
        await csms.wait_for("BootNotification", timeout=120)  # generous: under qemu-user Python is slow
        await csms.wait_for("StatusNotification", timeout=60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(daemon.communicate(), timeout=60)
    assert daemon.returncode == 0, stderr.decode()[-2000:]

"""The package on a booted system: the installed root started with systemd as PID 1 by systemd-nspawn
(host network, so the daemon reaches the dev CSMS on loopback). A probe unit reports what systemd says of
evse.service into a file the test reads after the container powered off."""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from evse.devcsms.server import DevCsms
from tests.integration.conftest import STATION_ID
from tests.package.debian_root import in_root
from tests.package.helpers import NEEDS_ROOT, write_station_config

pytestmark = [
    NEEDS_ROOT,
    pytest.mark.skipif(shutil.which("systemd-nspawn") is None, reason="needs systemd-nspawn (systemd-container)"),
]


PROBE_UNIT = """[Unit]
Description=test probe: what systemd says of evse.service once it is up
After=evse.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/probe

[Install]
WantedBy=multi-user.target
"""


PROBE = """#!/bin/sh
for p in UnitFileState ActiveState SubState StatusText NRestarts ConditionResult; do
    systemctl show --property=$p --value evse.service
done > /probe.tmp
mv /probe.tmp /probe.txt
"""


def install_probe(root: Path, script: str) -> Path:
    """The probe unit and its script in the root; the report file it writes at boot is returned."""
    (root / "etc/systemd/system/probe.service").write_text(PROBE_UNIT)
    path = root / "usr/local/sbin/probe"
    path.write_text(script)
    path.chmod(0o755)
    in_root(root, "systemctl enable probe.service")
    return root / "probe.txt"


@pytest.fixture
def booted_probe(root: Path) -> Path:
    """The probe reporting evse.service's state once it has settled after boot."""
    return install_probe(root, PROBE)


async def file_appears(path: Path, polls: int = 600) -> None:
    """Poll for a file written inside the container (no event crosses that boundary); up to 2 minutes."""
    for _ in range(polls):
        if await asyncio.to_thread(path.exists):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} never appeared")


async def test_daemon_runs_under_systemd_from_the_package(root: Path, booted_probe: Path, csms: DevCsms) -> None:
    """The installed root booted with systemd as PID 1 (systemd-nspawn, host network: loopback only): the
    unit the package enabled starts with its sandboxing, User=evse and Type=notify, reaches "running", and
    the daemon boots against the dev CSMS. Powered off when the CSMS has seen it."""
    write_station_config(root, csms.port)

    async def daemon_booted() -> None:
        await csms.wait_for("BootNotification", timeout=120)
        await csms.wait_for("StatusNotification", timeout=60)

    report, stderr = await boot_container(root, booted_probe, daemon_booted())
    assert report[:3] == ["enabled", "active", "running"], stderr
    assert report[3] == f"station {STATION_ID} running"  # the daemon's own READY/STATUS via sd_notify
    assert report[4:] == ["0", "yes"]  # not restarted (no crash on the way up); its condition held


async def test_unit_is_skipped_while_there_is_no_configuration(root: Path, booted_probe: Path) -> None:
    """Enabled but no /etc/evse/evse.yaml (an image that removed the default): the unit is skipped at boot by
    its ConditionPathExists, neither started nor failed, and nothing restarts it."""
    await asyncio.to_thread((root / "etc/evse/evse.yaml").unlink)
    report, stderr = await boot_container(root, booted_probe, asyncio.sleep(0))
    assert report[:3] == ["enabled", "inactive", "dead"], stderr
    assert report[4:] == ["0", "no"]


UPGRADE_PROBE = """#!/bin/sh
before=$(systemctl show --property=MainPID --value evse.service)
dpkg -i /var/tmp/{deb} > /upgrade.log 2>&1
after=$(systemctl show --property=MainPID --value evse.service)
{{ dpkg-query -W -f='${{Version}}\\n' evse
  systemctl show --property=ActiveState --value evse.service
  [ "$before" != 0 ] && [ "$after" != 0 ] && [ "$before" != "$after" ] && echo restarted
}} > /probe.tmp
mv /probe.tmp /probe.txt
"""


async def test_upgrade_under_systemd_restarts_the_running_daemon(
    root: Path, debs: dict[str, Path], csms: DevCsms
) -> None:
    """dpkg -i of the bumped build on a booted system while the daemon runs: prerm stops it, postinst starts it
    again (a new process, on the new code), active once dpkg returns."""
    write_station_config(root, csms.port)
    second = list(debs)[1]
    await asyncio.to_thread(shutil.copy, debs[second], root / "var/tmp" / debs[second].name)  # /tmp: a tmpfs at boot
    probe = install_probe(root, UPGRADE_PROBE.format(deb=debs[second].name))

    async def daemon_booted() -> None:
        await csms.wait_for("BootNotification", timeout=120)

    report, _ = await boot_container(root, probe, daemon_booted())
    assert report == [second, "active", "restarted"], await asyncio.to_thread((root / "upgrade.log").read_text)


async def boot_container(root: Path, probe: Path, booted: Coroutine[Any, Any, None]) -> tuple[list[str], str]:
    """Boot ``root`` with systemd-nspawn, await ``booted`` and the probe's report, power off; the report and
    nspawn's stderr."""
    container = await asyncio.create_subprocess_exec(
        *("systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit", "--directory", str(root)),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await booted
        await file_appears(probe)  # the probe runs once evse.service is settled; its file appears whole
    finally:
        container.send_signal(signal.SIGTERM)  # nspawn turns it into a clean poweroff of the container
        _, stderr = await asyncio.wait_for(container.communicate(), timeout=120)
    report = (await asyncio.to_thread(probe.read_text)).splitlines()
    return report, stderr.decode()[-2000:]

"""The Debian package in a clean Debian 12 root: install, check-config, systemd's verification, a read-only
root running against the dev CSMS, upgrade, remove and purge (issue 14, section 1).

Needs root (chroot, mount namespaces), dpkg-deb and mmdebstrap; the clean root is built once per machine
(tests/package/debian_root.py). The packages are built here by scripts/build_deb.py, twice: the second with a
bumped version, for the upgrade.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from evse.devcsms.server import DevCsms
from tests.integration.conftest import PASSWORD, STATION_ID
from tests.package.debian_root import CACHE, REPO, ids, in_root, root_command, unpack_root

ARCH = "amd64"
TOOLS = ("dpkg-deb", "mmdebstrap", "unshare", "chroot")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(tool) is None for tool in TOOLS),
    reason=f"needs root and {', '.join(TOOLS)} (.ci/run installs them)",
)


def project_version() -> str:
    """The package's default version: pyproject.toml's, as scripts/build_deb.py takes it."""
    with (REPO / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two builds of the amd64 package: the project's version, then a bumped one."""
    out = tmp_path_factory.mktemp("dist")
    work = tmp_path_factory.mktemp("work")
    first = project_version()
    built: dict[str, Path] = {}
    for version in (first, f"{first}+upgrade1"):
        build = [sys.executable, str(REPO / "scripts/build_deb.py"), "--arch", ARCH, "--version", version]
        result = subprocess.run([*build, "--out", str(out), "--work", str(work)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        built[version] = out / f"evse_{version}_{ARCH}.deb"
        assert built[version].is_file()
    return built


@pytest.fixture
def root(tmp_path: Path, debs: dict[str, Path]) -> Iterator[Path]:
    """A clean Debian root with the first build installed by dpkg (no network: the dependencies are there)."""
    path = unpack_root(ARCH, tmp_path / "root")
    first = next(iter(debs.values()))
    shutil.copy(first, path / "tmp" / first.name)
    in_root(path, f"dpkg -i /tmp/{first.name}")
    yield path
    shutil.rmtree(path)  # a root is ~300 MB and pytest keeps three runs of tmp_path


def dpkg_status(root: Path) -> str:
    result = in_root(root, "dpkg-query -W -f='${Status} ${Version}' evse", check=False)
    return result.stdout if result.returncode == 0 else "not installed"


def test_install_lays_out_user_state_conffile_and_enabled_unit(root: Path) -> None:
    """What an image gets from `apt install ./evse_*.deb`: command on PATH, user, state dir, conffile, unit."""
    assert dpkg_status(root).startswith("install ok installed")
    assert os.readlink(root / "usr/bin/evse") == "/opt/evse/venv/bin/evse"
    uid, gid = ids(root, "evse")
    state = root / "var/lib/evse"
    assert (state.stat().st_uid, state.stat().st_gid) == (uid, gid)
    assert state.stat().st_mode & 0o777 == 0o750
    config = root / "etc/evse/evse.yaml"
    assert (config.stat().st_gid, config.stat().st_mode & 0o777) == (gid, 0o640)  # it holds the CSMS password
    conffiles = in_root(root, "dpkg-query -W -f='${Conffiles}' evse").stdout
    assert "/etc/evse/evse.yaml" in conffiles
    # Enabled (started at the next boot), but nothing was started: there is no systemd running in the root.
    wants = root / "etc/systemd/system/multi-user.target.wants/evse.service"
    assert os.readlink(wants) == "/lib/systemd/system/evse.service"
    members = in_root(root, "getent group gpio i2c dialout").stdout
    assert {line.split(":")[0] for line in members.splitlines()} == {"gpio", "i2c", "dialout"}


def test_check_config_accepts_the_default_and_systemd_verifies_the_unit(root: Path) -> None:
    """`evse check-config` from the installed venv, as the daemon's user; `systemd-analyze verify` on the unit."""
    result = in_root(root, "evse check-config /etc/evse/evse.yaml", user="evse")
    assert result.stdout.strip() == "ok"
    verify = in_root(root, "systemd-analyze verify /lib/systemd/system/evse.service", check=False)
    assert verify.returncode == 0, verify.stderr
    assert "evse.service" not in verify.stderr  # no warning about our unit (ExecStart, User, directives)
    # A broken configuration is refused with the one-line error, from the packaged code as well.
    (root / "etc/evse/broken.yaml").write_text("station: {id: X}\nboard: nonsense\n")
    broken = in_root(root, "evse check-config /etc/evse/broken.yaml", check=False)
    assert broken.returncode == 2
    assert "broken.yaml" in broken.stdout + broken.stderr


RUN = "exec evse run --config /etc/evse/evse.yaml"


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


@pytest.fixture
async def csms() -> AsyncIterator[DevCsms]:
    server = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start()
    yield server
    await server.stop()


async def test_read_only_root_with_writable_state_dir_runs_against_dev_csms(
    root: Path, tmp_path: Path, csms: DevCsms
) -> None:
    """The root file system mounted read-only, /var/lib/evse a writable partition: check-config and a short
    `evse run` (boot, status, clean stop on SIGTERM) against the dev CSMS on loopback."""
    write_station_config(root, csms.port)
    partition = tmp_path / "data"
    partition.mkdir(mode=0o750)
    os.chown(partition, *ids(root, "evse"))
    mounts = {"/var/lib/evse": partition}

    refused = in_root(root, "touch /etc/evse/probe", read_only=True, writable=mounts, check=False)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr  # the root really is read-only
    checked = in_root(root, "evse check-config /etc/evse/evse.yaml", user="evse", read_only=True, writable=mounts)
    assert checked.stdout.strip() == "ok"

    argv = root_command(root, RUN, user="evse", read_only=True, writable=mounts)
    await boots_and_stops_cleanly(argv, csms)
    assert (partition / "evse.sqlite3").is_file()  # the state went to the writable partition
    assert not (root / "etc/evse/probe").exists()


def test_upgrade_keeps_config_and_state_remove_keeps_them_purge_removes_them(root: Path, debs: dict[str, Path]) -> None:
    """dpkg -i of the bumped build over an edited configuration and a used state dir, then -r, then -P."""
    config = root / "etc/evse/evse.yaml"
    edited = config.read_text().replace("CHANGE-ME-0001", "ACME-000777")
    config.write_text(edited)
    in_root(root, "echo transactions > /var/lib/evse/evse.sqlite3", user="evse")

    second = list(debs.values())[1]
    shutil.copy(second, root / "tmp" / second.name)
    in_root(root, f"dpkg -i /tmp/{second.name}")
    assert dpkg_status(root) == f"install ok installed {list(debs)[1]}"
    assert config.read_text() == edited
    assert not list((root / "etc/evse").glob("evse.yaml.dpkg-*"))  # no conffile prompt, no stray copy
    assert (root / "var/lib/evse/evse.sqlite3").read_text() == "transactions\n"
    assert in_root(root, "evse check-config /etc/evse/evse.yaml", user="evse").stdout.strip() == "ok"
    assert (root / "etc/systemd/system/multi-user.target.wants/evse.service").is_symlink()

    in_root(root, "dpkg -r evse")
    assert dpkg_status(root).startswith("deinstall ok config-files")
    assert config.read_text() == edited
    assert (root / "var/lib/evse/evse.sqlite3").is_file()
    for gone in ("opt/evse", "usr/bin/evse", "lib/systemd/system/evse.service"):
        assert not os.path.lexists(root / gone), gone

    in_root(root, "dpkg -P evse")
    assert dpkg_status(root) == "not installed"
    for gone in ("etc/evse", "var/lib/evse", "etc/systemd/system/multi-user.target.wants/evse.service"):
        assert not os.path.lexists(root / gone), gone
    # The user stays, as Debian policy asks: files outside our directories may still carry its uid.
    assert in_root(root, "getent passwd evse").returncode == 0


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


@pytest.mark.skipif(shutil.which("systemd-nspawn") is None, reason="needs systemd-nspawn (systemd-container)")
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


@pytest.mark.skipif(shutil.which("systemd-nspawn") is None, reason="needs systemd-nspawn (systemd-container)")
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


@pytest.mark.skipif(shutil.which("systemd-nspawn") is None, reason="needs systemd-nspawn (systemd-container)")
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


# Foreign architectures run under qemu-user-static through binfmt_misc (.ci/run registers it).
QEMU = {"arm64": "qemu-aarch64", "armhf": "qemu-arm"}
ARMHF_WHEELS = CACHE / "wheels-armhf"


@pytest.fixture(scope="module")
def foreign_debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Packages of foreign architectures, built on first use and shared by the tests of this module."""
    return {}


def foreign_deb(arch: str, out: Path) -> Path:
    """This architecture's package; armhf first gets its natively built cffi and PyYAML (once per machine)."""
    links: list[str] = []
    if arch == "armhf":
        if not (ARMHF_WHEELS / ".built").exists():
            script = ["sh", str(REPO / "scripts/build_armhf_wheels.sh"), str(ARMHF_WHEELS)]
            subprocess.run(script, check=True, env={**os.environ, "PYTHON": sys.executable})
            (ARMHF_WHEELS / ".built").touch()
        links = ["--find-links", str(ARMHF_WHEELS)]
    version = project_version()
    build = [sys.executable, str(REPO / "scripts/build_deb.py"), "--arch", arch, "--version", version, *links]
    result = subprocess.run([*build, "--out", str(out), "--work", str(out / "work")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return out / f"evse_{version}_{arch}.deb"


@pytest.fixture(params=sorted(QEMU))
def foreign_root(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    foreign_debs: dict[str, Path],
) -> Iterator[Path]:
    """A clean Debian root of a foreign architecture with that architecture's package installed."""
    arch: str = request.param
    if not Path("/proc/sys/fs/binfmt_misc", QEMU[arch]).exists():
        pytest.skip(f"{QEMU[arch]} is not registered in binfmt_misc (qemu-user-static, update-binfmts --enable)")
    if arch not in foreign_debs:
        foreign_debs[arch] = foreign_deb(arch, tmp_path_factory.mktemp(f"dist-{arch}"))
    deb = foreign_debs[arch]
    root = unpack_root(arch, tmp_path / "root")
    shutil.copy(deb, root / "tmp" / deb.name)
    in_root(root, f"dpkg -i /tmp/{deb.name}")
    machine = in_root(root, "python3.11 -c 'import platform; print(platform.machine())'").stdout.strip()
    assert machine == {"arm64": "aarch64", "armhf": "armv7l"}[arch]  # really the foreign interpreter
    yield root
    shutil.rmtree(root)


def test_foreign_package_loads_its_compiled_wheels_and_accepts_its_default(foreign_root: Path) -> None:
    """arm64 / armhf: cryptography, pydantic-core, rpds, websockets and PyYAML load in the target's Python."""
    probe = "import cryptography.hazmat.bindings._rust, pydantic_core, rpds, websockets, yaml; print('loaded')"
    loaded = in_root(foreign_root, f'/opt/evse/venv/bin/python3 -c "{probe}"', user="evse")
    assert loaded.stdout.strip() == "loaded"
    assert in_root(foreign_root, "evse check-config /etc/evse/evse.yaml", user="evse").stdout.strip() == "ok"


async def test_foreign_package_boots_against_dev_csms(foreign_root: Path, csms: DevCsms) -> None:
    """arm64 / armhf under qemu-user: the daemon boots, reports its connector and stops cleanly on SIGTERM."""
    write_station_config(foreign_root, csms.port)
    await boots_and_stops_cleanly(root_command(foreign_root, RUN, user="evse"), csms)
    assert (foreign_root / "var/lib/evse/evse.sqlite3").is_file()

"""The arm64 and armhf packages, each installed into a clean Debian root of its architecture and run there
under qemu-user-static (binfmt_misc): the compiled wheels must be the target's, not this machine's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from evse.devcsms.server import DevCsms
from tests.package.debian_root import CACHE, REPO, in_root, root_command, unpack_root
from tests.package.helpers import (
    NEEDS_ROOT,
    RUN,
    boots_and_stops_cleanly,
    build_package,
    project_version,
    write_station_config,
)

pytestmark = NEEDS_ROOT

# The binfmt_misc entries of qemu-user-static (.ci/run registers them).
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
    return build_package(arch, project_version(), out, *links)


@pytest.fixture(params=sorted(QEMU))
def foreign_root(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    foreign_debs: dict[str, Path],
) -> Iterator[Path]:
    """A clean Debian root of a foreign architecture with that architecture's package installed."""
    arch: str = request.param
    if os.environ.get("EVSE_DEB_FOREIGN") != "1":
        pytest.skip("arm64/armhf packages under qemu-user: `make deb-test` (EVSE_DEB_FOREIGN=1), not `make test`")
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

"""The Debian package in a clean Debian 12 root: install, check-config, systemd's verification, a read-only
root running against the dev CSMS, upgrade, remove and purge (issue 14, section 1).

Needs root (chroot, mount namespaces), dpkg-deb and mmdebstrap; the clean root is built once per machine
(tests/package/debian_root.py). The packages are built by scripts/build_deb.py (tests/package/conftest.py),
twice: the second with a bumped version, for the upgrade.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from evse.devcsms.server import DevCsms
from tests.package.debian_root import ids, in_root, root_command
from tests.package.helpers import (
    NEEDS_ROOT,
    RUN,
    boots_and_stops_cleanly,
    write_station_config,
)

pytestmark = NEEDS_ROOT


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

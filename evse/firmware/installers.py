"""Installers: what writes a verified image to the station, behind one small interface.

`install` returns once the image is written and only the reboot is left (the station then reports
InstallRebooting and restarts); it raises InstallFailed otherwise. Every backend writes a whole image or
nothing, so installing the same image again after a crash is safe (evse.firmware.update_plan).

- sim: the simulated board's. An image is a text header line `EVSE-FIRMWARE <version>` and a payload;
  installing it stores it in state_dir and writes the version to station.firmware_version_file, as a real
  image's first boot would. An image without the header fails verification.
- command: a program given the image path; exit 0 means installed.
- rauc / swupdate: their command-line tools (`rauc install`, `swupdate -i`); they manage the A/B slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from pathlib import Path
from typing import Protocol

from evse.config import Settings
from evse.firmware.errors import InstallFailed

log = logging.getLogger(__name__)

SIM_HEADER = b"EVSE-FIRMWARE "
_STDERR_TAIL = 400


class Installer(Protocol):
    """Writes a verified image; the reboot is the caller's."""

    name: str

    async def install(self, image: Path) -> None: ...


class SimInstaller:
    """The simulated board's installer (see the module docstring for the image format)."""

    name = "sim"

    def __init__(self, state_dir: Path, version_file: Path | None) -> None:
        self.slot = state_dir / "sim-firmware" / "installed.bin"
        self.version_file = version_file or state_dir / "sim-firmware" / "version"

    async def install(self, image: Path) -> None:
        await asyncio.to_thread(self._install, image)

    def _install(self, image: Path) -> None:
        version = sim_image_version(image)
        if version is None:
            raise InstallFailed("not a firmware image for this board (no EVSE-FIRMWARE header)", verification=True)
        self.slot.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(image, self.slot)
        self.version_file.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.version_file, version + "\n")
        log.info("sim installer: installed version=%s", version)


def sim_image_version(image: Path) -> str | None:
    """The version a simulated image announces in its first line, None for anything else."""
    with open(image, "rb") as source:
        first = source.readline(128)
    if not first.startswith(SIM_HEADER):
        return None
    version = first[len(SIM_HEADER) :].strip().decode("ascii", "replace")
    return version[:50] or None


class CommandInstaller:
    """Runs a program with the image path as its last argument; exit 0 means installed."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv

    async def install(self, image: Path) -> None:
        argv = [*self.argv, str(image)]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise InstallFailed(f"{self.name}: cannot start {argv[0]}: {exc.strerror}") from None
        try:
            _, stderr = await process.communicate()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        if process.returncode != 0:
            tail = stderr.decode("utf-8", "replace").strip()[-_STDERR_TAIL:]
            raise InstallFailed(f"{self.name}: {argv[0]} exited {process.returncode}: {tail}")


def make_installer(settings: Settings) -> Installer:
    """The installer the YAML names (firmware.installer)."""
    section = settings.firmware
    if section.installer == "command":
        assert section.command is not None  # the config validator requires it
        return CommandInstaller("command", list(section.command))
    if section.installer == "rauc":
        return CommandInstaller("rauc", ["rauc", "install"])
    if section.installer == "swupdate":
        return CommandInstaller("swupdate", ["swupdate", "-i"])
    return SimInstaller(settings.state_dir, settings.station.firmware_version_file)


def _copy_atomically(source: Path, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with open(source, "rb") as src, open(temporary, "wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(temporary, target)


def _write_atomically(target: Path, text: str) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, target)

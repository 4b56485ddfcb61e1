"""The installers: the simulated board's, and the command-line ones (command, rauc, swupdate), each run
against a fake executable on PATH written by the test (no RAUC or SWUpdate on a CI machine)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from evse.config import parse_settings
from evse.firmware.errors import InstallFailed
from evse.firmware.installers import CommandInstaller, SimInstaller, make_installer
from tests.firmware_kit import sim_image


def fake_tool(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text("#!/bin/sh\n" + body)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def settings(tmp_path: Path, firmware: dict[str, object]) -> object:
    return parse_settings(
        {
            "station": {"id": "CS1", "vendor": "V", "model": "M"},
            "csms": {"url": "ws://127.0.0.1:1/ocpp", "security_profile": 0},
            "evses": [{"id": 1, "connectors": [{"id": 1}]}],
            "state_dir": str(tmp_path / "state"),
            "firmware": firmware,
        },
        "test.yaml",
    )


@pytest.mark.parametrize(("name", "expected"), [("rauc", "install"), ("swupdate", "-i")])
async def test_rauc_and_swupdate_are_given_the_bundle_on_their_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, expected: str
) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, name, f'echo "$@" > "{tmp_path}/args"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    installer = make_installer(settings(tmp_path, {"installer": name}))  # type: ignore[arg-type]
    image = tmp_path / "bundle.raucb"
    image.write_bytes(b"bundle")
    await installer.install(image)
    assert (tmp_path / "args").read_text().split() == [expected, str(image)]


async def test_a_failing_tool_is_installation_failed_with_its_last_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "rauc", 'echo "rauc: Failed to install bundle: slot rootfs.1 is busy" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with pytest.raises(InstallFailed, match=r"slot rootfs\.1 is busy") as failed:
        await CommandInstaller("rauc", ["rauc", "install"]).install(tmp_path / "bundle.raucb")
    assert not failed.value.verification


async def test_a_missing_program_is_installation_failed(tmp_path: Path) -> None:
    with pytest.raises(InstallFailed, match="cannot start"):
        await CommandInstaller("command", [str(tmp_path / "nowhere")]).install(tmp_path / "x.img")


async def test_the_sim_installer_writes_the_image_and_its_version(tmp_path: Path) -> None:
    version = tmp_path / "version"
    installer = SimInstaller(tmp_path / "state", version)
    image = tmp_path / "fw.img"
    image.write_bytes(sim_image("3.1.4", 5000))
    await installer.install(image)
    assert version.read_text() == "3.1.4\n"
    assert installer.slot.read_bytes() == image.read_bytes()


async def test_the_sim_installer_refuses_an_image_for_another_board(tmp_path: Path) -> None:
    installer = SimInstaller(tmp_path / "state", tmp_path / "version")
    image = tmp_path / "fw.img"
    image.write_bytes(b"\x7fELF something else")
    with pytest.raises(InstallFailed) as failed:
        await installer.install(image)
    assert failed.value.verification
    assert not (tmp_path / "version").exists() and not installer.slot.exists()

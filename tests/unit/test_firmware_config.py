"""The firmware section of the YAML and station.firmware_version_file: one-line errors, paths relative to
the file, the running version read from the file the installed image writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.config import Settings, load_settings
from evse.errors import ConfigError
from evse.firmware.version import with_running_version

BASE = """
station: {id: CS001, vendor: V, model: M, firmware_version: "1.0.0", firmware_version_file: version.txt}
csms: {url: "ws://127.0.0.1:9000/ocpp", security_profile: 1, basic_auth_password: secret-password-1}
evses: [{id: 1, connectors: [{id: 1}]}]
state_dir: state
"""


def load(tmp_path: Path, firmware: str) -> Settings:
    path = tmp_path / "evse.yaml"
    path.write_text(BASE + firmware)
    return load_settings(path)


def error_of(tmp_path: Path, firmware: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, firmware)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_defaults_to_the_sim_installer_with_a_size_limit(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    assert settings.firmware.installer == "sim"
    assert settings.firmware.max_image_bytes == 512 * 1024 * 1024
    assert settings.station.firmware_version_file == tmp_path / "version.txt"


def test_factory_root_is_relative_to_the_file(tmp_path: Path) -> None:
    settings = load(tmp_path, "firmware: {installer: rauc, factory_root: certs/mf-root.pem}\n")
    assert settings.firmware.factory_root == tmp_path / "certs" / "mf-root.pem"


def test_an_unknown_installer_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, "firmware: {installer: flashy}\n")
    assert "firmware.installer" in message and "rauc" in message


def test_the_command_installer_needs_its_command(tmp_path: Path) -> None:
    assert "installer command needs command" in error_of(tmp_path, "firmware: {installer: command}\n")
    assert "only used by installer command" in error_of(tmp_path, "firmware: {installer: sim, command: [x]}\n")


def test_unknown_keys_and_silly_limits_are_refused(tmp_path: Path) -> None:
    assert "firmware.url" in error_of(tmp_path, "firmware: {url: x}\n")
    assert "firmware.max_image_bytes" in error_of(tmp_path, "firmware: {max_image_bytes: 10}\n")


def test_the_version_file_wins_over_the_configured_version_when_it_exists(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    assert with_running_version(settings).station.firmware_version == "1.0.0"
    (tmp_path / "version.txt").write_text("2.3.4\nbuilt by CI\n")
    assert with_running_version(settings).station.firmware_version == "2.3.4"
    (tmp_path / "version.txt").write_text("")
    assert with_running_version(settings).station.firmware_version == "1.0.0"

"""The technician's YAML: one-line errors naming file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.config import load_settings
from evse.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
station: {id: CS001, vendor: V, model: M}
csms: {url: "ws://127.0.0.1:9000/ocpp", security_profile: 1, basic_auth_password: secret-password-1}
evses: [{id: 1, connectors: [{id: 1, type: cType2}]}]
state_dir: state
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evse.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "evse.yaml"))
    return message


def test_valid_file_loads_and_relative_state_dir_follows_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.station.id == "CS001"
    assert settings.state_dir == tmp_path / "state"
    assert settings.socket_path == tmp_path / "state" / "control.sock"
    assert settings.layout == [(1, [1])]


def test_shipped_configs_are_valid() -> None:
    for name in ("sim.yaml", "example-ac22-2evse.yaml"):
        assert load_settings(ROOT / "config" / name).evses


def test_unknown_key_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("model: M}", "model: M, colour: red}"))
    assert "station.colour" in message and "not permitted" in message


def test_wrong_type_names_the_nested_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("{id: 1, type: cType2}", "{id: one, type: cType2}"))
    assert "evses[0].connectors[0].id" in message


def test_unknown_connector_type(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("cType2", "cType9"))
    assert "evses[0].connectors[0].type" in message and "cType9" in message


def test_broken_yaml_names_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, "station: {id: CS001\nfoo: [")
    assert "invalid YAML" in message
    assert "evse.yaml:2:" in message or "evse.yaml:3:" in message


def test_missing_section(tmp_path: Path) -> None:
    message = error_of(
        tmp_path,
        GOOD.replace(
            'csms: {url: "ws://127.0.0.1:9000/ocpp", security_profile: 1, basic_auth_password: secret-password-1}', ""
        ),
    )
    assert "csms: Field required" in message


def test_profile_1_needs_a_password_and_the_password_is_not_echoed(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace(", basic_auth_password: secret-password-1", ""))
    assert "basic_auth_password" in message
    long = "x" * 41
    message = error_of(tmp_path, GOOD.replace("secret-password-1", long))
    assert long not in message


def test_evse_ids_must_be_consecutive(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("evses: [{id: 1,", "evses: [{id: 2,"))
    assert "evse ids must be 1..n" in message


def test_not_a_mapping(tmp_path: Path) -> None:
    assert "expected a mapping" in error_of(tmp_path, "- just\n- a list\n")

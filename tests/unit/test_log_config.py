"""The `logging:` section of the technician's YAML: bounds, and one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from evse.config import parse_settings
from evse.errors import ConfigError

BASE: dict[str, Any] = {
    "station": {"id": "CS001", "vendor": "V", "model": "M"},
    "csms": {"url": "ws://127.0.0.1:9000/ocpp", "security_profile": 0},
    "evses": [{"id": 1, "connectors": [{"id": 1}]}],
}


def test_defaults_bound_the_file() -> None:
    settings = parse_settings(BASE, "sim.yaml")
    assert settings.logging.file_max_bytes == 1024 * 1024 and settings.logging.file_count == 4


def test_values_are_taken() -> None:
    settings = parse_settings({**BASE, "logging": {"file_max_bytes": 65536, "file_count": 2}}, "sim.yaml")
    assert (settings.logging.file_max_bytes, settings.logging.file_count) == (65536, 2)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"file_size": 1}, "sim.yaml: logging.file_size: Extra inputs are not permitted"),
        ({"file_count": 0}, "sim.yaml: logging.file_count: Input should be greater than or equal to 1"),
        ({"file_max_bytes": 100}, "sim.yaml: logging.file_max_bytes: Input should be greater than or equal to 16384"),
    ],
)
def test_errors_are_one_line_naming_the_key(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({**BASE, "logging": section}, "sim.yaml")
    assert str(raised.value) == message

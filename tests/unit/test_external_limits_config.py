"""The YAML of the external limit sources: `ems:` (off unless present) and `grid_limit:` (defaults), with the
usual one-line errors naming the key path."""

from __future__ import annotations

from typing import Any

import pytest

from evse.config import parse_settings
from evse.errors import ConfigError
from evse.smartcharging.ems_server import is_loopback

BASE: dict[str, Any] = {
    "station": {"id": "CS001", "vendor": "V", "model": "M"},
    "csms": {"url": "ws://127.0.0.1:9000/ocpp", "security_profile": 0},
    "evses": [{"id": 1, "connectors": [{"id": 1}]}],
}


def error_of(**extra: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings({**BASE, **extra}, "evse.yaml")
    return str(info.value)


def test_no_ems_section_means_no_modbus_server_and_the_grid_input_has_its_defaults() -> None:
    settings = parse_settings(BASE, "evse.yaml")
    assert settings.ems is None
    assert (settings.grid_limit.input, settings.grid_limit.power_w) == ("grid_limit", 4200)


def test_an_ems_section_takes_loopback_port_5020_unit_1_failsafe_6_a_timeout_60_s_by_default() -> None:
    ems = parse_settings({**BASE, "ems": {}}, "evse.yaml").ems
    assert ems is not None
    assert (ems.modbus.host, ems.modbus.port, ems.modbus.unit_id) == ("127.0.0.1", 5020, 1)
    assert (ems.failsafe_current_a, ems.timeout_s) == (6.0, 60)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ems": {"modbus": {"port": 0}}}, "evse.yaml: ems.modbus.port: Input should be greater than or equal to 1"),
        ({"ems": {"modbus": {"unit_id": 248}}}, "evse.yaml: ems.modbus.unit_id: Input should be less than or equal"),
        ({"ems": {"failsafe_current_a": 90}}, "evse.yaml: ems.failsafe_current_a: Input should be less than or equal"),
        ({"ems": {"timeout": 60}}, "evse.yaml: ems.timeout: Extra inputs are not permitted"),
        ({"grid_limit": {"power_w": -1}}, "evse.yaml: grid_limit.power_w: Input should be greater than or equal to 0"),
    ],
)
def test_a_wrong_key_or_value_is_one_line_naming_it(extra: dict[str, Any], message: str) -> None:
    error = error_of(**extra)
    assert "\n" not in error
    assert error.startswith(message)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("192.168.1.10", False), ("ems.local", False)],
)  # fmt: skip
def test_only_loopback_hosts_escape_the_warning_about_an_unauthenticated_port(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback

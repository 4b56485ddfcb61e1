"""Board-YAML parameters of pilot.safety_mcu and its place in the driver registry."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from drivers.errors import DriverError
from drivers.interfaces import Pilot, PilotState
from drivers.pilot.safety_mcu import SafetyMcuPilot
from drivers.registry import load_driver, validate_params


def test_defaults() -> None:
    params = SafetyMcuPilot.Params(port="/dev/ttyS1")
    assert params.model_dump() == {
        "port": "/dev/ttyS1",
        "baudrate": 115200,
        "heartbeat_ms": 200,
        "response_timeout_ms": 200,
        "retries": 2,
        "reconnect_ms": 1000,
    }


def test_registered_under_its_entry_point_and_constructed_as_the_daemon_does() -> None:
    assert load_driver("pilot", "safety_mcu") is SafetyMcuPilot
    params = validate_params("pilot", "safety_mcu", {"port": "/dev/ttyS1", "heartbeat_ms": 100})
    driver = SafetyMcuPilot(evse_id=2, **params.model_dump())  # no I/O: the port does not exist here
    assert isinstance(driver, Pilot)
    assert driver.state is PilotState.A
    assert not driver.connected


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({}, "parameter 'port': Field required"),
        ({"port": "/dev/ttyS1", "baud": 9600}, "parameter 'baud': Extra inputs are not permitted"),
        ({"port": "/dev/ttyS1", "baudrate": 12345}, "parameter 'baudrate': 12345 is not a standard baud rate"),
        ({"port": "/dev/ttyS1", "heartbeat_ms": 5}, "parameter 'heartbeat_ms': Input should be greater than or equal"),
        ({"port": "/dev/ttyS1", "retries": 11}, "parameter 'retries': Input should be less than or equal to 10"),
        ({"port": ""}, "parameter 'port': String should have at least 1 character"),
    ],
)
def test_bad_keys_give_one_line_errors(keys: dict[str, object], message: str) -> None:
    with pytest.raises(DriverError) as info:
        validate_params("pilot", "safety_mcu", keys)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValidationError):
        SafetyMcuPilot(evse_id=1, port="/dev/ttyS1", response_timeout_ms=0)


async def test_command_before_any_link_is_a_driver_error_not_an_oserror() -> None:
    driver = SafetyMcuPilot(evse_id=1, port="/nonexistent/tty")
    with pytest.raises(DriverError, match="not connected"):
        await driver.set_current_limit(16)
    with pytest.raises(ValueError, match=r"6\.\.80 A"):
        await driver.set_current_limit(5)

"""Board-YAML keys of both bridges, their entry points, and the emulator's HIL command line."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from drivers.interfaces import (
    EnergyTransferMode,
    HashAlgorithm,
    Iso15118CertificateRequested,
    Iso15118ChargingNeeds,
    Iso15118ContractPresented,
    Iso15118Protocol,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
    Iso15118StopReason,
    Iso15118V2gCsrPresented,
    OcspRequestData,
)
from drivers.iso15118.can_bridge import CanIso15118Bridge
from drivers.iso15118.messages import Authorization
from drivers.iso15118.serial_bridge import SerialIso15118Bridge
from hil.emulators.iso15118 import EmulatedSecc
from hil.emulators.iso15118_cli import run_command
from tests.unit.test_iso15118_support import HEARTBEAT_MS, TIMEOUT_MS, EventLog, running, unique_channel


@pytest.mark.parametrize(
    ("name", "cls"), [("iso15118.can_bridge", CanIso15118Bridge), ("iso15118.serial_bridge", SerialIso15118Bridge)]
)
def test_entry_points_name_the_classes(name: str, cls: type) -> None:
    (ep,) = [ep for ep in entry_points(group="evse.drivers") if ep.name == name]
    assert ep.load() is cls
    assert cls.Params.model_config.get("extra") == "forbid"  # type: ignore[attr-defined]


def test_can_defaults_construct_a_driver_without_io() -> None:
    params = CanIso15118Bridge.Params()
    assert params.model_dump() == {
        "heartbeat_ms": 500,
        "timeout_ms": 2000,
        "channel": "can0",
        "interface": "socketcan",
        "bitrate": 500_000,
        "base_id": 0x600,
    }
    bridge = CanIso15118Bridge(evse_id=1, **params.model_dump())  # as the daemon does: no bus opened
    assert not bridge.connected


def test_serial_needs_a_port_and_constructs_without_io() -> None:
    params = SerialIso15118Bridge.Params(port="/dev/does-not-exist")
    bridge = SerialIso15118Bridge(evse_id=1, **params.model_dump())
    assert not bridge.connected and params.baudrate == 115200


def error_of(model: type[BaseModel], values: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(values)
    first = info.value.errors()[0]
    return f"{'.'.join(map(str, first['loc'])) or '(top)'}: {first['msg']}"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"interface": "sockcan"}, "interface: Value error, unknown CAN interface 'sockcan'; known: "),
        ({"base_id": 0x7FF}, "base_id: Input should be less than or equal to 2046"),
        ({"bitrate": 2_000_000}, "bitrate: Input should be less than or equal to 1000000"),
        ({"heartbeat_ms": 10}, "heartbeat_ms: Input should be greater than or equal to 20"),
        ({"heartbeat_ms": 1000, "timeout_ms": 1500}, "(top): Value error, timeout_ms (1500) must be at least twice"),
        ({"channel": ""}, "channel: String should have at least 1 character"),
        ({"port": "/dev/ttyS1"}, "port: Extra inputs are not permitted"),
    ],
)
def test_can_params_errors_are_one_line(values: dict[str, Any], expected: str) -> None:
    message = error_of(CanIso15118Bridge.Params, values)
    assert message.startswith(expected) and "\n" not in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, "port: Field required"),
        ({"port": "/dev/ttyS1", "baudrate": 12345}, "baudrate: Value error, baudrate 12345 is not one of 9600"),
        ({"port": "/dev/ttyS1", "heartbeat_ms": 500, "timeout_ms": 900}, "(top): Value error, timeout_ms (900)"),
        ({"port": "/dev/ttyS1", "channel": "can0"}, "channel: Extra inputs are not permitted"),
    ],
)
def test_serial_params_errors_are_one_line(values: dict[str, Any], expected: str) -> None:
    message = error_of(SerialIso15118Bridge.Params, values)
    assert message.startswith(expected) and "\n" not in message


# --- the emulator's command language, against a real bridge ---------------------------------------------


async def test_emulator_commands_drive_a_session() -> None:
    channel = unique_channel()
    log = EventLog()
    bridge = CanIso15118Bridge(
        evse_id=7, channel=channel, interface="virtual", heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS
    )
    async with running(bridge, log), EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS) as module:
        await module.wait_until(lambda: bool(module.limits))
        assert await run_command(module, "start 0A1B2C3D4E5F protocol=DIN70121 mode=DC")
        assert await run_command(module, "contract emaid=DE8EOCAET5E43X1 hash=SHA384,AA,BB,0102,http://ocsp.test")
        assert await run_command(module, "needs current=125.5 voltage=500 power=50000 energy=30000")
        await log.wait_for(Iso15118ChargingNeeds)
        await bridge.send_authorization(True)
        await module.wait_until(lambda: bool(module.authorizations))
        assert await run_command(module, "stop reason=Timeout")
        await log.wait_for(Iso15118SessionStopped)
        for bad in ("fly", "start", "needs current=x", "stop", "silent maybe", "contract hash=SHA1,a,b,c,d"):
            with pytest.raises((ValueError, RuntimeError)):  # what the program prints as {"error": ...}
                await run_command(module, bad)
        assert not await run_command(module, "quit")
    assert log.events[:2] == [
        Iso15118SessionStarted(7, "0A1B2C3D4E5F", Iso15118Protocol.DIN_70121, EnergyTransferMode.DC),
        Iso15118ContractPresented(
            7, "DE8EOCAET5E43X1", (OcspRequestData(HashAlgorithm.SHA384, "AA", "BB", "0102", "http://ocsp.test"),)
        ),
    ]
    needs = log.of(Iso15118ChargingNeeds)[0]
    assert (needs.max_current_a, needs.max_voltage_v, needs.max_power_w) == (125.5, 500.0, 50_000)
    assert log.events[-1] == Iso15118SessionStopped(7, Iso15118StopReason.TIMEOUT)
    assert module.authorizations == [Authorization(1, True)]


async def test_emulator_commands_request_certificates() -> None:
    """Bridge version 2 from the command language: an EV certificate request and a CSR reach the station."""
    channel = unique_channel()
    log = EventLog()
    bridge = CanIso15118Bridge(
        evse_id=7, channel=channel, interface="virtual", heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS
    )
    async with running(bridge, log), EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS) as module:
        await module.wait_until(lambda: bool(module.limits))
        assert await run_command(module, "certificate action=Update size=4200")
        assert await run_command(module, "csr SECC-7 organization=Rig country=NL")
        requested = await log.wait_for(Iso15118CertificateRequested)
        await log.wait_for(Iso15118V2gCsrPresented)
        for bad in ("certificate action=Delete", "certificate exi=zz", "csr", "certificate colour=red"):
            with pytest.raises(ValueError):
                await run_command(module, bad)
    assert (requested.action, len(requested.exi_request)) == ("Update", 4200)


def test_emulator_runs_as_a_program_reading_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hil.emulators.iso15118", "--channel", unique_channel(), "--interface", "virtual"],
        input="status\nbogus\nstart 0A1B2C3D4E5F\nstatus\nquit\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0] == {"ready": "emulated SECC 1.0"}
    assert lines[1]["status"] == "ok" and lines[1]["session"] == 0
    assert lines[2] == {"error": "unknown command 'bogus'"}
    assert lines[3] == {"ok": "start", "session": 1}
    assert lines[4]["session"] == 1


def test_emulator_program_reports_an_absent_bus_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hil.emulators.iso15118", "--channel", "x", "--interface", "no_such_interface"],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: emulated SECC no_such_interface:x: ") and result.stderr.count("\n") == 1

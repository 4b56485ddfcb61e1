"""Every driver registered under ``evse.drivers`` builds from a board section of the technician's YAML.

A board may mix real and simulated drivers (a technician brings up one device at a time), so the
simulated drivers follow the same constructor convention as the real ones (``evse_id=`` plus their
validated keys) and share one SimBoard, which the ``evse sim`` commands drive.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from gpiozero.pins.mock import MockFactory  # type: ignore[import-untyped]

from drivers.errors import DriverError
from drivers.interfaces import (
    ConnectorLock,
    Contactor,
    DigitalInput,
    Display,
    EnergyMeter,
    Iso15118Bridge,
    Pilot,
    PilotState,
    RfidReader,
)
from drivers.registry import KINDS, available, load_driver
from evse.board import BuiltBoard, build_drivers, parse_board

#: One section per registered driver, as a technician writes it. Real devices are named but never opened:
#: building a driver does no I/O (the drivers' contract), so the ports need not exist.
SECTIONS: dict[str, str] = {
    "meter.sim": "{driver: sim}",
    "meter.modbus": "{driver: modbus, model: eastron_sdm630, port: /dev/ttyAMA0, baudrate: 9600, address: 1}",
    "contactor.sim": "{driver: sim}",
    "contactor.gpio": "{driver: gpio, pin: 17, feedback_pin: 27, close_timeout_ms: 200}",
    "lock.sim": "{driver: sim}",
    "lock.gpio_motor_lock": "{driver: gpio_motor_lock, lock_pin: 5, unlock_pin: 6, feedback_pin: 13}",
    "pilot.sim": "{driver: sim}",
    "pilot.safety_mcu": "{driver: safety_mcu, port: /dev/ttyS1}",
    "rfid.sim": "{driver: sim}",
    "rfid.pn532_i2c": "{driver: pn532_i2c, bus: 1, address: 0x24}",
    "rfid.pn532_uart": "{driver: pn532_uart, port: /dev/ttyUSB0}",
    "rfid.serial_uid": "{driver: serial_uid, port: /dev/ttyACM0, format: hex}",
    "display.sim": "{driver: sim}",
    "display.hd44780_i2c": "{driver: hd44780_i2c, bus: 1, address: 0x27, columns: 16, rows: 2}",
    "input.gpio": "{driver: gpio, name: emergency_stop, pin: 22, fault: true}",
    "iso15118.can_bridge": "{driver: can_bridge, channel: vcan0, interface: virtual}",
    "iso15118.serial_bridge": "{driver: serial_bridge, port: /dev/ttymxc2}",
}
INTERFACES: dict[str, Any] = {
    "meter": EnergyMeter,
    "contactor": Contactor,
    "lock": ConnectorLock,
    "pilot": Pilot,
    "rfid": RfidReader,
    "display": Display,
    "input": DigitalInput,
    "iso15118": Iso15118Bridge,
}
#: The required devices, simulated, around the one device under test.
SIM_BASE = "meter: {driver: sim}\ncontactor: {driver: sim}\npilot: {driver: sim}\n"


def registered() -> set[str]:
    return {f"{kind}.{name}" for kind in KINDS for name in available(kind)}


def build(board_yaml: str) -> BuiltBoard:
    boards = parse_board(yaml.safe_load(board_yaml), [1])
    return build_drivers(boards, pin_factory=MockFactory())


def test_every_registered_driver_has_an_example_section_here() -> None:
    """A driver added to pyproject without a section here would escape the build test below."""
    assert registered() - set(SECTIONS) == set()


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_every_registered_driver_builds_from_its_board_section(name: str) -> None:
    kind, driver = name.split(".")
    if kind == "input":
        board_yaml = f"{SIM_BASE}inputs: [{SECTIONS[name]}]\n"
    else:
        base = "".join(line + "\n" for line in SIM_BASE.splitlines() if not line.startswith(f"{kind}:"))
        board_yaml = f"{base}{kind}: {SECTIONS[name]}\n"

    built = build(board_yaml)

    evse = built.evses[1]
    device = {
        "meter": evse.meter,
        "contactor": evse.contactor,
        "pilot": evse.pilot,
        "lock": evse.lock,
        "rfid": evse.rfid,
        "display": evse.display,
        "iso15118": evse.iso15118,
    }.get(kind) or next(iter(built.extra))
    assert type(device) is load_driver(kind, driver)
    assert isinstance(device, INTERFACES[kind])


def test_a_mixed_board_builds_and_its_sim_devices_share_one_sim_board() -> None:
    """The technician's bring-up board: a real meter, everything else simulated (issue: `evse run` crashed
    with "SimContactor.__init__() got an unexpected keyword argument 'evse_id'")."""
    built = build(
        f"meter: {SECTIONS['meter.modbus']}\ncontactor: {{driver: sim}}\npilot: {{driver: sim}}\n"
        "lock: {driver: sim}\nrfid: {driver: sim}\n"
    )

    evse = built.evses[1]
    assert type(evse.meter) is load_driver("meter", "modbus")
    sim = built.sim_board
    assert sim is not None
    sim.plug(1)
    sim.set_ev_state(1, "C")
    assert evse.pilot.state is PilotState.C  # the hook reached the pilot the station drives
    assert sim.snapshot(1)["real_devices"] == {"meter": "modbus"}


def test_a_board_without_sim_devices_has_no_sim_board() -> None:
    built = build(
        f"meter: {SECTIONS['meter.modbus']}\ncontactor: {SECTIONS['contactor.gpio']}\n"
        f"pilot: {SECTIONS['pilot.safety_mcu']}\n"
    )
    assert built.sim_board is None


def test_sim_hooks_refuse_in_one_line_a_device_that_is_real_or_absent_on_the_board() -> None:
    built = build(
        f"meter: {{driver: sim}}\ncontactor: {{driver: sim}}\npilot: {SECTIONS['pilot.safety_mcu']}\n"
        "rfid: {driver: sim}\n"
    )
    sim = built.sim_board
    assert sim is not None
    with pytest.raises(DriverError) as info:
        sim.plug(1)
    assert str(info.value) == "sim board: `sim plug`: the pilot of EVSE 1 is real on this board (driver safety_mcu)"
    with pytest.raises(DriverError, match=r"`sim fault rcd_trip`: the pilot of EVSE 1 is real"):
        sim.raise_fault(1, "rcd_trip")  # the safety MCU behind a real pilot watches the RCD
    with pytest.raises(DriverError, match=r"^sim board: `sim fault lock_failure`: EVSE 1 has no lock on this board$"):
        sim.raise_fault(1, "lock_failure")
    assert sim.snapshot(1)["faults"] == []

    sim.swipe(1, "aabbccdd")  # the simulated devices still answer
    sim.set_power(1, 7_000)
    sim.raise_fault(1, "emergency_stop")  # belongs to no device of the board
    assert sim.snapshot(1)["faults"] == ["emergency_stop"]
    assert sim.snapshot(1)["real_devices"] == {"pilot": "safety_mcu"}


def test_a_sim_driver_built_alone_by_the_registry_convention_gets_a_board_of_its_own() -> None:
    contactor = load_driver("contactor", "sim")(evse_id=3)
    assert isinstance(contactor, Contactor)
    assert not contactor.is_closed

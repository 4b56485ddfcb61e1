"""The board section of the technician's YAML: which driver serves which device of which EVSE.

    board: sim                      # the simulated board (default)
    board:                          # real hardware, per EVSE
      evses:
        1:
          meter:     {driver: modbus, model: eastron_sdm630, port: /dev/ttyAMA0, address: 1}
          contactor: {driver: gpio, pin: 17, feedback_pin: 27}
          lock:      {driver: gpio_motor_lock, lock_pin: 5, unlock_pin: 6, feedback_pin: 13}   # optional
          pilot:     {driver: safety_mcu, port: /dev/ttyS1}
          rfid:      {driver: pn532_i2c, bus: 1, address: 0x24}                               # optional
          iso15118:  {driver: can_bridge, channel: can0}                                       # optional
          inputs:    [{driver: gpio, name: rcd_trip, pin: 22, fault: true}]                    # optional

For a single-EVSE station the devices may sit directly under `board:` (they belong to EVSE 1).
Driver names resolve through the `evse.drivers` entry points as `<kind>.<driver>`; each driver's own
Params model validates its keys, so `evse check-config` catches a wrong driver name, a missing or
impossible parameter, in one line, without opening any device.

A board may mix real and simulated drivers (`meter: {driver: modbus, ...}` with `contactor: {driver: sim}`,
as while bringing up one device at a time): the sim devices then share one SimBoard, which `evse sim`
drives; its hooks refuse, in one line, to act on a device that is real on this board.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import DriverError
from drivers.interfaces import (
    ConnectorLock,
    Contactor,
    Display,
    Driver,
    EnergyMeter,
    EvseDrivers,
    Iso15118Bridge,
    Pilot,
    RfidReader,
)
from drivers.registry import load_driver, validate_params
from drivers.sim.board import SIM_DRIVER, SimBoard

DEVICE_KINDS = ("meter", "contactor", "pilot", "lock", "rfid", "display", "iso15118")
REQUIRED = ("meter", "contactor", "pilot")
GPIO_DRIVERS = {("contactor", "gpio"), ("lock", "gpio_motor_lock"), ("input", "gpio")}


@dataclass(frozen=True)
class DeviceSpec:
    kind: str
    driver: str
    params: dict[str, Any]


@dataclass(frozen=True)
class EvseBoard:
    evse_id: int
    devices: dict[str, DeviceSpec]
    inputs: list[DeviceSpec] = field(default_factory=list)


def parse_board(raw: Mapping[Any, Any], evse_ids: list[int]) -> list[EvseBoard]:
    """Check the board mapping; raises ValueError('<key path>: problem') for the config loader."""
    if "evses" in raw:
        extra = set(raw) - {"evses"}
        if extra:
            raise ValueError(f"{sorted(extra)[0]}: devices go under evses.<id> when evses is given")
        per_evse = raw["evses"]
        if not isinstance(per_evse, Mapping):
            raise ValueError("evses: expected a mapping of EVSE id to devices")
    else:
        if len(evse_ids) != 1:
            raise ValueError("evses: a station with several EVSEs lists its devices under board.evses.<id>")
        per_evse = {evse_ids[0]: raw}
    boards = []
    for key, section in per_evse.items():
        try:
            evse_id = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"evses.{key}: not an EVSE id") from None
        if evse_id not in evse_ids:
            raise ValueError(f"evses.{evse_id}: no such EVSE in the evses section")
        boards.append(_parse_evse(evse_id, section, "evses." + str(evse_id) if "evses" in raw else ""))
    missing = sorted(set(evse_ids) - {b.evse_id for b in boards})
    if missing:
        raise ValueError(f"evses.{missing[0]}: no devices given for this EVSE")
    return boards


def _parse_evse(evse_id: int, section: Any, prefix: str) -> EvseBoard:
    where = (prefix + ".") if prefix else ""
    if not isinstance(section, Mapping):
        raise ValueError(f"{prefix or 'board'}: expected a mapping of devices")
    unknown = set(section) - set(DEVICE_KINDS) - {"inputs"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValueError(f"{where}{name}: unknown device (devices: {', '.join(DEVICE_KINDS)}, inputs)")
    for kind in REQUIRED:
        if kind not in section:
            raise ValueError(f"{where}{kind}: required for every EVSE")
    devices = {kind: _spec(kind, section[kind], f"{where}{kind}") for kind in DEVICE_KINDS if kind in section}
    inputs_raw = section.get("inputs", [])
    if not isinstance(inputs_raw, list):
        raise ValueError(f"{where}inputs: expected a list")
    inputs = [_spec("input", item, f"{where}inputs[{i}]") for i, item in enumerate(inputs_raw)]
    return EvseBoard(evse_id, devices, inputs)


def _spec(kind: str, raw: Any, where: str) -> DeviceSpec:
    if not isinstance(raw, Mapping) or "driver" not in raw:
        raise ValueError(f"{where}: expected a mapping with a driver key")
    params = {k: v for k, v in raw.items() if k != "driver"}
    driver = str(raw["driver"])
    try:
        validate_params(kind, driver, params)
    except DriverError as exc:
        raise ValueError(f"{where}: {exc.problem}") from None
    return DeviceSpec(kind, driver, params)


@dataclass
class BuiltBoard:
    """The constructed drivers: the per-EVSE set the core drives, and everything the daemon runs."""

    evses: dict[int, EvseDrivers]
    extra: list[Driver]  # digital inputs: they only report events
    sim_board: SimBoard | None = None  # the board the sim devices share, when there are any


def board_devices(boards: list[EvseBoard]) -> dict[int, dict[str, str]]:
    """Per EVSE, each device kind on the board and its driver name (what a SimBoard of a mixed board needs)."""
    return {b.evse_id: {kind: spec.driver for kind, spec in b.devices.items()} for b in boards}


def uses_sim(boards: list[EvseBoard]) -> bool:
    """True when some device of the board is simulated."""
    return any(spec.driver == SIM_DRIVER for b in boards for spec in [*b.devices.values(), *b.inputs])


def build_drivers(boards: list[EvseBoard], *, pin_factory: Any = None, sim_board: SimBoard | None = None) -> BuiltBoard:
    """Construct every driver (no I/O happens here, by the drivers' contract).

    The sim devices of a mixed board share ``sim_board`` (the daemon passes one with its clock and register
    file, built with :func:`board_devices`); without one, a board with sim devices gets a plain SimBoard.
    """
    evses: dict[int, EvseDrivers] = {}
    extra: list[Driver] = []
    if sim_board is None and uses_sim(boards):
        sim_board = SimBoard([b.evse_id for b in boards], devices=board_devices(boards))
    context = _Context(pin_factory, sim_board)
    for board in boards:
        made = {kind: _make(spec, board.evse_id, context) for kind, spec in board.devices.items()}
        evses[board.evse_id] = EvseDrivers(
            board.evse_id,
            meter=_as(made["meter"], EnergyMeter),
            contactor=_as(made["contactor"], Contactor),
            pilot=_as(made["pilot"], Pilot),
            lock=_as(made["lock"], ConnectorLock) if "lock" in made else None,
            rfid=_as(made["rfid"], RfidReader) if "rfid" in made else None,
            display=_as(made["display"], Display) if "display" in made else None,
            iso15118=_as(made["iso15118"], Iso15118Bridge) if "iso15118" in made else None,
        )
        extra.extend(_as(_make(spec, board.evse_id, context), Driver) for spec in board.inputs)
    return BuiltBoard(evses, extra, sim_board)


@dataclass(frozen=True)
class _Context:
    """What some drivers share beyond their own keys: the GPIO pin factory, the simulated board."""

    pin_factory: Any
    sim_board: SimBoard | None


def _make(spec: DeviceSpec, evse_id: int, context: _Context) -> object:
    params = validate_params(spec.kind, spec.driver, spec.params).model_dump()
    if (spec.kind, spec.driver) in GPIO_DRIVERS and context.pin_factory is not None:
        params["pin_factory"] = context.pin_factory
    if spec.driver == SIM_DRIVER:
        params["sim_board"] = context.sim_board
    return load_driver(spec.kind, spec.driver)(evse_id=evse_id, **params)


def _as(driver: object, protocol: Any) -> Any:
    if not isinstance(driver, protocol):
        raise DriverError("board", f"{type(driver).__name__} does not implement {protocol.__name__}")
    return driver

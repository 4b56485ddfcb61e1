"""The functional core stays pure: nothing in evse/station/core may import what does I/O (ARCHITECTURE:
"names tell core from shell")."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "evse" / "station" / "core"
# Modules that touch the outside world, and our own modules that do.
FORBIDDEN = (
    "asyncio",
    "sqlite3",
    "socket",
    "subprocess",
    "threading",
    "time",
    "uuid",
    "random",
    "os",
    "logging",
    "evse.storage",
    "evse.station.shell",
    "evse.ocpp.rpc",
    "evse.ocpp.outbox",
    "evse.ocpp.connection",
    "evse.clock",
    "serial",
    "can",
    "pymodbus",
    "gpiozero",
    "smbus2",
)
ALLOWED_DRIVERS = ("drivers.interfaces",)  # data types (PilotState, MeterReading), no driver code


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_station_core_imports_nothing_that_does_io() -> None:
    modules = sorted(CORE.glob("*.py"))
    assert len(modules) >= 8  # the state machine, authorization, reservations, meter values, ...
    offenders = []
    for path in modules:
        for name in imports_of(path):
            bad = any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
            driver = name.startswith("drivers") and name not in ALLOWED_DRIVERS
            if bad or driver:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []

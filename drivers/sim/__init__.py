"""The simulated board used by ``board: sim``, the demo and the tests."""

from drivers.sim.board import KNOWN_FAULTS, SimBoard, SimSnapshot
from drivers.sim.contactor import SimContactor
from drivers.sim.lock import SimLock
from drivers.sim.meter import SimMeter
from drivers.sim.pilot import SimPilot
from drivers.sim.rfid import SimRfidReader

__all__ = [
    "KNOWN_FAULTS",
    "SimBoard",
    "SimContactor",
    "SimLock",
    "SimMeter",
    "SimPilot",
    "SimRfidReader",
    "SimSnapshot",
]

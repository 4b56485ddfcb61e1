"""The register map a local energy manager (EMS) reads and writes over Modbus TCP: docs/ems-modbus.md, v1.

Pure: addresses, scaling and the checks of a written value, no I/O (the server is evse.smartcharging.ems_server).
One block of holding registers, all of them also readable as input registers (function 4) because some
energy managers only read those: the station block at 0, EVSE n's block at 100 * n. Every value is an
unsigned 16-bit register or two of them (32-bit, high word first, written in one request).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

#: Bumped when an address or a meaning changes (never for an added register); an EMS checks it first.
MAP_VERSION: Final = 1
EVSE_BLOCK: Final = 100
#: How many registers each block has (the rest of the 100 is reserved and answers "illegal address").
STATION_REGISTERS: Final = 10
EVSE_REGISTERS: Final = 11
NO_LIMIT_16: Final = 0xFFFF
NO_LIMIT_32: Final = 0xFFFF_FFFF
#: Highest current an EMS may write, 0.1 A (1000 A): anything above is a wrong scale, not a limit.
MAX_DECIAMPS: Final = 10_000


class Station(IntEnum):
    """Offsets of the station block (unit: what docs/ems-modbus.md says)."""

    MAP_VERSION = 0  # read only
    EVSE_COUNT = 1  # read only
    CURRENT_LIMIT = 2  # 0.1 A per phase, the whole station; 0xFFFF: no limit
    POWER_LIMIT = 3  # W, 32 bit (3 high, 4 low), the whole station; 0xFFFFFFFF: no limit
    FAILSAFE_CURRENT = 5  # 0.1 A per EVSE, in force once the EMS is silent for COMM_TIMEOUT
    COMM_TIMEOUT = 6  # s; 0: the failsafe never applies
    STATUS_FLAGS = 7  # read only: bit 0 failsafe in force, bit 1 grid operator's limit in force
    SECONDS_SINCE_WRITE = 8  # read only, saturates at 0xFFFF
    RESERVED = 9


class Evse(IntEnum):
    """Offsets of an EVSE block, at 100 * evse id."""

    CONNECTOR_STATUS = 0  # read only: ConnectorStatus (see CONNECTOR_STATUS)
    PILOT_STATE = 1  # read only: IEC 61851-1 state A..F as 1..6, 0 unknown
    CHARGING_STATE = 2  # read only: OCPP ChargingState (see CHARGING_STATE)
    OFFERED_CURRENT = 3  # read only: 0.1 A the pilot offers now, 0 none
    ACTIVE_POWER = 4  # read only: W, 32 bit
    ENERGY = 6  # read only: Wh imported, 32 bit (the meter's register)
    CURRENT_LIMIT = 8  # 0.1 A per phase for this EVSE; 0xFFFF: no limit
    POWER_LIMIT = 9  # W, 32 bit; 0xFFFFFFFF: no limit


STATUS_FAILSAFE: Final = 1 << 0
STATUS_GRID_LIMIT: Final = 1 << 1

CONNECTOR_STATUS: Final = {"Available": 0, "Occupied": 1, "Reserved": 2, "Unavailable": 3, "Faulted": 4}
CHARGING_STATE: Final = {"Idle": 0, "EVConnected": 1, "Charging": 2, "SuspendedEV": 3, "SuspendedEVSE": 4}
PILOT_STATE: Final = {letter: number for number, letter in enumerate("ABCDEF", start=1)}

#: Registers an EMS may write (station offsets, then EVSE offsets); a write elsewhere is "illegal address".
WRITABLE_STATION: Final = frozenset(
    {
        Station.CURRENT_LIMIT,
        Station.POWER_LIMIT,
        Station.POWER_LIMIT + 1,
        Station.FAILSAFE_CURRENT,
        Station.COMM_TIMEOUT,
    }
)
WRITABLE_EVSE: Final = frozenset({Evse.CURRENT_LIMIT, Evse.POWER_LIMIT, Evse.POWER_LIMIT + 1})
#: The first register of each 32-bit value: a write must cover both halves, or the value would be torn.
WIDE_STATION: Final = frozenset({Station.POWER_LIMIT})
WIDE_EVSE: Final = frozenset({Evse.ACTIVE_POWER, Evse.ENERGY, Evse.POWER_LIMIT})


class RegisterError(ValueError):
    """A write the map refuses; ``code`` is the Modbus exception to answer (2 illegal address, 3 value)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


ILLEGAL_ADDRESS: Final = 2
ILLEGAL_VALUE: Final = 3


@dataclass(frozen=True)
class Limit:
    """One written limit: amperes per phase and/or watts; None where the EMS wrote "no limit"."""

    amps: float | None = None
    watts: float | None = None

    @property
    def is_empty(self) -> bool:
        return self.amps is None and self.watts is None


def locate(address: int, evse_ids: tuple[int, ...]) -> tuple[int, int]:
    """(evse id, offset) of a register: 0 for the station block. Raises RegisterError outside the map."""
    evse_id, offset = divmod(address, EVSE_BLOCK)
    if evse_id == 0 and offset < STATION_REGISTERS:
        return 0, offset
    if evse_id in evse_ids and offset < EVSE_REGISTERS:
        return evse_id, offset
    raise RegisterError(ILLEGAL_ADDRESS, f"register {address} is not in map v{MAP_VERSION}")


def check_write(address: int, count: int, evse_ids: tuple[int, ...]) -> None:
    """Refuse a write that touches a read-only register or half of a 32-bit value."""
    touched = [locate(a, evse_ids) for a in range(address, address + count)]
    for evse_id, offset in touched:
        writable = WRITABLE_EVSE if evse_id else WRITABLE_STATION
        if offset not in writable:
            raise RegisterError(ILLEGAL_ADDRESS, f"register {evse_id * EVSE_BLOCK + offset} is read only")
    for evse_id, offset in touched:
        wide = WIDE_EVSE if evse_id else WIDE_STATION
        first = offset if offset in wide else offset - 1 if offset - 1 in wide else None
        if first is not None and not ({(evse_id, first), (evse_id, first + 1)} <= set(touched)):
            start = evse_id * EVSE_BLOCK + first
            raise RegisterError(ILLEGAL_ADDRESS, f"registers {start}-{start + 1} hold one 32-bit value: write both")


def current_limit(raw: int) -> float | None:
    """A written current limit register as amperes (None: no limit)."""
    if raw == NO_LIMIT_16:
        return None
    if raw > MAX_DECIAMPS:
        raise RegisterError(ILLEGAL_VALUE, f"current {raw} x 0.1 A is above {MAX_DECIAMPS // 10} A")
    return raw / 10


def power_limit(high: int, low: int) -> float | None:
    """A written 32-bit power limit as watts (None: no limit)."""
    raw = join32(high, low)
    return None if raw == NO_LIMIT_32 else float(raw)


def failsafe_current(raw: int, max_a: float) -> float:
    """The failsafe current register as amperes: 0 (no charging while the EMS is silent) up to `max_a`."""
    if raw > round(max_a * 10):
        raise RegisterError(ILLEGAL_VALUE, f"failsafe current {raw} x 0.1 A is above the EVSEs' {max_a:g} A")
    return raw / 10


def deciamps(amps: float | None) -> int:
    """Amperes as a current register (None: the "no limit" value)."""
    return NO_LIMIT_16 if amps is None else min(MAX_DECIAMPS, max(0, round(amps * 10)))


def watts32(watts: float | None) -> tuple[int, int]:
    """Watts as two registers (None: the "no limit" value); negative power (feeding back) reads as 0."""
    raw = NO_LIMIT_32 if watts is None else min(NO_LIMIT_32 - 1, max(0, round(watts)))
    return split32(raw)


def split32(value: int) -> tuple[int, int]:
    return (value >> 16) & 0xFFFF, value & 0xFFFF


def join32(high: int, low: int) -> int:
    return (high << 16) | low


def saturate16(value: float) -> int:
    return min(0xFFFF, max(0, round(value)))


@dataclass(frozen=True)
class EvseReading:
    """What the EVSE block shows of one EVSE (from the station's snapshot and its pilot offer)."""

    connector_status: str
    pilot_state: str
    charging_state: str
    offered_a: float | None
    power_w: float
    energy_wh: float


@dataclass(frozen=True)
class StationReading:
    """What the station block shows besides the EMS's own limit."""

    evse_count: int
    failsafe_a: float
    timeout_s: int
    failsafe_active: bool
    grid_limit_active: bool
    seconds_since_write: float


def station_values(reading: StationReading, limit: Limit) -> list[int]:
    """The station block's registers, in order."""
    flags = (STATUS_FAILSAFE if reading.failsafe_active else 0) | (
        STATUS_GRID_LIMIT if reading.grid_limit_active else 0
    )
    return [
        MAP_VERSION,
        reading.evse_count,
        deciamps(limit.amps),
        *watts32(limit.watts),
        deciamps(reading.failsafe_a),
        saturate16(reading.timeout_s),
        flags,
        saturate16(reading.seconds_since_write),
        0,
    ]


def evse_values(reading: EvseReading, limit: Limit) -> list[int]:
    """An EVSE block's registers, in order."""
    return [
        CONNECTOR_STATUS.get(reading.connector_status, CONNECTOR_STATUS["Unavailable"]),
        PILOT_STATE.get(reading.pilot_state, 0),
        CHARGING_STATE.get(reading.charging_state, 0),
        0 if reading.offered_a is None else deciamps(reading.offered_a),
        *watts32(reading.power_w),
        *split32(min(NO_LIMIT_32 - 1, max(0, round(reading.energy_wh)))),
        deciamps(limit.amps),
        *watts32(limit.watts),
    ]

"""Meter register maps as data: the schema of ``config/meters/<model>.yaml`` and its loader.

A new meter is a new YAML file transcribed from the maker's register table, not new code. Each
entry says which :class:`~drivers.interfaces.MeterReading` field a register feeds, where it is
(function code 3 = holding, 4 = input; 0-based protocol address as on the wire), how it is stored
(data type, word order) and what one count is worth (``scale`` in ``unit``, as the maker's table
writes it: ABB's energy is 0.01 kWh, Carlo Gavazzi's current 0.001 A). The loader converts that to
the reading's unit and checks the whole map, so a typo fails at ``evse check-config`` with one line
naming the file and the key, never as a wrong kWh figure on an invoice.

``defaults`` spares repeating the function, type and word order on every register of a meter that
uses one format throughout.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from drivers.errors import DriverError
from drivers.meter.registers import DataType, WordOrder, word_count

#: Where the shipped maps live: ``config/meters`` of the repository (or of the installed tree).
MAPS_DIR: Final = Path(__file__).resolve().parents[2] / "config" / "meters"

MAX_REGISTERS_PER_REQUEST: Final = 125  # Modbus application protocol limit for FC 03/04


class MeterField(StrEnum):
    """The MeterReading field a register feeds."""

    ENERGY_IMPORT_WH = "energy_import_wh"
    ENERGY_EXPORT_WH = "energy_export_wh"
    POWER_W = "power_w"
    VOLTAGE_V = "voltage_v"
    CURRENT_A = "current_a"
    FREQUENCY_HZ = "frequency_hz"


PER_PHASE: Final = frozenset({MeterField.VOLTAGE_V, MeterField.CURRENT_A})

# The units a maker's table may use for each field, and what one of them is in the reading's unit.
UNITS: Final[dict[MeterField, dict[str, float]]] = {
    MeterField.ENERGY_IMPORT_WH: {"Wh": 1.0, "kWh": 1000.0},
    MeterField.ENERGY_EXPORT_WH: {"Wh": 1.0, "kWh": 1000.0},
    MeterField.POWER_W: {"W": 1.0, "kW": 1000.0},
    MeterField.VOLTAGE_V: {"V": 1.0},
    MeterField.CURRENT_A: {"A": 1.0, "mA": 0.001},
    MeterField.FREQUENCY_HZ: {"Hz": 1.0},
}


class RegisterSpec(BaseModel):
    """One value of the meter: where it is, how it is stored, what it feeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: MeterField
    phase: int | None = Field(default=None, ge=1, le=3, description="1..3 for per-phase fields")
    function: Literal[3, 4]
    address: int = Field(ge=0, le=0xFFFF)
    type: DataType
    word_order: WordOrder = WordOrder.BIG
    scale: float = 1.0
    unit: str

    @field_validator("scale")
    @classmethod
    def _scale_is_usable(cls, value: float) -> float:
        if not math.isfinite(value) or value == 0:
            raise ValueError("must be a finite, non-zero number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RegisterSpec:
        units = UNITS[self.feeds]
        if self.unit not in units:
            raise ValueError(f"unit {self.unit!r} cannot feed {self.feeds}; use one of {', '.join(units)}")
        if (self.feeds in PER_PHASE) != (self.phase is not None):
            need = "needs 'phase: 1..3'" if self.feeds in PER_PHASE else "takes no 'phase'"
            raise ValueError(f"{self.feeds} {need}")
        if self.address + self.words > 0x10000:
            raise ValueError(f"address {self.address:#06x} + {self.words} registers runs past 0xFFFF")
        return self

    @property
    def words(self) -> int:
        """Registers occupied."""
        return word_count(self.type)

    @property
    def end(self) -> int:
        """First address after this value."""
        return self.address + self.words

    @property
    def factor(self) -> float:
        """One raw count in the reading's unit (Wh, W, V, A, Hz)."""
        return self.scale * UNITS[self.feeds][self.unit]

    @property
    def label(self) -> str:
        """``voltage_v[L2]`` style name for error details."""
        return f"{self.feeds}[L{self.phase}]" if self.phase is not None else str(self.feeds)


class RegisterMap(BaseModel):
    """A meter model's register map (the contents of one ``config/meters/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manufacturer: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1, description="the maker's document the map was transcribed from")
    max_registers_per_request: int = Field(default=MAX_REGISTERS_PER_REQUEST, ge=1, le=MAX_REGISTERS_PER_REQUEST)
    max_gap_registers: int = Field(
        default=10, ge=0, le=MAX_REGISTERS_PER_REQUEST - 2, description="unused registers read to save a request"
    )
    not_available_markers: bool = Field(
        default=False, description="the type's largest value means 'not available' (ABB convention)"
    )
    registers: tuple[RegisterSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> RegisterMap:
        seen: set[tuple[MeterField, int | None]] = set()
        for reg in self.registers:
            key = (reg.feeds, reg.phase)
            if key in seen:
                raise ValueError(f"{reg.label} is fed twice")
            seen.add(key)
            if reg.words > self.max_registers_per_request:
                raise ValueError(f"{reg.label} needs {reg.words} registers, more than max_registers_per_request")
        for needed in (MeterField.ENERGY_IMPORT_WH, MeterField.POWER_W):
            if (needed, None) not in seen:
                raise ValueError(f"no register feeds {needed}")
        for field in PER_PHASE:
            phases = sorted(p for f, p in seen if f is field and p is not None)
            if phases != list(range(1, len(phases) + 1)):
                raise ValueError(f"{field} phases must be 1, 1-2 or 1-3, got {phases}")
        by_start = sorted(self.registers, key=lambda r: (r.function, r.address))
        for a, b in itertools.pairwise(by_start):
            if a.function == b.function and b.address < a.end:
                raise ValueError(f"{a.label} and {b.label} overlap at FC{a.function} {b.address:#06x}")
        return self

    def phase_count(self, field: MeterField) -> int:
        """How many phases the map reads for a per-phase field (0 when it reads none)."""
        return sum(1 for r in self.registers if r.feeds is field)


def available_maps(maps_dir: Path = MAPS_DIR) -> list[str]:
    """Model names of the shipped maps (file stems), sorted."""
    return sorted(p.stem for p in maps_dir.glob("*.yaml"))


def _key_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def _apply_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(data)
    defaults = merged.pop("defaults", None) or {}
    if not isinstance(defaults, Mapping):
        raise ValueError("defaults: must be a mapping of register keys")
    registers = merged.get("registers")
    if isinstance(registers, list):
        merged["registers"] = [{**defaults, **r} if isinstance(r, Mapping) else r for r in registers]
    return merged


def parse_register_map(data: object, origin: str) -> RegisterMap:
    """Validate already-parsed YAML; ``origin`` names the file in the one-line DriverError."""
    if not isinstance(data, Mapping):
        raise DriverError(origin, "a register map must be a YAML mapping")
    try:
        return RegisterMap.model_validate(_apply_defaults(data))
    except ValueError as exc:
        if not isinstance(exc, ValidationError):
            raise DriverError(origin, str(exc)) from None
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise DriverError(origin, f"{_key_path(first['loc'])}: {message}{more}") from None


def map_path(model: str, maps_dir: Path = MAPS_DIR) -> Path:
    """The file of shipped map ``model``; DriverError listing the known models when there is none."""
    path = maps_dir / f"{model}.yaml"
    if "/" in model or "\\" in model or not path.is_file():
        known = ", ".join(available_maps(maps_dir)) or "(none)"
        raise DriverError("meter map", f"unknown meter model {model!r}; available: {known}")
    return path


def load_register_map(path: Path) -> RegisterMap:
    """Read and validate a map file (a shipped one or a manufacturer's own ``map_file``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DriverError(str(path), f"cannot read register map: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise DriverError(str(path), f"{where}{problem}") from None
    return parse_register_map(data, str(path))

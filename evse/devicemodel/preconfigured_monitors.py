"""The firmware's preconfigured monitors (config/preconfigured_monitors.yaml), instantiated per EVSE.

Each entry's id is PRECONFIGURED_ID_BASE + 1000 * its position + the EVSE id (0 for station-wide
components), so ids stay the same across reboots and a CSMS's change to one stays attached to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evse.devicemodel.definitions import ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.monitoring import MAX_SEVERITY, PRECONFIGURED_ID_BASE, Monitor, MonitorKind, MonitorType
from evse.errors import DeviceModelError

# Next to the device-model definitions directory (config/device_model/): config/preconfigured_monitors.yaml.
FILENAME = "preconfigured_monitors.yaml"


def preconfigured_file(definitions_dir: Path) -> Path:
    return definitions_dir.parent / FILENAME


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    component: str
    scope: Literal["station", "evse"] = "station"
    variable: str
    variable_instance: str | None = None
    type: MonitorType
    value: float
    severity: int = Field(ge=0, le=MAX_SEVERITY)
    transaction: bool = False
    factory_default: bool = True


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monitors: list[_Entry] = Field(default_factory=list)


def load_preconfigured(path: Path, model: DeviceModel, evse_ids: list[int]) -> list[tuple[Monitor, bool]]:
    """(monitor, factory_default) for every entry and EVSE; a missing file means none. A bad file, or an
    entry naming a variable the device model lacks, raises DeviceModelError naming it."""
    if not path.exists():
        return []
    try:
        parsed = _File.model_validate(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DeviceModelError(f"{path}: {exc}") from exc
    monitors: list[tuple[Monitor, bool]] = []
    for position, entry in enumerate(parsed.monitors):
        for evse_id in evse_ids if entry.scope == "evse" else [None]:
            found = model.find(
                ComponentKey(entry.component, None, evse_id), VariableKey(entry.variable, entry.variable_instance)
            )
            if not isinstance(found, VariableDef):
                raise DeviceModelError(f"{path}: monitor {position + 1}: {entry.component}.{entry.variable}: {found}")
            monitor = Monitor(
                id=PRECONFIGURED_ID_BASE + 1000 * position + (evse_id or 0),
                component=found.component,
                variable=found.variable,
                type=entry.type,
                value=entry.value,
                severity=entry.severity,
                transaction=entry.transaction,
                kind=MonitorKind.PRECONFIGURED,
            )
            monitors.append((monitor, entry.factory_default))
    return monitors

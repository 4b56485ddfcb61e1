"""The OCPP 1.6 configuration keys as a view on the device model: the table in
config/ocpp16/configuration_keys.yaml, parsed and checked.

Data, not code (docs/ocpp16-design.md 4.4): the 1.6 GetConfiguration / ChangeConfiguration handlers will
look keys up here and read or write the 2.0.1 variable behind each, so a value set under one version holds
under the other. Nothing here touches the device model itself.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from evse.errors import ConfigError

TABLE = Path(__file__).resolve().parents[3] / "config" / "ocpp16" / "configuration_keys.yaml"
KEY_MAX_LENGTH = 50  # GetConfiguration.conf configurationKey.key maxLength


class Access(StrEnum):
    """1.6 accessibility: R keys are Rejected by ChangeConfiguration, W keys never shown with a value."""

    R = "R"
    RW = "RW"
    W = "W"


class Source(StrEnum):
    """Where a key's value comes from."""

    VARIABLE = "variable"  # the Actual value of component.variable[instance]
    MAX_LIMIT = "max_limit"  # that variable's maxLimit characteristic
    VALUES_COUNT = "values_count"  # how many values that list variable's valuesList offers
    DERIVED = "derived"  # computed by the adapter
    ABSENT = "absent"  # the variable is still to be added to the device model


class KeyMapping(BaseModel):
    """One 1.6 configuration key and the device-model variable behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    access: Access
    source: Source
    component: str | None = None
    variable: str | None = None
    instance: str | None = None
    convert: str | None = None
    # A RW key whose 2.0.1 variable is ReadOnly (SecurityProfile) is written through this path instead.
    written_by: str | None = None

    @model_validator(mode="after")
    def _target_fits_source(self) -> KeyMapping:
        if len(self.key) > KEY_MAX_LENGTH:
            raise ValueError(f"{self.key}: longer than {KEY_MAX_LENGTH} characters")
        has_target = self.component is not None and self.variable is not None
        if (self.source is Source.DERIVED) == has_target:
            raise ValueError(f"{self.key}: a {self.source} key {'has no' if has_target else 'needs a'} variable")
        return self


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyMapping]


def load_key_table(path: Path = TABLE) -> dict[str, KeyMapping]:
    """Key name -> mapping; ConfigError naming the file and the problem when the table is malformed."""
    try:
        table = _Table.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"{path}: {where}: {error['msg']}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    mappings: dict[str, KeyMapping] = {}
    for mapping in table.keys:
        if mapping.key in mappings:
            raise ConfigError(f"{path}: {mapping.key} listed twice")
        mappings[mapping.key] = mapping
    return mappings

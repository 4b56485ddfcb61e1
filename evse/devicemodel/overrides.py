"""Technician overrides of device-model values (the `device_model:` mapping of the station YAML).

One key names one attribute value, or one limit of a variable::

    Component[address].Variable[instance]:Attribute

- `[address]` lists the component's address, comma-separated, in this order: its instance name (only if
  the component has one), its EVSE id (only for per-EVSE and per-connector components), its connector id
  (only for per-connector components). Omit the brackets when there is nothing to list.
- `[instance]` is the variable instance, omitted when the variable has none.
- `:Attribute` is Actual (the default, may be omitted), Target, MinSet or MaxSet - or `minLimit` /
  `maxLimit` to set that characteristic of the variable (hardware facts such as the most power an EVSE
  can deliver, which OCPP reports as EVSE.Power's maxLimit).

Examples::

    device_model:
      OCPPCommCtrlr.HeartbeatInterval: 300
      OCPPCommCtrlr.MessageTimeout[Default]: 30
      DeviceDataCtrlr.ItemsPerMessage[GetReport]: 50
      EVSE[1].Power:maxLimit: 11000
      EVSE[1].Power:MaxSet: 11000
      Connector[1,1].ConnectorType: cType2
      TxCtrlr.TxStartPoint: [EVConnected, Authorized]     # lists become "EVConnected,Authorized"

Names match case-insensitively, as OCPP names do. Values are YAML scalars (or lists for list types) and
are validated exactly like a SetVariables value; unlike the CSMS, the technician may set ReadOnly
variables, because they are the ones who know the hardware. Limits are applied before values, and every
value of a variable whose limits changed is checked again, defaults included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from evse.devicemodel.definitions import (
    AttributeAddress,
    AttributeType,
    ComponentKey,
    Mutability,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.limits import configuration_value_limit
from evse.devicemodel.validation import check_value_size, to_wire, validate_value
from evse.errors import ConfigError

if TYPE_CHECKING:
    from evse.devicemodel.model import DeviceModel

_KEY = re.compile(
    r"(?P<component>[^.\[\]:\s]+)(?:\[(?P<address>[^\]]*)\])?"
    r"\.(?P<variable>[^.\[\]:\s]+)(?:\[(?P<instance>[^\]]+)\])?"
    r"(?::(?P<attribute>[A-Za-z]+))?"
)
_LIMITS = {"minlimit": "min_limit", "maxlimit": "max_limit"}

SYNTAX = "Component[address].Variable[instance]:Attribute"


@dataclass(frozen=True)
class OverrideKey:
    """A parsed override key; names are as written, matching is case-insensitive.

    Exactly one of `attribute` (a value override) and `limit` ("min_limit"/"max_limit") is set.
    """

    component: str
    address: tuple[str, ...]
    variable: str
    variable_instance: str | None
    attribute: AttributeType | None
    limit: str | None = None


@dataclass(frozen=True)
class Override:
    """One override entry and where it came from (`where` starts every error message about it)."""

    where: str
    key: str
    value: object


@dataclass
class OverridePlan:
    """What the overrides change: definitions with new limits, and attribute values."""

    definitions: dict[tuple[ComponentKey, VariableKey], VariableDef] = field(default_factory=dict)
    values: dict[AttributeAddress, str] = field(default_factory=dict)


def parse_override_key(key: str) -> OverrideKey | None:
    """The parts of an override key, or None if it does not follow the syntax."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    suffix = (match["attribute"] or AttributeType.ACTUAL.value).lower()
    attribute = next((a for a in AttributeType if a.value.lower() == suffix), None)
    limit = _LIMITS.get(suffix)
    if attribute is None and limit is None:
        return None
    address = match["address"]
    parts = tuple(part.strip() for part in address.split(",")) if address else ()
    return OverrideKey(match["component"], parts, match["variable"], match["instance"], attribute, limit)


def component_address(component: ComponentKey) -> tuple[str, ...]:
    """The `[address]` a component is written with in an override key, lower-cased for matching."""
    parts = [component.instance.lower()] if component.instance is not None else []
    parts += [str(n) for n in (component.evse_id, component.connector_id) if n is not None]
    return tuple(parts)


def _resolve(model: DeviceModel, entry: Override) -> tuple[OverrideKey, VariableDef]:
    parsed = parse_override_key(entry.key)
    if parsed is None:
        raise ConfigError(f"{entry.where}: not a device-model key, expected {SYNTAX}")
    candidates = [c for c in model.components() if c.name.lower() == parsed.component.lower()]
    if not candidates:
        raise ConfigError(f"{entry.where}: unknown component {parsed.component!r}")
    address = tuple(part.lower() for part in parsed.address)
    component = next((c for c in candidates if component_address(c) == address), None)
    if component is None:
        known = ", ".join(str(c) for c in candidates)
        raise ConfigError(f"{entry.where}: no {parsed.component} with that address; known: {known}")
    variable = VariableKey(parsed.variable, parsed.variable_instance)
    found = model.find(component, variable)
    if not isinstance(found, VariableDef):
        raise ConfigError(f"{entry.where}: {component} has no variable {str(variable)!r}")
    return parsed, found


def _number(entry: Override) -> float:
    value = entry.value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{entry.where}: {value!r} is not a number")
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{entry.where}: {value!r} is not a number") from None


def plan_overrides(model: DeviceModel, entries: Sequence[Override]) -> OverridePlan:
    """Resolve and validate every override against `model`; ConfigError (one line) on the first bad one.

    Later entries for the same target win, so explicit YAML keys listed after derived facts prevail.
    """
    plan = OverridePlan()
    resolved = [(entry, *_resolve(model, entry)) for entry in entries]
    limit_origin: dict[tuple[ComponentKey, VariableKey], Override] = {}
    for entry, parsed, found in resolved:
        if parsed.limit is not None:
            current = plan.definitions.get(found.key, found)
            number = _number(entry)
            characteristics = (
                replace(current.characteristics, min_limit=number)
                if parsed.limit == "min_limit"
                else replace(current.characteristics, max_limit=number)
            )
            plan.definitions[found.key] = replace(current, characteristics=characteristics)
            limit_origin[found.key] = entry
    for entry, parsed, found in resolved:
        if parsed.attribute is None:
            continue
        definition = plan.definitions.get(found.key, found)
        attribute = definition.attribute(parsed.attribute)
        if attribute is None:
            raise ConfigError(f"{entry.where}: {definition} has no {parsed.attribute} attribute")
        if entry.value is None:
            raise ConfigError(f"{entry.where}: needs a value")
        value = to_wire(entry.value)
        secret = attribute.mutability is Mutability.WRITE_ONLY
        problem = check_value_size(value, configuration_value_limit(model), secret=secret) or validate_value(
            value, definition.characteristics, secret=secret
        )
        if problem is not None:
            raise ConfigError(f"{entry.where}: {problem}")
        plan.values[AttributeAddress(definition.component, definition.variable, parsed.attribute)] = value
    for key, definition in plan.definitions.items():
        for attribute in definition.attributes:
            address = AttributeAddress(definition.component, definition.variable, attribute.type)
            current_value = plan.values.get(address, model.current(address))
            problem = (
                None
                if current_value is None
                else validate_value(current_value, definition.characteristics, secret=True)
            )
            if problem is not None:
                raise ConfigError(
                    f"{limit_origin[key].where}: the {attribute.type} value does not fit the new limit"
                    f" ({problem}); override {definition}:{attribute.type} too"
                )
    return plan

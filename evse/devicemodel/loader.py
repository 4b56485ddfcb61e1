"""Reading the device-model definition files (config/device_model/*.yaml) into VariableDefs.

File format (one file per component group; all keys are validated, unknown keys are errors)::

    components:
      - name: OCPPCommCtrlr          # OCPP component name
        instance: null               # optional component instance
        scope: station               # station (default) | evse | connector
        variables:
          - name: MessageTimeout
            instance: Default        # optional variable instance
            required: true           # listed as required in OCPP 2.0.1 Part 2 Appendices
            data_type: integer       # an OCPP DataEnumType value
            unit: s
            min_limit: 1             # number bounds; for strings and lists: length bounds
            max_limit: 3600
            values_list: [A, B]      # required for OptionList / MemberList / SequenceList
            supports_monitoring: false
            reboot_required: false   # a CSMS change only takes effect after a reboot
            actual: {mutability: ReadOnly, persistent: true, constant: false, default: 30}
            # target / min_set / max_set: same shape, for the other attribute types

`scope: evse` components are templates instantiated once per EVSE of the layout given at load time,
`scope: connector` once per connector of each EVSE. Every default is checked against the variable's own
characteristics here, so a bad data file stops the daemon at start-up with one line naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from evse.devicemodel.definitions import (
    LIST_TYPES,
    AttributeDef,
    AttributeType,
    Characteristics,
    ComponentKey,
    DataType,
    Mutability,
    Scope,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.validation import to_wire, validate_value
from evse.errors import DeviceModelError

Layout = Sequence[tuple[int, Sequence[int]]]
"""The station's EVSEs and their connectors: [(evse_id, [connector_id, ...]), ...]."""

_Scalar = StrictBool | StrictInt | StrictFloat | StrictStr | list[StrictStr | StrictInt]
_VALUES_LIST_MAX = 1000  # VariableCharacteristicsType.valuesList maxLength in the OCPP schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _AttributeSpec(_Strict):
    mutability: Mutability
    persistent: bool = False
    constant: bool = False
    default: _Scalar | None = None


class _VariableSpec(_Strict):
    name: str = Field(min_length=1, max_length=50)
    instance: str | None = Field(default=None, min_length=1, max_length=50)
    description: str | None = None
    required: bool = False
    data_type: DataType
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: list[str] = Field(default_factory=list)
    supports_monitoring: bool = False
    reboot_required: bool = False
    actual: _AttributeSpec | None = None
    target: _AttributeSpec | None = None
    min_set: _AttributeSpec | None = None
    max_set: _AttributeSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _VariableSpec:
        if not self.attribute_specs():
            raise ValueError("needs at least one of actual, target, min_set, max_set")
        if self.data_type in LIST_TYPES and not self.values_list:
            raise ValueError(f"values_list is required for a {self.data_type}")
        if self.data_type not in LIST_TYPES and self.values_list:
            raise ValueError(f"values_list is only for list types, not {self.data_type}")
        if any(not item or "," in item for item in self.values_list):
            raise ValueError("values_list items must be non-empty and contain no comma")
        if len(set(self.values_list)) != len(self.values_list):
            raise ValueError("values_list has duplicate items")
        if len(",".join(self.values_list)) > _VALUES_LIST_MAX:
            raise ValueError(f"values_list is longer than {_VALUES_LIST_MAX} characters")
        if self.min_limit is not None and self.max_limit is not None and self.min_limit > self.max_limit:
            raise ValueError("min_limit is above max_limit")
        return self

    def attribute_specs(self) -> list[tuple[AttributeType, _AttributeSpec]]:
        pairs = (
            (AttributeType.ACTUAL, self.actual),
            (AttributeType.TARGET, self.target),
            (AttributeType.MIN_SET, self.min_set),
            (AttributeType.MAX_SET, self.max_set),
        )
        return [(kind, spec) for kind, spec in pairs if spec is not None]


class _ComponentSpec(_Strict):
    name: str = Field(min_length=1, max_length=50)
    instance: str | None = Field(default=None, min_length=1, max_length=50)
    scope: Scope = Scope.STATION
    description: str | None = None
    variables: list[_VariableSpec] = Field(min_length=1)


class _DefinitionFile(_Strict):
    components: list[_ComponentSpec] = Field(min_length=1)


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into 'Component.Variable' using the names in the raw data."""
    names: list[str] = []
    node = raw
    for step in loc:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(step, int) and isinstance(node, dict) and isinstance(node.get("name"), str):
            instance = node.get("instance")
            names.append(f"{node['name']}[{instance}]" if isinstance(instance, str) else node["name"])
    fields = [str(step) for step in loc if isinstance(step, str) and step not in ("components", "variables")]
    where = ".".join(names) or "file"
    return f"{where}: {'.'.join(fields)}" if fields else where


# The same safe loader in C (libyaml) when PyYAML has it: every start parses all definition files, and
# the pure-Python loader spent 50 ms of the start-up on them.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_file(path: Path) -> _DefinitionFile:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        detail = str(exc).replace("\n", " ")
        raise DeviceModelError(f"{path}: cannot read definition file: {detail}") from exc
    try:
        return _DefinitionFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise DeviceModelError(f"{path}: {_where(raw, tuple(first['loc']))}: {message}") from exc


def _characteristics(spec: _VariableSpec) -> Characteristics:
    return Characteristics(
        data_type=spec.data_type,
        unit=spec.unit,
        min_limit=spec.min_limit,
        max_limit=spec.max_limit,
        values_list=tuple(spec.values_list),
        supports_monitoring=spec.supports_monitoring,
    )


def _attributes(path: Path, name: str, spec: _VariableSpec) -> tuple[AttributeDef, ...]:
    characteristics = _characteristics(spec)
    attributes = []
    for kind, attribute in spec.attribute_specs():
        default = None if attribute.default is None else to_wire(attribute.default)
        if default is not None:
            problem = validate_value(default, characteristics, secret=attribute.mutability is Mutability.WRITE_ONLY)
            if problem is not None:
                raise DeviceModelError(f"{path}: {name}: {kind} default: {problem}")
        attributes.append(
            AttributeDef(
                type=kind,
                mutability=attribute.mutability,
                persistent=attribute.persistent,
                constant=attribute.constant,
                default=default,
            )
        )
    return tuple(attributes)


def _check_layout(layout: Layout) -> None:
    evse_ids = [evse_id for evse_id, _ in layout]
    if len(set(evse_ids)) != len(evse_ids) or any(evse_id < 1 for evse_id in evse_ids):
        raise DeviceModelError(f"layout: EVSE ids must be unique and > 0, got {evse_ids}")
    for evse_id, connector_ids in layout:
        ids = list(connector_ids)
        if not ids or len(set(ids)) != len(ids) or any(connector_id < 1 for connector_id in ids):
            raise DeviceModelError(f"layout: EVSE {evse_id} needs unique connector ids > 0, got {ids}")


def _instances(spec: _ComponentSpec, layout: Layout) -> list[ComponentKey]:
    if spec.scope is Scope.STATION:
        return [ComponentKey(spec.name, spec.instance)]
    if spec.scope is Scope.EVSE:
        return [ComponentKey(spec.name, spec.instance, evse_id) for evse_id, _ in layout]
    return [
        ComponentKey(spec.name, spec.instance, evse_id, connector_id)
        for evse_id, connector_ids in layout
        for connector_id in connector_ids
    ]


def load_definitions(directory: Path, layout: Layout) -> list[VariableDef]:
    """Every variable of every component defined in `directory`, instantiated for `layout`.

    Files are read in name order and variables keep their file order, which is also the order reports
    list them in. Raises DeviceModelError (one line: file, component/variable, problem) on a bad file.
    """
    _check_layout(layout)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise DeviceModelError(f"{directory}: no device-model definition files (*.yaml)")
    seen_components: dict[tuple[str, str | None], Path] = {}
    definitions: list[VariableDef] = []
    for path in paths:
        for component in _parse_file(path).components:
            identity = (component.name.lower(), component.instance.lower() if component.instance else None)
            label = f"{component.name}[{component.instance}]" if component.instance else component.name
            if identity in seen_components:
                raise DeviceModelError(f"{path}: {label}: already defined in {seen_components[identity]}")
            seen_components[identity] = path
            seen_variables: set[tuple[str, str | None]] = set()
            templates: list[VariableDef] = []
            for variable in component.variables:
                variable_key = VariableKey(variable.name, variable.instance)
                name = f"{label}.{variable_key}"
                var_identity = (variable.name.lower(), variable.instance.lower() if variable.instance else None)
                if var_identity in seen_variables:
                    raise DeviceModelError(f"{path}: {name}: defined twice")
                seen_variables.add(var_identity)
                templates.append(
                    VariableDef(
                        component=ComponentKey(component.name, component.instance),
                        variable=variable_key,
                        characteristics=_characteristics(variable),
                        attributes=_attributes(path, name, variable),
                        required=variable.required,
                        reboot_required=variable.reboot_required,
                        source=path.name,
                    )
                )
            definitions.extend(
                replace(template, component=key) for key in _instances(component, layout) for template in templates
            )
    return definitions

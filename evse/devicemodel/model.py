"""The station's device model: every configuration and state value, addressed the OCPP way.

`DeviceModel` holds the current value of every attribute of every variable and is the one place the
rest of the code reads configuration from (typed accessors such as `get_int`). Values come from three
layers, later ones winning: the definition default, the technician's override from the YAML
(`device_model:` mapping, key syntax in evse.devicemodel.overrides), and the value the CSMS set, which
is persisted (evse.devicemodel.store) and so survives reboots.

The class does no networking and its only I/O is the store it is given; OCPP requests arrive as the
small values of evse.devicemodel.operations. Reports are built by evse.devicemodel.reports.

Technician override keys (full syntax in evse.devicemodel.overrides)::

    OCPPCommCtrlr.HeartbeatInterval: 300            # Component.Variable
    OCPPCommCtrlr.MessageTimeout[Default]: 30       # Variable[instance]
    EVSE[1].Power:MaxSet: 11000                     # Component[evse id], :Attribute
    Connector[1,2].ConnectorType: cCCS2             # Component[evse id,connector id]

Names (component, variable, instances) match case-insensitively, as OCPP specifies; the definitions'
spelling is what gets reported. The model belongs to the event loop: it is not thread-safe.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from evse.devicemodel import limits
from evse.devicemodel.definitions import (
    AttributeAddress,
    AttributeDef,
    AttributeType,
    ComponentKey,
    Mutability,
    VariableDef,
    VariableKey,
)
from evse.devicemodel.loader import Layout, load_definitions
from evse.devicemodel.operations import (
    GetVariableData,
    GetVariableResult,
    GetVariableStatus,
    MessageLimits,
    SetVariableData,
    SetVariableResult,
)
from evse.devicemodel.overrides import Override, plan_overrides
from evse.devicemodel.provisioning import SetVariablesPlan, get_variables, plan_set_variables
from evse.devicemodel.station_facts import StationSettings, station_facts
from evse.devicemodel.store import DeviceModelStore, StoredValue, ValueSource
from evse.devicemodel.validation import (
    Rejection,
    parse_boolean,
    parse_decimal,
    parse_integer,
    split_list,
    to_wire,
    truncate_for_report,
    validate_value,
)
from evse.errors import DeviceModelError

log = logging.getLogger(__name__)

_T = TypeVar("_T")

_ComponentIndex = tuple[str, str | None, int | None, int | None]
_VariableIndex = tuple[str, str | None]


@dataclass(frozen=True)
class VariableChange:
    """What on_change subscribers are told after a value changed."""

    address: AttributeAddress
    old_value: str | None
    new_value: str
    source: ValueSource


def _parsed(found: tuple[str, str], parse: Callable[[str], _T | None], what: str) -> _T:
    """A required value (value, label) through its parser; DeviceModelError naming it when it does not parse."""
    value, label = found
    parsed = parse(value)
    if parsed is None:
        raise DeviceModelError(f"{label}: {value!r} is not {what}")
    return parsed


def _lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None


def _component_index(key: ComponentKey) -> _ComponentIndex:
    return (key.name.lower(), _lower(key.instance), key.evse_id, key.connector_id)


#: A station-state check of a value the CSMS sets: None when acceptable, else why not.
Guard = Callable[[str], Rejection | None]


class DeviceModel:
    """Current values of all device-model variables, with OCPP Get/Set semantics and typed accessors."""

    def __init__(
        self,
        definitions: Iterable[VariableDef],
        *,
        store: DeviceModelStore | None = None,
        overrides: Mapping[str, object] | None = None,
        override_origin: str | None = None,
        facts: Sequence[Override] = (),
    ) -> None:
        """Build the model: defaults, then `facts` and `overrides` (technician), then values in `store`.

        A bad override raises ConfigError with one line, prefixed with `override_origin` (the YAML file)
        when given. Persisted values that no longer fit their definition are skipped with a warning.
        """
        self._store = store
        self._definitions: dict[tuple[ComponentKey, VariableKey], VariableDef] = {}
        self._components: dict[_ComponentIndex, ComponentKey] = {}
        self._variables: dict[ComponentKey, dict[_VariableIndex, VariableKey]] = {}
        self._values: dict[AttributeAddress, str | None] = {}
        self._sources: dict[AttributeAddress, ValueSource] = {}
        self._live: dict[AttributeAddress, Callable[[], str]] = {}
        self._pending_reboot: dict[AttributeAddress, str] = {}
        self._listeners: list[Callable[[VariableChange], None]] = []
        self._guards: dict[tuple[ComponentKey, VariableKey], Guard] = {}
        for definition in definitions:
            if definition.key in self._definitions:
                raise DeviceModelError(f"{definition.source}: {definition}: defined twice")
            self._definitions[definition.key] = definition
            self._components.setdefault(_component_index(definition.component), definition.component)
            variables = self._variables.setdefault(definition.component, {})
            variables[(definition.variable.name.lower(), _lower(definition.variable.instance))] = definition.variable
            for attribute in definition.attributes:
                address = AttributeAddress(definition.component, definition.variable, attribute.type)
                self._values[address] = attribute.default
                self._sources[address] = ValueSource.DEFAULT
        prefix = f"{override_origin}: " if override_origin else ""
        entries = [replace(fact, where=f"{prefix}{fact.where}") for fact in facts]
        entries += [Override(f"{prefix}device_model.{key}", key, value) for key, value in (overrides or {}).items()]
        self._apply_overrides(entries)
        if store is not None:
            self._apply_stored(store.load())

    @classmethod
    def open(
        cls,
        definitions_dir: Path,
        layout: Layout,
        conn: sqlite3.Connection | None,
        *,
        overrides: Mapping[str, object] | None = None,
        identity: StationSettings | None = None,
        override_origin: str | None = None,
    ) -> DeviceModel:
        """The daemon's way in: definitions for `layout`, the facts implied by the station settings
        (`identity`), the YAML `device_model:` overrides, then values persisted in `conn` - a connection
        from evse.storage.open_database, or None to check a configuration without any state."""
        return cls(
            load_definitions(definitions_dir, layout),
            store=DeviceModelStore(conn) if conn is not None else None,
            overrides=overrides,
            override_origin=override_origin,
            facts=station_facts(identity) if identity is not None else (),
        )

    # ---- lookup -----------------------------------------------------------------------------------
    def definitions(self) -> list[VariableDef]:
        """All variable definitions, in definition-file order."""
        return list(self._definitions.values())

    def components(self) -> list[ComponentKey]:
        """All concrete components (templates already instantiated), in definition order."""
        return list(self._variables)

    def find(self, component: ComponentKey, variable: VariableKey) -> VariableDef | GetVariableStatus:
        """The definition an OCPP (component, variable) pair names, or UnknownComponent/UnknownVariable."""
        canonical = self._components.get(_component_index(component))
        if canonical is None:
            return GetVariableStatus.UNKNOWN_COMPONENT
        variable_key = self._variables[canonical].get((variable.name.lower(), _lower(variable.instance)))
        if variable_key is None:
            return GetVariableStatus.UNKNOWN_VARIABLE
        return self._definitions[(canonical, variable_key)]

    def _address(
        self,
        component: str,
        variable: str,
        variable_instance: str | None,
        component_instance: str | None,
        evse_id: int | None,
        connector_id: int | None,
        attribute: AttributeType,
    ) -> tuple[AttributeAddress, VariableDef, AttributeDef]:
        wanted = ComponentKey(component, component_instance, evse_id, connector_id)
        found = self.find(wanted, VariableKey(variable, variable_instance))
        if not isinstance(found, VariableDef):
            raise DeviceModelError(f"{wanted}.{VariableKey(variable, variable_instance)}: {found}")
        attribute_def = found.attribute(attribute)
        if attribute_def is None:
            raise DeviceModelError(f"{found}: has no {attribute} attribute")
        return AttributeAddress(found.component, found.variable, attribute), found, attribute_def

    # ---- typed accessors for station code ---------------------------------------------------------
    def get_value(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
    ) -> str | None:
        """The current wire value, None if the variable has none. Unknown names raise DeviceModelError."""
        address, _, _ = self._address(
            component, variable, variable_instance, component_instance, evse_id, connector_id, attribute
        )
        return self.current(address)

    def _required(
        self,
        component: str,
        variable: str,
        variable_instance: str | None,
        component_instance: str | None,
        evse_id: int | None,
        connector_id: int | None,
    ) -> tuple[str, str]:
        value = self.get_value(
            component,
            variable,
            variable_instance=variable_instance,
            component_instance=component_instance,
            evse_id=evse_id,
            connector_id=connector_id,
        )
        label = f"{component}.{variable}"
        if value is None:
            raise DeviceModelError(f"{label} has no value")
        return value, label

    def get_str(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> str:
        """The Actual value as a string; raises DeviceModelError if unknown or unset."""
        return self._required(component, variable, variable_instance, component_instance, evse_id, connector_id)[0]

    def get_int(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> int:
        """The Actual value as an int, e.g. get_int("OCPPCommCtrlr", "HeartbeatInterval")."""
        value = self._required(component, variable, variable_instance, component_instance, evse_id, connector_id)
        return _parsed(value, parse_integer, "an integer")

    def get_decimal(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> Decimal:
        """The Actual value as a Decimal (exact, unlike float, which matters for energy and money)."""
        value = self._required(component, variable, variable_instance, component_instance, evse_id, connector_id)
        return _parsed(value, parse_decimal, "a decimal number")

    def get_bool(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> bool:
        """The Actual value as a bool."""
        value = self._required(component, variable, variable_instance, component_instance, evse_id, connector_id)
        return _parsed(value, parse_boolean, "a boolean")

    def get_list(
        self,
        component: str,
        variable: str,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
    ) -> list[str]:
        """The members of an OptionList/MemberList/SequenceList Actual value, in order."""
        value, _ = self._required(component, variable, variable_instance, component_instance, evse_id, connector_id)
        return split_list(value)

    def current(self, address: AttributeAddress) -> str | None:
        """The current value at a canonical address, live providers included; WriteOnly values too."""
        provider = self._live.get(address)
        return provider() if provider is not None else self._values.get(address)

    def source(self, address: AttributeAddress) -> ValueSource | None:
        """Who wrote the value currently held at `address` (live values count as the station)."""
        return ValueSource.STATION if address in self._live else self._sources.get(address)

    @property
    def pending_reboot(self) -> dict[AttributeAddress, str]:
        """Values accepted with RebootRequired: stored, but in effect only after the next start."""
        return dict(self._pending_reboot)

    def basic_auth_password(self) -> str | None:
        """SecurityCtrlr.BasicAuthPassword for the connection (WriteOnly: for station code, never OCPP)."""
        found = self.find(ComponentKey("SecurityCtrlr"), VariableKey("BasicAuthPassword"))
        if not isinstance(found, VariableDef):
            return None
        return self.current(AttributeAddress(found.component, found.variable)) or None

    # ---- station-side updates and subscriptions -----------------------------------------------------
    def set_station_value(
        self,
        component: str,
        variable: str,
        value: object,
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
    ) -> None:
        """Record a value the station itself determined (AvailabilityState, Entries, ...).

        ReadOnly is no obstacle: mutability restricts the CSMS, not the station. The value is validated
        (a failure is a programming error: DeviceModelError) and persisted if the attribute is persistent.
        """
        address, definition, attribute_def = self._address(
            component, variable, variable_instance, component_instance, evse_id, connector_id, attribute
        )
        text = to_wire(value)
        secret = attribute_def.mutability is Mutability.WRITE_ONLY
        problem = validate_value(text, definition.characteristics, secret=secret)
        if problem is not None:
            raise DeviceModelError(f"{address}: {problem}")
        if self._values.get(address) == text:
            return
        if attribute_def.persistent and self._store is not None:
            self._store.save([StoredValue(address, text, ValueSource.STATION)])
        self._set(address, text, ValueSource.STATION)

    def register_live_value(
        self,
        component: str,
        variable: str,
        provider: Callable[[], str],
        *,
        variable_instance: str | None = None,
        component_instance: str | None = None,
        evse_id: int | None = None,
        connector_id: int | None = None,
        attribute: AttributeType = AttributeType.ACTUAL,
    ) -> None:
        """Have reads of a variable call `provider` (e.g. ClockCtrlr.DateTime from the clock).

        For values that change continuously, where storing every change would be pointless.
        """
        address, _, _ = self._address(
            component, variable, variable_instance, component_instance, evse_id, connector_id, attribute
        )
        self._live[address] = provider

    def add_guard(self, component: str, variable: str, guard: Guard) -> None:
        """Have a CSMS SetVariables of this variable also judged by `guard` (after type and limits):
        for rules that depend on station state, such as A05's checks of NetworkConfigurationPriority."""
        found = self.find(ComponentKey(component), VariableKey(variable))
        if not isinstance(found, VariableDef):
            raise DeviceModelError(f"{component}.{variable}: no such variable to guard")
        self._guards[found.key] = guard

    def guard(self, definition: VariableDef) -> Guard | None:
        """The station-state check registered for `definition`, if any."""
        return self._guards.get(definition.key)

    def on_change(self, callback: Callable[[VariableChange], None]) -> Callable[[], None]:
        """Call `callback` after every value change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _set(self, address: AttributeAddress, value: str, source: ValueSource) -> None:
        old = self._values.get(address)
        self._values[address] = value
        self._sources[address] = source
        if old == value:
            return
        change = VariableChange(address, old, value, source)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                # One broken subscriber must not undo a change already made and persisted, nor
                # keep the others from hearing about it.
                log.exception("on_change subscriber failed address=%s", address)

    # ---- limits and reporting (DeviceDataCtrlr) -----------------------------------------------------
    def message_limits(self, message: str) -> MessageLimits:
        """ItemsPerMessage/BytesPerMessage for "GetReport", "GetVariables" or "SetVariables"."""
        return limits.message_limits(self, message)

    def reported_value(self, address: AttributeAddress, attribute: AttributeDef) -> str | None:
        """The value as it may leave the station: None if WriteOnly, truncated to the reporting size."""
        if not attribute.readable:
            return None
        value = self.current(address)
        return truncate_for_report(value if value is not None else "", limits.reporting_value_limit(self))

    # ---- OCPP operations --------------------------------------------------------------------------
    def get_variables(self, requests: Sequence[GetVariableData]) -> list[GetVariableResult]:
        """Answer a GetVariablesRequest item by item (B06); see evse.devicemodel.provisioning."""
        return get_variables(self, requests)

    def plan_set_variables(self, requests: Sequence[SetVariableData]) -> SetVariablesPlan:
        """Judge a SetVariablesRequest without changing anything; see evse.devicemodel.provisioning."""
        return plan_set_variables(self, requests)

    def set_variables(self, requests: Sequence[SetVariableData]) -> list[SetVariableResult]:
        """Answer a SetVariablesRequest (B05): judge, persist, then apply. Blocks on the store."""
        plan = self.plan_set_variables(requests)
        self.persist(plan)
        self.apply(plan)
        return plan.results

    def persist(self, plan: SetVariablesPlan) -> None:
        """Store the plan's persistent values in one transaction (blocking; may raise StorageError)."""
        if self._store is not None:
            self._store.save(plan.writes)

    def apply(self, plan: SetVariablesPlan) -> None:
        """Make the plan's accepted values current and tell subscribers (after persist succeeded)."""
        for address, value in plan.deferred:
            self._pending_reboot[address] = value
        for address, value in plan.applies:
            self._set(address, value, ValueSource.CSMS)

    # ---- construction helpers -----------------------------------------------------------------------
    def _apply_overrides(self, entries: Sequence[Override]) -> None:
        plan = plan_overrides(self, entries)
        self._definitions.update(plan.definitions)
        for address, value in plan.values.items():
            self._values[address] = value
            self._sources[address] = ValueSource.TECHNICIAN

    def _apply_stored(self, stored: Iterable[StoredValue]) -> None:
        for item in stored:
            found = self.find(item.address.component, item.address.variable)
            attribute = found.attribute(item.address.attribute) if isinstance(found, VariableDef) else None
            if not isinstance(found, VariableDef) or attribute is None:
                log.warning("ignoring stored value of undefined variable address=%s", item.address)
                continue
            problem = validate_value(item.value, found.characteristics, secret=True)
            if problem is not None:
                log.warning("ignoring stored value address=%s: %s", item.address, problem)
                continue
            address = AttributeAddress(found.component, found.variable, item.address.attribute)
            self._values[address] = item.value
            self._sources[address] = item.source

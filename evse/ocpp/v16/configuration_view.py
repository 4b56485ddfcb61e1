"""The OCPP 1.6 configuration keys read from and written to the device model (docs/ocpp16-design.md 4.4).

The key table (config/ocpp16/configuration_keys.yaml) says which variable stands behind each key; this
module turns a variable's value into the key's 1.6 text and a 1.6 value into device-model writes. Writes go
through the device model's own SetVariables judgement (`DeviceModel.plan_set_variables`: mutability,
ConfigurationValueSize, type and limits, guards, RebootRequired), so a value 2.0.1 would refuse is refused
under 1.6 too, and a value set under one version is the value the other reads.

No message classes and no I/O beyond the device model's store: the handlers in
evse/ocpp/v16/handlers/configuration.py translate to and from GetConfiguration / ChangeConfiguration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from evse.devicemodel.definitions import AttributeAddress, AttributeType, ComponentKey, VariableDef, VariableKey
from evse.devicemodel.model import DeviceModel
from evse.devicemodel.operations import SetVariableData, SetVariableStatus
from evse.devicemodel.validation import parse_boolean, parse_integer, split_list, validate_value
from evse.ocpp.v16.configuration_keys import Access, KeyMapping, Source, load_key_table

VALUE_MAX_LENGTH = 500  # KeyValue.value and ChangeConfiguration.req value are CiString500 in 1.6

# Keys whose value is not the variable's text as it stands; test_v16_configuration checks this set
# against the table's `convert` column so data and code cannot drift apart.
PER_CONNECTOR = "ConnectorPhaseRotation"
RATE_UNIT = "ChargingScheduleAllowedChargingRateUnit"
SAMPLED_DATA = "MeterValuesSampledData"
NUMBER_OF_CONNECTORS = "NumberOfConnectors"
FEATURE_PROFILES = "SupportedFeatureProfiles"
SECURITY_PROFILE = "SecurityProfile"
# Plug & Charge whitepaper keys: one value for the station, a variable of each EVSE's ISO15118Ctrlr in 2.0.1.
PER_EVSE = frozenset({"ISO15118PnCEnabled", "CentralContractValidationAllowed", "ContractValidationOffline"})
CONVERTED = (
    frozenset({PER_CONNECTOR, RATE_UNIT, SAMPLED_DATA, NUMBER_OF_CONNECTORS, FEATURE_PROFILES, SECURITY_PROFILE})
    | PER_EVSE
)

# The feature profiles of 1.6 edition 2, 3.3, as SupportedFeatureProfiles spells them.
FEATURE_PROFILE_NAMES = frozenset(
    {"Core", "FirmwareManagement", "LocalAuthListManagement", "Reservation", "SmartCharging", "RemoteTrigger"}
)

# 2.0.1 SmartChargingCtrlr.RateUnit members -> the 1.6 ChargingRateUnitType names the key lists.
_RATE_UNITS = {"A": "Current", "W": "Power"}
# 1.6 9.1.7 ConnectorPhaseRotation: what a connector without a known rotation shows.
_NOT_APPLICABLE, _UNKNOWN = "NotApplicable", "Unknown"


class ChangeStatus(StrEnum):
    """OCPP 1.6 ConfigurationStatus."""

    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"


@dataclass(frozen=True)
class ConfigurationValue:
    """One entry of GetConfiguration.conf configurationKey; `value` None for write-only keys."""

    key: str
    readonly: bool
    value: str | None


@dataclass(frozen=True)
class ConfigurationChange:
    """A ChangeConfiguration the station accepted (status Accepted or RebootRequired).

    `value` is what the CSMS sent; for AuthorizationKey it is a password: never log it.
    """

    key: str
    value: str
    status: ChangeStatus


@dataclass(frozen=True)
class ChangeOutcome:
    """The answer to one ChangeConfiguration, with why (for the log) and the change when one was made."""

    status: ChangeStatus
    reason: str = ""
    change: ConfigurationChange | None = None


class ConfigurationView:
    """The 1.6 configuration keys of one station: its key table over its device model.

    `profiles` are the 1.6 feature profiles the station serves (SupportedFeatureProfiles). A key is one the
    station "has" when its variable exists and the variable's component is not marked unavailable
    (`<Component>.Available` false, e.g. no authorization cache: no AuthorizationCacheEnabled).
    """

    def __init__(self, dm: DeviceModel, profiles: Sequence[str], table: dict[str, KeyMapping] | None = None) -> None:
        unknown = [profile for profile in profiles if profile not in FEATURE_PROFILE_NAMES]
        if unknown or "Core" not in profiles:
            # A typo here would go out in SupportedFeatureProfiles and mislead every CSMS (TC_019_CS).
            raise ValueError(f"feature profiles {list(profiles)}: Core is required, {unknown} are not 1.6 profiles")
        self._dm = dm
        self._profiles = tuple(profiles)
        mappings = table if table is not None else load_key_table()
        self._keys = {key.lower(): mapping for key, mapping in mappings.items() if self._present(mapping)}

    # ---- lookup -----------------------------------------------------------------------------------
    def lookup(self, key: str) -> KeyMapping | None:
        """The key's mapping if the station has the key; names match case-insensitively."""
        return self._keys.get(key.lower())

    def keys(self) -> list[KeyMapping]:
        """Every key the station has, in table order."""
        return list(self._keys.values())

    def max_keys(self) -> int | None:
        """GetConfigurationMaxKeys, None when the station sets no limit."""
        mapping = self.lookup("GetConfigurationMaxKeys")
        value = self.read(mapping).value if mapping is not None else None
        return parse_integer(value) if value else None

    def connectors(self) -> list[ComponentKey]:
        """The Connector components in 1.6 connectorId order (1, 2, ...): by EVSE, then connector."""
        found = [c for c in self._dm.components() if c.name == "Connector" and c.evse_id and c.connector_id]
        return sorted(found, key=lambda c: (c.evse_id or 0, c.connector_id or 0))

    def _evse_components(self, mapping: KeyMapping) -> list[ComponentKey]:
        """The EVSEs' instances of a PER_EVSE key's component, in EVSE order."""
        found = [c for c in self._dm.components() if c.name == mapping.component and c.evse_id and not c.connector_id]
        return sorted(found, key=lambda c: c.evse_id or 0)

    def _definition(self, mapping: KeyMapping, component: ComponentKey | None = None) -> VariableDef | None:
        assert mapping.component is not None and mapping.variable is not None
        found = self._dm.find(
            component or ComponentKey(mapping.component), VariableKey(mapping.variable, mapping.instance)
        )
        return found if isinstance(found, VariableDef) else None

    def _present(self, mapping: KeyMapping) -> bool:
        if mapping.source is Source.DERIVED:
            return True
        if mapping.source is Source.ABSENT:
            return False
        if mapping.key == PER_CONNECTOR:
            return any(self._definition(mapping, c) is not None for c in self.connectors())
        if mapping.key in PER_EVSE:
            return any(self._definition(mapping, c) is not None for c in self._evse_components(mapping))
        definition = self._definition(mapping)
        if definition is None or not self._component_available(definition.component):
            return False
        if mapping.source is Source.MAX_LIMIT:
            return definition.characteristics.max_limit is not None
        if mapping.source is Source.VALUES_COUNT:
            return bool(definition.characteristics.values_list)
        return True

    def _component_available(self, component: ComponentKey) -> bool:
        found = self._dm.find(component, VariableKey("Available"))
        if not isinstance(found, VariableDef):
            return True
        value = self._dm.current(AttributeAddress(found.component, found.variable))
        return parse_boolean(value or "") is not False

    # ---- GetConfiguration -------------------------------------------------------------------------
    def read(self, mapping: KeyMapping) -> ConfigurationValue:
        """The key as GetConfiguration.conf shows it, value in 1.6 text form, at most 500 characters."""
        value = None if mapping.access is Access.W else self._value(mapping)
        if value is not None and len(value) > VALUE_MAX_LENGTH:
            value = value[:VALUE_MAX_LENGTH]
        return ConfigurationValue(mapping.key, mapping.access is Access.R, value)

    def read_all(self) -> list[ConfigurationValue]:
        """Every key the station has (GetConfiguration.req without keys)."""
        return [self.read(mapping) for mapping in self.keys()]

    def _value(self, mapping: KeyMapping) -> str | None:
        if mapping.key == NUMBER_OF_CONNECTORS:
            return str(len(self.connectors()))
        if mapping.key == FEATURE_PROFILES:
            return ",".join(self._profiles)
        if mapping.key == PER_CONNECTOR:
            return self._phase_rotations(mapping)
        if mapping.key in PER_EVSE:
            # Set through 1.6, every EVSE has the same value; should a 2.0.1 SetVariables have made them
            # differ, the first EVSE's is shown (1.6 has one value for the charge point).
            for component in self._evse_components(mapping):
                found = self._definition(mapping, component)
                if found is not None:
                    return self._reported(found)
            return None
        definition = self._definition(mapping)
        if definition is None:
            return None
        characteristics = definition.characteristics
        if mapping.source is Source.MAX_LIMIT:
            assert characteristics.max_limit is not None
            limit = characteristics.max_limit
            return str(int(limit)) if float(limit).is_integer() else str(limit)
        if mapping.source is Source.VALUES_COUNT:
            return str(len(characteristics.values_list))
        value = self._reported(definition)
        if mapping.key == RATE_UNIT and value is not None:
            return ",".join(_RATE_UNITS.get(unit, unit) for unit in split_list(value))
        return value

    def _reported(self, definition: VariableDef) -> str | None:
        # The same read as 2.0.1 GetVariables: WriteOnly gives None, ReportingValueSize truncates.
        attribute = definition.attribute(AttributeType.ACTUAL)
        if attribute is None:
            return None
        return self._dm.reported_value(AttributeAddress(definition.component, definition.variable), attribute)

    def _phase_rotations(self, mapping: KeyMapping) -> str:
        entries = []
        for number, connector in enumerate(self.connectors(), start=1):
            definition = self._definition(mapping, connector)
            rotation = self._reported(definition) if definition is not None else None
            entries.append(f"{number}.{rotation or self._no_rotation(connector)}")
        return ",".join(entries)

    def _no_rotation(self, connector: ComponentKey) -> str:
        # 1.6 9.1.7: NotApplicable for single-phase and DC connectors (2.0.1 SupplyPhases 1 and 0).
        found = self._dm.find(connector, VariableKey("SupplyPhases"))
        if isinstance(found, VariableDef):
            phases = parse_integer(self._dm.current(AttributeAddress(found.component, found.variable)) or "")
            if phases is not None and phases < 3:
                return _NOT_APPLICABLE
        return _UNKNOWN

    # ---- ChangeConfiguration ----------------------------------------------------------------------
    def change(self, key: str, value: str) -> ChangeOutcome:
        """Judge and, when acceptable, make one ChangeConfiguration (persisted before it takes effect).

        Unknown key: NotSupported. Read-only key: Rejected. A value the device model refuses: Rejected.
        A variable whose change applies at the next start: RebootRequired. SecurityProfile is not written
        here: it takes hold once a connection with the new profile came up (see `_security_profile`).
        """
        mapping = self.lookup(key)
        if mapping is None:
            return ChangeOutcome(ChangeStatus.NOT_SUPPORTED, f"{key} is not a configuration key of this station")
        if mapping.access is Access.R:
            return ChangeOutcome(ChangeStatus.REJECTED, f"{mapping.key} is read-only")
        if mapping.written_by is not None:
            outcome = self._security_profile(mapping, value)
        elif mapping.key == PER_CONNECTOR:
            outcome = self._set(self._phase_rotation_writes(mapping, value))
        elif mapping.key in PER_EVSE:
            components = [c for c in self._evse_components(mapping) if self._definition(mapping, c) is not None]
            outcome = self._set([self._write(mapping, value, component=c) for c in components])
        elif mapping.key == SAMPLED_DATA:
            # 1.6 has one list for the samples of a transaction; 2.0.1 splits it into the values at the
            # start and the periodic ones, so both follow the 1.6 key.
            outcome = self._set(
                [self._write(mapping, value), self._write(mapping, value, variable="TxStartedMeasurands")]
            )
        else:
            outcome = self._set([self._write(mapping, value)])
        if outcome.status in (ChangeStatus.ACCEPTED, ChangeStatus.REBOOT_REQUIRED):
            return ChangeOutcome(
                outcome.status, outcome.reason, ConfigurationChange(mapping.key, value, outcome.status)
            )
        return outcome

    @staticmethod
    def _write(
        mapping: KeyMapping, value: str, *, variable: str | None = None, component: ComponentKey | None = None
    ) -> SetVariableData:
        assert mapping.component is not None and mapping.variable is not None
        if variable is not None:
            return SetVariableData(ComponentKey(mapping.component), VariableKey(variable), value)
        return SetVariableData(
            component or ComponentKey(mapping.component), VariableKey(mapping.variable, mapping.instance), value
        )

    def _phase_rotation_writes(self, mapping: KeyMapping, value: str) -> list[SetVariableData | str]:
        # "1.RST,2.RTS": some or all connectors. Index 0 (grid to main meter) has no variable here, and
        # NotApplicable/Unknown cannot be written: an unset rotation is how the device model says "unknown".
        connectors = self.connectors()
        writes: list[SetVariableData | str] = []
        for entry in split_list(value):
            number, _, rotation = entry.strip().partition(".")
            index = parse_integer(number)
            if index is None or not 1 <= index <= len(connectors) or not rotation:
                writes.append(f"{entry!r} does not name a connector as <connectorId>.<rotation>")
                continue
            writes.append(self._write(mapping, rotation, component=connectors[index - 1]))
        return writes or [f"{value!r} names no connector"]

    def _set(self, writes: Sequence[SetVariableData | str]) -> ChangeOutcome:
        """All of `writes` or none of them; a string in `writes` is a refusal found before the model."""
        refusals = [write for write in writes if isinstance(write, str)]
        if refusals:
            return ChangeOutcome(ChangeStatus.REJECTED, refusals[0])
        requests = [write for write in writes if isinstance(write, SetVariableData)]
        plan = self._dm.plan_set_variables(requests)
        for result in plan.results:
            if result.status not in (SetVariableStatus.ACCEPTED, SetVariableStatus.REBOOT_REQUIRED):
                why = result.additional_info or result.reason_code or result.status
                return ChangeOutcome(ChangeStatus.REJECTED, f"{result.component}.{result.variable}: {why}")
        self._dm.persist(plan)
        self._dm.apply(plan)
        if any(result.status is SetVariableStatus.REBOOT_REQUIRED for result in plan.results):
            return ChangeOutcome(ChangeStatus.REBOOT_REQUIRED)
        return ChangeOutcome(ChangeStatus.ACCEPTED)

    def _security_profile(self, mapping: KeyMapping, value: str) -> ChangeOutcome:
        """1.6 security whitepaper A05: only upwards (A05.FR.01), the prerequisites of the new profile
        judged by the guard the daemon registered on the variable (A05.FR.02-04). Accepted leaves the
        variable alone: the connection raises it once a connection with the new profile came up, the
        way a 2.0.1 SetNetworkProfile upgrade does (evse/ocpp/network_slots.py), so a failed upgrade
        falls back to the old profile (A05.FR.08)."""
        definition = self._definition(mapping)
        assert definition is not None  # present keys have their variable
        problem = validate_value(value, definition.characteristics)
        if problem is not None:
            return ChangeOutcome(ChangeStatus.REJECTED, f"{mapping.key}: {problem}")
        in_use = self._dm.get_int(definition.component.name, definition.variable.name)
        wanted = parse_integer(value)
        assert wanted is not None  # validated as an integer above
        if wanted <= in_use:
            return ChangeOutcome(ChangeStatus.REJECTED, f"{mapping.key}: {wanted} is not above {in_use} in use")
        guard = self._dm.guard(definition)
        rejection = guard(value) if guard is not None else None
        if rejection is not None:
            return ChangeOutcome(ChangeStatus.REJECTED, f"{mapping.key}: {rejection}")
        return ChangeOutcome(ChangeStatus.ACCEPTED)

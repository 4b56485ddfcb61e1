"""The 1.6 configuration-key table (config/ocpp16/configuration_keys.yaml) against the device model.

OCPP 1.6 edition 2 chapter 9 and the security whitepaper define the keys; each must land on a 2.0.1
variable the device model defines, with an accessibility the variable can honour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evse.devicemodel.definitions import AttributeType, Mutability, VariableDef
from evse.devicemodel.loader import load_definitions
from evse.errors import ConfigError
from evse.ocpp.v16.configuration_keys import Access, Source, load_key_table

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(ROOT / "config" / "device_model", [(1, [1])])
TABLE = load_key_table()

# Required keys of the profiles this station will claim (Core, Local Auth List Management, Smart Charging).
REQUIRED = {
    "AuthorizeRemoteTxRequests", "ClockAlignedDataInterval", "ConnectionTimeOut", "ConnectorPhaseRotation",
    "GetConfigurationMaxKeys", "HeartbeatInterval", "LocalAuthorizeOffline", "LocalPreAuthorize",
    "MeterValuesAlignedData", "MeterValuesSampledData", "MeterValueSampleInterval", "NumberOfConnectors",
    "ResetRetries", "StopTransactionOnEVSideDisconnect", "StopTransactionOnInvalidId", "StopTxnAlignedData",
    "StopTxnSampledData", "SupportedFeatureProfiles", "TransactionMessageAttempts",
    "TransactionMessageRetryInterval", "UnlockConnectorOnEVSideDisconnect", "LocalAuthListEnabled",
    "LocalAuthListMaxLength", "SendLocalListMaxLength", "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit", "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled",
}  # fmt: skip


def target(component: str | None, variable: str | None, instance: str | None) -> VariableDef | None:
    for definition in DEFINITIONS:
        if (
            definition.component.name == component
            and definition.variable.name == variable
            and definition.variable.instance == instance
        ):
            return definition
    return None


def test_every_required_key_of_the_claimed_profiles_is_in_the_table() -> None:
    assert set(TABLE) >= REQUIRED


@pytest.mark.parametrize("key", sorted(k for k, m in TABLE.items() if m.source not in (Source.DERIVED, Source.ABSENT)))
def test_each_key_lands_on_a_variable_that_can_honour_its_accessibility(key: str) -> None:
    mapping = TABLE[key]
    definition = target(mapping.component, mapping.variable, mapping.instance)
    assert definition is not None, f"{key}: {mapping.component}.{mapping.variable} is not in the device model"
    actual = definition.attribute(AttributeType.ACTUAL)
    assert actual is not None
    if mapping.access is Access.RW and mapping.written_by is None:
        assert actual.mutability is Mutability.READ_WRITE, f"{key} is RW but {definition} is {actual.mutability}"
    if mapping.access is Access.W:
        assert actual.mutability in (Mutability.WRITE_ONLY, Mutability.READ_WRITE)
    if mapping.source is Source.MAX_LIMIT:
        assert definition.characteristics.max_limit is not None, f"{key}: {definition} has no maxLimit"
    if mapping.source is Source.VALUES_COUNT:
        assert definition.characteristics.values_list, f"{key}: {definition} has no valuesList"


def test_only_security_profile_is_written_around_set_variables() -> None:
    """SecurityCtrlr.SecurityProfile is ReadOnly in 2.0.1 (raised by SetNetworkProfile, A05); the 1.6
    whitepaper makes SecurityProfile a RW key, so its write must take the same upgrade path."""
    assert {k for k, m in TABLE.items() if m.written_by} == {"SecurityProfile"}


def test_keys_marked_absent_are_really_absent_so_the_table_is_updated_when_they_arrive() -> None:
    absent = {k for k, m in TABLE.items() if m.source is Source.ABSENT}
    assert absent == set()  # ConnectorPhaseRotation was the last: Connector.PhaseRotation exists now
    for key in absent:
        mapping = TABLE[key]
        assert target(mapping.component, mapping.variable, mapping.instance) is None


def test_a_malformed_table_is_a_one_line_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "keys.yaml"
    bad.write_text("keys:\n  - {key: HeartbeatInterval, access: RW, source: derived, component: X, variable: Y}\n")
    with pytest.raises(ConfigError, match=r"keys\.yaml: keys\.0: .*derived key has no variable"):
        load_key_table(bad)
    bad.write_text("keys:\n  - {key: A, access: R, source: derived}\n  - {key: A, access: R, source: derived}\n")
    with pytest.raises(ConfigError, match="A listed twice"):
        load_key_table(bad)

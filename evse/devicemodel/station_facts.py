"""Device-model values that follow from the technician's station settings.

The YAML already says what the station is (id, vendor, model, EVSEs, connector types, phases, current);
those facts must also appear in the device model (SecurityCtrlr.Identity, ChargingStation.Model,
Connector.ConnectorType, EVSE.Power ...). They are applied as technician overrides, before the explicit
`device_model:` keys, so a technician can still correct any of them there.

The settings are described by Protocols rather than imported, so the device model does not depend on
the configuration module's classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import Protocol

from evse.devicemodel.overrides import Override

NOMINAL_VOLTAGE_V = 230.0
"""Phase voltage used to turn an EVSE's current rating into its power rating (EVSE.Power maxLimit)."""


class _StationIdentity(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def vendor(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def serial(self) -> str | None: ...
    @property
    def firmware_version(self) -> str | None: ...


class _Csms(Protocol):
    @property
    def security_profile(self) -> int: ...


class _Connector(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def type(self) -> str: ...


class _Evse(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def connectors(self) -> Sequence[_Connector]: ...
    @property
    def max_current_a(self) -> float: ...
    @property
    def phases(self) -> int: ...


class StationSettings(Protocol):
    """The parts of evse.config.Settings the device model takes facts from."""

    @property
    def station(self) -> _StationIdentity: ...
    @property
    def csms(self) -> _Csms: ...
    @property
    def evses(self) -> Sequence[_Evse]: ...


def package_version() -> str:
    """The installed version of this firmware stack, the default FirmwareVersion."""
    try:
        return metadata.version("evse-stack")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def station_facts(settings: StationSettings) -> list[Override]:
    """The override entries the station settings imply, each labelled with the settings key it comes from."""
    station = settings.station
    facts = [
        Override("station.id", "SecurityCtrlr.Identity", station.id),
        Override("station.vendor", "ChargingStation.VendorName", station.vendor),
        Override("station.model", "ChargingStation.Model", station.model),
        Override(
            "station.firmware_version",
            "EvseStackCtrlr.FirmwareVersion",
            station.firmware_version or package_version(),
        ),
        Override("csms.security_profile", "SecurityCtrlr.SecurityProfile", settings.csms.security_profile),
        # The station honours external limits (the grid_limit input always, an EMS when `ems:` is set): the
        # variable says so, and the CSMS may still set it false to have them ignored (evse.smartcharging).
        Override("grid_limit", "SmartChargingCtrlr.ExternalControlSignalsEnabled", True),
    ]
    if station.serial is not None:
        facts.append(Override("station.serial", "ChargingStation.SerialNumber", station.serial))
    phases = max((evse.phases for evse in settings.evses), default=3)
    facts.append(Override("evses[].phases", "ChargingStation.SupplyPhases", phases))
    for index, evse in enumerate(settings.evses):
        where = f"evses[{index}]"
        power_w = round(evse.max_current_a * NOMINAL_VOLTAGE_V * evse.phases)
        facts += [
            Override(f"{where}.phases", f"EVSE[{evse.id}].SupplyPhases", evse.phases),
            Override(f"{where}.max_current_a", f"EVSE[{evse.id}].Power:maxLimit", power_w),
            Override(f"{where}.max_current_a", f"EVSE[{evse.id}].Power:MaxSet", power_w),
        ]
        for position, connector in enumerate(evse.connectors):
            address = f"Connector[{evse.id},{connector.id}]"
            facts += [
                Override(f"{where}.connectors[{position}].type", f"{address}.ConnectorType", connector.type),
                Override(f"{where}.phases", f"{address}.SupplyPhases", evse.phases),
            ]
    return facts

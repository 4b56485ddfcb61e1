"""The smart-charging engine's own charging profiles: what a profile, its schedule and a composite schedule
are, with the fields the engine uses, in no protocol's classes (issue 13).

The vocabularies are OCPP's (a purpose is ChargingStationMaxProfile, TxDefaultProfile, TxProfile ...; a unit
A or W), so each adapter maps its messages onto them at its edge: OCPP 2.0.1 in evse/ocpp/v201/profiles.py,
1.6 in evse/ocpp/v16/profiles.py. The profile store keeps them in the JSON of evse/smartcharging/profile_json.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Purpose(StrEnum):
    """What a profile limits (2.0.1's names; 1.6's ChargePointMaxProfile is ChargingStationMaxProfile)."""

    ChargingStationExternalConstraints = "ChargingStationExternalConstraints"
    ChargingStationMaxProfile = "ChargingStationMaxProfile"
    TxDefaultProfile = "TxDefaultProfile"
    TxProfile = "TxProfile"


class Kind(StrEnum):
    """Where a profile's schedule starts: at startSchedule, repeated from it, or with the session."""

    Absolute = "Absolute"
    Recurring = "Recurring"
    Relative = "Relative"


class RateUnit(StrEnum):
    """Amperes per phase or watts."""

    A = "A"
    W = "W"


class Recurrency(StrEnum):
    """How often a Recurring profile repeats."""

    Daily = "Daily"
    Weekly = "Weekly"


#: What the CSMS attached that the station does not read (a vendor's custom data, an ISO 15118 sales tariff),
#: as JSON: kept only so a profile is reported back as it was set.
Opaque = Mapping[str, Any]

#: The source of every profile the CSMS installs (a charging limit source, as GetChargingProfiles names it).
CSO = "CSO"


@dataclass(frozen=True)
class SchedulePeriod:
    """One period of a schedule: from `start_period` seconds after the schedule's start, this limit."""

    start_period: int
    limit: float
    number_phases: int | None = None
    phase_to_use: int | None = None
    vendor_data: Opaque | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Schedule:
    """A charging schedule: its periods in one unit, its start (None: the session's) and its length."""

    id: int
    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    start: datetime | None = None
    duration: int | None = None
    min_charging_rate: float | None = None
    sales_tariff: Opaque | None = field(default=None, hash=False)
    vendor_data: Opaque | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Profile:
    """A charging profile as the CSMS set it. More than one schedule comes only with ISO 15118 SASchedules,
    which the rules refuse; they are kept so the rules can say so."""

    id: int
    stack_level: int
    purpose: Purpose
    kind: Kind
    schedules: tuple[Schedule, ...]
    recurrency: Recurrency | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None
    vendor_data: Opaque | None = field(default=None, hash=False)


@dataclass(frozen=True)
class InstalledProfile:
    """A charging profile as installed: on the station (evse_id 0) or one EVSE."""

    evse_id: int
    profile: Profile


@dataclass(frozen=True)
class CompositePeriod:
    """One period of a composite schedule: from `start_period` seconds, this limit with this many phases."""

    start_period: int
    limit: float
    phases: int


@dataclass(frozen=True)
class CompositeSchedule:
    """The limit every source puts on an EVSE over time (GetCompositeSchedule), from `start` for `duration` s."""

    evse_id: int
    duration: int
    start: datetime
    rate_unit: RateUnit
    periods: tuple[CompositePeriod, ...]


@dataclass(frozen=True)
class ReportCriteria:
    """Which installed profiles a GetChargingProfiles asks for (K09); None: any. `profile_ids` alone
    identifies profiles; `limit_sources` name charging limit sources (the CSMS's profiles are CSO)."""

    profile_ids: tuple[int, ...] | None = None
    stack_level: int | None = None
    purpose: Purpose | None = None
    limit_sources: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ClearCriteria:
    """Which installed profiles a ClearChargingProfile clears (K10): the profile of `profile_id`, else those
    matching every other field given (all of them when none is)."""

    profile_id: int | None = None
    evse_id: int | None = None
    purpose: Purpose | None = None
    stack_level: int | None = None

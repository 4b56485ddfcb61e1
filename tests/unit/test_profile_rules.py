"""SetChargingProfile's rules (K01) and the profiles a GetChargingProfiles / ClearChargingProfile means (K09,
K10), on the pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evse.smartcharging.model import (
    ClearCriteria,
    InstalledProfile,
    Profile,
    Purpose,
    ReportCriteria,
    SchedulePeriod,
)
from evse.smartcharging.profile_rules import (
    StationView,
    check_remote_start_profile,
    check_set_profile,
    cleared,
    reported,
)
from tests.charging_profiles import profile

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
VIEW = StationView(evse_ids=frozenset({1, 2}), transactions={1: "tx-1"})


def default(profile_id: int = 1, **options: Any) -> Profile:
    options.setdefault("start", T0)
    return profile(profile_id, "TxDefaultProfile", options.pop("periods", [(0, 16.0)]), **options)


def verdict(
    evse_id: int, p: Profile, installed: list[InstalledProfile] | None = None, view: StationView = VIEW
) -> tuple[bool, str | None]:
    result = check_set_profile(evse_id, p, installed or [], view)
    return result.accepted, result.reason


def test_K01_a_valid_tx_default_profile_is_accepted_on_evse_0_and_on_an_evse() -> None:
    assert verdict(0, default()) == (True, None)
    assert verdict(2, default()) == (True, None)


@pytest.mark.parametrize(
    ("evse_id", "made", "reason"),
    [
        (3, lambda: default(), "UnknownEvse"),  # K01.FR.28
        (
            0,
            lambda: profile(1, "ChargingStationExternalConstraints", [(0, 10.0)], start=T0),
            "InvalidProfile",
        ),  # K01.FR.22
        (1, lambda: profile(1, "ChargingStationMaxProfile", [(0, 10.0)], start=T0), "InvalidProfile"),  # K01.FR.03
        (
            0,
            lambda: profile(1, "ChargingStationMaxProfile", [(0, 10.0)], kind="Relative"),
            "InvalidProfile",
        ),  # K01.FR.38
        (
            0,
            lambda: profile(1, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="tx-1"),
            "InvalidProfile",
        ),  # K01.FR.16
        (1, lambda: profile(1, "TxProfile", [(0, 10.0)], kind="Relative"), "InvalidProfile"),  # K01.FR.03
        (
            2,
            lambda: profile(1, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="tx-1"),
            "NoTransaction",
        ),  # K01.FR.09
        (
            1,
            lambda: profile(1, "TxProfile", [(0, 10.0)], kind="Relative", transaction_id="tx-9"),
            "TxNotFound",
        ),  # K01.FR.33
        (1, lambda: default(kind="Relative"), "InvalidSchedule"),  # K01.FR.41: Relative with startSchedule
        (1, lambda: profile(1, "TxDefaultProfile", [(0, 10.0)]), "InvalidSchedule"),  # K01.FR.40
        (1, lambda: default(kind="Recurring"), "InvalidSchedule"),  # no recurrencyKind
        (1, lambda: default(periods=[(10, 10.0)]), "InvalidSchedule"),  # K01.FR.31
        (1, lambda: default(periods=[(0, 10.0), (60, 8.0), (60, 6.0)]), "InvalidSchedule"),  # K01.FR.35
        (1, lambda: default(periods=[(i * 60, 10.0) for i in range(25)]), "InvalidSchedule"),  # PeriodsPerSchedule
        (1, lambda: default(stack_level=10), "InvalidStackLevel"),
        (1, lambda: default(valid_from=T0, valid_to=T0), "InvalidProfile"),
        (1, lambda: default(periods=[(0, -1.0)]), "InvalidValue"),
    ],
)
def test_K01_what_the_station_rejects(evse_id: int, made: Any, reason: str) -> None:
    accepted, got = verdict(evse_id, made())
    assert (accepted, got) == (False, reason)


def test_K01_FR_26_an_unsupported_rate_unit_is_rejected() -> None:
    only_amps = StationView(evse_ids=frozenset({1}), transactions={}, rate_units=frozenset({"A"}))
    assert verdict(1, default(unit="W", periods=[(0, 11000.0)]), view=only_amps) == (False, "UnsupportedRateUnit")


def test_K01_FR_20_phase_to_use_needs_phase_switching() -> None:
    given = default()
    period = SchedulePeriod(start_period=0, limit=10, number_phases=1, phase_to_use=2)
    one_phase = replace(given, schedules=(replace(given.schedules[0], periods=(period,)),))
    assert verdict(1, one_phase) == (False, "UnsupportedParam")
    switching = StationView(evse_ids=frozenset({1}), transactions={}, phase_switching=True)
    assert verdict(1, one_phase, view=switching) == (True, None)


def test_K01_FR_05_the_same_id_replaces() -> None:
    installed = [InstalledProfile(1, default(1, periods=[(0, 10.0)]))]
    result = check_set_profile(1, default(1), installed, VIEW)
    assert (result.accepted, result.replaces) == (True, 1)


def test_K01_FR_06_same_stack_level_and_purpose_overlapping_is_rejected() -> None:
    installed = [InstalledProfile(1, default(1))]
    assert verdict(1, default(2), installed) == (False, "DuplicateProfile")
    assert verdict(1, default(2, stack_level=1), installed) == (True, None)
    assert verdict(2, default(2), installed) == (True, None)  # another EVSE
    later = [InstalledProfile(1, default(1, valid_to=T0 + timedelta(hours=1)))]
    assert verdict(1, default(2, valid_from=T0 + timedelta(hours=1)), later) == (True, None)  # no overlap


def test_K01_FR_52_53_tx_default_on_evse_0_and_an_evse_at_one_stack_level_clash() -> None:
    assert verdict(0, default(2), [InstalledProfile(1, default(1))]) == (False, "DuplicateProfile")
    assert verdict(1, default(2), [InstalledProfile(0, default(1))]) == (False, "DuplicateProfile")


def test_K01_more_profiles_than_entries_is_rejected() -> None:
    small = StationView(evse_ids=frozenset({1}), transactions={}, max_entries=2)
    installed = [InstalledProfile(1, default(i, stack_level=i)) for i in (1, 2)]
    assert verdict(1, default(3, stack_level=3), installed, small) == (False, "OutOfMemory")
    assert verdict(1, default(2, stack_level=2), installed, small) == (True, None)  # a replacement fits


def test_F01_the_profile_of_a_remote_start_is_a_tx_profile_without_transaction() -> None:
    relative = profile(1, "TxProfile", [(0, 10.0)], kind="Relative")
    assert check_remote_start_profile(1, relative, VIEW).accepted
    no_start = profile(1, "TxProfile", [(0, 10.0)])  # Absolute without startSchedule: the transaction's start
    assert check_remote_start_profile(1, no_start, VIEW).accepted
    assert not check_remote_start_profile(1, default(), VIEW).accepted
    assert not check_remote_start_profile(1, profile(1, "TxProfile", [(0, 10.0)], transaction_id="x"), VIEW).accepted


def test_K09_criteria_select_profiles() -> None:
    installed = [
        InstalledProfile(0, profile(1, "ChargingStationMaxProfile", [(0, 40.0)], start=T0)),
        InstalledProfile(0, default(2)),
        InstalledProfile(1, default(3, stack_level=2)),
    ]
    ids = lambda found: [p.profile.id for p in found]  # noqa: E731
    criterion = ReportCriteria
    assert ids(reported(installed, None, criterion())) == [1, 2, 3]
    assert ids(reported(installed, 0, criterion())) == [1, 2]
    assert ids(reported(installed, 1, criterion())) == [3]
    assert ids(reported(installed, None, criterion(profile_ids=(3, 1)))) == [1, 3]
    assert ids(reported(installed, None, criterion(stack_level=2))) == [3]
    assert ids(reported(installed, None, criterion(purpose=Purpose.TxDefaultProfile))) == [2, 3]
    assert ids(reported(installed, None, criterion(limit_sources=("EMS",)))) == []
    assert ids(reported(installed, None, criterion(limit_sources=("CSO",)))) == [1, 2, 3]


def test_K10_clear_by_id_or_criteria() -> None:
    installed = [InstalledProfile(0, default(2)), InstalledProfile(1, default(3, stack_level=2))]
    assert [p.profile.id for p in cleared(installed, ClearCriteria(profile_id=3))] == [3]
    assert cleared(installed, ClearCriteria(profile_id=9)) == []
    criteria = ClearCriteria(evse_id=1, stack_level=2, purpose=Purpose.TxDefaultProfile)
    assert [p.profile.id for p in cleared(installed, criteria)] == [3]
    assert len(cleared(installed, ClearCriteria())) == 2

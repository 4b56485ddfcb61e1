"""OCTT block K, charging profiles on the wire: SetChargingProfile (K01, K05), ClearChargingProfile (K10),
GetChargingProfiles (K09). The station's answers, what it keeps, and what its pilot then offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.exceptions import NotSupportedError
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.charging_profiles import wire_profile
from tests.conformance.octt import (
    energy_transfer_started,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.conformance.smart_charging import (
    clear,
    get_profiles,
    offer_becomes,
    reported_ids,
    reports,
    set_profile,
)
from tests.integration.conftest import STATION_ID, StationUnderTest


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def tx_default(profile_id: int, limit: float, stack_level: int = 0, **options: Any) -> dict[str, Any]:
    options.setdefault("start", now() - timedelta(minutes=1))
    return wire_profile(profile_id, "TxDefaultProfile", [(0, limit)], stack_level=stack_level, **options)


def station_max(profile_id: int, limit: float, **options: Any) -> dict[str, Any]:
    options.setdefault("start", now() - timedelta(minutes=1))
    return wire_profile(profile_id, "ChargingStationMaxProfile", [(0, limit)], **options)


def tx_profile(profile_id: int, limit: float, transaction_id: str, stack_level: int = 0) -> dict[str, Any]:
    return wire_profile(
        profile_id, "TxProfile", [(0, limit)], kind="Relative", transaction_id=transaction_id, stack_level=stack_level
    )


async def booted(make_station: Any, csms: DevCsms, evses: int = 1, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=evses, device_model=device_model)
    for _ in range(evses):
        await csms.wait_for("StatusNotification", timeout=10)
    return sut


# ---- K01 SetChargingProfile --------------------------------------------------------------------------
async def test_TC_K_01_CS_set_tx_default_profile_specific_evse(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: a TxDefaultProfile on EVSE 1 is Accepted and caps the next session's offer (32 A EVSE, 10 A)."""
    assert await set_profile(csms, 1, tx_default(1, 10.0)) == ("Accepted", None)
    await energy_transfer_started(station, csms)
    await offer_becomes(station, 10.0)


async def test_TC_K_02_CS_set_tx_profile_without_ongoing_transaction(csms: DevCsms, station: StationUnderTest) -> None:
    """K01.FR.09: a TxProfile for an EVSE without a transaction is Rejected."""
    status, reason = await set_profile(csms, 1, tx_profile(1, 10.0, "no-such-tx"))
    assert (status, reason) == ("Rejected", "NoTransaction")
    assert await get_profiles(csms, 1, {}) == "NoProfiles"


async def test_TC_K_03_CS_set_charging_station_max_profile(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: a ChargingStationMaxProfile on EVSE 0 is Accepted and caps every EVSE; on an EVSE it is Rejected
    (K01.FR.03)."""
    assert (await set_profile(csms, 1, station_max(2, 8.0)))[0] == "Rejected"
    assert await set_profile(csms, 0, station_max(1, 16.0)) == ("Accepted", None)
    await energy_transfer_started(station, csms)
    await offer_becomes(station, 16.0)


async def test_TC_K_04_CS_replace_charging_profile_with_charging_profile_id(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K01.FR.05: a profile with an installed profile's id replaces it (even at another stack level)."""
    await energy_transfer_started(station, csms)
    assert (await set_profile(csms, 1, tx_default(5, 10.0)))[0] == "Accepted"
    await offer_becomes(station, 10.0)
    assert (await set_profile(csms, 1, tx_default(5, 14.0, stack_level=3)))[0] == "Accepted"
    await offer_becomes(station, 14.0)
    assert await reported_ids(csms, 7, {}) == {1: [5]}


async def test_TC_K_10_CS_set_tx_default_profile_all_evse(make_station: Any, csms: DevCsms) -> None:
    """K01: a TxDefaultProfile on EVSE 0 applies to every EVSE."""
    sut = await booted(make_station, csms, evses=2)
    assert (await set_profile(csms, 0, tx_default(1, 12.0)))[0] == "Accepted"
    await energy_transfer_started(sut, csms, evse_id=1)
    await energy_transfer_started(sut, csms, evse_id=2)
    await offer_becomes(sut, 12.0, evse_id=1)
    await offer_becomes(sut, 12.0, evse_id=2)


async def test_TC_K_11_CS_unable_to_set_tx_profile_on_all_evse(csms: DevCsms, station: StationUnderTest) -> None:
    """K01.FR.16: a TxProfile on EVSE 0 is Rejected."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    assert (await set_profile(csms, 0, tx_profile(1, 10.0, tx_id)))[0] == "Rejected"


async def test_TC_K_12_CS_charging_rate_unit_rejected(make_station: Any, csms: DevCsms) -> None:
    """K01.FR.26: a station whose RateUnit is A only rejects a schedule in W."""
    await booted(make_station, csms, **{"SmartChargingCtrlr.RateUnit": "A"})
    profile = wire_profile(1, "TxDefaultProfile", [(0, 11000.0)], unit="W", start=now())
    assert await set_profile(csms, 1, profile) == ("Rejected", "UnsupportedRateUnit")


async def test_TC_K_14_CS_set_charging_profile_unexisting_evse_id(csms: DevCsms, station: StationUnderTest) -> None:
    """K01.FR.28: a profile for an EVSE the station does not have is Rejected."""
    assert await set_profile(csms, 7, tx_default(1, 10.0)) == ("Rejected", "UnknownEvse")


async def test_TC_K_15_CS_set_charging_profile_not_supported(make_station: Any, csms: DevCsms) -> None:
    """With SmartChargingCtrlr.Enabled false the station answers CALLERROR NotSupported."""
    await booted(make_station, csms, **{"SmartChargingCtrlr.Enabled": False})
    with pytest.raises(NotSupportedError):
        await set_profile(csms, 1, tx_default(1, 10.0))


async def test_TC_K_16_CS_set_charging_profile_unknown_transaction_id(csms: DevCsms, station: StationUnderTest) -> None:
    """K01.FR.33: a TxProfile naming another transaction than the one on the EVSE is Rejected."""
    await energy_transfer_started(station, csms)
    assert await set_profile(csms, 1, tx_profile(1, 10.0, "not-this-one")) == ("Rejected", "TxNotFound")


async def test_TC_K_60_CS_set_tx_profile_with_ongoing_transaction_on_the_specified_evse(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K01/K02: a TxProfile for the running transaction is Accepted and lowers the offer at once."""
    authorized = await energy_transfer_started(station, csms)
    await offer_becomes(station, 32.0)
    tx_id = authorized["transactionInfo"]["transactionId"]
    assert await set_profile(csms, 1, tx_profile(1, 11.0, tx_id)) == ("Accepted", None)
    await offer_becomes(station, 11.0)


async def test_TC_K_28_CS_set_tx_default_profile_with_transaction_ongoing(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K01: a TxDefaultProfile set during a transaction applies to it (no TxProfile replaces it)."""
    await energy_transfer_started(station, csms)
    assert (await set_profile(csms, 1, tx_default(1, 9.0)))[0] == "Accepted"
    await offer_becomes(station, 9.0)


# ---- K10 ClearChargingProfile ------------------------------------------------------------------------
async def test_TC_K_05_CS_clear_charging_profile_with_charging_profile_id(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert (await set_profile(csms, 1, tx_default(3, 10.0)))[0] == "Accepted"
    assert await clear(csms, 3) == "Accepted"
    assert await get_profiles(csms, 1, {}) == "NoProfiles"


async def test_TC_K_06_CS_clear_charging_profile_with_stack_level_purpose_combination(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert (await set_profile(csms, 1, tx_default(3, 10.0, stack_level=2)))[0] == "Accepted"
    assert (await set_profile(csms, 1, tx_default(4, 12.0, stack_level=1)))[0] == "Accepted"
    assert await clear(csms, stack_level=2, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    assert await reported_ids(csms, 2, {}) == {1: [4]}


async def test_TC_K_07_CS_clear_charging_profile_unknown_stack_level_purpose(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert (await set_profile(csms, 1, tx_default(3, 10.0, stack_level=2)))[0] == "Accepted"
    assert await clear(csms, stack_level=5, charging_profile_purpose="TxDefaultProfile") == "Unknown"
    assert await reported_ids(csms, 3, {}) == {1: [3]}


async def test_TC_K_08_CS_clear_charging_profile_without_previous_profile(
    csms: DevCsms, station: StationUnderTest
) -> None:
    assert await clear(csms, 99) == "Unknown"


async def test_TC_K_09_CS_clear_tx_default_profile_with_ongoing_transaction(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K10: clearing the TxDefaultProfile of a running transaction lifts its limit at once."""
    assert (await set_profile(csms, 1, tx_default(3, 10.0)))[0] == "Accepted"
    await energy_transfer_started(station, csms)
    await offer_becomes(station, 10.0)
    assert await clear(csms, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    await offer_becomes(station, 32.0)


async def test_TC_K_24_CS_clear_charging_profile_stack_level_purpose_for_multiple_profiles(
    make_station: Any, csms: DevCsms
) -> None:
    """K10: criteria clear every matching profile, on every EVSE."""
    await booted(make_station, csms, evses=2)
    for evse_id, profile_id in ((1, 11), (2, 12)):
        assert (await set_profile(csms, evse_id, tx_default(profile_id, 10.0, stack_level=1)))[0] == "Accepted"
    assert (await set_profile(csms, 0, station_max(13, 40.0)))[0] == "Accepted"
    assert await clear(csms, stack_level=1, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    assert await reported_ids(csms, 4, {}) == {0: [13]}


# ---- K09 GetChargingProfiles -------------------------------------------------------------------------
async def installed_everywhere(make_station: Any, csms: DevCsms) -> StationUnderTest:
    """Profiles 1 (station max, EVSE 0), 2 (TxDefault EVSE 0, stack 0), 3 and 4 (TxDefault EVSE 1, stack 1
    and 2), 5 (TxDefault EVSE 2, stack 1)."""
    sut = await booted(make_station, csms, evses=2)
    for evse_id, profile in (
        (0, station_max(1, 40.0)),
        (0, tx_default(2, 20.0)),
        (1, tx_default(3, 16.0, stack_level=1)),
        (1, tx_default(4, 12.0, stack_level=2)),
        (2, tx_default(5, 16.0, stack_level=1)),
    ):
        assert (await set_profile(csms, evse_id, profile))[0] == "Accepted", profile
    return sut


async def test_TC_K_29_CS_get_charging_profile_evse_id_0(make_station: Any, csms: DevCsms) -> None:
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 29, {}, evse_id=0) == {0: [1, 2]}


async def test_TC_K_30_CS_get_charging_profile_evse_id_above_0(make_station: Any, csms: DevCsms) -> None:
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 30, {}, evse_id=1) == {1: [3, 4]}


async def test_TC_K_31_CS_get_charging_profile_no_evse_id(make_station: Any, csms: DevCsms) -> None:
    """K09: without evseId every EVSE's profiles are reported, one ReportChargingProfiles per EVSE, tbc on all
    but the last."""
    await installed_everywhere(make_station, csms)
    assert await get_profiles(csms, 31, {}) == "Accepted"
    got = await reports(csms, 31)
    assert [r["evseId"] for r in got] == [0, 1, 2]
    assert [r.get("tbc", False) for r in got] == [True, True, False]


async def test_TC_K_32_CS_get_charging_profile_charging_profile_id(make_station: Any, csms: DevCsms) -> None:
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 32, {"chargingProfileId": [4, 5]}) == {1: [4], 2: [5]}


async def test_TC_K_33_CS_get_charging_profile_evse_id_and_stack_level(make_station: Any, csms: DevCsms) -> None:
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 33, {"stackLevel": 1}, evse_id=1) == {1: [3]}


async def test_TC_K_34_CS_get_charging_profile_evse_id_and_charging_limit_source(
    make_station: Any, csms: DevCsms
) -> None:
    """Every profile the CSMS set has source CSO; none has EMS."""
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 34, {"chargingLimitSource": ["CSO"]}, evse_id=1) == {1: [3, 4]}
    assert await get_profiles(csms, 35, {"chargingLimitSource": ["EMS"]}, evse_id=1) == "NoProfiles"


async def test_TC_K_35_CS_get_charging_profile_evse_id_and_purpose(make_station: Any, csms: DevCsms) -> None:
    await installed_everywhere(make_station, csms)
    assert await reported_ids(csms, 36, {"chargingProfilePurpose": "ChargingStationMaxProfile"}, evse_id=0) == {0: [1]}
    assert await get_profiles(csms, 37, {"chargingProfilePurpose": "TxProfile"}, evse_id=1) == "NoProfiles"


async def test_TC_K_36_CS_get_charging_profile_evse_id_purpose_and_stack_level(
    make_station: Any, csms: DevCsms
) -> None:
    await installed_everywhere(make_station, csms)
    criteria = {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}
    assert await reported_ids(csms, 38, criteria, evse_id=1) == {1: [4]}


async def test_K09_long_reports_are_split_by_items_per_message(make_station: Any, csms: DevCsms) -> None:
    """Profiles beyond ItemsPerMessage go in further ReportChargingProfiles (tbc on all but the last)."""
    await booted(make_station, csms, **{"DeviceDataCtrlr.ItemsPerMessage[GetReport]": 2})
    for profile_id in range(1, 6):
        assert (await set_profile(csms, 1, tx_default(profile_id, 16.0, stack_level=profile_id)))[0] == "Accepted"
    assert await get_profiles(csms, 40, {}) == "Accepted"
    got = await reports(csms, 40)
    assert [[p["id"] for p in r["chargingProfile"]] for r in got] == [[1, 2], [3, 4], [5]]
    assert [r.get("tbc", False) for r in got] == [True, True, False]


# ---- K01 rules the wire shows ------------------------------------------------------------------------
async def test_K01_FR_06_same_stack_level_and_purpose_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    assert (await set_profile(csms, 1, tx_default(1, 10.0)))[0] == "Accepted"
    assert await set_profile(csms, 1, tx_default(2, 12.0)) == ("Rejected", "DuplicateProfile")


async def test_K01_FR_22_external_constraints_from_the_csms_are_rejected(
    csms: DevCsms, station: StationUnderTest
) -> None:
    profile = wire_profile(1, "ChargingStationExternalConstraints", [(0, 10.0)], start=now())
    assert await set_profile(csms, 0, profile) == ("Rejected", "InvalidProfile")


async def test_K01_more_periods_than_periods_per_schedule_is_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    periods = [(i * 60, 10.0) for i in range(25)]  # PeriodsPerSchedule is 24
    profile = wire_profile(1, "TxDefaultProfile", periods, start=now())
    assert await set_profile(csms, 1, profile) == ("Rejected", "InvalidSchedule")


async def test_K01_entries_counts_the_installed_profiles(csms: DevCsms, station: StationUnderTest) -> None:
    """SmartChargingCtrlr.Entries[ChargingProfiles] is the number installed; its maxLimit the most accepted."""
    for profile_id in (1, 2):
        assert (await set_profile(csms, 1, tx_default(profile_id, 10.0, stack_level=profile_id)))[0] == "Accepted"
    request = call.GetVariables(
        get_variable_data=[
            {
                "component": {"name": "SmartChargingCtrlr"},
                "variable": {"name": "Entries", "instance": "ChargingProfiles"},
            }
        ]
    )
    answer = await csms.call(STATION_ID, request)
    assert answer.get_variable_result[0]["attribute_value"] == "2"
    assert await clear(csms) == "Accepted"
    answer = await csms.call(STATION_ID, request)
    assert answer.get_variable_result[0]["attribute_value"] == "0"

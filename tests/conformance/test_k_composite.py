"""OCTT block K, the composite schedule and profiles over time on the wire: GetCompositeSchedule (K08),
Recurring / validFrom / validTo / startSchedule (K01), remote start with a profile (K05), persistence (K01)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.charging_profiles import snake, wire_profile
from tests.conformance.octt import (
    VALID,
    energy_transfer_started,
    tx,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.conformance.smart_charging import (
    composite,
    get_profiles,
    limits,
    offer_becomes,
    reported_ids,
    reports,
    set_profile,
)
from tests.integration.conftest import STATION_ID, StationUnderTest


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def booted(make_station: Any, csms: DevCsms, evses: int = 1, **device_model: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(evses=evses, device_model=device_model)
    for _ in range(evses):
        await csms.wait_for("StatusNotification", timeout=10)
    return sut


# ---- K08 GetCompositeSchedule ------------------------------------------------------------------------
async def test_TC_K_39_CS_get_composite_schedule_no_charging_profile_installed(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K08: with no profile the composite is the EVSE's own limit (32 A) for the whole duration."""
    status, schedule = await composite(csms, 1, 600, "A")
    assert status == "Accepted" and schedule is not None
    assert (schedule["evse_id"], schedule["duration"], schedule["charging_rate_unit"]) == (1, 600, "A")
    assert limits(schedule) == [(0, 32.0)]


async def test_TC_K_40_CS_get_composite_schedule_stacking_charging_profiles(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K08: within TxDefaultProfile the higher stack level leads while it has a period, then the lower one."""
    start = now()
    low = wire_profile(1, "TxDefaultProfile", [(0, 16.0)], start=start - timedelta(hours=1))
    high = wire_profile(2, "TxDefaultProfile", [(0, 10.0), (300, 20.0)], stack_level=1, start=start, duration=900)
    assert (await set_profile(csms, 1, low))[0] == "Accepted"
    assert (await set_profile(csms, 1, high))[0] == "Accepted"
    status, schedule = await composite(csms, 1, 1800, "A")
    assert status == "Accepted"
    elapsed = int((datetime.fromisoformat(schedule["schedule_start"]) - start).total_seconds())
    assert 0 <= elapsed < 5  # asked at once: the boundaries move by what has elapsed
    assert limits(schedule) == [(0, 10.0), (300 - elapsed, 20.0), (900 - elapsed, 16.0)]


async def test_TC_K_41_CS_get_composite_schedule_combining_charging_profile_purposes(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K08: the composite is the lowest of the station max, the TxProfile (which replaces the default) and
    the EVSE's limit; in W with 3 phases at 230 V."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    start = now()
    station_max = wire_profile(1, "ChargingStationMaxProfile", [(0, 20.0), (600, 8.0)], start=start)
    default = wire_profile(2, "TxDefaultProfile", [(0, 6.0)], start=start - timedelta(minutes=1))
    tx_profile = wire_profile(3, "TxProfile", [(0, 16.0)], kind="Relative", transaction_id=tx_id)
    for evse_id, profile in ((0, station_max), (1, default), (1, tx_profile)):
        assert (await set_profile(csms, evse_id, profile))[0] == "Accepted"
    status, schedule = await composite(csms, 1, 1200, "W")
    assert status == "Accepted" and schedule["charging_rate_unit"] == "W"
    elapsed = int((datetime.fromisoformat(schedule["schedule_start"]) - start).total_seconds())
    assert limits(schedule) == [(0, 16 * 690.0), (600 - elapsed, 8 * 690.0)]
    await offer_becomes(station, 16.0)


async def test_TC_K_42_CS_get_composite_schedule_charging_rate_unit_not_supported(
    make_station: Any, csms: DevCsms
) -> None:
    """A composite in a unit the station does not support (RateUnit A only) is Rejected."""
    await booted(make_station, csms, **{"SmartChargingCtrlr.RateUnit": "A"})
    assert (await composite(csms, 1, 600, "W"))[0] == "Rejected"
    assert (await composite(csms, 1, 600, "A"))[0] == "Accepted"


async def test_TC_K_47_CS_get_composite_schedule_unknown_evse_id(csms: DevCsms, station: StationUnderTest) -> None:
    assert await composite(csms, 9, 600) == ("Rejected", None)


async def test_K08_evse_0_is_what_the_grid_connection_carries(make_station: Any, csms: DevCsms) -> None:
    """K08: for EVSE 0 the sum of the EVSEs (2 x 32 A), capped by the ChargingStationMaxProfile."""
    await booted(make_station, csms, evses=2)
    assert limits((await composite(csms, 0, 300, "A"))[1]) == [(0, 64.0)]
    profile = wire_profile(1, "ChargingStationMaxProfile", [(0, 40.0)], start=now() - timedelta(minutes=1))
    assert (await set_profile(csms, 0, profile))[0] == "Accepted"
    assert limits((await composite(csms, 0, 300, "A"))[1]) == [(0, 40.0)]


# ---- K01 profiles over time --------------------------------------------------------------------------
async def test_TC_K_19_CS_set_charging_profile_recurring(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: a Daily profile that began yesterday holds again today, at the same time of day."""
    start = now() - timedelta(days=1, seconds=-120)  # today's cycle begins in 2 minutes
    profile = wire_profile(
        1, "TxDefaultProfile", [(0, 8.0)], kind="Recurring", recurrency="Daily", start=start, duration=600
    )
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    _status, schedule = await composite(csms, 1, 1800)
    elapsed = int((datetime.fromisoformat(schedule["schedule_start"]) - (start + timedelta(days=1))).total_seconds())
    assert limits(schedule) == [(0, 32.0), (-elapsed, 8.0), (600 - elapsed, 32.0)]


async def test_TC_K_21_CS_set_charging_profile_valid_from(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: a profile applies from validFrom, not before."""
    valid_from = now() + timedelta(seconds=120)
    profile = wire_profile(1, "TxDefaultProfile", [(0, 10.0)], start=now(), valid_from=valid_from)
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    _status, schedule = await composite(csms, 1, 600)
    offset = int((valid_from - datetime.fromisoformat(schedule["schedule_start"])).total_seconds())
    assert limits(schedule) == [(0, 32.0), (offset, 10.0)]


async def test_TC_K_22_CS_set_charging_profile_valid_to(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: a profile stops applying at validTo, and is then removed: the offer of a running session rises."""
    await energy_transfer_started(station, csms)
    valid_to = now() + timedelta(seconds=2)
    profile = wire_profile(1, "TxDefaultProfile", [(0, 10.0)], start=now() - timedelta(minutes=1), valid_to=valid_to)
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    await offer_becomes(station, 10.0)
    await offer_becomes(station, 32.0, timeout=8)  # at validTo, by the period timer: no message needed
    assert await get_profiles(csms, 1, {}) == "NoProfiles"


async def test_TC_K_23_CS_set_charging_profile_start_schedule(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: an Absolute schedule begins at its startSchedule; a running session's offer changes then."""
    await energy_transfer_started(station, csms)
    begin = now() + timedelta(seconds=2)
    profile = wire_profile(1, "TxDefaultProfile", [(0, 7.0)], start=begin, duration=3600)
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    assert limits((await composite(csms, 1, 60))[1])[1][1] == 7.0
    await offer_becomes(station, 32.0)
    await offer_becomes(station, 7.0, timeout=8)


async def test_TC_K_13_CS_set_charging_profile_persistent_over_reboot(csms: DevCsms, station: StationUnderTest) -> None:
    """K01: installed profiles survive a Reset; the TxProfile of an ended transaction does not."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    assert (await set_profile(csms, 0, wire_profile(1, "ChargingStationMaxProfile", [(0, 20.0)], start=now())))[
        0
    ] == "Accepted"
    assert (await set_profile(csms, 1, wire_profile(2, "TxDefaultProfile", [(0, 12.0)], start=now())))[0] == "Accepted"
    tx_profile = wire_profile(3, "TxProfile", [(0, 8.0)], kind="Relative", transaction_id=tx_id)
    assert (await set_profile(csms, 1, tx_profile))[0] == "Accepted"
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
    assert await station.wait_exit() is Exit.RESET
    await station.start()
    await csms.wait_for("BootNotification", timeout=10)
    assert await reported_ids(csms, 13, {}) == {0: [1], 1: [2]}
    csms.skip("TransactionEvent")
    await energy_transfer_started(station, csms)
    await offer_becomes(station, 12.0)


# ---- K05 RequestStartTransaction with a charging profile ---------------------------------------------
async def test_TC_K_37_CS_remote_start_transaction_with_charging_profile_success(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """K05/F01: the profile of an accepted remote start becomes the transaction's TxProfile: it limits the
    offer and is reported with the transaction's id; it ends with the transaction."""
    profile = wire_profile(9, "TxProfile", [(0, 10.0)], kind="Relative")
    request = call.RequestStartTransaction(
        id_token={"id_token": VALID, "type": "ISO14443"}, remote_start_id=37, evse_id=1, charging_profile=snake(profile)
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    station.d.board.plug(1)
    started = await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    station.d.board.set_ev_state(1, "C")
    await offer_becomes(station, 10.0)
    tx_id = started["transactionInfo"]["transactionId"]
    assert await get_profiles(csms, 37, {"chargingProfilePurpose": "TxProfile"}, evse_id=1) == "Accepted"
    (report,) = await reports(csms, 37)
    assert [(p["id"], p["transactionId"]) for p in report["chargingProfile"]] == [(9, tx_id)]
    station.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Ended"), timeout=5)
    await asyncio.sleep(0.2)
    assert await get_profiles(csms, 38, {}) == "NoProfiles"


async def test_TC_K_38_CS_remote_start_transaction_with_charging_profile_ignore_charging_profile(
    make_station: Any, csms: DevCsms
) -> None:
    """K05: without smart charging (SmartChargingCtrlr.Enabled false) the remote start is Accepted and the
    profile ignored: the EVSE offers its full 32 A."""
    sut = await booted(make_station, csms, **{"SmartChargingCtrlr.Enabled": False})
    profile = wire_profile(9, "TxProfile", [(0, 10.0)], kind="Relative")
    request = call.RequestStartTransaction(
        id_token={"id_token": VALID, "type": "ISO14443"}, remote_start_id=38, evse_id=1, charging_profile=snake(profile)
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    sut.d.board.plug(1)
    await csms.wait_for("TransactionEvent", predicate=tx("Started"), timeout=5)
    sut.d.board.set_ev_state(1, "C")
    await offer_becomes(sut, 32.0)

"""Applying the limit in force (issue 11 section 2) on the wire and on the simulated pilot: the offer follows
every source, under 6 A the session is suspended (SuspendedEVSE) and resumes, a significant change is
reported (ChargingRateChanged), profiles apply offline (K06), and `evse status` names what limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from evse.devcsms.server import DevCsms
from evse.smartcharging.external_limits import ExternalLimit
from tests.charging_profiles import wire_profile
from tests.conformance.octt import (
    back_online,
    energy_transfer_started,
    go_offline,
    settle,
    tx,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.conformance.smart_charging import clear, offer_becomes, set_profile, status_of
from tests.integration.conftest import StationUnderTest


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def tx_default(profile_id: int, periods: list[tuple[int, float]], **options: Any) -> dict[str, Any]:
    options.setdefault("start", now() - timedelta(minutes=1))
    return wire_profile(profile_id, "TxDefaultProfile", periods, **options)


def rate_changes(csms: DevCsms, tx_id: str) -> list[dict[str, Any]]:
    return [
        p
        for p in csms.received("TransactionEvent")
        if p["triggerReason"] == "ChargingRateChanged" and p["transactionInfo"]["transactionId"] == tx_id
    ]


async def test_K_limit_below_6_A_suspends_the_session_and_a_higher_one_resumes_it(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """IEC 61851-1: no PWM under 6 A. The offer is withdrawn, the contactor opens and the transaction reports
    SuspendedEVSE (ChargingRateChanged); a limit of 6 A or more offers again and the EV charges."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    assert (await set_profile(csms, 1, tx_default(1, [(0, 4.0)])))[0] == "Accepted"
    suspended = await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="SuspendedEVSE"))
    assert (suspended["triggerReason"], suspended["transactionInfo"]["transactionId"]) == ("ChargingRateChanged", tx_id)
    await offer_becomes(station, None)
    assert not station.d.board.contactor(1).is_closed
    assert status_of(station)["limited_by"] == "TxDefaultProfile"
    assert (await set_profile(csms, 1, tx_default(1, [(0, 8.0)])))[0] == "Accepted"  # replaces profile 1
    resumed = await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="Charging"))
    assert resumed["transactionInfo"]["transactionId"] == tx_id
    await offer_becomes(station, 8.0)
    assert station.d.board.contactor(1).is_closed


async def test_K_a_significant_change_sends_charging_rate_changed(csms: DevCsms, station: StationUnderTest) -> None:
    """A change of the limit by more than LimitChangeSignificance (5 %) is reported as TransactionEvent
    Updated ChargingRateChanged; a smaller one is not."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    assert (await set_profile(csms, 1, tx_default(1, [(0, 20.0)])))[0] == "Accepted"  # 32 -> 20 A
    await offer_becomes(station, 20.0)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="ChargingRateChanged"))
    assert (await set_profile(csms, 1, tx_default(1, [(0, 19.5)])))[0] == "Accepted"  # 2.5 %: not reported
    await offer_becomes(station, 19.5)
    assert (await set_profile(csms, 1, tx_default(1, [(0, 12.0)])))[0] == "Accepted"  # 38 %
    await offer_becomes(station, 12.0)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", triggerReason="ChargingRateChanged"))
    await settle()
    assert len(rate_changes(csms, tx_id)) == 2
    assert all(p["transactionInfo"]["chargingState"] == "Charging" for p in rate_changes(csms, tx_id))


async def test_K_the_offer_changes_at_a_period_boundary(csms: DevCsms, station: StationUnderTest) -> None:
    """The limit is re-evaluated when a period begins (a timer), not only when something is set."""
    await energy_transfer_started(station, csms)
    profile = tx_default(1, [(0, 10.0), (62, 14.0)], start=now() - timedelta(seconds=60))
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    await offer_becomes(station, 10.0)
    await offer_becomes(station, 14.0, timeout=6)


async def test_K11_K04_external_limits_reach_the_offer_and_the_status(csms: DevCsms, station: StationUnderTest) -> None:
    """Every limit in the station's registry (EMS, grid operator SO, load balancing) caps the offer as a
    ChargingStationExternalConstraints limit; `evse status` names the source; lifting it raises the offer."""
    await energy_transfer_started(station, csms)
    limits = station.d.station.external_limits
    limits.set(ExternalLimit("EMS", 0, amps=20.0))
    await offer_becomes(station, 20.0)
    assert (status_of(station)["offered_current_a"], status_of(station)["limited_by"]) == (20.0, "EMS")
    limits.set(ExternalLimit("LoadBalancing", 1, amps=13.0))
    await offer_becomes(station, 13.0)
    assert status_of(station)["limited_by"] == "LoadBalancing"
    limits.set(ExternalLimit("SO", 0, watts=4200.0))  # 4200 W / (3 x 230 V) = 6.08 A
    await offer_becomes(station, 6.0)
    assert status_of(station)["limited_by"] == "SO"
    limits.set(ExternalLimit("SO", 0, watts=2000.0))  # 2.9 A: no offer
    await offer_becomes(station, None)
    await csms.wait_for("TransactionEvent", predicate=tx("Updated", chargingState="SuspendedEVSE"))
    limits.clear("SO", 0)
    await offer_becomes(station, 13.0)
    limits.clear("LoadBalancing", 1)
    limits.clear("EMS", 0)
    await offer_becomes(station, 32.0)
    assert status_of(station)["limited_by"] == "evse_max"


async def test_K_the_cable_rating_limits_and_is_named(csms: DevCsms, station: StationUnderTest) -> None:
    """A 20 A cable caps a 32 A EVSE (IEC 61851-1 PP), and the status says so."""
    station.d.board.plug(1, cable_max_current_a=20.0)
    await energy_transfer_started(station, csms)
    await offer_becomes(station, 20.0)
    assert status_of(station)["limited_by"] == "cable"


async def test_K06_profiles_apply_offline(csms: DevCsms, station: StationUnderTest) -> None:
    """K06: offline, the station keeps applying its profiles: a period that begins then changes the offer,
    and the ChargingRateChanged it causes is delivered after the connection is back."""
    authorized = await energy_transfer_started(station, csms)
    tx_id = authorized["transactionInfo"]["transactionId"]
    profile = tx_default(1, [(0, 16.0), (63, 8.0)], start=now() - timedelta(seconds=60))
    assert (await set_profile(csms, 1, profile))[0] == "Accepted"
    await offer_becomes(station, 16.0)
    port = await go_offline(csms, station)
    await offer_becomes(station, 8.0, timeout=8)
    assert station.d.board.contactor(1).is_closed
    await back_online(csms, port)
    changed = await csms.wait_for(
        "TransactionEvent", predicate=lambda p: p["triggerReason"] == "ChargingRateChanged" and p["offline"], timeout=10
    )
    assert changed["transactionInfo"]["transactionId"] == tx_id


async def test_K10_clearing_every_profile_restores_the_full_offer(csms: DevCsms, station: StationUnderTest) -> None:
    await energy_transfer_started(station, csms)
    assert (await set_profile(csms, 1, tx_default(1, [(0, 10.0)])))[0] == "Accepted"
    await offer_becomes(station, 10.0)
    assert await clear(csms) == "Accepted"
    await offer_becomes(station, 32.0)
    assert status_of(station)["limited_by"] == "evse_max"

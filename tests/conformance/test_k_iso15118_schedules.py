"""ISO 15118 charging needs and schedules (K15-K17) on the wire: the daemon runs the simulated board with a
real serial ISO 15118 bridge talking to the emulated SECC module on a pty; the EV side is scripted on the
module, the CSMS side is the dev CSMS over loopback websockets.

Bridge message set v1 carries no schedule: the module gets the limit in force as CURRENT_LIMIT, and the
schedule the EV accepted is what the station reports in NotifyEVChargingSchedule.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers.interfaces import EnergyTransferMode, Iso15118Protocol
from drivers.iso15118.messages import CurrentLimit
from evse.devcsms.ev_planning import EvSchedulePlanner
from evse.devcsms.server import DevCsms
from hil.emulators.iso15118 import EmulatedSecc
from tests.charging_profiles import wire_profile
from tests.conformance.octt import (
    back_online,
    energy_transfer_started,
    go_offline,
    nothing_more,
    settle,
    tx,
    until,
    wire_checked,  # noqa: F401 - autouse: the wire is schema-valid
)
from tests.conformance.smart_charging import set_profile
from tests.integration.conftest import StationUnderTest

EVCC_ID = "0A1B2C3D4E5F"
#: What the scripted EV asks for: 16 A per phase at most, 6 A at least, 20 kWh within the hour.
NEEDS: dict[str, Any] = {
    "max_current_a": 16,
    "max_voltage_v": 400,
    "requested_energy_wh": 20_000,
    "departure_s": 3600,
    "min_current_a": 6,
}


@pytest.fixture
async def module() -> AsyncIterator[EmulatedSecc]:
    async with EmulatedSecc.on_pty(heartbeat_ms=50) as secc:
        yield secc


@pytest.fixture
async def hlc_station(module: EmulatedSecc, make_station: Any, csms: DevCsms) -> StationUnderTest:
    """A booted station whose EVSE 1 has the emulated module behind a serial bridge, the rest simulated.
    The module comes first, so it is closed after the station stopped (no link trouble at teardown)."""
    board = {kind: {"driver": "sim"} for kind in ("meter", "contactor", "pilot", "lock", "rfid")}
    board["iso15118"] = {"driver": "serial_bridge", "port": module.port, "heartbeat_ms": 50, "timeout_ms": 1000}
    sut: StationUnderTest = await make_station(board=board)
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)
    await module.wait_until(lambda: bool(module.limits))  # the bridge's handshake
    return sut


def tx_profile(profile_id: int, tx_id: str, amps: float, stack_level: int = 0) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    return wire_profile(
        profile_id, "TxProfile", [(0, amps)], transaction_id=tx_id, start=start, stack_level=stack_level
    )


async def limit_becomes(module: EmulatedSecc, amps: float) -> None:
    """The module's CURRENT_LIMIT reaches ``amps`` (what it offers the EV in the ISO 15118 session)."""
    want = CurrentLimit(round(amps * 10), None)
    await module.wait_until(lambda: module.last_limit == want)


def first_limit(schedule: dict[str, Any]) -> float:
    return float(schedule["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"])


async def charging_with_hlc(csms: DevCsms, sut: StationUnderTest, module: EmulatedSecc) -> str:
    """Charging, with an ISO 15118 session open on the module; returns the transactionId."""
    authorized = await energy_transfer_started(sut, csms)
    await module.start_session(EVCC_ID)
    return str(authorized["transactionInfo"]["transactionId"])


async def test_TC_K_53_CS_charging_with_load_leveling_based_on_hlc(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K15.FR.01, K15.FR.06: the EV's needs go to the CSMS in NotifyEVChargingNeeds (AC parameters, energy,
    departure time, requested mode); the CSMS's TxProfile reaches the module, and NotifyEVChargingSchedule reports the
    schedule the EV accepted: the profile's 10 A, from the moment it applies, in A."""
    tx_id = await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(**NEEDS)
    sent_at = datetime.now(UTC)
    needs = await csms.wait_for("NotifyEVChargingNeeds")
    assert needs["evseId"] == 1
    assert "maxScheduleTuples" not in needs  # bridge message set v1 does not carry it
    charging_needs = needs["chargingNeeds"]
    assert charging_needs["requestedEnergyTransfer"] == "AC_three_phase"
    assert charging_needs["acChargingParameters"] == {
        "energyAmount": 20_000,
        "evMinCurrent": 6,
        "evMaxCurrent": 16,
        "evMaxVoltage": 400,
    }
    departure = datetime.fromisoformat(charging_needs["departureTime"])
    assert abs(departure - (sent_at + timedelta(seconds=3600))) < timedelta(minutes=1)

    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 10.0)))[0] == "Accepted"
    await limit_becomes(module, 10.0)
    schedule = await csms.wait_for("NotifyEVChargingSchedule")
    assert schedule["evseId"] == 1
    assert schedule["chargingSchedule"]["chargingRateUnit"] == "A"
    assert first_limit(schedule) == 10.0
    assert schedule["chargingSchedule"]["startSchedule"] == schedule["timeBase"]
    assert hlc_station.d.board.contactor(1).is_closed  # the EV charges on
    # A TxDefaultProfile is no reply to the EV's needs: no schedule is reported for it.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    assert (await set_profile(csms, 1, wire_profile(2, "TxDefaultProfile", [(0, 8.0)], start=start)))[0] == "Accepted"
    await nothing_more(csms, "NotifyEVChargingSchedule", 1)


async def test_K15_needs_before_the_transaction_follow_its_started_event(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """NotifyEVChargingNeeds is a message of a transaction: needs the EV states before the transaction
    started wait for it, and reach the CSMS after its TransactionEvent Started."""
    await module.start_session(EVCC_ID)
    await module.send_charging_needs(**NEEDS)
    await settle()
    assert csms.received("NotifyEVChargingNeeds") == []
    hlc_station.d.board.plug(1)  # TxStartPoint EVConnected: the transaction starts here
    await csms.wait_for("NotifyEVChargingNeeds")
    order = [f.action for f in csms.log if f.action in ("TransactionEvent", "NotifyEVChargingNeeds")]
    assert order.index("TransactionEvent") < order.index("NotifyEVChargingNeeds")


async def test_TC_K_54_CS_charging_with_hlc_no_sa_schedule_rejected(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K15.FR.04: the CSMS answers Rejected, so it will send no schedule: the EV charges with the station's own
    limit (32 A, the EVSE's rating) at once, and no NotifyEVChargingSchedule claims a negotiated schedule."""
    csms.respond("NotifyEVChargingNeeds", {"status": "Rejected"})
    await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(**NEEDS)
    await csms.wait_for("NotifyEVChargingNeeds")
    await limit_becomes(module, 32.0)
    await nothing_more(csms, "NotifyEVChargingSchedule", 0)
    assert hlc_station.d.board.contactor(1).is_closed
    assert hlc_station.d.station.ev_needs.answer(1) == "Rejected"


async def test_K15_processing_waits_for_the_schedule_that_follows(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K15.FR.05: Processing means the CSMS is still computing (the station need not wait); its TxProfile,
    when it comes, reaches the module and is reported as the EV's schedule, capped at what the EV can draw
    (20 A offered, 16 A accepted)."""
    csms.respond("NotifyEVChargingNeeds", {"status": "Processing"})
    tx_id = await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(**NEEDS)
    await csms.wait_for("NotifyEVChargingNeeds")
    await until(lambda: hlc_station.d.station.ev_needs.answer(1) == "Processing")
    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 20.0)))[0] == "Accepted"
    await limit_becomes(module, 20.0)
    schedule = await csms.wait_for("NotifyEVChargingSchedule")
    assert first_limit(schedule) == 16.0


async def test_TC_K_56_CS_charging_with_hlc_offline(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K15 offline: the needs cannot reach the CSMS, so the EV charges with the profile the station holds
    (a TxDefaultProfile of 12 A); the stale needs are not sent after the reconnect."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    default = wire_profile(1, "TxDefaultProfile", [(0, 12.0)], start=start)
    assert (await set_profile(csms, 1, default))[0] == "Accepted"
    await charging_with_hlc(csms, hlc_station, module)
    port = await go_offline(csms, hlc_station)
    await module.send_charging_needs(**NEEDS)
    await limit_becomes(module, 12.0)
    await back_online(csms, port)
    await nothing_more(csms, "NotifyEVChargingNeeds", 0)
    assert hlc_station.d.board.contactor(1).is_closed


async def test_TC_K_57_CS_renegotiating_charging_schedule_ev_initiated(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K17.FR.01: the EV changes its needs during the transaction: NotifyEVChargingNeeds again with the new ones,
    the CSMS's new TxProfile reaches the module and NotifyEVChargingSchedule reports it."""
    tx_id = await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(**NEEDS)
    await csms.wait_for("NotifyEVChargingNeeds")
    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 10.0)))[0] == "Accepted"
    await csms.wait_for("NotifyEVChargingSchedule")

    await module.send_charging_needs(**{**NEEDS, "requested_energy_wh": 8_000, "max_current_a": 12})
    renegotiated = await csms.wait_for("NotifyEVChargingNeeds")
    assert renegotiated["chargingNeeds"]["acChargingParameters"]["energyAmount"] == 8_000
    assert renegotiated["chargingNeeds"]["acChargingParameters"]["evMaxCurrent"] == 12
    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 14.0)))[0] == "Accepted"  # replaces profile 1
    await limit_becomes(module, 14.0)
    schedule = await csms.wait_for("NotifyEVChargingSchedule")
    assert first_limit(schedule) == 12.0  # the EV's new maximum
    assert len(csms.received("NotifyEVChargingNeeds")) == 2


async def test_TC_K_58_CS_renegotiating_charging_schedule_csms_initiated(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K16.FR.01, K16.FR.05: the CSMS sends a new TxProfile during the transaction: Accepted, the new limit is
    handed to the module and NotifyEVChargingSchedule reports the renegotiated schedule; the EV's needs are
    not asked again."""
    tx_id = await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(**NEEDS)
    await csms.wait_for("NotifyEVChargingNeeds")
    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 10.0)))[0] == "Accepted"
    await limit_becomes(module, 10.0)
    assert first_limit(await csms.wait_for("NotifyEVChargingSchedule")) == 10.0

    assert (await set_profile(csms, 1, tx_profile(2, tx_id, 8.0, stack_level=1)))[0] == "Accepted"
    await limit_becomes(module, 8.0)
    assert first_limit(await csms.wait_for("NotifyEVChargingSchedule")) == 8.0
    await nothing_more(csms, "NotifyEVChargingNeeds", 1)
    assert [p["eventType"] for p in csms.received("TransactionEvent") if tx("Ended")(p)] == []


async def test_K15_dc_needs_carry_the_ev_power_and_its_schedule_in_dc_amperes(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """K15.FR.01 for a DC EV (DIN 70121): dcChargingParameters with the EV's maximum power and energy; the
    schedule it accepts is the TxProfile's DC current."""
    authorized = await energy_transfer_started(hlc_station, csms)
    tx_id = str(authorized["transactionInfo"]["transactionId"])
    await module.start_session(EVCC_ID, Iso15118Protocol.DIN_70121, EnergyTransferMode.DC)
    await module.send_charging_needs(
        max_current_a=125, max_voltage_v=450, max_power_w=50_000, requested_energy_wh=30_000
    )
    needs = (await csms.wait_for("NotifyEVChargingNeeds"))["chargingNeeds"]
    assert needs == {
        "requestedEnergyTransfer": "DC",
        "dcChargingParameters": {
            "evMaxCurrent": 125,
            "evMaxVoltage": 450,
            "energyAmount": 30_000,
            "evMaxPower": 50_000,
        },
    }
    assert (await set_profile(csms, 1, tx_profile(1, tx_id, 20.0)))[0] == "Accepted"
    await limit_becomes(module, 20.0)
    assert first_limit(await csms.wait_for("NotifyEVChargingSchedule")) == 20.0


async def test_K15_the_dev_csms_plans_a_schedule_that_reaches_the_ev(
    csms: DevCsms, hlc_station: StationUnderTest, module: EmulatedSecc
) -> None:
    """End to end as in the demo: the dev CSMS's planner answers the needs Accepted and sends a TxProfile of the
    current that delivers 11 kWh in an hour on three phases (16.0 A); the module gets it and the station
    reports it as the EV's schedule."""
    EvSchedulePlanner(csms)
    await charging_with_hlc(csms, hlc_station, module)
    await module.send_charging_needs(max_current_a=32, max_voltage_v=400, requested_energy_wh=11_000, departure_s=3600)
    await csms.wait_for("NotifyEVChargingNeeds")
    await limit_becomes(module, 16.0)
    assert first_limit(await csms.wait_for("NotifyEVChargingSchedule")) == 16.0

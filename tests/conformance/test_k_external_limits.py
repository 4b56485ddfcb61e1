"""Block K, external limits (K11-K13) over the wire: a local energy manager writing limits over Modbus TCP
(pymodbus' client on loopback) and the grid operator's contact on the simulated board, each reported to the
dev CSMS (NotifyChargingLimit, ClearedChargingLimit, schema-checked there). Whether the pilot offer follows
the limit is the composite schedule's part (issue 11 section 2); the last test checks it end to end."""

from __future__ import annotations

from typing import Any

from evse.devcsms.server import DevCsms
from evse.smartcharging.external_limits import EMS, GRID_OPERATOR, ExternalLimit
from tests.conformance.wire import until
from tests.ems_client import connected_ems, ems_section, free_port
from tests.integration.conftest import StationUnderTest

SCHEDULES = {"SmartChargingCtrlr.NotifyChargingLimitWithSchedules": True}


async def booted(make_station: Any, csms: DevCsms, **extra: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(**extra)
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def test_TC_K_52_CS_ems_control_set_and_update_external_charging_limit(csms: DevCsms, make_station: Any) -> None:
    """K12.FR.02/03/04: an EMS sets a limit (here for EVSE 1, in A): the station notifies the CSMS with
    source EMS, the EVSE and, NotifyChargingLimitWithSchedules being true, the limit as a schedule. An update
    beyond LimitChangeSignificance (5 %) is notified again; one within it is not."""
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port), device_model=SCHEDULES)
    async with connected_ems(port) as ems:
        await ems.set_current(1, 16.0)
        first = await csms.wait_for("NotifyChargingLimit", timeout=5)
        assert first["chargingLimit"] == {"chargingLimitSource": "EMS", "isGridCritical": False}
        assert first["evseId"] == 1
        [schedule] = first["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "A"
        assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0}]
        assert sut.d.station.external_limits.in_force(1) == [ExternalLimit(EMS, 1, amps=16.0)]

        await ems.set_current(1, 16.5)  # +3 %: below LimitChangeSignificance
        await ems.set_current(1, 10.0)  # -39 % from the 16 A reported
        update = await csms.wait_for("NotifyChargingLimit", timeout=5)
        assert update["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 10.0
        assert sut.d.station.external_limits.in_force(1) == [ExternalLimit(EMS, 1, amps=10.0)]
    assert len(csms.received("NotifyChargingLimit")) == 2
    csms.assert_no_failures()


async def test_K13_FR_02_ems_releases_its_station_limit_cleared_charging_limit(
    csms: DevCsms, make_station: Any
) -> None:
    """K13.FR.01/02: the EMS writes "no limit" over its station power limit: the registry holds none any
    more and the CSMS gets ClearedChargingLimit with source EMS, without evseId (it was the station's)."""
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port))
    async with connected_ems(port) as ems:
        await ems.set_power(0, 11_000)
        notified = await csms.wait_for("NotifyChargingLimit", timeout=5)
        assert "evseId" not in notified and "chargingSchedule" not in notified  # schedules are off by default
        await ems.set_power(0, None)
        cleared = await csms.wait_for("ClearedChargingLimit", timeout=5)
    assert cleared == {"chargingLimitSource": "EMS"}
    assert sut.d.station.external_limits.in_force() == []
    csms.assert_no_failures()


async def test_K11_K13_grid_operator_contact_caps_the_station_as_a_grid_critical_limit(
    csms: DevCsms, make_station: Any
) -> None:
    """Section 14a EnWG style: while the grid_limit input is closed the station is capped to the configured
    power, source SO, isGridCritical true (K11.FR.02 with the W schedule, K11.FR.03); open again, it is
    cleared (K13.FR.02)."""
    sut = await booted(make_station, csms, grid_limit={"power_w": 3700}, device_model=SCHEDULES)
    board = sut.d.board
    assert board is not None
    board.set_input(1, "grid_limit", True)
    notified = await csms.wait_for("NotifyChargingLimit", timeout=5)
    assert notified["chargingLimit"] == {"chargingLimitSource": "SO", "isGridCritical": True}
    assert "evseId" not in notified
    assert notified["chargingSchedule"][0]["chargingRateUnit"] == "W"
    assert notified["chargingSchedule"][0]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 3700.0}]
    assert sut.d.station.external_limits.in_force() == [
        ExternalLimit(GRID_OPERATOR, 0, watts=3700, is_grid_critical=True)
    ]
    board.set_input(1, "grid_limit", False)
    assert await csms.wait_for("ClearedChargingLimit", timeout=5) == {"chargingLimitSource": "SO"}
    assert sut.d.station.external_limits.in_force() == []
    csms.assert_no_failures()


async def test_K11_K12_external_limits_reach_the_pilot_offer(csms: DevCsms, make_station: Any) -> None:
    """K12 + K08 end to end: while a session charges, an EMS limit written over Modbus TCP becomes the offer
    the simulated pilot generates (limited_by EMS), the grid operator's contact (4200 W on 3 phases at 230 V
    = 6.09 A per phase, floored to 0.1 A) takes over while closed, and lifting both gives the EVSE its own
    maximum back; the transaction reports each change beyond LimitChangeSignificance as ChargingRateChanged."""
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port, timeout_s=600))
    board = sut.d.board
    assert board is not None
    board.plug(1)
    board.swipe(1, "AABBCCDD")
    board.set_ev_state(1, "C")
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=10)

    def offer() -> float | None:
        value = board.snapshot(1)["offered_current_a"]
        return None if value is None else float(value)

    await until(lambda: offer() == 32, "the EVSE's own maximum offered")
    async with connected_ems(port) as ems:
        await ems.set_current(1, 10.0)
        await until(lambda: offer() == 10, "the EMS limit on the pilot")
        assert sut.d.station.evses[1].limited_by == EMS
        board.set_input(1, "grid_limit", True)
        await until(lambda: offer() == 6.0, "the grid cap")  # 4200 W / (3 x 230 V) = 6.09 A, floored to 0.1 A
        assert sut.d.station.evses[1].limited_by == GRID_OPERATOR
        board.set_input(1, "grid_limit", False)
        await until(lambda: offer() == 10, "the EMS limit again")
        await ems.set_current(1, None)
        await until(lambda: offer() == 32, "no external limit left")
    changes = [p for p in csms.received("TransactionEvent") if p.get("triggerReason") == "ChargingRateChanged"]
    assert len(changes) >= 3
    csms.assert_no_failures()

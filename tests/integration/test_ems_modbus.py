"""The EMS's Modbus TCP server in the running daemon, driven by pymodbus' client on loopback: the status an
energy manager reads, the writes the map refuses, the failsafe when it falls silent, and a station whose
server cannot listen. Register addresses are those of docs/ems-modbus.md (map v1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from evse.smartcharging import ems_registers as regs
from evse.smartcharging.external_limits import EMS, ExternalLimit
from tests.ems_client import connected_ems, ems_section, free_port
from tests.integration.conftest import STATION_ID, StationUnderTest

EVSE1 = regs.EVSE_BLOCK


async def booted(make_station: Any, csms: DevCsms, **extra: Any) -> StationUnderTest:
    sut: StationUnderTest = await make_station(**extra)
    await csms.wait_for("BootNotification", timeout=10)
    await csms.wait_for("StatusNotification", timeout=10)
    return sut


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll `check` (the station samples its meter once a second) until it holds."""
    async with asyncio.timeout(timeout):
        while not await check():  # noqa: ASYNC110 - a Modbus read is the only way to see it
            await asyncio.sleep(0.1)


async def test_an_ems_reads_the_map_version_settings_and_each_evse_status_offer_power_and_energy(
    csms: DevCsms, make_station: Any
) -> None:
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port, timeout_s=600, failsafe_current_a=8))
    async with connected_ems(port) as ems:
        station = await ems.read(0, regs.STATION_REGISTERS)
        assert station[regs.Station.MAP_VERSION] == 1
        assert station[regs.Station.EVSE_COUNT] == 1
        assert station[regs.Station.FAILSAFE_CURRENT] == 80
        assert station[regs.Station.COMM_TIMEOUT] == 600
        assert station[regs.Station.CURRENT_LIMIT] == regs.NO_LIMIT_16
        idle = await ems.read(EVSE1, regs.EVSE_REGISTERS)
        assert idle[regs.Evse.CONNECTOR_STATUS] == regs.CONNECTOR_STATUS["Available"]
        assert idle[regs.Evse.PILOT_STATE] == regs.PILOT_STATE["A"]
        assert idle[regs.Evse.OFFERED_CURRENT] == 0

        board = sut.d.board
        assert board is not None
        board.plug(1)
        board.swipe(1, "AABBCCDD")
        await csms.wait_for("TransactionEvent", timeout=10)
        board.set_ev_state(1, "C")
        board.set_power(1, 7000)

        async def charging() -> bool:
            block = await ems.read(EVSE1, regs.EVSE_REGISTERS)
            return regs.join32(*block[regs.Evse.ACTIVE_POWER : regs.Evse.ACTIVE_POWER + 2]) > 6000

        await until(charging)
        block = await ems.read(EVSE1, regs.EVSE_REGISTERS)
        assert block[regs.Evse.CONNECTOR_STATUS] == regs.CONNECTOR_STATUS["Occupied"]
        assert block[regs.Evse.PILOT_STATE] == regs.PILOT_STATE["C"]
        assert block[regs.Evse.CHARGING_STATE] == regs.CHARGING_STATE["Charging"]
        assert block[regs.Evse.OFFERED_CURRENT] == 320  # the EVSE's 32 A: nothing limits it
        snapshot = sut.d.station.snapshot()["evses"][0]
        energy = regs.join32(*block[regs.Evse.ENERGY : regs.Evse.ENERGY + 2])
        assert 0 < energy <= round(snapshot["energy_wh"]) + 1
        # The same values answer function 4, for energy managers that read input registers only.
        as_input = await ems.read(EVSE1, 4, input_registers=True)
        assert as_input[:3] == block[:3]


async def test_writes_the_map_refuses_get_a_modbus_exception_and_change_nothing(
    csms: DevCsms, make_station: Any
) -> None:
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port))
    async with connected_ems(port) as ems:
        refusals = {
            "read only": (await ems.write(regs.Station.MAP_VERSION, 7), regs.ILLEGAL_ADDRESS),
            "half of a 32-bit value": (await ems.write(regs.Station.POWER_LIMIT, 1), regs.ILLEGAL_ADDRESS),
            "outside the map": (await ems.write(50, 1), regs.ILLEGAL_ADDRESS),
            "above 1000 A": (await ems.write(EVSE1 + regs.Evse.CURRENT_LIMIT, 10_001), regs.ILLEGAL_VALUE),
            "failsafe above the EVSE": (await ems.write(regs.Station.FAILSAFE_CURRENT, 330), regs.ILLEGAL_VALUE),
            # One bad value in a request refuses the whole request.
            "mixed": (await ems.write(regs.Station.CURRENT_LIMIT, 100, 0xFFFF, 0xFFFF, 999), regs.ILLEGAL_VALUE),
        }
        for what, (answer, code) in refusals.items():
            assert answer.isError(), what
            assert answer.exception_code == code, what
        station = await ems.read(0, regs.STATION_REGISTERS)
        assert station[regs.Station.CURRENT_LIMIT] == regs.NO_LIMIT_16
        assert station[regs.Station.FAILSAFE_CURRENT] == 60
    assert sut.d.station.external_limits.in_force() == []
    assert csms.received("NotifyChargingLimit") == []


async def test_a_silent_ems_gets_the_failsafe_current_on_every_evse_reported_until_it_writes_again(
    csms: DevCsms, make_station: Any
) -> None:
    """The failsafe replaces the EMS's stale limits: its station limit is cleared, each EVSE capped to the
    failsafe current, all of it reported (ClearedChargingLimit, NotifyChargingLimit per EVSE); a write of
    the EMS lifts it."""
    port = free_port()
    sut = await booted(make_station, csms, evses=2, ems=ems_section(port, timeout_s=1, failsafe_current_a=6))
    limits = sut.d.station.external_limits
    async with connected_ems(port) as ems:
        await ems.set_current(0, 20.0)
        await csms.wait_for("NotifyChargingLimit", predicate=lambda p: "evseId" not in p, timeout=5)
        # No more writes: after the timeout (1 s) the failsafe applies.
        for evse_id in (1, 2):
            await csms.wait_for("NotifyChargingLimit", predicate=lambda p, e=evse_id: p.get("evseId") == e)
        assert await csms.wait_for("ClearedChargingLimit", timeout=5) == {"chargingLimitSource": "EMS"}
        assert set(limits.in_force()) == {ExternalLimit(EMS, 1, amps=6.0), ExternalLimit(EMS, 2, amps=6.0)}
        station = await ems.read(0, regs.STATION_REGISTERS)
        assert station[regs.Station.STATUS_FLAGS] & regs.STATUS_FAILSAFE
        assert station[regs.Station.CURRENT_LIMIT] == regs.NO_LIMIT_16  # its limit was dropped

        await ems.write(regs.Station.COMM_TIMEOUT, 600)  # alive again, with a longer timeout
        cleared = [await csms.wait_for("ClearedChargingLimit", timeout=5) for _ in range(2)]
        assert sorted(c["evseId"] for c in cleared) == [1, 2]
        await ems.set_current(1, 12.0)
        assert limits.in_force() == [ExternalLimit(EMS, 1, amps=12.0)]
        station = await ems.read(0, regs.STATION_REGISTERS)
        assert not station[regs.Station.STATUS_FLAGS] & regs.STATUS_FAILSAFE
    csms.assert_no_failures()


async def test_a_station_whose_ems_port_is_taken_keeps_running_and_applies_the_failsafe(
    csms: DevCsms, make_station: Any
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        sut = await booted(make_station, csms, ems=ems_section(port, timeout_s=1))
        notified = await csms.wait_for("NotifyChargingLimit", timeout=10)
    assert notified["evseId"] == 1
    assert sut.d.station.external_limits.in_force() == [ExternalLimit(EMS, 1, amps=6.0)]
    assert sut.task is not None and not sut.task.done()


async def test_the_csms_switching_external_control_signals_off_lifts_the_ems_limit_and_on_restores_it(
    csms: DevCsms, make_station: Any
) -> None:
    port = free_port()
    sut = await booted(make_station, csms, ems=ems_section(port))

    async def external_control(enabled: bool) -> None:
        data = {
            "component": {"name": "SmartChargingCtrlr"},
            "variable": {"name": "ExternalControlSignalsEnabled"},
            "attribute_value": str(enabled).lower(),
        }
        result = await csms.call(STATION_ID, call.SetVariables(set_variable_data=[data]))
        assert result.set_variable_result[0]["attribute_status"] == "Accepted"

    async with connected_ems(port) as ems:
        await ems.set_power(1, 7400)
        await csms.wait_for("NotifyChargingLimit", timeout=5)
        await external_control(False)
        assert await csms.wait_for("ClearedChargingLimit", timeout=5) == {"chargingLimitSource": "EMS", "evseId": 1}
        assert sut.d.station.external_limits.in_force() == []
        await ems.set_power(1, 3700)  # still accepted and kept: it applies once signals are enabled again
        await external_control(True)
        await csms.wait_for("NotifyChargingLimit", timeout=5)
        assert sut.d.station.external_limits.in_force() == [ExternalLimit(EMS, 1, watts=3700)]

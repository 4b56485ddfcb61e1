"""A board that mixes real and simulated drivers, as a technician brings up one device at a time.

The daemon runs a real Modbus meter (pymodbus through pyserial, against the meter emulator on a pty) next to
a simulated contactor, pilot, lock and RFID reader; a charging session is driven through the control socket,
as `evse sim ...` does. Before the fix `evse run` crashed building the board
("SimContactor.__init__() got an unexpected keyword argument 'evse_id'").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.meter.register_map import load_register_map, map_path
from evse import control
from evse.control import ControlServer
from evse.devcsms.server import DevCsms
from evse.errors import ControlError
from evse.sim_commands import SIM_COMMANDS, add_no_sim_commands
from hil.emulators.meter import MeterEmulator, MeterValues
from hil.emulators.pty_link import PtyLink
from hil.run_hil import energy_of
from tests.integration.conftest import StationUnderTest

CARD = "AABBCCDD"
IDLE = MeterValues(power_w=0.0, current_a=(0.0, 0.0, 0.0), energy_import_wh=1_000_000.0)


@contextlib.asynccontextmanager
async def emulated_meter() -> AsyncIterator[tuple[MeterEmulator, str]]:
    emulator = MeterEmulator(load_register_map(map_path("eastron_sdm630")), values=IDLE)
    with PtyLink.open() as link:
        task = asyncio.create_task(emulator.serve(link.master_fd))
        try:
            yield emulator, link.slave_path
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def mixed_board(meter_port: str) -> dict[str, Any]:
    return {
        "meter": {
            "driver": "modbus",
            "model": "eastron_sdm630",
            "port": meter_port,
            "timeout_s": 0.2,
            "poll_interval_s": 0.05,
        },
        "contactor": {"driver": "sim"},
        "pilot": {"driver": "sim"},
        "lock": {"driver": "sim"},
        "rfid": {"driver": "sim"},
    }


async def sim(sut: StationUnderTest, cmd: str, **fields: Any) -> dict[str, Any]:
    """One `evse sim <cmd> 1 ...` over the daemon's control socket (the CLI's blocking client, in a thread)."""
    request = {"cmd": f"sim.{cmd}", "evse": 1, **fields}
    return await asyncio.to_thread(control.request, sut.settings.socket_path, request)


async def until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await condition():  # noqa: ASYNC110  (state behind the control socket: nothing to await)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def tx_event(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda p: bool(p["eventType"] == kind)


async def test_a_mixed_board_charges_through_evse_sim_commands(csms: DevCsms, make_station: Any) -> None:
    async with emulated_meter() as (meter, port):
        sut: StationUnderTest = await make_station(board=mixed_board(port))
        await csms.wait_for("StatusNotification", timeout=10)

        async def sim_status() -> dict[str, Any]:
            answer: dict[str, Any] = (await sim(sut, "status"))["sim"]
            return answer

        async def station_energy() -> float:
            status = await asyncio.to_thread(control.request, sut.settings.socket_path, {"cmd": "status"})
            return float(status["evses"][0]["energy_wh"])

        assert (await sim_status())["real_devices"] == {"meter": "modbus"}

        async def first_reading() -> bool:
            return await station_energy() == IDLE.energy_import_wh

        await until(first_reading, "the first reading of the real meter")  # polled once a second
        await sim(sut, "plug")
        await sim(sut, "swipe", id_token=CARD)
        started = await csms.wait_for("TransactionEvent", predicate=tx_event("Started"), timeout=10)
        assert energy_of(started) == IDLE.energy_import_wh  # read from the real meter, not the simulation

        await sim(sut, "ev-state", state="C")

        async def contactor_closed() -> bool:
            return bool((await sim_status())["contactor_closed"])

        await until(contactor_closed, "the sim contactor to close in state C")
        assert (await sim_status())["offered_current_a"] is not None  # the sim pilot offers PWM

        meter.set_values(power_w=7_360.0, current_a=(10.7, 10.7, 10.7), energy_import_wh=1_000_500.0)

        async def energy_counted() -> bool:
            return await station_energy() == 1_000_500.0

        await until(energy_counted, "the station to read the meter's new register")
        await sim(sut, "swipe", id_token=CARD)  # the same card stops
        ended = await csms.wait_for("TransactionEvent", predicate=tx_event("Ended"), timeout=10)
        assert ended["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
        assert energy_of(ended) == 1_000_500.0

        async def contactor_open() -> bool:
            return not (await sim_status())["contactor_closed"]

        await until(contactor_open, "the sim contactor to open after the stop")
        await sim(sut, "unplug")

        # A sim command aimed at the device that is real on this board says so in one line.
        with pytest.raises(ControlError) as info:
            await sim(sut, "meter", power=7_000)
        assert str(info.value) == "sim board: `sim meter`: the meter of EVSE 1 is real on this board (driver modbus)"
        with pytest.raises(ControlError, match="the meter of EVSE 1 is real"):
            await sim(sut, "fault", name="meter_lost")
        await sut.stop()


async def test_evse_sim_on_a_board_without_simulated_devices_says_why(tmp_path: Path) -> None:
    server = ControlServer(tmp_path / "control.sock")
    add_no_sim_commands(server)
    task = asyncio.create_task(server.run())
    try:
        async with asyncio.timeout(5):
            while not (tmp_path / "control.sock").exists():  # noqa: ASYNC110  (the socket file is the signal)
                await asyncio.sleep(0.01)
        for cmd in SIM_COMMANDS:
            with pytest.raises(ControlError) as info:
                await asyncio.to_thread(control.request, tmp_path / "control.sock", {"cmd": f"sim.{cmd}", "evse": 1})
            assert str(info.value).startswith("this board has no simulated devices")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

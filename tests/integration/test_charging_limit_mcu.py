"""The limit reaches the wire to the safety MCU: the daemon with its real drivers on the emulated board
(`make hil`'s rig), charging profiles set by the dev CSMS, and the PWM duty cycle the MCU emulator generates
read after each change (IEC 61851-1: duty = amps / 0.6 % up to 51 A; 100 % is no PWM)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers.pilot.duty import DUTY_NO_PWM, duty_for_current
from evse.config import load_settings
from evse.daemon import build
from evse.devcsms.server import DevCsms
from hil.rig import EmulatedBoard
from hil.run_hil import CARD, PASSWORD, STATION, write_config
from tests.charging_profiles import wire_profile
from tests.conformance.smart_charging import clear, set_profile

WAIT_S = 8.0  # generous: the emulators run in threads on a loaded 2-core machine


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never seen: {what}")
        await asyncio.sleep(0.01)


async def test_the_mcu_generates_the_duty_cycle_of_each_new_limit(tmp_path: Path) -> None:
    async with DevCsms(basic_auth={STATION: PASSWORD}) as csms, EmulatedBoard() as rig:
        daemon = build(load_settings(write_config(tmp_path, rig, csms.port)), pin_factory=rig.pin_factory)
        task = asyncio.create_task(daemon.run())
        try:
            await csms.wait_for("BootNotification", timeout=10)
            await until(lambda: daemon.station.evses[1].reading is not None, "a first meter reading")
            rig.plug(cable_a=32)
            rig.present_card(CARD)
            await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Started", timeout=10)
            rig.remove_card()
            rig.set_ev_state("C")
            duty = lambda: rig.mcu.snapshot().duty_permille  # noqa: E731
            await until(lambda: duty() == duty_for_current(16), "the EVSE's 16 A (26.7 %)")
            await until(lambda: rig.contactor_closed, "the contactor closed")
            start = datetime.now(UTC) - timedelta(minutes=1)
            for profile_id, amps in ((1, 10.0), (1, 6.0), (1, 13.0)):
                profile = wire_profile(profile_id, "TxDefaultProfile", [(0, amps)], start=start)
                assert (await set_profile(csms, 1, profile, station=STATION))[0] == "Accepted"
                await until(lambda a=amps: duty() == duty_for_current(a), f"{amps} A at the MCU")
            below = wire_profile(1, "TxDefaultProfile", [(0, 5.0)], start=start)
            assert (await set_profile(csms, 1, below, station=STATION))[0] == "Accepted"
            await until(lambda: duty() == DUTY_NO_PWM, "no PWM under 6 A")
            await until(lambda: not rig.contactor_closed, "the contactor open")
            assert await clear(csms, 1, station=STATION) == "Accepted"
            await until(lambda: duty() == duty_for_current(16), "16 A again once the profile is cleared")
            await until(lambda: rig.contactor_closed, "the contactor closed again")
            history = [permille for _t, permille in rig.mcu.duty_history]
            wanted = [duty_for_current(a) for a in (16, 10, 6, 13)] + [DUTY_NO_PWM, duty_for_current(16)]
            assert [p for p in history if p in wanted][-len(wanted) :] == wanted
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

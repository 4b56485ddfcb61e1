"""The HIL session (`make hil`): the daemon and its real drivers against the emulated board and the dev CSMS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from drivers.interfaces import EventSink
from drivers.pilot.duty import DUTY_NO_PWM
from drivers.pilot.messages import MsgType, SetPwm
from evse.config import load_settings
from evse.daemon import Exit, build
from evse.devcsms.server import DevCsms
from hil.rig import EmulatedBoard
from hil.run_hil import CARD, PASSWORD, STATION, Session, energy_of, main, run_session, write_config


async def test_hil_session_passes_every_step_and_the_csms_records_the_energy(tmp_path: Path) -> None:
    lines: list[str] = []
    result = await run_session(tmp_path, out=lines.append)

    assert result.ok, "\n".join(lines)
    steps = [line for line in lines if line.startswith("HIL step")]
    assert len(steps) == len(result.steps) == 12
    assert all(line.endswith("... ok") for line in steps)
    assert result.csms_failures == []
    events = result.transaction_events
    started = [e for e in events if e["eventType"] == "Started"]
    ended = [e for e in events if e["eventType"] == "Ended"]
    assert len(started) == len(ended) == 1
    tx = started[0]["transactionInfo"]["transactionId"]
    assert ended[0]["transactionInfo"]["transactionId"] == tx
    assert started[0]["idToken"] == {"idToken": CARD, "type": "ISO14443"}
    assert (ended[0]["triggerReason"], ended[0]["transactionInfo"]["stoppedReason"]) == ("StopAuthorized", "Local")
    energies = [energy_of(e) for e in events if energy_of(e) is not None]
    assert energies == sorted(energies)  # the register never goes back
    begin, end = energy_of(started[0]), energy_of(ended[0])
    assert begin is not None and end is not None and end > begin
    assert len([e for e in events if e["eventType"] == "Updated" and energy_of(e) is not None]) >= 2


async def test_a_stuck_contactor_fails_the_session_at_its_step(tmp_path: Path) -> None:
    def stick(rig: EmulatedBoard) -> None:
        rig.contactor_stuck = True

    lines: list[str] = []
    result = await run_session(tmp_path, out=lines.append, prepare=stick)

    assert not result.ok
    failed = result.steps[-1]
    assert (failed.title, failed.ok) == ("contactor closes", False)
    assert [s.ok for s in result.steps[:-1]] == [True] * (len(result.steps) - 1)
    assert f"HIL step {failed.number}: {failed.title} ... FAILED: " in lines[len(result.steps) - 1]
    assert "auxiliary contact stayed open" in failed.detail


def test_make_hil_entry_point_exits_0_and_prints_one_line_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out if line.startswith("HIL step")] == [
        f"HIL step {n}" for n in range(1, 13)
    ]
    assert out[-1].startswith("HIL passed: 12 steps")


class CrashingDriver:
    """An extra driver whose ``run`` fails on demand: the daemon's "a task crashed" exit path."""

    name = "crashing test driver"

    def __init__(self) -> None:
        self.crash = asyncio.Event()

    async def run(self, sink: EventSink) -> None:
        await self.crash.wait()
        raise RuntimeError("driver bug")


async def charge(session: Session) -> None:
    """The HIL session up to power flowing (the Started's meter values are not this test's question)."""
    for step in (session.boot, session.plug, session.card, session.duty, session.ev_charging, session.contactor_closed):
        await step()


#: What the station logs when it tries to make the EVSE safe with its drivers already stopped.
LATE_SHUTDOWN = ("could not withdraw the pilot offer", "not connected to the safety MCU", "could not open contactor")


@pytest.mark.parametrize("how", ["sigterm", "reset", "cancelled", "crashed_task"])
async def test_every_shutdown_opens_the_contactor_then_withdraws_the_offer_while_the_mcu_link_is_up(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """IEC 61851-1 order on every exit path of the daemon, while charging: the contactor opens, then the PWM
    offer is withdrawn (100 %, X1) by a SET_PWM the emulated MCU received, so the link was still up (the MCU's
    own watchdog would instead fall to state F, 0 %). Nothing warns about a link that is already closed
    (`make hil` ended with "could not withdraw the pilot offer ... not connected to the safety MCU")."""
    async with DevCsms(basic_auth={STATION: PASSWORD}) as csms, EmulatedBoard() as rig:
        daemon = build(load_settings(write_config(tmp_path, rig, csms.port)), pin_factory=rig.pin_factory)
        crashing = CrashingDriver()
        daemon.extra.append(crashing)
        task = asyncio.create_task(daemon.run())
        try:
            await charge(Session(csms, rig, daemon))
        except BaseException:
            task.cancel()  # the daemon stops before the rig does
            with contextlib.suppress(BaseException):
                await task
            raise
        offer = rig.mcu.snapshot().duty_permille
        assert offer != DUTY_NO_PWM and rig.coil_energized

        if how == "sigterm":
            # The daemon runs in this process: without its handler the signal would end the test run itself.
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL, "no SIGTERM handler while the daemon runs"
            os.kill(os.getpid(), signal.SIGTERM)
            assert await task is Exit.STOPPED
        elif how == "reset":
            daemon.station.reset_requested.set()
            assert await task is Exit.RESET
        elif how == "cancelled":  # as `make hil` ends its run
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            crashing.crash.set()
            with pytest.raises(ExceptionGroup) as crashed:
                await task
            assert crashed.value.subgroup(RuntimeError) is not None  # the daemon still exits non-zero

        commanded = [SetPwm.parse(f.payload).duty_permille for f in rig.mcu.frames_of_type(MsgType.SET_PWM)]
        assert commanded[-1] == DUTY_NO_PWM
        duties = rig.mcu.duty_history
        last_offer = max(i for i, (_t, duty) in enumerate(duties) if duty == offer)
        withdrawn_at, next_duty = duties[last_offer + 1]
        assert next_duty == DUTY_NO_PWM
        coil_off_at = next(t for t, energized in reversed(rig.coil_history) if not energized)
        assert coil_off_at <= withdrawn_at  # contactor first, then the offer
        assert not rig.coil_energized
    late = [r.getMessage() for r in caplog.records if any(text in r.getMessage() for text in LATE_SHUTDOWN)]
    assert late == []

"""SafetyMcuPilot against the MCU emulator on the other end of a real pty, through pyserial.

Timeouts in the driver's Params are small (heartbeat 40 ms, answer 80 ms: the link counts as lost
after 200 ms of silence) so failures show quickly; waits in the tests are generous so a loaded
2-core machine does not make them flaky.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from drivers.errors import DriverError
from drivers.interfaces import (
    CableCapacityChanged,
    DriverEvent,
    FaultCleared,
    FaultRaised,
    PilotState,
    PilotStateChanged,
)
from drivers.pilot.framing import Frame, encode_frame
from drivers.pilot.messages import McuFault, MsgType, NackCode, Status, StatusFlag
from drivers.pilot.safety_mcu import SafetyMcuPilot
from hil.emulators.mcu_model import McuConfig
from hil.emulators.safety_mcu import McuSnapshot, SafetyMcuEmulator

FAST = {"heartbeat_ms": 40, "response_timeout_ms": 80, "retries": 2, "reconnect_ms": 100}
MCU = McuConfig(heartbeat_timeout_ms=400, status_period_ms=100)
WAIT_S = 3.0


class Recorder:
    """The event sink: keeps every event in order."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)

    def states(self) -> list[PilotState]:
        return [e.state for e in self.events if isinstance(e, PilotStateChanged)]

    def faults(self, name: str) -> list[FaultRaised | FaultCleared]:
        return [e for e in self.events if isinstance(e, FaultRaised | FaultCleared) and e.name == name]

    def raised(self, name: str) -> list[FaultRaised]:
        return [e for e in self.faults(name) if isinstance(e, FaultRaised)]


async def eventually(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


async def mcu_reaches(emu: SafetyMcuEmulator, condition: Callable[[McuSnapshot], bool]) -> None:
    """Wait without blocking the loop (the driver under test runs on it) for the MCU to get there."""
    await eventually(lambda: condition(emu.snapshot()))


@contextlib.asynccontextmanager
async def running(driver: SafetyMcuPilot, sink: Recorder) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(driver.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def emu() -> Iterator[SafetyMcuEmulator]:
    with SafetyMcuEmulator(MCU) as emulator:
        yield emulator


@pytest.fixture
async def connected(emu: SafetyMcuEmulator) -> AsyncIterator[tuple[SafetyMcuPilot, Recorder]]:
    """A driver that finished its handshake and reported the initial state."""
    driver = SafetyMcuPilot(evse_id=1, port=emu.port, **FAST)
    sink = Recorder()
    async with running(driver, sink):
        await eventually(lambda: len(sink.states()) == 1)
        yield driver, sink


async def test_handshake_then_initial_state(emu: SafetyMcuEmulator) -> None:
    emu.set_ev_state("B")
    emu.set_cable(32)
    driver = SafetyMcuPilot(evse_id=3, port=emu.port, **FAST)
    sink = Recorder()
    async with running(driver, sink):
        await eventually(lambda: len(sink.events) >= 2)
        assert sink.events[:2] == [PilotStateChanged(3, PilotState.B), CableCapacityChanged(3, 32.0)]
        assert driver.connected
        assert driver.state is PilotState.B
        assert driver.mcu is not None
        assert driver.mcu.serial_hex == "0123456789ABCDEF00C0FFEE"
        assert driver.mcu.heartbeat_timeout_ms == 400
        assert emu.received[0].type == MsgType.HELLO  # nothing is sent before the handshake
        assert not emu.snapshot().safe  # the MCU left its power-on safe state
        await asyncio.sleep(0.2)
        assert len(emu.frames_of_type(MsgType.HEARTBEAT)) >= 2
        assert not sink.faults("pilot_failure")


async def test_ev_plug_charge_unplug_flow(emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]) -> None:
    driver, sink = connected
    assert sink.states() == [PilotState.A]
    emu.set_cable(20)
    emu.set_ev_state("B")
    await eventually(lambda: sink.states()[-1] is PilotState.B)
    emu.set_ev_state("C")
    await eventually(lambda: sink.states()[-1] is PilotState.C)
    assert driver.state is PilotState.C
    emu.set_ev_state("B")
    await eventually(lambda: sink.states()[-1] is PilotState.B)
    emu.set_ev_state("A")
    emu.set_cable(None)
    await eventually(lambda: sink.states()[-1] is PilotState.A)
    assert sink.states() == [PilotState.A, PilotState.B, PilotState.C, PilotState.B, PilotState.A]

    def capacities() -> list[float | None]:
        return [e.max_current_a for e in sink.events if isinstance(e, CableCapacityChanged)]

    await eventually(lambda: capacities() == [None, 20.0, None])


@pytest.mark.parametrize(("amps", "duty"), [(6, 100), (16, 267), (32, 533), (63, 892), (80, 960), (None, 1000)])
async def test_current_limit_arrives_as_duty_cycle(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder], amps: float | None, duty: int
) -> None:
    driver, _ = connected
    await driver.set_current_limit(amps)
    assert emu.snapshot().duty_permille == duty  # the ACK came after the MCU applied it
    await eventually(lambda: driver.last_status is not None and driver.last_status.duty_permille == duty)
    assert driver.offered_current_a == (None if amps is None else pytest.approx(amps, abs=0.13))


async def test_unavailable_drives_state_f(emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]) -> None:
    driver, sink = connected
    await driver.set_unavailable()
    assert emu.snapshot().duty_permille == 0
    await eventually(lambda: sink.states()[-1] is PilotState.F)


async def test_rcd_trip_and_reset(emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]) -> None:
    driver, sink = connected
    emu.set_ev_state("C")
    emu.request_contactor(True)
    await driver.set_current_limit(16)
    await mcu_reaches(emu, lambda s: s.relay_closed)
    emu.trip_rcd()
    await eventually(lambda: bool(sink.raised("rcd_trip")))
    assert not emu.snapshot().relay_closed  # the MCU opened the relay by itself
    assert driver.last_status is not None and StatusFlag.RCD_TRIPPED in driver.last_status.flags
    emu.reset_rcd()
    await eventually(lambda: sink.faults("rcd_trip")[-1] == FaultCleared(1, "rcd_trip"))
    assert [type(e) for e in sink.faults("rcd_trip")] == [FaultRaised, FaultCleared]


async def test_mcu_fault_bits_are_reported(emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]) -> None:
    _, sink = connected
    emu.set_fault(McuFault.OVER_TEMPERATURE, True)
    await eventually(lambda: bool(sink.raised("over_temperature")))
    emu.set_fault(McuFault.OVER_TEMPERATURE, False)
    await eventually(lambda: FaultCleared(1, "over_temperature") in sink.events)


async def test_silent_mcu_is_pilot_failure_then_recovers(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]
) -> None:
    driver, sink = connected
    await driver.set_current_limit(16)
    emu.silent = True
    await eventually(lambda: bool(sink.raised("pilot_failure")))
    assert "line silent" in sink.raised("pilot_failure")[0].detail
    assert not driver.connected
    with pytest.raises(DriverError, match="not connected"):
        await driver.set_current_limit(20)
    emu.silent = False
    await eventually(lambda: sink.faults("pilot_failure")[-1] == FaultCleared(1, "pilot_failure"))
    assert driver.connected
    # After the new HELLO the MCU is back at 100 %; the driver restored the last commanded 20 A.
    await mcu_reaches(emu, lambda s: s.duty_permille == 333)
    assert len(sink.raised("pilot_failure")) == 1


async def test_garbage_and_crc_errors_do_not_lose_the_next_good_frame() -> None:
    # STATUS only on change: the one STATUS carrying state C is the one glued behind the garbage.
    with SafetyMcuEmulator(McuConfig(heartbeat_timeout_ms=400, status_period_ms=None)) as emu:
        driver = SafetyMcuPilot(evse_id=1, port=emu.port, **FAST)
        sink = Recorder()
        async with running(driver, sink):
            await eventually(lambda: sink.states() == [PilotState.A])
            bogus_d = Status(PilotState.D, 3000, 1000, None, StatusFlag(0), McuFault(0), 25.0)
            corrupt = bytearray(encode_frame(Frame(MsgType.STATUS, 200, bogus_d.payload())))
            corrupt[-2] ^= 0x40
            false_start = bytes((0xA5, 6, 6 ^ 0xFF, 0x83))  # a plausible header swallowing what follows
            emu.inject(b"\x00\xff\x13" + false_start + bytes(corrupt), before_next_frame=True)
            emu.set_ev_state("C")
            await eventually(lambda: sink.states()[-1] is PilotState.C)
            assert PilotState.D not in sink.states()
            assert driver.frames_rejected >= 2
            assert not sink.faults("pilot_failure")


async def test_babbling_mcu_is_pilot_failure_then_recovers(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]
) -> None:
    driver, sink = connected
    emu.babble = True
    await eventually(lambda: bool(sink.raised("pilot_failure")))
    assert "corrupt frames" in sink.raised("pilot_failure")[0].detail
    emu.babble = False
    await eventually(lambda: sink.faults("pilot_failure")[-1] == FaultCleared(1, "pilot_failure"))
    assert driver.connected


async def test_nack_is_a_driver_error_and_a_fault_until_a_command_succeeds(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]
) -> None:
    driver, sink = connected
    emu.nack_next(NackCode.BAD_VALUE)
    with pytest.raises(DriverError, match=r"refused SET_PWM 26\.7 %: BAD_VALUE"):
        await driver.set_current_limit(16)
    assert emu.snapshot().duty_permille == 1000
    assert [type(e) for e in sink.faults("pilot_failure")] == [FaultRaised]
    await driver.set_current_limit(16)
    assert emu.snapshot().duty_permille == 267
    assert [type(e) for e in sink.faults("pilot_failure")] == [FaultRaised, FaultCleared]


async def test_unanswered_command_is_retried_with_the_same_seq_then_times_out(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]
) -> None:
    driver, _ = connected
    emu.ignore_requests(3, MsgType.SET_PWM)  # retries=2: three attempts, none answered
    with pytest.raises(DriverError, match=r"no answer to SET_PWM \(3 attempts\)"):
        await driver.set_current_limit(32)
    attempts = emu.frames_of_type(MsgType.SET_PWM)
    assert len(attempts) == 3
    assert len({frame.seq for frame in attempts}) == 1


async def test_absent_port_is_a_fault_not_a_crash_and_recovers(tmp_path: Path) -> None:
    link = tmp_path / "mcu0"
    driver = SafetyMcuPilot(evse_id=1, port=str(link), **FAST)
    sink = Recorder()
    async with running(driver, sink) as task:
        await eventually(lambda: bool(sink.raised("pilot_failure")))
        assert "cannot open the port" in sink.raised("pilot_failure")[0].detail
        with pytest.raises(DriverError, match="not connected"):
            await driver.set_current_limit(16)  # remembered, and restored once the MCU is there
        await asyncio.sleep(0.3)  # several reconnect attempts
        assert not task.done()
        assert len(sink.raised("pilot_failure")) == 1  # reported once, not per attempt
        with SafetyMcuEmulator(MCU, link=link) as emu:
            emu.set_ev_state("B")
            await eventually(lambda: FaultCleared(1, "pilot_failure") in sink.events)
            assert emu.snapshot().duty_permille == 267
            assert sink.states() == [PilotState.B]


async def test_port_vanishing_while_connected_then_returning(tmp_path: Path) -> None:
    link = tmp_path / "mcu0"
    driver = SafetyMcuPilot(evse_id=1, port=str(link), **FAST)
    sink = Recorder()
    async with running(driver, sink) as task:
        with SafetyMcuEmulator(MCU, link=link):
            await eventually(lambda: driver.connected)
        await eventually(lambda: bool(sink.raised("pilot_failure")))  # adapter unplugged
        assert not task.done()
        with SafetyMcuEmulator(MCU, link=link) as emu:
            emu.set_ev_state("C")
            await eventually(lambda: FaultCleared(1, "pilot_failure") in sink.events)
            await eventually(lambda: sink.states()[-1] is PilotState.C)


async def test_incompatible_protocol_version_is_a_fault_until_the_mcu_is_updated() -> None:
    with SafetyMcuEmulator(McuConfig(protocol=(2, 0), heartbeat_timeout_ms=400)) as emu:
        emu.set_ev_state("B")
        driver = SafetyMcuPilot(evse_id=1, port=emu.port, **FAST)
        sink = Recorder()
        async with running(driver, sink):
            await eventually(lambda: bool(sink.raised("pilot_failure")))
            assert "MCU speaks protocol 2.0, driver 1.0" in sink.raised("pilot_failure")[0].detail
            assert sink.states() == []  # a STATUS of an unknown layout is never interpreted
            assert emu.snapshot().safe
            emu.set_protocol((1, 4))  # a compatible minor version
            await eventually(lambda: FaultCleared(1, "pilot_failure") in sink.events)
            assert sink.states() == [PilotState.B]


async def test_mcu_opens_the_relay_when_linux_falls_silent(emu: SafetyMcuEmulator) -> None:
    emu.set_ev_state("C")
    emu.request_contactor(True)
    driver = SafetyMcuPilot(evse_id=1, port=emu.port, **FAST)
    sink = Recorder()
    async with running(driver, sink):
        await eventually(lambda: driver.connected)
        await driver.set_current_limit(16)
        await mcu_reaches(emu, lambda s: s.relay_closed)
        await asyncio.sleep(0.6)  # longer than the MCU's 400 ms watchdog: the heartbeats keep it fed
        assert emu.snapshot().relay_closed
        silent_from = time.monotonic()
    # The driver is gone (crashed process, stalled loop): no more heartbeats.
    await mcu_reaches(emu, lambda s: s.safe)
    snap = emu.snapshot()
    assert not snap.relay_closed and snap.duty_permille == 0 and snap.cp_state is PilotState.F
    assert McuFault.HEARTBEAT_LOST in snap.faults
    assert [closed for _, closed in emu.relay_history] == [False, True, False]
    assert emu.relay_history[-1][0] > silent_from
    # Linux is back: a new run handshakes, and the last commanded current is offered again.
    async with running(driver, Recorder()):
        await mcu_reaches(emu, lambda s: s.relay_closed and s.duty_permille == 267)


async def test_driver_sees_the_mcu_safe_state_and_rehandshakes(
    emu: SafetyMcuEmulator, connected: tuple[SafetyMcuPilot, Recorder]
) -> None:
    driver, sink = connected
    emu.set_ev_state("C")
    await driver.set_current_limit(32)
    emu.deaf = True  # our frames no longer reach the MCU; its STATUS still reaches us
    await eventually(lambda: bool(sink.raised("pilot_failure")))
    await eventually(lambda: PilotState.F in sink.states())
    assert emu.snapshot().safe
    emu.deaf = False
    await eventually(lambda: sink.faults("pilot_failure")[-1] == FaultCleared(1, "pilot_failure"))
    await mcu_reaches(emu, lambda s: not s.safe and s.duty_permille == 533)
    await eventually(lambda: sink.states()[-1] is PilotState.C)


async def test_looped_back_line_is_not_mistaken_for_an_mcu() -> None:
    # A TX wired to its own RX: the driver hears its own HELLO. Bit 7 of the type tells it apart.
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                os.write(master, os.read(master, 4096))

    echoer = threading.Thread(target=echo, daemon=True)
    echoer.start()
    driver = SafetyMcuPilot(evse_id=1, port=os.ttyname(slave), **FAST)
    sink = Recorder()
    try:
        async with running(driver, sink):
            await eventually(lambda: bool(sink.raised("pilot_failure")))
            assert "no answer to HELLO" in sink.raised("pilot_failure")[0].detail
            assert not driver.connected
            assert sink.states() == []
    finally:
        stop.set()
        os.close(slave)
        os.close(master)
        echoer.join(timeout=2)

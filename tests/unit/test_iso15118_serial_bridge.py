"""The serial bridge (pyserial on the slave end of a real pty) against the emulated module on the master end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from drivers.errors import DriverError
from drivers.interfaces import (
    ISO15118_FAILURE,
    EnergyTransferMode,
    FaultCleared,
    FaultRaised,
    Iso15118Bridge,
    Iso15118ChargingNeeds,
    Iso15118ContractPresented,
    Iso15118Protocol,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
    Iso15118StopReason,
)
from drivers.iso15118.messages import Authorization, ChargingNeeds, CurrentLimit, encode
from drivers.iso15118.serial_bridge import SerialIso15118Bridge
from drivers.iso15118.serial_framing import frame
from hil.emulators.iso15118 import EmulatedSecc
from tests.unit.test_iso15118_support import (
    EMAID,
    EVCC_ID,
    FAULT_TIMEOUT_MS,
    HEARTBEAT_MS,
    LONGEST_HASH_DATA,
    NOW,
    TIMEOUT_MS,
    EventLog,
    running,
)


@pytest.fixture
async def module() -> AsyncIterator[EmulatedSecc]:
    async with EmulatedSecc.on_pty(heartbeat_ms=HEARTBEAT_MS) as secc:
        yield secc


@pytest.fixture
def bridge(module: EmulatedSecc) -> SerialIso15118Bridge:
    assert module.port is not None
    return SerialIso15118Bridge(
        evse_id=2, port=module.port, heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS, wall_clock=lambda: NOW
    )


@pytest.fixture
def log() -> EventLog:
    return EventLog()


async def connected(bridge: SerialIso15118Bridge, module: EmulatedSecc) -> None:
    await module.wait_until(lambda: bool(module.limits))
    assert bridge.connected


def test_the_serial_bridge_is_an_iso15118_bridge(bridge: SerialIso15118Bridge) -> None:
    assert isinstance(bridge, Iso15118Bridge)


async def test_handshake_and_heartbeats_both_ways(
    bridge: SerialIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.wait_until(lambda: module.heartbeats_received >= 3)
        await asyncio.sleep(3 * HEARTBEAT_MS / 1000)
        assert bridge.connected
    assert module.limits[0] == CurrentLimit(0, None)
    assert log.events == []


async def test_a_whole_session_with_the_longest_contract(
    bridge: SerialIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        session = await module.start_session(EVCC_ID)
        await module.present_contract(EMAID, LONGEST_HASH_DATA)
        await module.send_charging_needs(
            max_current_a=32, max_voltage_v=400, requested_energy_wh=22_000, departure_s=1800, min_current_a=6
        )
        await log.wait_for(Iso15118ChargingNeeds)
        await bridge.set_current_limit(24.0)
        await bridge.send_authorization(True)
        await module.wait_until(lambda: bool(module.authorizations))
        await module.stop_session(Iso15118StopReason.DEAUTHORIZED)
        await log.wait_for(Iso15118SessionStopped)
    assert log.events == [
        Iso15118SessionStarted(2, EVCC_ID, Iso15118Protocol.ISO_15118_2, EnergyTransferMode.AC_THREE_PHASE),
        Iso15118ContractPresented(2, EMAID, LONGEST_HASH_DATA),
        Iso15118ChargingNeeds(
            2,
            requested_energy_wh=22_000,
            departure_time=NOW + timedelta(minutes=30),
            max_current_a=32.0,
            max_voltage_v=400.0,
            max_power_w=None,
            energy_mode=EnergyTransferMode.AC_THREE_PHASE,
            min_current_a=6.0,
        ),
        Iso15118SessionStopped(2, Iso15118StopReason.DEAUTHORIZED),
    ]
    assert CurrentLimit(240, None) in module.limits
    assert module.authorizations == [Authorization(session, True)]


async def test_garbage_and_bad_crc_on_the_line_are_ignored(
    bridge: SerialIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        session = await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        hellos = module.hellos_received
        needs = ChargingNeeds(session, EnergyTransferMode.AC_THREE_PHASE, 1000, None, 320, 4000, None, None)
        bad_crc = bytearray(frame(encode(needs)))
        bad_crc[-1] ^= 0x01
        await module.send_raw(
            [
                b"line noise \x00\xff",
                bytes(bad_crc),
                b"\xa5\x00\x00",  # length 0
                frame(b"\x7f\x00"),  # good CRC, unknown message type
                bytes(range(256)),  # includes a false start byte announcing a long frame
            ]
        )
        await module.wait_until(lambda: module.hellos_received > hellos)
        await module.present_contract(EMAID)
        await log.wait_for(Iso15118ContractPresented, timeout=5.0)
    assert [type(e) for e in log.events] == [Iso15118SessionStarted, Iso15118ContractPresented]
    assert log.of(Iso15118ChargingNeeds) == []  # the frame with the bad CRC was not believed


async def test_silent_module_is_a_fault_then_recovers(module: EmulatedSecc, log: EventLog) -> None:
    assert module.port is not None
    bridge = SerialIso15118Bridge(evse_id=2, port=module.port, heartbeat_ms=HEARTBEAT_MS, timeout_ms=FAULT_TIMEOUT_MS)
    async with running(bridge, log):
        await connected(bridge, module)
        module.silent = True
        fault = await log.wait_for(FaultRaised)
        module.silent = False
        await log.wait_for(FaultCleared)
    assert fault == FaultRaised(2, ISO15118_FAILURE, "no answer from the ISO 15118 module for 0.4 s")


async def test_absent_port_is_a_fault_not_a_crash(log: EventLog) -> None:
    bridge = SerialIso15118Bridge(evse_id=4, port="/dev/does-not-exist-iso15118", heartbeat_ms=50, timeout_ms=500)
    async with running(bridge, log) as task:
        fault = await log.wait_for(FaultRaised)
        await asyncio.sleep(0.1)
        assert not task.done()
    assert fault.name == ISO15118_FAILURE and "No such file" in fault.detail
    with pytest.raises(DriverError, match="no ISO 15118 session"):
        await bridge.send_authorization(True)


async def test_a_vanished_module_is_a_fault_not_a_crash(log: EventLog) -> None:
    module = EmulatedSecc.on_pty(heartbeat_ms=HEARTBEAT_MS)
    assert module.port is not None
    bridge = SerialIso15118Bridge(evse_id=5, port=module.port, heartbeat_ms=HEARTBEAT_MS, timeout_ms=FAULT_TIMEOUT_MS)
    async with running(bridge, log) as task:
        async with module:
            await connected(bridge, module)
        # The pty is gone: reads fail (EIO) or the module is silent, depending on the kernel's timing.
        fault = await log.wait_for(FaultRaised)
        assert not task.done()
    assert fault.evse_id == 5 and fault.name == ISO15118_FAILURE
    assert not bridge.connected

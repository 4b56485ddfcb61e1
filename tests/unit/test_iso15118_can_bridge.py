"""The CAN bridge against the emulated SECC module on python-can's virtual bus."""

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
from drivers.iso15118.can_bridge import CanIso15118Bridge
from drivers.iso15118.codes import ModuleFaultCode
from drivers.iso15118.messages import Authorization, Contract, CurrentLimit, Hello, encode
from hil.emulators.iso15118 import EmulatedSecc
from tests.unit.test_iso15118_support import (
    EMAID,
    EVCC_ID,
    FAULT_TIMEOUT_MS,
    HEARTBEAT_MS,
    LONGEST_HASH_DATA,
    NOW,
    EventLog,
    can_bridge,
    running,
    unique_channel,
)


@pytest.fixture
def channel() -> str:
    return unique_channel()


@pytest.fixture
def bridge(channel: str) -> CanIso15118Bridge:
    return can_bridge(channel)


@pytest.fixture
def quick_to_fault(channel: str) -> CanIso15118Bridge:
    """A bridge that gives up on a silent module after FAULT_TIMEOUT_MS."""
    return can_bridge(channel, FAULT_TIMEOUT_MS)


@pytest.fixture
async def module(channel: str) -> AsyncIterator[EmulatedSecc]:
    async with EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS) as secc:
        yield secc


@pytest.fixture
def log() -> EventLog:
    return EventLog()


async def connected(bridge: CanIso15118Bridge, module: EmulatedSecc) -> None:
    """Wait for the handshake: the module has the station's (initial) limit."""
    await module.wait_until(lambda: bool(module.limits))
    assert bridge.connected


def test_the_can_bridge_is_an_iso15118_bridge(bridge: CanIso15118Bridge) -> None:
    assert isinstance(bridge, Iso15118Bridge)


async def test_handshake_gives_the_module_the_initial_limit(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        assert module.hellos_received >= 1
        assert module.limits[-1] == CurrentLimit(current_da=0, power_w=None)  # nothing offered yet
        await module.wait_until(lambda: module.heartbeats_received >= 3)
    assert log.events == []  # a healthy module raises no fault


async def test_a_whole_plug_and_charge_session_arrives_as_events(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        session = await module.start_session(EVCC_ID, Iso15118Protocol.ISO_15118_20, EnergyTransferMode.DC)
        await module.present_contract(EMAID, LONGEST_HASH_DATA)
        await module.send_charging_needs(
            max_current_a=200.5,
            max_voltage_v=920.0,
            requested_energy_wh=45_000,
            departure_s=7200,
            max_power_w=150_000,
        )
        await module.stop_session(Iso15118StopReason.EV_DISCONNECTED)
        await log.wait_for(Iso15118SessionStopped)
    assert session == 1
    assert log.events == [
        Iso15118SessionStarted(1, EVCC_ID, Iso15118Protocol.ISO_15118_20, EnergyTransferMode.DC),
        Iso15118ContractPresented(1, EMAID, LONGEST_HASH_DATA),
        Iso15118ChargingNeeds(
            1,
            requested_energy_wh=45_000,
            departure_time=NOW + timedelta(hours=2),
            max_current_a=200.5,
            max_voltage_v=920.0,
            max_power_w=150_000,
            energy_mode=EnergyTransferMode.DC,
        ),
        Iso15118SessionStopped(1, Iso15118StopReason.EV_DISCONNECTED),
    ]


async def test_contract_with_hash_data_only_and_ac_needs(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.start_session("00FF00FF00FF00FF", Iso15118Protocol.DIN_70121, EnergyTransferMode.AC_SINGLE_PHASE)
        await module.present_contract(None, LONGEST_HASH_DATA[:1])
        await module.send_charging_needs(max_current_a=16, max_voltage_v=230, min_current_a=6)
        needs = await log.wait_for(Iso15118ChargingNeeds)
    contract = log.of(Iso15118ContractPresented)[0]
    assert contract.emaid is None and contract.certificate_hash_data == LONGEST_HASH_DATA[:1]
    assert needs.energy_mode is EnergyTransferMode.AC_SINGLE_PHASE
    assert (needs.requested_energy_wh, needs.departure_time, needs.max_power_w) == (None, None, None)
    assert (needs.max_current_a, needs.min_current_a, needs.max_voltage_v) == (16.0, 6.0, 230.0)


async def test_limits_and_authorization_reach_the_module(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        session = await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        await bridge.set_current_limit(16.5)
        await bridge.set_power_limit(11_000)
        await bridge.set_current_limit(None)
        await module.wait_until(lambda: len(module.limits) >= 4)
        await bridge.send_authorization(True)
        await bridge.send_authorization(False)
        await module.wait_until(lambda: len(module.authorizations) == 2)
    assert module.limits[1:] == [CurrentLimit(165, None), CurrentLimit(165, 11_000), CurrentLimit(0, 11_000)]
    assert module.authorizations == [Authorization(session, True), Authorization(session, False)]


async def test_bad_limits_are_refused_before_anything_is_sent(bridge: CanIso15118Bridge) -> None:
    for amps in (-0.1, float("nan"), float("inf"), 6553.5):
        with pytest.raises(ValueError, match="cannot offer"):
            await bridge.set_current_limit(amps)
    with pytest.raises(ValueError, match="cannot limit"):
        await bridge.set_power_limit(-1)
    assert bridge.limit == CurrentLimit(0, None)


async def test_commands_without_module_or_session(bridge: CanIso15118Bridge) -> None:
    await bridge.set_current_limit(10)  # remembered for the handshake, not refused
    assert bridge.limit == CurrentLimit(100, None)
    with pytest.raises(DriverError, match="no ISO 15118 session"):
        await bridge.send_authorization(True)


async def test_a_limit_set_while_the_module_is_away_arrives_at_the_handshake(
    channel: str, bridge: CanIso15118Bridge, log: EventLog
) -> None:
    await bridge.set_current_limit(32)
    async with running(bridge, log), EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS) as module:
        await module.wait_until(lambda: CurrentLimit(320, None) in module.limits)


async def test_silent_module_raises_a_fault_then_recovers(
    quick_to_fault: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(quick_to_fault, log):
        await connected(quick_to_fault, module)
        await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        await quick_to_fault.set_current_limit(20)
        module.silent = True
        fault = await log.wait_for(FaultRaised)
        assert fault == FaultRaised(1, ISO15118_FAILURE, "no answer from the ISO 15118 module for 0.4 s")
        assert not quick_to_fault.connected
        with pytest.raises(DriverError, match="not connected"):
            await quick_to_fault.send_authorization(True)
        hellos = module.hellos_received
        module.limits.clear()
        module.silent = False
        await log.wait_for(FaultCleared)
        assert module.hellos_received > hellos  # the station kept asking while the module was silent
        await module.wait_until(lambda: CurrentLimit(200, None) in module.limits)  # the limit is sent again
        await quick_to_fault.send_authorization(True)
        await module.wait_until(lambda: bool(module.authorizations))
    # The replay of the session after the recovery is not a second session.
    assert [type(e) for e in log.events] == [Iso15118SessionStarted, FaultRaised, FaultCleared]


async def test_absent_module_is_a_fault_until_it_appears(
    channel: str, quick_to_fault: CanIso15118Bridge, log: EventLog
) -> None:
    async with running(quick_to_fault, log):
        fault = await log.wait_for(FaultRaised)
        assert fault.name == ISO15118_FAILURE and "no answer" in fault.detail
        async with EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS):
            await log.wait_for(FaultCleared)
        assert quick_to_fault.connected


@pytest.mark.parametrize(
    ("interface", "channel_name", "problem"),
    [
        ("socketcan", "nosuchcan0", ""),  # no CAN support in the kernel, or no such interface
        ("no_such_interface", "can0", "Unknown interface"),
    ],
)
async def test_absent_bus_is_a_fault_not_a_crash(
    interface: str, channel_name: str, problem: str, log: EventLog
) -> None:
    bridge = CanIso15118Bridge(evse_id=3, channel=channel_name, interface=interface, heartbeat_ms=50, timeout_ms=500)
    async with running(bridge, log) as task:
        fault = await log.wait_for(FaultRaised)
        await asyncio.sleep(0.1)
        assert not task.done()
    assert fault.evse_id == 3 and fault.name == ISO15118_FAILURE
    assert problem in fault.detail
    assert not bridge.connected


async def test_garbage_frames_are_ignored_and_trigger_a_resync(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        hellos = module.hellos_received
        await module.send_raw(
            [
                b"",  # empty frame
                b"\xf0\x01\x02",  # unknown frame kind
                b"\x00",  # single frame of length 0
                b"\x07\x10",  # single frame announcing more bytes than it has
                b"\x21ABCDEFG",  # continuation without a first frame
                b"\x10\x00\x03\x00\x00abc",  # first frame announcing a length a single frame would carry
                b"\x03\x7f\x00\x00",  # a well-framed message of an unknown type
                b"\x02\x11\x09",  # session stopped of a session that does not exist
            ]
        )
        await module.wait_until(lambda: module.hellos_received > hellos)
        await module.present_contract(EMAID)
        await log.wait_for(Iso15118ContractPresented)
    assert [type(e) for e in log.events] == [Iso15118SessionStarted, Iso15118ContractPresented]


async def test_out_of_order_segments_are_dropped_and_the_state_repeated(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        session = await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        hellos = module.hellos_received
        await module.send_out_of_order(Contract(session, EMAID, LONGEST_HASH_DATA))
        await module.send_corrupted(Contract(session, EMAID, LONGEST_HASH_DATA[:1]))
        await module.wait_until(lambda: module.hellos_received > hellos)
        await module.present_contract("NL-TNM-C00122045-K")
        contract = await log.wait_for(Iso15118ContractPresented)
    assert contract == Iso15118ContractPresented(1, "NL-TNM-C00122045-K", ())
    assert len(log.of(Iso15118ContractPresented)) == 1
    assert log.faults() == []


async def test_a_resync_does_not_report_the_session_twice(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.start_session(EVCC_ID)
        await module.present_contract(EMAID, LONGEST_HASH_DATA[:2])
        await module.send_charging_needs(max_current_a=32, max_voltage_v=400, departure_s=600)
        await log.wait_for(Iso15118ChargingNeeds)
        hellos = module.hellos_received
        await module.send_raw([b"\x21lost"])  # a stray continuation: the station asks for everything again
        await module.wait_until(lambda: module.hellos_received > hellos)
        await asyncio.sleep(0.2)  # the replay arrives; nothing may be reported again
    assert [type(e) for e in log.events] == [Iso15118SessionStarted, Iso15118ContractPresented, Iso15118ChargingNeeds]


async def test_a_stop_the_station_missed_is_reported_after_the_resync(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        module.silent = True
        await module.stop_session()  # lost: the module says nothing while silent
        await module.start_session("112233445566")
        module.silent = False  # its heartbeat names session 2: the station asks, learns, reports
        started = await log.wait_for(Iso15118SessionStarted, count=2)
    assert log.events[1] == Iso15118SessionStopped(1, Iso15118StopReason.OTHER)
    assert started.evcc_id == "112233445566"
    assert log.faults() == []


async def test_module_faults_are_raised_and_cleared(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await module.raise_fault(ModuleFaultCode.PLC_MODEM, "SLAC failed")
        first = await log.wait_for(FaultRaised)
        await module.raise_fault(ModuleFaultCode.CERTIFICATES, "SECC certificate expired")
        both = await log.wait_for(FaultRaised, count=2)
        await module.clear_fault(ModuleFaultCode.PLC_MODEM)
        one = await log.wait_for(FaultRaised, count=3)
        module.silent = True
        await module.clear_fault(ModuleFaultCode.CERTIFICATES)  # lost; the next heartbeat tells the truth
        module.silent = False
        await log.wait_for(FaultCleared)
    assert first.detail == "module fault PLC_MODEM: SLAC failed"
    assert both.detail == "module fault PLC_MODEM: SLAC failed; module fault CERTIFICATES: SECC certificate expired"
    assert one.detail == "module fault CERTIFICATES: SECC certificate expired"


async def test_a_module_speaking_another_version_is_a_fault(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    module.version = 4
    async with running(bridge, log):
        fault = await log.wait_for(FaultRaised)
        await module.start_session(EVCC_ID)
        await asyncio.sleep(0.2)
    assert fault.detail == "module speaks bridge protocol 4, station 3"
    assert not bridge.connected
    assert log.of(Iso15118SessionStarted) == []  # nothing is believed from a module we do not understand
    assert module.limits == []


async def test_a_rebooted_module_gets_the_limit_again_and_its_session_ends(
    bridge: CanIso15118Bridge, module: EmulatedSecc, log: EventLog
) -> None:
    async with running(bridge, log):
        await connected(bridge, module)
        await bridge.set_current_limit(10)
        await module.start_session(EVCC_ID)
        await log.wait_for(Iso15118SessionStarted)
        module.limits.clear()
        await module.reboot()
        await module.wait_until(lambda: CurrentLimit(100, None) in module.limits)
        await log.wait_for(Iso15118SessionStopped)
    assert log.of(Iso15118SessionStopped) == [Iso15118SessionStopped(1, Iso15118StopReason.OTHER)]


def test_hello_of_the_station_fits_the_documented_layout() -> None:
    assert encode(Hello(1, 0, 500, "evse")).hex(" ") == "01 01 00 01 f4 04 65 76 73 65"

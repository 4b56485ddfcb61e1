"""PN532 readers against emulated chips: over I2C (emulated smbus2 bus) and over HSU (a real pty).

Every behaviour is checked on both transports through one ``Rig``: the poller is shared, and a
difference between transports is exactly the kind of bug these tests are for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.interfaces import ISO14443, CardPresented, FaultCleared, FaultRaised, RfidReader
from drivers.rfid import RFID_FAILURE
from drivers.rfid import pn532_commands as cmd
from drivers.rfid.pn532 import Pn532I2cReader, Pn532UartReader
from hil.emulators.rfid import EmulatedPn532, Pn532I2cEmulation, Pn532UartEmulator
from tests.unit.test_rfid_support import EventRecorder, running, wait_until

FAST = {"poll_interval_ms": 10, "absent_polls": 2, "timeout_ms": 100, "retry_interval_ms": 50}


@dataclass
class Rig:
    """A reader wired to an emulated chip, with the transport's way of unplugging it."""

    chip: EmulatedPn532
    reader: Pn532I2cReader | Pn532UartReader
    unplug: Callable[[], None]
    replug: Callable[[], None]
    released: Callable[[], bool]  # the bus or port is closed

    def polls(self) -> int:
        return self.chip.commands.count(cmd.IN_LIST_PASSIVE_TARGET)


def i2c_rig(chip: EmulatedPn532) -> Rig:
    emulation = Pn532I2cEmulation(chip, bus=3)
    reader = Pn532I2cReader(1, bus=3, bus_factory=emulation.bus_factory, **FAST)

    def unplug() -> None:
        emulation.connected = False

    def replug() -> None:
        chip.power_cycle()
        emulation.connected = True

    return Rig(chip, reader, unplug, replug, lambda: emulation.open_handles == 0)


class UartRig:
    """Keeps the pty emulator; unplugging stops it (the port vanishes), replugging starts a new one."""

    def __init__(self, chip: EmulatedPn532, link: Path) -> None:
        self.chip, self.link = chip, link
        self.emulator = Pn532UartEmulator(chip).start()
        self.emulator.link(link)

    def unplug(self) -> None:
        self.emulator.stop()

    def replug(self) -> None:
        self.chip.power_cycle()
        self.emulator = Pn532UartEmulator(self.chip).start()
        self.emulator.link(self.link)

    def released(self) -> bool:
        # The reader opens the port exclusively (flock): a second exclusive open works once it let go.
        import serial  # type: ignore[import-untyped]  # pyserial ships no type information

        try:
            serial.Serial(str(self.link), exclusive=True).close()
        except serial.SerialException:
            return False
        return True


@pytest.fixture(params=["i2c", "uart"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    chip = EmulatedPn532()
    if request.param == "i2c":
        yield i2c_rig(chip)
        return
    uart = UartRig(chip, tmp_path / "ttyPN532")
    reader = Pn532UartReader(1, port=str(uart.link), **FAST)
    try:
        yield Rig(chip, reader, uart.unplug, uart.replug, uart.released)
    finally:
        uart.emulator.stop()


async def test_readers_satisfy_the_interface(rig: Rig) -> None:
    assert isinstance(rig.reader, RfidReader)
    assert rig.chip.commands == []  # constructing did no I/O


async def test_start_configures_the_chip_then_polls(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 3, what="polls")
    assert rig.chip.commands[:3] == [cmd.SAM_CONFIGURATION, cmd.GET_FIRMWARE_VERSION, cmd.RF_CONFIGURATION]
    assert rig.chip.sam_mode == cmd.SAM_NORMAL_MODE
    assert rig.chip.passive_retries == cmd.PASSIVE_ACTIVATION_RETRIES  # polls end, rather than wait for a card
    assert sink.events == []


async def test_a_lost_first_command_is_sent_again_without_a_fault(rig: Rig) -> None:
    rig.chip.drop_commands(1)  # a chip still waking up swallows the first command
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 1, what="a poll")
    assert rig.chip.dropped == 1 and rig.chip.aborts >= 1
    assert rig.chip.commands[0] == cmd.SAM_CONFIGURATION  # the retry reached it
    assert sink.events == []


async def test_cancel_releases_the_device(rig: Rig) -> None:
    async with running(rig.reader, EventRecorder()):
        await wait_until(lambda: rig.polls() >= 1, what="a poll")
        assert not rig.released()
    assert rig.released()


@pytest.mark.parametrize("uid", ["04A2B3C4", "04a2b3c4d5e6f7"])
async def test_card_reported_once_while_held_and_again_after_removal(rig: Rig, uid: str) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 1, what="first poll")
        rig.chip.present(uid)
        (event,) = await sink.wait_for(CardPresented)
        assert event == CardPresented(1, uid.upper(), ISO14443)
        held_since = rig.polls()
        await wait_until(lambda: rig.polls() >= held_since + 8, what="polls while the card is held")
        assert len(sink.of(CardPresented)) == 1

        rig.chip.remove()
        removed_at = rig.polls()
        await wait_until(lambda: rig.polls() >= removed_at + FAST["absent_polls"] + 1, what="empty polls")
        rig.chip.present(uid)
        await sink.wait_for(CardPresented, 2)
    assert sink.of(FaultRaised) == []


async def test_a_different_card_is_reported_while_the_first_is_still_counted_present(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        rig.chip.present("04A2B3C4")
        await sink.wait_for(CardPresented)
        rig.chip.present("11223344")
        events = await sink.wait_for(CardPresented, 2)
    assert [e.id_token for e in events] == ["04A2B3C4", "11223344"]


async def test_a_ten_byte_uid_is_skipped_with_a_warning(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    sink = EventRecorder()
    with caplog.at_level(logging.WARNING, logger="drivers.rfid.pn532"):
        async with running(rig.reader, sink):
            rig.chip.present(bytes(range(1, 11)))
            await wait_until(lambda: "10-byte UID" in caplog.text, what="warning")
            rig.chip.present("04A2B3C4")
            await sink.wait_for(CardPresented)
    assert [e.id_token for e in sink.of(CardPresented)] == ["04A2B3C4"]


async def test_the_full_uid_never_reaches_the_log(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    sink = EventRecorder()
    with caplog.at_level(logging.DEBUG):
        async with running(rig.reader, sink):
            rig.chip.present("04A2B3C4D5E6F7")
            await sink.wait_for(CardPresented)
    assert "uid=04..F7" in caplog.text
    assert "A2B3C4D5E6" not in caplog.text.upper()


async def test_reader_absent_at_start_is_a_fault_then_recovers(rig: Rig) -> None:
    rig.unplug()
    sink = EventRecorder()
    async with running(rig.reader, sink):
        (fault,) = await sink.wait_for(FaultRaised)
        assert (fault.evse_id, fault.name) == (1, RFID_FAILURE)
        assert fault.detail.startswith(rig.reader.name + ": ") and "\n" not in fault.detail
        rig.replug()
        await sink.wait_for(FaultCleared)
        rig.chip.present("04A2B3C4")
        await sink.wait_for(CardPresented)
    assert sink.events == [fault, FaultCleared(1, RFID_FAILURE), CardPresented(1, "04A2B3C4", ISO14443)]


async def test_reader_lost_while_running_faults_once_then_recovers(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 2, what="polls")
        rig.unplug()
        await sink.wait_for(FaultRaised)
        await asyncio.sleep(0.3)  # several retries (every 50 ms) while it stays away ...
        assert len(sink.of(FaultRaised)) == 1  # ... reported once
        replugged_polls = rig.polls()
        rig.replug()
        await sink.wait_for(FaultCleared)
        await wait_until(lambda: rig.polls() > replugged_polls, what="polls after recovery")
        rig.chip.present("04A2B3C4D5E6F7")
        await sink.wait_for(CardPresented)
    assert [type(e) for e in sink.events] == [FaultRaised, FaultCleared, CardPresented]
    assert rig.chip.commands.count(cmd.SAM_CONFIGURATION) == 2  # configured again after power-up


async def test_a_silent_chip_times_out_into_a_fault_and_recovers(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 1, what="a poll")
        rig.chip.silent = True
        (fault,) = await sink.wait_for(FaultRaised)
        assert "timed out" in fault.detail and "after 3 attempts" in fault.detail
        rig.chip.silent = False
        await sink.wait_for(FaultCleared)
        rig.chip.present("04A2B3C4")
        await sink.wait_for(CardPresented)
    assert len(sink.of(FaultRaised)) == 1


async def test_wrong_firmware_is_a_fault_and_no_polling_starts(rig: Rig) -> None:
    rig.chip.firmware_ic = 0x31  # a PN531 answers GetFirmwareVersion with IC 0x31
    sink = EventRecorder()
    async with running(rig.reader, sink):
        (fault,) = await sink.wait_for(FaultRaised)
        assert "not a PN532" in fault.detail and "IC 0x31" in fault.detail
        await wait_until(lambda: rig.chip.commands.count(cmd.GET_FIRMWARE_VERSION) >= 3, what="retries")
        assert rig.polls() == 0
        rig.chip.firmware_ic = cmd.PN532_IC
        await sink.wait_for(FaultCleared)
    assert len(sink.of(FaultRaised)) == 1


async def test_garbage_before_answers_is_skipped_without_a_fault(rig: Rig) -> None:
    sink = EventRecorder()
    rig.chip.inject_garbage(4)  # before SAMConfiguration, GetFirmwareVersion, ... answers
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 3, what="polls")
        assert rig.chip.garbage_sent == 4
        rig.chip.inject_garbage(2)
        rig.chip.present("04A2B3C4")
        await sink.wait_for(CardPresented)
        await wait_until(lambda: rig.chip.garbage_sent == 6, what="the rest of the noise")
        await wait_until(lambda: rig.polls() >= 8, what="polls after the noise")
    assert sink.of(FaultRaised) == []


async def test_a_bad_checksum_is_answered_with_nack_and_the_resent_answer_is_used(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 1, what="a poll")
        rig.chip.present("04A2B3C4")
        rig.chip.corrupt_checksum(1)
        await sink.wait_for(CardPresented)
    assert rig.chip.corrupted_sent == 1 and rig.chip.nacks == 1
    assert sink.of(FaultRaised) == []


async def test_an_answer_damaged_every_time_is_retried_then_a_fault(rig: Rig) -> None:
    sink = EventRecorder()
    async with running(rig.reader, sink):
        await wait_until(lambda: rig.polls() >= 1, what="a poll")
        rig.chip.corrupt_checksum(3)  # the answer and both retransmissions: one attempt fails
        await wait_until(lambda: rig.chip.corrupted_sent == 3, what="three damaged answers")
        await wait_until(lambda: rig.polls() >= 4, what="the next attempt")
        assert sink.of(FaultRaised) == []  # the retry (after an abort) got through
        assert rig.chip.aborts >= 1

        rig.chip.corrupt_checksum(1000)
        (fault,) = await sink.wait_for(FaultRaised)
        assert "checksum" in fault.detail
        rig.chip.corrupt_checksum(0)
        await sink.wait_for(FaultCleared)


async def test_i2c_bus_missing_is_a_fault_naming_the_device_node() -> None:
    emulation = Pn532I2cEmulation(bus=3)
    emulation.bus_exists = False  # no /dev/i2c-3: the overlay is not loaded, or the wrong bus number
    sink = EventRecorder()
    async with running(Pn532I2cReader(1, bus=3, bus_factory=emulation.bus_factory, **FAST), sink):
        (fault,) = await sink.wait_for(FaultRaised)
        assert fault.detail == "rfid.pn532_i2c i2c-3 0x24: No such file or directory"
        emulation.bus_exists = True
        await sink.wait_for(FaultCleared)


async def test_i2c_chip_not_acknowledging_is_a_remote_io_fault() -> None:
    emulation = Pn532I2cEmulation(bus=3)
    emulation.connected = False
    sink = EventRecorder()
    async with running(Pn532I2cReader(1, bus=3, bus_factory=emulation.bus_factory, **FAST), sink):
        (fault,) = await sink.wait_for(FaultRaised)
    assert fault.detail == "rfid.pn532_i2c i2c-3 0x24: SAMConfiguration: Remote I/O error (after 3 attempts)"

"""The emulators themselves: they must behave like the chip where the drivers' tests rely on it,
and the command-line emulator must serve a HIL script."""

from __future__ import annotations

import asyncio
import errno
import sys
from pathlib import Path

import pytest
import serial  # type: ignore[import-untyped]  # pyserial ships no type information
from smbus2 import i2c_msg

from drivers.interfaces import CardPresented
from drivers.rfid import pn532_commands as cmd
from drivers.rfid.pn532 import Pn532UartReader
from drivers.rfid.pn532_frames import ACK, PN532_TO_HOST, Frame, FrameDecoder, encode_command
from drivers.rfid.pn532_transport import HSU_WAKEUP
from drivers.rfid.serial_uid import SerialUidReader
from hil.emulators.rfid import EmulatedPn532, Pn532I2cEmulation, Pn532UartEmulator
from tests.unit.test_rfid_support import EventRecorder, running, wait_until

FIRMWARE = encode_command(cmd.GET_FIRMWARE_VERSION)


def read_items(port: serial.Serial, wait_s: float = 0.3) -> list[object]:
    port.timeout = wait_s
    return list(FrameDecoder().feed(port.read(64)))


def test_uart_chip_ignores_everything_until_woken_by_0x55() -> None:
    with Pn532UartEmulator() as emulator, serial.Serial(emulator.port, 115200) as port:
        port.write(FIRMWARE)
        assert read_items(port) == []  # asleep: the frame is lost
        assert emulator.chip.commands == []
        port.write(HSU_WAKEUP + FIRMWARE)
        items = read_items(port)
    assert emulator.wakeups == 1
    assert items[0] == FrameDecoder().feed(ACK)[0]
    assert items[1] == Frame(PN532_TO_HOST, bytes([0x03, 0x32, 0x01, 0x06, 0x07]))


def test_list_passive_target_waits_for_a_card_unless_retries_are_limited() -> None:
    chip, decoder = EmulatedPn532(), FrameDecoder()
    chip.receive(encode_command(cmd.IN_LIST_PASSIVE_TARGET, cmd.LIST_ONE_TYPE_A_PARAMS))
    assert decoder.feed(chip.take_output()) == [decoder.feed(ACK)[0]]  # ACK only: waiting, as the chip does
    chip.present("04A2B3C4")
    (answer,) = decoder.feed(chip.take_output())
    assert isinstance(answer, Frame) and answer.data[:2] == b"\x4b\x01"

    chip.remove()
    chip.receive(encode_command(cmd.RF_CONFIGURATION, cmd.MAX_RETRIES_PARAMS))
    chip.receive(encode_command(cmd.IN_LIST_PASSIVE_TARGET, cmd.LIST_ONE_TYPE_A_PARAMS))
    *_, empty = decoder.feed(chip.take_output())
    assert empty == Frame(PN532_TO_HOST, b"\x4b\x00")


def test_host_ack_aborts_a_waiting_command() -> None:
    chip = EmulatedPn532()
    chip.receive(encode_command(cmd.IN_LIST_PASSIVE_TARGET, cmd.LIST_ONE_TYPE_A_PARAMS))
    chip.take_output()
    chip.receive(ACK)
    chip.present("04A2B3C4")
    assert chip.take_output() == b"" and chip.aborts == 1


def test_i2c_emulation_status_byte_and_bus_errors() -> None:
    emulation = Pn532I2cEmulation(bus=2)
    bus = emulation.bus_factory(2)
    status = i2c_msg.read(0x24, 1)
    bus.i2c_rdwr(status)
    assert bytes(status.buf[0:1]) == b"\x00"  # nothing to read yet
    bus.i2c_rdwr(i2c_msg.write(0x24, FIRMWARE))
    bus.i2c_rdwr(status)
    assert bytes(status.buf[0:1]) == b"\x01"  # the ACK is ready; a 1-byte read does not consume it
    frame = i2c_msg.read(0x24, 7)
    bus.i2c_rdwr(frame)
    assert bytes(frame.buf[0:7]) == b"\x01" + ACK

    with pytest.raises(OSError) as info:
        bus.i2c_rdwr(i2c_msg.read(0x25, 1))  # nobody at that address
    assert info.value.errno == errno.EREMOTEIO
    with pytest.raises(FileNotFoundError):
        emulation.bus_factory(3)
    bus.close()
    assert emulation.open_handles == 0
    with pytest.raises(OSError):
        bus.i2c_rdwr(status)


# --- the command-line emulator for the HIL rig ----------------------------------------------------


async def start_cli(*args: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil.emulators.rfid",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    ready = await asyncio.wait_for(process.stdout.readline(), 10)
    assert ready.startswith(b"ready "), ready
    return process


async def say(process: asyncio.subprocess.Process, line: str) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line.encode() + b"\n")
    await process.stdin.drain()
    return (await asyncio.wait_for(process.stdout.readline(), 5)).decode().strip()


async def finish(process: asyncio.subprocess.Process) -> int:
    assert process.stdin is not None
    process.stdin.write(b"quit\n")
    await process.stdin.drain()
    return await asyncio.wait_for(process.wait(), 10)


async def test_cli_pn532_presents_a_card_to_the_uart_driver(tmp_path: Path) -> None:
    link = tmp_path / "rfid0"
    process = await start_cli("--link", str(link))
    try:
        assert link.is_symlink()
        sink = EventRecorder()
        reader = Pn532UartReader(1, port=str(link), poll_interval_ms=10, timeout_ms=100)
        async with running(reader, sink):
            assert await say(process, "present 04A2B3C4D5E6F7") == "ok"
            (event,) = await sink.wait_for(CardPresented)
            assert event.id_token == "04A2B3C4D5E6F7"
            assert (await say(process, "present 12")).startswith("error: ")
            assert (await say(process, "frobnicate")).startswith("error: unknown command")
        assert await finish(process) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert not link.exists() and not link.is_symlink()  # cleaned up on quit


async def test_cli_uid_lines_feed_the_serial_uid_reader(tmp_path: Path) -> None:
    link = tmp_path / "rfid1"
    process = await start_cli("--link", str(link), "--kind", "uid-lines", "--format", "decimal")
    try:
        sink = EventRecorder()
        reader = SerialUidReader(1, port=str(link), format="decimal")
        async with running(reader, sink):
            await wait_until(lambda: reader.connected, what="port open")
            assert await say(process, "garbage") == "ok"
            assert await say(process, "present 04A2B3C4") == "ok"
            (event,) = await sink.wait_for(CardPresented)
            assert event.id_token == "04A2B3C4"
        assert await finish(process) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

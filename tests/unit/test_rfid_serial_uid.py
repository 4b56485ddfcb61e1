"""The "one UID per line" serial reader: line parsing, and the driver against a writer on a real pty."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.interfaces import ISO14443, CardPresented, FaultCleared, FaultRaised, RfidReader
from drivers.rfid import RFID_FAILURE
from drivers.rfid.serial_uid import MAX_LINE, LineSplitter, SerialUidReader, parse_uid_line
from hil.emulators.rfid import UidLineWriter
from tests.unit.test_rfid_support import EventRecorder, running, wait_until

# --- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("04A2B3C4", "04A2B3C4"),
        ("04a2b3c4d5e6f7", "04A2B3C4D5E6F7"),
        ("04:A2:B3:C4", "04A2B3C4"),
        ("04 A2 B3 C4 D5 E6 F7", "04A2B3C4D5E6F7"),
        ("\x0204A2B3C4\x03", "04A2B3C4"),  # STX ... ETX framing
    ],
)
def test_hex_lines(line: str, token: str) -> None:
    assert parse_uid_line(line, "hex") == token


@pytest.mark.parametrize(
    ("line", "token"),
    [("0077771716", "04A2B3C4"), ("77771716", "04A2B3C4"), ("4294967295", "FFFFFFFF"), ("0000000000", "00000000")],
)
def test_decimal_lines(line: str, token: str) -> None:
    assert parse_uid_line(line, "decimal") == token


def test_readers_that_print_the_last_byte_first() -> None:
    assert parse_uid_line("C4B3A204", "hex", "lsb_first") == "04A2B3C4"
    assert parse_uid_line(f"{0xC4B3A204:010d}", "decimal", "lsb_first") == "04A2B3C4"


@given(st.binary(min_size=4, max_size=4))
def test_any_4_byte_uid_survives_the_decimal_form(uid: bytes) -> None:
    assert parse_uid_line(f"{int.from_bytes(uid, 'big'):010d}", "decimal") == uid.hex().upper()


@pytest.mark.parametrize(
    ("line", "uid_format", "problem"),
    [
        ("READER V1.0", "hex", "not hex digits"),
        ("04A2B3", "hex", "3 bytes, expected 4 or 7"),
        ("04A2B3C4D5", "hex", "5 bytes"),
        ("0077771716", "hex", "5 bytes"),  # a decimal line on a reader configured for hex
        ("04A2B3C4", "decimal", "not a decimal UID"),
        ("12345678901", "decimal", "not a decimal UID"),
        ("4294967296", "decimal", "larger than 4 bytes"),
        ("", "decimal", "not a decimal UID"),
    ],
)
def test_lines_that_are_not_uids(line: str, uid_format: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_uid_line(line, uid_format)  # type: ignore[arg-type]  # the str values are the Literal's


def test_line_splitter_handles_cr_lf_crlf_and_chunks() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"04A2B3C4\r\n11") == ["04A2B3C4"]
    assert splitter.feed(b"223344\r") == ["11223344"]
    assert splitter.feed(b"\n\n  \nAABBCCDD\n") == ["AABBCCDD"]


def test_line_splitter_drops_a_runaway_line(caplog: pytest.LogCaptureFixture) -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"\xff" * (MAX_LINE + 1)) == []
    assert "without a line end" in caplog.text
    assert splitter.feed(b"04A2B3C4\n") == ["04A2B3C4"]  # the next line is whole again


# --- the driver on a pty ------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[UidLineWriter]:
    with UidLineWriter() as device:
        device.link(tmp_path / "ttyRFID")
        yield device


def make_reader(path: Path | str, **params: object) -> SerialUidReader:
    settings: dict[str, object] = {"retry_interval_ms": 50, **params}
    return SerialUidReader(1, port=str(path), **settings)  # type: ignore[arg-type]  # test-only keyword mix


async def opened(reader: SerialUidReader) -> None:
    """Wait for the port to be open: pyserial flushes input on open, so earlier lines are lost."""
    await wait_until(lambda: reader.connected, what="port open")


async def test_reader_satisfies_the_interface_and_constructs_without_io(tmp_path: Path) -> None:
    reader = make_reader(tmp_path / "missing")
    assert isinstance(reader, RfidReader)
    assert reader.name == f"rfid.serial_uid {tmp_path / 'missing'}"


async def test_hex_lines_become_card_presentations(writer: UidLineWriter, tmp_path: Path) -> None:
    sink = EventRecorder()
    reader = make_reader(tmp_path / "ttyRFID")
    async with running(reader, sink):
        await opened(reader)
        writer.present("04A2B3C4")
        writer.present(bytes.fromhex("04A2B3C4D5E6F7"))
        events = await sink.wait_for(CardPresented, 2)
    assert events == [CardPresented(1, "04A2B3C4", ISO14443), CardPresented(1, "04A2B3C4D5E6F7", ISO14443)]


async def test_decimal_lines_become_4_byte_hex_tokens(writer: UidLineWriter, tmp_path: Path) -> None:
    sink = EventRecorder()
    reader = make_reader(tmp_path / "ttyRFID", format="decimal", byte_order="lsb_first")
    async with running(reader, sink):
        await opened(reader)
        writer.present("04A2B3C4", "decimal", lsb_first=True)
        (event,) = await sink.wait_for(CardPresented)
    assert event.id_token == "04A2B3C4"


async def test_garbage_lines_are_ignored_with_a_warning(
    writer: UidLineWriter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = EventRecorder()
    with caplog.at_level(logging.WARNING, logger="drivers.rfid.serial_uid"):
        reader = make_reader(tmp_path / "ttyRFID")
        async with running(reader, sink):
            await opened(reader)
            writer.send_line("?? READER V1.0 ??")
            writer.send_raw(b"\x00\xfe\r\n")
            writer.send_line("0077771716")  # decimal on a hex reader
            writer.present("04A2B3C4")
            await sink.wait_for(CardPresented)
    assert [e.id_token for e in sink.events if isinstance(e, CardPresented)] == ["04A2B3C4"]
    assert caplog.text.count("ignored a") == 3
    assert "0077771716" not in caplog.text  # a rejected line may be a UID in another format: not logged


async def test_the_same_card_within_dedupe_is_one_presentation(writer: UidLineWriter, tmp_path: Path) -> None:
    clock, sink = FakeClock(), EventRecorder()
    reader = make_reader(tmp_path / "ttyRFID", dedupe_ms=1000, clock=clock)
    async with running(reader, sink):
        await opened(reader)
        writer.present("04A2B3C4")
        await sink.wait_for(CardPresented)
        clock.now += 0.5
        writer.present("04A2B3C4")  # repeated while held
        writer.present("11223344")  # another card: reported at once
        await sink.wait_for(CardPresented, 2)
        clock.now += 1.0
        writer.present("04A2B3C4")
        await sink.wait_for(CardPresented, 3)
    assert [e.id_token for e in sink.of(CardPresented)] == ["04A2B3C4", "11223344", "04A2B3C4"]


async def test_full_uid_stays_out_of_the_log(
    writer: UidLineWriter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = EventRecorder()
    with caplog.at_level(logging.DEBUG):
        reader = make_reader(tmp_path / "ttyRFID")
        async with running(reader, sink):
            await opened(reader)
            writer.present("04A2B3C4D5E6F7")
            await sink.wait_for(CardPresented)
    assert "uid=04..F7" in caplog.text and "A2B3C4D5E6" not in caplog.text


async def test_missing_port_is_a_fault_until_the_reader_appears(tmp_path: Path) -> None:
    link, sink = tmp_path / "ttyRFID", EventRecorder()
    reader = make_reader(link)
    async with running(reader, sink):
        (fault,) = await sink.wait_for(FaultRaised)
        assert (fault.name, fault.evse_id) == (RFID_FAILURE, 1)
        assert fault.detail.startswith(f"rfid.serial_uid {link}: ") and "\n" not in fault.detail
        with UidLineWriter() as device:
            device.link(link)
            await sink.wait_for(FaultCleared)
            await opened(reader)
            device.present("04A2B3C4")
            await sink.wait_for(CardPresented)
    assert [type(e) for e in sink.events] == [FaultRaised, FaultCleared, CardPresented]


async def test_reader_unplugged_while_running_faults_once_and_comes_back(tmp_path: Path) -> None:
    link, sink = tmp_path / "ttyRFID", EventRecorder()
    first = UidLineWriter().start()
    first.link(link)
    reader = make_reader(link)
    async with running(reader, sink):
        await opened(reader)
        first.present("04A2B3C4")
        await sink.wait_for(CardPresented)
        first.stop()
        await sink.wait_for(FaultRaised)
        with UidLineWriter() as second:
            second.link(link)
            await sink.wait_for(FaultCleared)
            await opened(reader)
            second.present("11223344")
            await sink.wait_for(CardPresented, 2)
    assert [type(e) for e in sink.events] == [CardPresented, FaultRaised, FaultCleared, CardPresented]


async def test_cancel_closes_the_port(writer: UidLineWriter, tmp_path: Path) -> None:
    import serial  # type: ignore[import-untyped]  # pyserial ships no type information

    reader = make_reader(tmp_path / "ttyRFID")
    async with running(reader, EventRecorder()):
        await opened(reader)
        with pytest.raises(serial.SerialException):  # the reader holds it exclusively
            serial.Serial(str(tmp_path / "ttyRFID"), exclusive=True)
    assert not reader.connected
    serial.Serial(str(tmp_path / "ttyRFID"), exclusive=True).close()


def test_pin_lines_are_keycode_tokens_and_bad_pins_are_refused() -> None:
    assert parse_uid_line("123456\r\n", "pin") == "123456"
    for bad in ("123", "1234567890123", "12a4"):
        with pytest.raises(ValueError, match="PIN"):
            parse_uid_line(bad, "pin")


async def test_C_keypad_pin_becomes_a_keycode_presentation(writer: UidLineWriter, tmp_path: Path) -> None:
    sink = EventRecorder()
    reader = make_reader(tmp_path / "ttyRFID", format="pin")
    async with running(reader, sink):
        await opened(reader)
        writer.send_line("4711")
        (event,) = await sink.wait_for(CardPresented)
    assert event == CardPresented(1, "4711", "KeyCode")

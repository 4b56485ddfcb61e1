"""The meter emulator's protocol side (no I/O): frames in, frames out, fault hooks."""

from __future__ import annotations

import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersRequest, ReadInputRegistersRequest

from drivers.meter.register_map import load_register_map, map_path
from hil.emulators.meter import FaultMode, MeterEmulator, MeterValues, register_image

# The SDM manuals' example exchange: read L1 voltage (2 input registers at 0) of meter 1, and
# the answer 230.0 V (IEEE 754 0x43660000), CRCs included.
EASTRON_REQUEST = bytes.fromhex("01 04 0000 0002 71CB")
EASTRON_ANSWER = bytes.fromhex("01 04 04 43660000 0E1F")


def emulator(model: str = "eastron_sdm630", **kwargs: object) -> MeterEmulator:
    return MeterEmulator(load_register_map(map_path(model)), **kwargs)  # type: ignore[arg-type]


def request(fc: int, start: int, count: int, dev_id: int = 1) -> bytes:
    cls = ReadHoldingRegistersRequest if fc == 3 else ReadInputRegistersRequest
    return FramerRTU(DecodePDU(False)).buildFrame(cls(address=start, count=count, dev_id=dev_id))


def parsed(frame: bytes) -> ModbusPDU:
    used, pdu = FramerRTU(DecodePDU(False)).handleFrame(frame, 0, 0)
    assert used == len(frame) and pdu is not None
    return pdu


def test_the_documented_eastron_exchange_byte_for_byte() -> None:
    emu = emulator()
    assert emu.feed(EASTRON_REQUEST) == [EASTRON_ANSWER]
    assert request(4, 0, 2) == EASTRON_REQUEST  # the driver's side builds the same request
    assert [(r.function, r.address, r.count, r.answer) for r in emu.requests] == [(4, 0, 2, "registers")]


def test_registers_hold_the_values_in_the_maps_encoding() -> None:
    em340 = load_register_map(map_path("carlo_gavazzi_em340"))
    image = register_image(em340, MeterValues(voltage_v=(230.0, 0.0, 0.0), energy_import_wh=1_234_500.0))
    assert (image[(4, 0)], image[(4, 1)]) == (2300, 0)  # Volt*10, least significant word first
    assert (image[(4, 0x34)], image[(4, 0x35)]) == (12_345 & 0xFFFF, 0)  # kWh*10
    abb = load_register_map(map_path("abb_b23"))
    image = register_image(abb, MeterValues(energy_import_wh=1_234_560.0))
    assert [image[(3, 0x5000 + i)] for i in range(4)] == [0, 0, 1, 0xE240]  # 123456 counts of 0.01 kWh


def test_other_addresses_are_ignored_as_on_a_bus() -> None:
    emu = emulator(address=7)
    assert emu.feed(request(4, 0, 2, dev_id=1)) == []
    assert emu.requests == []
    assert len(emu.feed(request(4, 0, 2, dev_id=7))) == 1


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (request(4, 0, 82), 3),  # over the SDM630's 80-register limit: illegal data value
        (request(4, 0x4C, 2), 2),  # past the mapped registers: illegal data address
        (request(3, 0, 2), 2),  # the SDM630 map has no holding registers
    ],
)
def test_requests_a_real_meter_refuses_get_exception_responses(frame: bytes, code: int) -> None:
    (answer,) = emulator().feed(frame)
    pdu = parsed(answer)
    assert pdu.isError()
    assert pdu.exception_code == code


def test_reserved_registers_inside_the_map_read_zero() -> None:
    (answer,) = emulator().feed(request(4, 0x000C, 2))  # phase 1 power: not in the map, but served
    assert list(parsed(answer).registers) == [0, 0]


def test_a_frame_split_across_reads_is_answered_once_complete() -> None:
    emu = emulator()
    assert emu.feed(EASTRON_REQUEST[:3]) == []
    assert emu.feed(EASTRON_REQUEST[3:]) == [EASTRON_ANSWER]


def test_silence_drops_a_partial_frame() -> None:
    emu = emulator()
    assert emu.feed(EASTRON_REQUEST[:5]) == []
    emu.discard_partial()
    assert emu.feed(EASTRON_REQUEST) == [EASTRON_ANSWER]


def test_faults_for_a_number_of_requests_then_normal() -> None:
    emu = emulator()
    emu.set_fault(FaultMode.SILENT, count=2)
    assert emu.feed(EASTRON_REQUEST) == []
    assert emu.feed(EASTRON_REQUEST) == []
    assert emu.feed(EASTRON_REQUEST) == [EASTRON_ANSWER]
    assert [r.answer for r in emu.requests] == ["silent", "silent", "registers"]
    assert emu.fault is FaultMode.NONE


def test_exception_corrupt_crc_and_garbage_answers() -> None:
    emu = emulator()
    emu.set_fault(FaultMode.EXCEPTION, exception_code=6)
    (answer,) = emu.feed(EASTRON_REQUEST)
    assert parsed(answer).exception_code == 6
    emu.set_fault(FaultMode.CORRUPT_CRC)
    (answer,) = emu.feed(EASTRON_REQUEST)
    assert answer[:-2] == EASTRON_ANSWER[:-2] and answer[-2:] != EASTRON_ANSWER[-2:]
    assert FramerRTU(DecodePDU(False)).handleFrame(answer, 0, 0)[1] is None
    emu.set_fault(FaultMode.GARBAGE)
    (answer,) = emu.feed(EASTRON_REQUEST)
    assert len(answer) == len(EASTRON_ANSWER) and answer != EASTRON_ANSWER
    assert FramerRTU(DecodePDU(False)).handleFrame(answer, 0, 0)[1] is None
    emu.clear_fault()
    assert emu.feed(EASTRON_REQUEST) == [EASTRON_ANSWER]
    with pytest.raises(ValueError, match="count must be >= 1"):
        emu.set_fault(FaultMode.SILENT, count=0)


def test_energy_grows_with_power_over_time() -> None:
    now = [100.0]
    emu = emulator(grow_energy=True, clock=lambda: now[0], values=MeterValues(power_w=7_200.0, energy_import_wh=0.0))
    now[0] += 1800.0
    emu.feed(request(4, 0x48, 2))
    assert emu.values.energy_import_wh == pytest.approx(3_600.0)
    emu.set_values(power_w=-3_600.0)
    now[0] += 3600.0
    emu.feed(request(4, 0x48, 2))
    assert emu.values.energy_import_wh == pytest.approx(3_600.0)
    assert emu.values.energy_export_wh == pytest.approx(3_600.0)


def test_values_that_do_not_fit_the_map_are_refused_when_set() -> None:
    emu = emulator("abb_b23")
    with pytest.raises(ValueError, match="does not fit uint32"):
        emu.set_values(voltage_v=(-1.0, 230.0, 230.0))
    assert emu.values.voltage_v == (230.0, 230.0, 230.0)


def test_line_pacing_delays_answers_by_their_time_on_the_wire() -> None:
    assert emulator().answer_delay_s(EASTRON_ANSWER) == 0.0
    paced = emulator(line_baudrate=9600, turnaround_s=0.01)
    char = 10 / 9600
    assert paced.answer_delay_s(EASTRON_ANSWER) == pytest.approx((8 + 9) * char + 2 * 3.5 * char + 0.01)

"""Framing and CRC of the safety-MCU link (drivers/pilot/framing.py) and the doc's byte examples."""

from __future__ import annotations

import binascii
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.interfaces import PilotState
from drivers.pilot.framing import MAX_PAYLOAD, SOF, Frame, FrameDecoder, crc16_ccitt_false, encode_frame
from drivers.pilot.messages import (
    Ack,
    HeartbeatReply,
    Hello,
    HelloReply,
    McuFault,
    MsgType,
    Nack,
    NackCode,
    SetPwm,
    Status,
    StatusFlag,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "safety-mcu-protocol.md"


def reference_crc(data: bytes) -> int:
    """Bit-at-a-time CRC-16/CCITT-FALSE, written from the definition, to check the fast one."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return crc


frames = st.builds(
    Frame,
    type=st.integers(0, 255),
    seq=st.integers(0, 255),
    payload=st.binary(max_size=MAX_PAYLOAD),
)


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"") == 0xFFFF


@given(st.binary(max_size=200))
def test_crc_matches_the_definition(data: bytes) -> None:
    assert crc16_ccitt_false(data) == reference_crc(data)


def test_every_one_and_two_bit_error_in_the_longest_frame_is_detected() -> None:
    # The CRC is linear: an error pattern e over (body, crc) escapes iff crc0(e_body) == e_crc. With
    # s(bit) the syndrome of one flipped bit, a 2-bit error escapes iff two syndromes are equal, so
    # all syndromes being distinct and non-zero proves Hamming distance >= 3 (odd weights: the x+1
    # factor), i.e. every 1-, 2- and 3-bit error is detected.
    body_len = 4 + MAX_PAYLOAD
    syndromes = set()
    for bit in range(body_len * 8):
        error = bytearray(body_len)
        error[bit // 8] = 0x80 >> (bit % 8)
        syndromes.add(binascii.crc_hqx(bytes(error), 0))
    for bit in range(16):
        syndromes.add(1 << bit)  # an error in the transmitted CRC itself
    assert 0 not in syndromes
    assert len(syndromes) == (body_len + 2) * 8


def test_frame_layout() -> None:
    raw = encode_frame(Frame(0x03, 0x07, b"\x01\x0b"))
    assert raw[:5] == bytes((SOF, 2, 0xFD, 0x03, 0x07))
    assert raw[5:7] == b"\x01\x0b"
    assert int.from_bytes(raw[7:], "big") == reference_crc(raw[1:7])
    assert len(raw) == 9


def test_frame_refuses_out_of_range_fields() -> None:
    with pytest.raises(ValueError):
        Frame(256, 0)
    with pytest.raises(ValueError):
        Frame(1, -1)
    with pytest.raises(ValueError):
        Frame(1, 0, bytes(MAX_PAYLOAD + 1))


@given(frames)
def test_round_trip_of_any_frame(frame: Frame) -> None:
    decoder = FrameDecoder()
    assert decoder.feed(encode_frame(frame)) == [frame]
    assert decoder.pending == 0
    assert decoder.frames_rejected == 0


@given(frames, st.data())
def test_round_trip_whatever_the_chunking(frame: Frame, data: st.DataObject) -> None:
    raw = encode_frame(frame) * 2
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    decoder = FrameDecoder()
    out: list[Frame] = []
    for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        out += decoder.feed(raw[start:end])
    assert out == [frame, frame]


@given(frames, st.data())
def test_any_single_corrupted_byte_is_detected(frame: Frame, data: st.DataObject) -> None:
    raw = bytearray(encode_frame(frame))
    index = data.draw(st.integers(0, len(raw) - 1), label="index")
    raw[index] ^= data.draw(st.integers(1, 255), label="xor")
    decoder = FrameDecoder()
    got = decoder.feed(bytes(raw)) + decoder.flush_partial()
    assert frame not in got
    assert got == []  # nothing at all is delivered from a damaged frame
    assert decoder.frames_rejected + decoder.bytes_discarded > 0


@given(frames, frames, st.binary(max_size=80))
def test_good_frame_after_garbage_and_a_corrupt_frame_is_not_lost(first: Frame, good: Frame, garbage: bytes) -> None:
    corrupt = bytearray(encode_frame(first))
    corrupt[-1] ^= 0x01
    decoder = FrameDecoder()
    got = decoder.feed(garbage + bytes(corrupt) + encode_frame(good))
    got += decoder.flush_partial()  # the line goes idle: a false start inside the garbage is given up
    assert got[-1] == good
    assert first not in got or first == good


def test_false_start_with_plausible_length_waits_then_yields_the_frame_behind_it() -> None:
    good = Frame(MsgType.STATUS, 9, b"\x43" * 11)
    # SOF and a valid length pair announcing 40 bytes, then the good frame (shorter than 40 + 7).
    decoder = FrameDecoder()
    assert decoder.feed(bytes((SOF, 40, 40 ^ 0xFF)) + encode_frame(good)) == []
    assert decoder.pending > 0
    assert decoder.flush_partial() == [good]
    assert decoder.frames_rejected >= 1


def test_length_over_the_cap_is_a_false_start() -> None:
    good = Frame(MsgType.ACK, 3, b"\x03")
    decoder = FrameDecoder()
    assert decoder.feed(bytes((SOF, 65, 65 ^ 0xFF)) + encode_frame(good)) == [good]
    assert decoder.frames_rejected == 1


def test_garbage_without_start_bytes_is_discarded() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x00\x11\x22\x33") == []
    assert decoder.pending == 0
    assert decoder.bytes_discarded == 4


# ---- the doc's byte-level examples -------------------------------------------------------------

DOC_EXAMPLES: list[tuple[str, Frame]] = [
    ("HELLO", Frame(MsgType.HELLO, 1, Hello((1, 0)).payload())),
    (
        "HELLO_REPLY",
        Frame(
            MsgType.HELLO_REPLY,
            1,
            HelloReply((1, 0), (1, 2, 3), 1000, bytes.fromhex("0123456789ABCDEF00C0FFEE")).payload(),
        ),
    ),
    ("HEARTBEAT", Frame(MsgType.HEARTBEAT, 2)),
    ("HEARTBEAT_REPLY", Frame(MsgType.HEARTBEAT_REPLY, 2, HeartbeatReply(123456).payload())),
    (
        "STATUS charging",
        Frame(
            MsgType.STATUS,
            7,
            Status(
                PilotState.C, 6000, 267, 32, StatusFlag.RELAY_ENABLED | StatusFlag.RELAY_CLOSED, McuFault(0), 41.5
            ).payload(),
        ),
    ),
    (
        "STATUS rcd",
        Frame(
            MsgType.STATUS, 8, Status(PilotState.C, 6000, 267, 32, StatusFlag.RCD_TRIPPED, McuFault(0), 41.5).payload()
        ),
    ),
    (
        "STATUS safe",
        Frame(
            MsgType.STATUS,
            9,
            Status(PilotState.F, -12000, 0, 32, StatusFlag.SAFE_STATE, McuFault.HEARTBEAT_LOST, 25.0).payload(),
        ),
    ),
    ("SET_PWM 16 A", Frame(MsgType.SET_PWM, 3, SetPwm(267).payload())),
    ("ACK", Frame(MsgType.ACK, 3, Ack(MsgType.SET_PWM).payload())),
    ("SET_PWM X1", Frame(MsgType.SET_PWM, 4, SetPwm(1000).payload())),
    ("NACK", Frame(MsgType.NACK, 4, Nack(MsgType.SET_PWM, NackCode.NOT_READY).payload())),
]


def doc_hex_lines() -> list[bytes]:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```hex\n(.*?)```", text, flags=re.DOTALL)
    return [bytes.fromhex(line) for block in blocks for line in block.splitlines() if line.strip()]


@pytest.mark.parametrize(("name", "frame"), DOC_EXAMPLES, ids=[name for name, _ in DOC_EXAMPLES])
def test_doc_shows_each_example_byte_for_byte(name: str, frame: Frame) -> None:
    assert encode_frame(frame) in doc_hex_lines()


def test_every_hex_example_in_the_doc_is_one_valid_frame() -> None:
    lines = doc_hex_lines()
    assert len(lines) == len(DOC_EXAMPLES)
    for raw in lines:
        decoder = FrameDecoder()
        assert len(decoder.feed(raw)) == 1, raw.hex(" ")
        assert decoder.pending == 0

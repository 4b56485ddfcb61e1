"""CAN segmentation and serial framing of bridge messages (pure; no bus, no port)."""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers.iso15118.can_segmentation import Reassembler, crc16, segment
from drivers.iso15118.messages import MAX_MESSAGE_BYTES
from drivers.iso15118.serial_framing import FrameDecoder, frame
from drivers.iso15118.transport import LOST, Lost

messages = st.binary(min_size=1, max_size=700)
BYTE_TIME = 10 / 115200


def test_crc_is_ccitt_false() -> None:
    assert crc16(b"123456789") == 0x29B1


def feed_all(reassembler: Reassembler, frames: list[bytes]) -> list[bytes | Lost]:
    out: list[bytes | Lost] = []
    for data in frames:
        out.extend(reassembler.feed(data))
    return out


# --- CAN ----------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(messages, min_size=1, max_size=4))
def test_can_round_trip_of_consecutive_messages(batch: list[bytes]) -> None:
    reassembler = Reassembler()
    frames = [f for message in batch for f in segment(message)]
    assert all(1 <= len(f) <= 8 for f in frames)
    assert feed_all(reassembler, frames) == batch


def test_can_round_trip_of_the_longest_message() -> None:
    message = bytes(random.Random(1).randrange(256) for _ in range(MAX_MESSAGE_BYTES))
    frames = segment(message)
    assert len(frames) == 1 + (MAX_MESSAGE_BYTES - 3 + 6) // 7
    assert feed_all(Reassembler(), frames) == [message]


@pytest.mark.parametrize(("length", "frames"), [(1, 1), (7, 1), (8, 2), (10, 2), (11, 3)])
def test_can_frame_counts(length: int, frames: int) -> None:
    assert len(segment(bytes(length))) == frames


def test_can_layout_of_a_segmented_message() -> None:
    message = bytes(range(1, 12))  # 11 bytes: first frame + 2 continuation frames
    crc = crc16(message).to_bytes(2, "big")
    assert segment(message) == [
        b"\x10\x00\x0b" + crc + b"\x01\x02\x03",
        b"\x21\x04\x05\x06\x07\x08\x09\x0a",
        b"\x22\x0b",
    ]


def test_can_sequence_numbers_wrap_after_15() -> None:
    pcis = [f[0] for f in segment(bytes(3 + 7 * 17))]
    assert pcis[:1] == [0x10]
    assert pcis[1:] == [0x20 | (n & 0x0F) for n in range(1, 18)]


@pytest.mark.parametrize("length", [0, MAX_MESSAGE_BYTES + 1])
def test_can_refuses_impossible_lengths(length: int) -> None:
    with pytest.raises(ValueError):
        segment(bytes(length))


@settings(deadline=None)
@given(messages.filter(lambda m: len(m) > 3 + 7), messages, st.data())
def test_can_swapped_segments_lose_that_message_only(first: bytes, second: bytes, data: st.DataObject) -> None:
    frames = segment(first)
    i = data.draw(st.integers(1, len(frames) - 2))
    frames[i], frames[i + 1] = frames[i + 1], frames[i]
    out = feed_all(Reassembler(), frames + segment(second))
    assert out[-1] == second
    assert out[:-1] and all(item is LOST for item in out[:-1])


@settings(deadline=None)
@given(messages.filter(lambda m: len(m) > 7), st.data())
def test_can_a_changed_byte_fails_the_crc(message: bytes, data: st.DataObject) -> None:
    frames = segment(message)
    i = data.draw(st.integers(1, len(frames) - 1))
    j = data.draw(st.integers(1, len(frames[i]) - 1))
    changed = bytearray(frames[i])
    changed[j] ^= data.draw(st.integers(1, 255))
    frames[i] = bytes(changed)
    assert feed_all(Reassembler(), frames) == [LOST]


def test_can_losing_exactly_16_frames_is_noticed() -> None:
    message = bytes(range(200))  # 29 frames
    frames = segment(message)
    kept = frames[:1] + frames[17:]  # sequence numbers still look continuous
    follow_up = b"\x02\x00\x00"
    out = feed_all(Reassembler(), [*kept, *segment(follow_up)])
    assert message not in out
    assert out[-1] == follow_up and LOST in out


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00",
        b"\x08" + bytes(8),
        b"\x05\x01",
        b"\x21abc",
        b"\x11" + bytes(7),
        b"\x10\x00\x05\x00\x00abc",
        b"\x30",
    ],
)
def test_can_garbage_frames_are_lost_and_the_next_message_still_arrives(garbage: bytes) -> None:
    reassembler = Reassembler()
    assert reassembler.feed(garbage) == [LOST]
    assert feed_all(reassembler, segment(b"\x02\x01\x00")) == [b"\x02\x01\x00"]


def test_can_a_single_frame_inside_a_transfer_abandons_it() -> None:
    long = segment(bytes(30))
    out = feed_all(Reassembler(), [long[0], long[1], *segment(b"\x02\x00\x00")])
    assert out == [LOST, b"\x02\x00\x00"]


# --- serial -------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.lists(messages, min_size=1, max_size=4), st.data())
def test_serial_round_trip_in_any_chunking(batch: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frame(m) for m in batch)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder(BYTE_TIME)
    out: list[bytes | Lost] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out.extend(decoder.feed(stream[start:end], now=0.0))
    assert out == batch


@settings(deadline=None)
@given(st.binary(max_size=100).map(lambda b: b.replace(b"\xa5", b"")), messages)
def test_serial_noise_before_a_frame_is_skipped(noise: bytes, message: bytes) -> None:
    decoder = FrameDecoder(BYTE_TIME)
    assert decoder.feed(noise + frame(message), now=0.0) == [message]
    assert decoder.skipped_bytes == len(noise)


def test_serial_layout() -> None:
    body = b"\x00\x03\x21\x03\x01"
    assert frame(b"\x21\x03\x01") == b"\xa5" + body + crc16(body).to_bytes(2, "big")


def test_serial_bad_crc_is_lost_and_the_next_frame_arrives() -> None:
    bad = bytearray(frame(b"\x21\x03\x01"))
    bad[-1] ^= 0x40
    assert FrameDecoder(BYTE_TIME).feed(bytes(bad) + frame(b"\x02\x00\x00"), now=0.0) == [LOST, b"\x02\x00\x00"]


def test_serial_a_false_start_cannot_hold_back_real_frames() -> None:
    decoder = FrameDecoder(BYTE_TIME)
    # A stray A5 announces 4000 bytes; the real frame after it is inside the "announced" range.
    assert decoder.feed(b"\xa5\x0f\xa0" + frame(b"\x02\x00\x00"), now=10.0) == []
    assert decoder.expire(now=10.05) == []  # still plausible: 4005 bytes take 0.35 s at 115200 Bd
    assert decoder.expire(now=11.0) == [LOST, b"\x02\x00\x00"]


def test_serial_an_impossible_length_is_lost_at_once() -> None:
    assert FrameDecoder(BYTE_TIME).feed(b"\xa5\x00\x00" + frame(b"\x01"), now=0.0) == [LOST, b"\x01"]
    assert FrameDecoder(BYTE_TIME).feed(b"\xa5\xff\xff" + frame(b"\x01"), now=0.0) == [LOST, b"\x01"]


@settings(deadline=None)
@given(st.binary(max_size=300))
@example(b"\xa5\x00")  # a start byte and half a length, then silence: found by hypothesis
def test_serial_random_bytes_never_break_the_decoder(noise: bytes) -> None:
    decoder = FrameDecoder(BYTE_TIME)
    decoder.feed(noise, now=0.0)
    decoder.expire(now=100.0)  # whatever partial frame the noise started is given up
    assert decoder.feed(frame(b"\x02\x00\x00"), now=100.0)[-1] == b"\x02\x00\x00"


# --- the transport examples of docs/iso15118-bridge.md --------------------------------------------------


def test_documented_can_examples() -> None:
    session_started = bytes.fromhex("10 03 02 03 0c 30 41 31 42 32 43 33 44 34 45 35 46")
    assert [f.hex(" ") for f in segment(session_started)] == [
        "10 00 11 16 10 10 03 02",
        "21 03 0c 30 41 31 42 32",
        "22 43 33 44 34 45 35 46",
    ]
    assert segment(bytes.fromhex("02 00 00")) == [bytes.fromhex("03 02 00 00")]
    assert segment(bytes.fromhex("20 00 a0 ff ff ff ff")) == [bytes.fromhex("07 20 00 a0 ff ff ff ff")]


def test_documented_serial_examples() -> None:
    assert frame(bytes.fromhex("21 03 01")).hex(" ") == "a5 00 03 21 03 01 7e 54"
    assert frame(bytes.fromhex("02 00 00")).hex(" ") == "a5 00 03 02 00 00 e4 b0"

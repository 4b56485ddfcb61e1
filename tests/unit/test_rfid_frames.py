"""PN532 frames: encoding, decoding, checksums, and resynchronisation on a noisy stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.rfid.pn532_frames import (
    ACK,
    ERROR_TFI,
    HOST_TO_PN532,
    MAX_FRAME_DATA,
    NACK,
    PN532_TO_HOST,
    START_CODE,
    AckFrame,
    ChecksumMismatch,
    Frame,
    FrameDecoder,
    NackFrame,
    checksum,
    decode_frame,
    encode_command,
    encode_frame,
)

payloads = st.binary(min_size=0, max_size=MAX_FRAME_DATA - 1)
tfis = st.sampled_from([HOST_TO_PN532, PN532_TO_HOST])
# Noise that contains no start code: with one, a decoder may rightly wait for a frame it announces.
noise = st.binary(max_size=40).filter(lambda b: START_CODE not in b and not b.endswith(b"\x00"))


def test_get_firmware_version_command_matches_the_manual_bytes() -> None:
    assert encode_command(0x02) == bytes.fromhex("0000FF02FED4022A00")


def test_checksum_makes_the_sum_zero() -> None:
    assert checksum(b"\xd4\x02") == 0x2A
    assert checksum(b"") == 0
    assert (sum(b"\xd5\x4b\x01\x01") + checksum(b"\xd5\x4b\x01\x01")) & 0xFF == 0


def test_ack_nack_and_error_frames_decode_to_their_kinds() -> None:
    assert decode_frame(ACK) == AckFrame()
    assert decode_frame(NACK) == NackFrame()
    assert encode_frame(ERROR_TFI, b"") == bytes.fromhex("0000FF01FF7F8100")
    assert decode_frame(bytes.fromhex("0000FF01FF7F8100")) == Frame(ERROR_TFI, b"")


@given(tfis, payloads)
def test_encode_decode_round_trip(tfi: int, data: bytes) -> None:
    raw = encode_frame(tfi, data)
    assert decode_frame(raw) == Frame(tfi, data)
    assert raw.startswith(b"\x00\x00\xff") and raw.endswith(b"\x00")


def test_long_frames_use_the_extended_form() -> None:
    raw = encode_frame(PN532_TO_HOST, bytes(260))
    assert raw[3:5] == b"\xff\xff" and int.from_bytes(raw[5:7], "big") == 261
    assert decode_frame(raw) == Frame(PN532_TO_HOST, bytes(260))
    assert encode_frame(PN532_TO_HOST, bytes(254))[3] == 255  # 255 with the TFI: still a normal frame
    with pytest.raises(ValueError, match="too long"):
        encode_frame(PN532_TO_HOST, bytes(MAX_FRAME_DATA))


@given(tfis, payloads, st.integers(min_value=1, max_value=255))
def test_corrupted_lcs_is_not_a_frame(tfi: int, data: bytes, delta: int) -> None:
    raw = bytearray(encode_frame(tfi, data))
    lcs_at = 4 if raw[3] != 0xFF else 7
    raw[lcs_at] = (raw[lcs_at] + delta) & 0xFF
    with pytest.raises(ValueError, match="not exactly one"):
        decode_frame(bytes(raw))


@given(tfis, payloads, st.integers(min_value=1, max_value=255))
def test_corrupted_dcs_is_reported_as_a_checksum_mismatch(tfi: int, data: bytes, delta: int) -> None:
    raw = bytearray(encode_frame(tfi, data))
    raw[-2] = (raw[-2] + delta) & 0xFF
    assert decode_frame(bytes(raw)) == ChecksumMismatch(tfi, data)


@given(tfis, payloads, st.integers(min_value=1, max_value=255), st.data())
def test_a_corrupted_data_byte_is_caught_by_the_dcs(tfi: int, data: bytes, delta: int, draw: st.DataObject) -> None:
    raw = bytearray(encode_frame(tfi, data))
    header = 5 if raw[3] != 0xFF else 8
    at = draw.draw(st.integers(min_value=header, max_value=len(raw) - 3), label="corrupted byte")
    raw[at] = (raw[at] + delta) & 0xFF
    assert isinstance(decode_frame(bytes(raw)), ChecksumMismatch)


@given(noise, tfis, st.binary(max_size=30), st.lists(st.integers(min_value=1, max_value=80), max_size=6))
def test_decoder_skips_noise_and_survives_any_chunking(garbage: bytes, tfi: int, data: bytes, cuts: list[int]) -> None:
    stream = garbage + ACK + encode_frame(tfi, data)
    decoder, items, pos = FrameDecoder(), [], 0
    for cut in [*cuts, len(stream)]:
        items += decoder.feed(stream[pos : pos + cut])
        pos += cut
    items += decoder.feed(stream[pos:])
    assert items == [AckFrame(), Frame(tfi, data)]
    assert decoder.skipped == sum(1 for b in garbage if b != 0)


def test_decoder_resyncs_after_a_false_start_code() -> None:
    # 00 FF 05 00: a start code whose LEN/LCS do not add up; the real frame follows.
    decoder = FrameDecoder()
    items = decoder.feed(b"\x13\x00\xff\x05\x00\xaa" + encode_frame(PN532_TO_HOST, b"\x03\x32\x01\x06\x07"))
    assert items == [Frame(PN532_TO_HOST, b"\x03\x32\x01\x06\x07")]
    assert decoder.skipped == 4  # 13, the false start code's FF, its 05, then AA


def test_decoder_waits_for_the_rest_of_a_split_frame() -> None:
    decoder, raw = FrameDecoder(), encode_frame(PN532_TO_HOST, b"\x15")
    assert decoder.feed(raw[:1]) == []  # a lone 00 might start the start code
    assert decoder.feed(raw[1:5]) == []
    assert decoder.feed(raw[5:]) == [Frame(PN532_TO_HOST, b"\x15")]
    decoder.feed(b"\x00\x00\xff\x03")
    decoder.clear()
    assert decoder.feed(b"\xfd\xd5\x15\x16\x00") == []  # the first half was forgotten


def test_decode_frame_refuses_two_frames_or_trailing_garbage() -> None:
    with pytest.raises(ValueError):
        decode_frame(ACK + ACK)
    with pytest.raises(ValueError):
        decode_frame(b"\x42" + ACK)
    with pytest.raises(ValueError):
        decode_frame(ACK[:-2])

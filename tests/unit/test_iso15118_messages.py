"""The bridge message set: every message survives encode/decode; anything else is MalformedMessage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.interfaces import (
    EnergyTransferMode,
    HashAlgorithm,
    Iso15118Protocol,
    Iso15118StopReason,
    OcspRequestData,
)
from drivers.iso15118.messages import (
    MAX_MESSAGE_BYTES,
    Authorization,
    ChargingNeeds,
    Contract,
    CurrentLimit,
    Heartbeat,
    Hello,
    MalformedMessage,
    Message,
    MessageType,
    ModuleFault,
    SessionStarted,
    SessionStopped,
    decode,
    encode,
)
from tests.unit.test_iso15118_support import LONGEST_HASH_DATA

sessions = st.integers(1, 255)
u16 = st.integers(0, 0xFFFE)
u32 = st.integers(0, 0xFFFF_FFFE)


def ascii_(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=min_size, max_size=max_size)


def utf8(max_bytes: int) -> st.SearchStrategy[str]:
    """Any text, cut to ``max_bytes`` of UTF-8 without splitting a character."""
    return st.text(max_size=max_bytes).map(lambda s: s.encode()[:max_bytes].decode("utf-8", "ignore"))


hash_entries = st.builds(
    OcspRequestData,
    hash_algorithm=st.sampled_from(HashAlgorithm),
    issuer_name_hash=ascii_(0, 128),
    issuer_key_hash=ascii_(0, 128),
    serial_number=ascii_(0, 40),
    responder_url=ascii_(0, 512),
)

STRATEGIES: dict[MessageType, st.SearchStrategy[Message]] = {
    MessageType.HELLO: st.builds(Hello, st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF), utf8(64)),
    MessageType.HEARTBEAT: st.builds(
        Heartbeat, st.integers(0, 255), st.lists(st.integers(1, 255), max_size=32).map(tuple)
    ),
    MessageType.SESSION_STARTED: st.builds(
        SessionStarted, sessions, st.sampled_from(Iso15118Protocol), st.sampled_from(EnergyTransferMode), ascii_(1, 255)
    ),
    MessageType.SESSION_STOPPED: st.builds(SessionStopped, sessions, st.sampled_from(Iso15118StopReason)),
    MessageType.CONTRACT: st.builds(
        Contract, sessions, st.none() | ascii_(1, 36), st.lists(hash_entries, max_size=4).map(tuple)
    ).filter(lambda c: c.emaid is not None or bool(c.hash_data)),
    MessageType.CHARGING_NEEDS: st.builds(
        ChargingNeeds,
        sessions,
        st.sampled_from(EnergyTransferMode),
        st.none() | u32,
        st.none() | u32,
        u16,
        u16,
        st.none() | u32,
        st.none() | u16,
    ),
    MessageType.MODULE_FAULT: st.builds(ModuleFault, st.integers(1, 255), st.booleans(), utf8(255)),
    MessageType.CURRENT_LIMIT: st.builds(CurrentLimit, st.none() | u16, st.none() | u32),
    MessageType.AUTHORIZATION: st.builds(Authorization, sessions, st.booleans()),
}
any_message = st.one_of(*STRATEGIES.values())


TYPE_BYTES: dict[type, MessageType] = {
    Hello: MessageType.HELLO,
    Heartbeat: MessageType.HEARTBEAT,
    SessionStarted: MessageType.SESSION_STARTED,
    SessionStopped: MessageType.SESSION_STOPPED,
    Contract: MessageType.CONTRACT,
    ChargingNeeds: MessageType.CHARGING_NEEDS,
    ModuleFault: MessageType.MODULE_FAULT,
    CurrentLimit: MessageType.CURRENT_LIMIT,
    Authorization: MessageType.AUTHORIZATION,
}


def test_every_message_type_has_a_round_trip_strategy() -> None:
    assert set(STRATEGIES) == set(MessageType) == set(TYPE_BYTES.values())


@settings(deadline=None)
@given(any_message)
def test_round_trip(message: Message) -> None:
    data = encode(message)
    assert 1 <= len(data) <= MAX_MESSAGE_BYTES
    assert data[0] == TYPE_BYTES[type(message)]
    assert decode(data) == message


@pytest.mark.parametrize("message_type", list(MessageType))
@settings(deadline=None)
@given(data=st.data())
def test_every_strict_prefix_is_malformed(message_type: MessageType, data: st.DataObject) -> None:
    encoded = encode(data.draw(STRATEGIES[message_type]))
    cut = data.draw(st.integers(0, len(encoded) - 1))
    with pytest.raises(MalformedMessage):
        decode(encoded[:cut])


@settings(deadline=None)
@given(any_message, st.binary(min_size=1, max_size=8))
def test_trailing_bytes_are_malformed(message: Message, tail: bytes) -> None:
    with pytest.raises(MalformedMessage, match="trailing"):
        decode(encode(message) + tail)


@settings(deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_malformed_only(data: bytes) -> None:
    try:
        message = decode(data)
    except MalformedMessage:
        return
    assert decode(encode(message)) == message  # what decodes is a message the encoder accepts


def test_the_longest_contract_fits_one_message() -> None:
    data = encode(Contract(255, "E" * 36, LONGEST_HASH_DATA))
    assert 3000 < len(data) <= MAX_MESSAGE_BYTES
    assert decode(data) == Contract(255, "E" * 36, LONGEST_HASH_DATA)


# Documented examples (docs/iso15118-bridge.md): the bytes there are these bytes.
DOC_EXAMPLES: list[tuple[Message, str]] = [
    (Hello(1, 0, 500, "evse"), "01 01 00 01 f4 04 65 76 73 65"),
    (Heartbeat(3, (1,)), "02 03 01 01"),
    (
        SessionStarted(3, Iso15118Protocol.ISO_15118_2, EnergyTransferMode.AC_THREE_PHASE, "0A1B2C3D4E5F"),
        "10 03 02 03 0c 30 41 31 42 32 43 33 44 34 45 35 46",
    ),
    (SessionStopped(3, Iso15118StopReason.EV_DISCONNECTED), "11 03 02"),
    (
        Contract(3, "DE8EOCAET5E43X1", ()),
        "12 03 0f 44 45 38 45 4f 43 41 45 54 35 45 34 33 58 31 00",
    ),
    (
        Contract(3, None, (OcspRequestData(HashAlgorithm.SHA256, "AB", "CD", "01", "http://o"),)),
        "12 03 00 01 01 02 41 42 02 43 44 02 30 31 00 08 68 74 74 70 3a 2f 2f 6f",
    ),
    (
        ChargingNeeds(3, EnergyTransferMode.AC_THREE_PHASE, 20_000, 3600, 320, 4000, None, 60),
        "13 03 03 00 00 4e 20 00 00 0e 10 01 40 0f a0 ff ff ff ff 00 3c",
    ),
    (ModuleFault(1, True, "SLAC"), "14 01 01 04 53 4c 41 43"),
    (CurrentLimit(160, None), "20 00 a0 ff ff ff ff"),
    (CurrentLimit(0, 50_000), "20 00 00 00 00 c3 50"),
    (Authorization(3, True), "21 03 01"),
]


@pytest.mark.parametrize(("message", "hex_bytes"), DOC_EXAMPLES)
def test_documented_examples(message: Message, hex_bytes: str) -> None:
    assert encode(message).hex(" ") == hex_bytes
    assert decode(bytes.fromhex(hex_bytes)) == message


@pytest.mark.parametrize(
    ("hex_bytes", "problem"),
    [
        ("", "empty message"),
        ("7f", "unknown message type 0x7F"),
        ("10 00 02 03 01 41", "session id 0"),
        ("10 01 09 03 01 41", "unknown protocol code 9"),
        ("10 01 02 09 01 41", "unknown energy transfer mode code 9"),
        ("10 01 02 03 00", "empty EVCCID"),
        ("10 01 02 03 01 0a", "printable ASCII"),
        ("12 01 00 00", "neither EMAID nor certificate hash data"),
        ("12 01 00 05", "5 certificate hash entries, at most 4"),
        ("12 01 25" + " 41" * 37 + " 00", "string of 37 bytes, at most 36"),
        ("12 01 00 01 04 00 00 00 00 00", "unknown hash algorithm code 4"),
        ("13 01 03 00 00 00 00 00 00 00 00 ff ff 0f a0 ff ff ff ff ff ff", "maximum current and voltage"),
        ("14 00 01 00", "fault code 0"),
        ("14 01 02 00", "boolean byte must be 0 or 1"),
        ("14 01 01 02 c3 28", "not valid UTF-8"),
        ("21 01 02", "boolean byte must be 0 or 1"),
        ("02 00 21", "33 active faults"),
        ("02 00 01 00", "fault code 0"),
    ],
)
def test_malformed_messages_say_what_is_wrong(hex_bytes: str, problem: str) -> None:
    with pytest.raises(MalformedMessage, match=problem):
        decode(bytes.fromhex(hex_bytes))


def test_an_unknown_stop_reason_still_stops() -> None:
    assert decode(bytes.fromhex("11 05 63")) == SessionStopped(5, Iso15118StopReason.OTHER)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (SessionStarted(0, Iso15118Protocol.DIN_70121, EnergyTransferMode.DC, "01"), "session id 0"),
        (SessionStarted(1, Iso15118Protocol.DIN_70121, EnergyTransferMode.DC, ""), "empty EVCCID"),
        (SessionStarted(1, Iso15118Protocol.DIN_70121, EnergyTransferMode.DC, "é"), "ascii"),
        (Contract(1, "E" * 37, ()), "at most 36"),
        (Contract(1, "", ()), "None, not an empty string"),
        (Contract(1, None, ()), "EMAID or certificate hash data"),
        (Contract(1, None, LONGEST_HASH_DATA * 2), "at most 4"),
        (Contract(1, None, (OcspRequestData(HashAlgorithm.SHA256, "", "", "1" * 41, ""),)), "at most 40"),
        (ChargingNeeds(1, EnergyTransferMode.DC, None, None, 0xFFFF, 1, None, None), "required"),
        (ChargingNeeds(1, EnergyTransferMode.DC, 0xFFFF_FFFF, None, 1, 1, None, None), "means absent"),
        (CurrentLimit(-1, None), "outside"),
        (Hello(256, 0, 0, ""), "does not fit"),
        (Heartbeat(0, (0,)), "each 1..255"),
        (Authorization(256, True), "outside 1..255"),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(message: Message, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        encode(message)

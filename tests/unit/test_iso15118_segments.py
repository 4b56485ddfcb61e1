"""Version 2 of the bridge message set: the certificate messages' layouts and the segment reassembly rules."""

from __future__ import annotations

import pytest

from drivers.iso15118.certificate_messages import (
    CertificateAction,
    EvCertificateRequest,
    EvCertificateResponse,
    RootCertificates,
    RootKind,
    V2gCertificateChain,
    V2gCsr,
    V2gCsrRequest,
)
from drivers.iso15118.messages import MAX_LONG_MESSAGE_BYTES, MalformedMessage, Message, decode, encode
from drivers.iso15118.segments import MAX_SEGMENT_DATA, Reassembler, split

LONG = bytes(range(256)) * 40  # 10240 bytes: three segments


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (
            EvCertificateRequest(5, CertificateAction.INSTALL, "urn:x", b"\x80\x01"),
            "15 05 01 05 75 72 6e 3a 78 00 02 80 01",
        ),
        (EvCertificateResponse(5, True, b"\x80"), "22 05 01 00 01 80"),
        (EvCertificateResponse(5, False, b""), "22 05 00 00 00"),
        (V2gCsr("CSR"), "16 00 03 43 53 52"),
        (V2gCsrRequest("S1", "O", "DE"), "23 02 53 31 01 4f 02 44 45"),
        (V2gCertificateChain("PEM"), "24 00 03 50 45 4d"),
        (RootCertificates(RootKind.MO, ("A", "BC")), "25 02 02 00 01 41 00 02 42 43"),
        (RootCertificates(RootKind.V2G, ()), "25 01 00"),
    ],
)
def test_certificate_messages_byte_for_byte(message: Message, wire: str) -> None:
    """The examples of docs/iso15118-bridge.md section 4.2."""
    assert encode(message).hex(" ") == wire
    assert decode(bytes.fromhex(wire)) == message


@pytest.mark.parametrize(
    "wire",
    [
        "15 00 01 00 00 01 80",  # request id 0
        "15 01 03 00 00 01 80",  # unknown action
        "15 01 01 00 00 00",  # empty EXI request
        "22 01 01 00 00",  # accepted without EXI
        "25 03 00",  # unknown root kind
        "25 01 09" + " 00 00" * 9,  # more roots than allowed
    ],
)
def test_malformed_certificate_messages(wire: str) -> None:
    with pytest.raises(MalformedMessage):
        decode(bytes.fromhex(wire))


def test_short_messages_travel_unsegmented() -> None:
    assert split(b"\x02\x00\x00", 1) == [b"\x02\x00\x00"]


def test_segments_layout_and_reassembly() -> None:
    parts = split(LONG, 7)
    assert [p[:4].hex(" ") for p in parts] == ["03 07 00 03", "03 07 01 03", "03 07 02 03"]
    assert all(len(p) == 4 + MAX_SEGMENT_DATA for p in parts[:-1])
    r = Reassembler(1.0)
    assert [r.feed(p, 0.0) for p in parts] == [None, None, LONG]
    assert r.broken == []


def test_a_gap_drops_the_transfer() -> None:
    parts = split(LONG, 7)
    r = Reassembler(1.0)
    assert r.feed(parts[0], 0.0) is None
    assert r.feed(parts[2], 0.0) is None
    assert r.broken and "out of sequence" in r.broken[0]
    assert not r.busy


def test_a_new_transfer_abandons_the_old_one_and_counts() -> None:
    old, new = split(LONG, 7), split(LONG[::-1], 8)
    r = Reassembler(1.0)
    r.feed(old[0], 0.0)
    results = [r.feed(p, 0.0) for p in new]
    assert results[-1] == LONG[::-1]
    assert len(r.broken) == 1


def test_another_message_in_the_middle_drops_the_transfer_but_is_kept() -> None:
    r = Reassembler(1.0)
    r.feed(split(LONG, 7)[0], 0.0)
    assert r.feed(b"\x02\x00\x00", 0.0) == b"\x02\x00\x00"
    assert len(r.broken) == 1


def test_an_overdue_segment_drops_the_transfer() -> None:
    parts = split(LONG, 7)
    r = Reassembler(1.0)
    r.feed(parts[0], 0.0)
    r.expire(2.0)
    assert r.broken == ["segmented transfer timed out"]
    assert r.feed(parts[1], 2.0) is None and len(r.broken) == 2


def test_limits() -> None:
    with pytest.raises(ValueError):
        split(bytes(MAX_LONG_MESSAGE_BYTES + 1), 1)
    r = Reassembler(1.0)
    assert r.feed(bytes.fromhex("03 01 00 01 aa"), 0.0) is None  # a count of one is no segmented message
    assert r.broken

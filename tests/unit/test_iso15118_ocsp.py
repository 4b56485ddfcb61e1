"""Bridge message set version 3: V2G_OCSP_RESPONSES (docs/iso15118-bridge.md, section 4.4).

The message layout byte for byte, then the station's bridges (CAN on python-can's virtual bus, serial on
a pty pair) against the emulated module: the set is state (repeated after every handshake), travels
segmented when long, is refused for a module of version 1 or 2, and bad arguments send nothing.
"""

from __future__ import annotations

import os

import pytest

from drivers.errors import DriverError
from drivers.interfaces import FaultRaised
from drivers.iso15118.messages import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    MalformedMessage,
    decode,
    encode,
    introduced_in,
)
from drivers.iso15118.ocsp_messages import MAX_OCSP_RESPONSE, MAX_OCSP_RESPONSES, V2gOcspResponses
from drivers.iso15118.segments import split
from tests.unit.test_iso15118_support import Rig, rig

#: The longest set: four responses at OCPP's ocspResult limit (5500 base64 characters each).
LONGEST = [os.urandom(MAX_OCSP_RESPONSE) for _ in range(MAX_OCSP_RESPONSES)]
SHORT = [b"\x30\x82\x01\x0a" + os.urandom(300), b"\x30\x82\x01\x20" + os.urandom(200)]


# --- the message ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        (V2gOcspResponses((b"\x30\x03", b"\x30\x01\x00")), "26 02 00 02 30 03 00 03 30 01 00"),  # the doc's example
        (V2gOcspResponses(()), "26 00"),
    ],
)
def test_ocsp_responses_byte_for_byte(message: V2gOcspResponses, wire: str) -> None:
    assert encode(message).hex(" ") == wire
    assert decode(bytes.fromhex(wire)) == message


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        ("26 05" + " 00 01 30" * 5, "5 OCSP responses, at most 4"),
        ("26 01 00 00", "empty OCSP response"),
        ("26 01 10 1e" + " 30" * 4126, "payload of 4126 bytes, at most 4125"),
        ("26 01 00 02 30", "truncated"),
        ("26 00 00", "trailing|bytes"),
    ],
)
def test_malformed_ocsp_responses(wire: str, problem: str) -> None:
    with pytest.raises(MalformedMessage, match=problem):
        decode(bytes.fromhex(wire))


@pytest.mark.parametrize(
    ("responses", "problem"),
    [
        ((b"\x30",) * 5, "5 OCSP responses, at most 4"),
        ((b"\x30", b""), "OCSP response 2 is empty"),
        ((b"\x30" * 4126,), "OCSP response 1 has 4126 bytes, at most 4125"),
    ],
)
def test_encode_refuses_what_the_wire_cannot_carry(responses: tuple[bytes, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        encode(V2gOcspResponses(responses))


def test_the_longest_set_needs_segments() -> None:
    data = encode(V2gOcspResponses(tuple(LONGEST)))
    assert len(data) == 2 + 4 * (2 + 4125) > MAX_MESSAGE_BYTES
    assert len(split(data, 1)) == 5
    assert decode(data) == V2gOcspResponses(tuple(LONGEST))


def test_versions() -> None:
    assert (PROTOCOL_VERSION, sorted(SUPPORTED_VERSIONS)) == (3, [1, 2, 3])
    assert (introduced_in(0x26), introduced_in(0x25), introduced_in(0x03), introduced_in(0x20)) == (3, 2, 2, 1)


# --- over the real transports -------------------------------------------------------------------------


__all__ = ["rig"]  # the fixture, shared with the other bridge tests


async def play_version(rig: Rig, version: int) -> None:
    """The module restarts as a module of ``version``; returns once the station served its handshake."""
    rig.module.version = version
    rig.module.limits.clear()
    await rig.module.reboot()
    await rig.module.wait_until(lambda: bool(rig.module.limits))
    assert rig.bridge._link.module_version == version


async def test_a_version_3_module_gets_the_set_and_again_after_a_reboot(rig: Rig) -> None:
    await rig.bridge.set_v2g_ocsp_responses(SHORT)
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 1)
    assert rig.module.ocsp_responses == SHORT
    rig.module.ocsp_responses = []  # a module without storage forgets them when it restarts
    await rig.module.reboot()
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 2)
    assert rig.module.ocsp_responses == SHORT


async def test_the_station_sends_the_set_after_the_handshake_it_asked_for(rig: Rig) -> None:
    """A station HELLO (resynchronisation) is answered by the module's HELLO: the set follows again."""
    await rig.bridge.set_v2g_ocsp_responses(SHORT)
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 1)
    rig.bridge._link._hello_wanted = True  # as after a lost message
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 2)
    assert rig.module.ocsp_responses == SHORT and rig.module.garbage_received == 0


async def test_the_longest_set_arrives_whole(rig: Rig) -> None:
    await rig.bridge.set_v2g_ocsp_responses(LONGEST)
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 1)
    assert rig.module.ocsp_responses == LONGEST
    assert rig.module.garbage_received == 0


async def test_an_empty_set_clears_the_module(rig: Rig) -> None:
    await rig.bridge.set_v2g_ocsp_responses(SHORT)
    await rig.module.wait_until(lambda: rig.module.ocsp_responses == SHORT)
    await rig.bridge.set_v2g_ocsp_responses([])
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 2)
    assert rig.module.ocsp_responses == []


@pytest.mark.parametrize(
    ("responses", "problem"),
    [
        ([b"\x30\x03"] * 5, "5 OCSP responses, at most 4"),
        ([b"\x30\x03", b""], "OCSP response 2 is empty"),
        ([b"\x30" * 4126], "OCSP response 1 has 4126 bytes, at most 4125"),
    ],
)
async def test_bad_arguments_raise_and_send_nothing(rig: Rig, responses: list[bytes], problem: str) -> None:
    with pytest.raises(DriverError, match=problem):
        await rig.bridge.set_v2g_ocsp_responses(responses)
    # Nothing was sent, nor remembered: the next handshake brings no set either.
    await play_version(rig, 3)
    await rig.bridge.set_v2g_ocsp_responses(SHORT)  # a marker: everything sent before it arrived before it
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received >= 1)
    assert rig.module.ocsp_messages_received == 1 and rig.module.ocsp_responses == SHORT


@pytest.mark.parametrize("version", [1, 2])
async def test_an_older_module_gets_no_ocsp_message(rig: Rig, version: int) -> None:
    await play_version(rig, version)
    garbage = rig.module.garbage_received
    with pytest.raises(DriverError, match=f"module speaks bridge protocol {version}: no OCSP stapling"):
        await rig.bridge.set_v2g_ocsp_responses(SHORT)
    await rig.bridge.set_current_limit(16)  # the link serves it as before
    await rig.module.wait_until(lambda: rig.module.limits[-1].current_da == 160)
    rig.module.limits.clear()
    await rig.module.reboot()  # a handshake: no replay of the set either
    await rig.module.wait_until(lambda: bool(rig.module.limits))
    await rig.bridge.set_current_limit(10)  # a marker behind anything the handshake sent
    await rig.module.wait_until(lambda: rig.module.limits[-1].current_da == 100)
    assert rig.bridge.connected
    assert rig.module.ocsp_messages_received == 0 and rig.module.garbage_received == garbage


async def test_a_module_updated_to_version_3_gets_the_set_remembered_meanwhile(rig: Rig) -> None:
    await play_version(rig, 2)
    with pytest.raises(DriverError, match="protocol 2"):
        await rig.bridge.set_v2g_ocsp_responses(SHORT)
    await play_version(rig, 3)
    await rig.module.wait_until(lambda: rig.module.ocsp_messages_received == 1)
    assert rig.module.ocsp_responses == SHORT


async def test_a_version_2_module_reads_0x26_as_an_unknown_type(rig: Rig) -> None:
    """The emulator plays a real version 2 module: a 0x26 (the station would never send it) is garbage."""
    await play_version(rig, 2)
    garbage = rig.module.garbage_received
    await rig.bridge._link._send(V2gOcspResponses(tuple(SHORT)))
    await rig.module.wait_until(lambda: rig.module.garbage_received == garbage + 1)
    assert rig.module.ocsp_messages_received == 0 and rig.module.ocsp_responses == []


@pytest.mark.parametrize("version", [0, 4])
async def test_a_module_of_version_0_or_4_is_refused(rig: Rig, version: int) -> None:
    rig.module.version = version
    await rig.module.reboot()
    fault = await rig.log.wait_for(FaultRaised)
    assert fault.detail == f"module speaks bridge protocol {version}, station 3"
    assert not rig.bridge.connected

"""PN532 command parameters and answer decoding (pure functions shared by driver and emulator)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.rfid import pn532_commands as cmd


def test_command_parameters_follow_the_manual() -> None:
    assert cmd.SAM_PARAMS[0] == 0x01  # normal mode: no SAM
    assert cmd.LIST_ONE_TYPE_A_PARAMS == b"\x01\x00"  # MaxTg 1, BrTy 106 kbps type A
    item, _atr, _psl, passive = cmd.MAX_RETRIES_PARAMS
    assert item == 0x05 and passive != 0xFF  # 0xFF would wait for a card forever


def test_firmware_version_of_a_pn532_and_of_something_else() -> None:
    firmware = cmd.parse_firmware_version(b"\x32\x01\x06\x07")
    assert firmware.is_pn532 and str(firmware) == "IC 0x32 firmware 1.6 support 0x07"
    assert not cmd.parse_firmware_version(b"\x31\x01\x06\x07").is_pn532
    with pytest.raises(cmd.ResponseError, match="3 bytes"):
        cmd.parse_firmware_version(b"\x32\x01\x06")


def test_no_target_and_one_target() -> None:
    assert cmd.parse_type_a_targets(b"\x00") == []
    # NbTg 1, Tg 1, ATQA 00 04, SAK 08, NFCID1 of 4 bytes.
    (target,) = cmd.parse_type_a_targets(bytes.fromhex("01 01 0004 08 04 A2B3C4D5"))
    assert target == cmd.TypeATarget(b"\x00\x04", 0x08, bytes.fromhex("A2B3C4D5"))


def test_an_iso14443_4_target_carries_an_ats_that_is_skipped() -> None:
    # SAK 0x20 (ISO/IEC 14443-4): the ATS follows the UID, its first byte (TL) counts itself.
    (target,) = cmd.parse_type_a_targets(bytes.fromhex("01 01 0344 20 07 04A2B3C4D5E6F7 05 78807002"))
    assert target.uid == bytes.fromhex("04A2B3C4D5E6F7")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (bytes.fromhex("01 01 0004"), "inside a target header"),
        (bytes.fromhex("01 01 0004 08 07 04A2B3"), "bad NFCID1 length 7"),
        (bytes.fromhex("01 01 0004 08 00"), "bad NFCID1 length 0"),
        (bytes.fromhex("01 01 0004 08 04 A2B3C4D5 99"), "1 stray bytes"),
        (bytes.fromhex("01 01 0344 20 04 A2B3C4D5 09 7880"), "inside an ATS"),
    ],
)
def test_malformed_target_lists_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(cmd.ResponseError, match=problem):
        cmd.parse_type_a_targets(data)


@given(st.sampled_from([4, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)), st.integers(0, 0x1F))
def test_target_encoding_round_trips(uid: bytes, sak: int) -> None:
    target = cmd.TypeATarget(b"\x00\x44", sak, uid)  # SAK without the ISO 14443-4 bit: no ATS
    assert cmd.parse_type_a_targets(b"\x01" + cmd.encode_type_a_target(1, target)) == [target]


def test_command_names_for_messages() -> None:
    assert cmd.command_name(0x4A) == "InListPassiveTarget"
    assert cmd.command_name(0x99) == "command 0x99"

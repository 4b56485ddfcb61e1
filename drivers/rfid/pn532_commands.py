"""The few PN532 commands a card reader needs, their parameters and the decoding of their answers.

Byte layouts follow the PN532 user manual (UM0701-02, chapter 7). Pure functions: no I/O, so the
driver and the emulator share one definition of every byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GET_FIRMWARE_VERSION: Final = 0x02
SAM_CONFIGURATION: Final = 0x14
RF_CONFIGURATION: Final = 0x32
IN_LIST_PASSIVE_TARGET: Final = 0x4A

COMMAND_NAMES: Final = {
    GET_FIRMWARE_VERSION: "GetFirmwareVersion",
    SAM_CONFIGURATION: "SAMConfiguration",
    RF_CONFIGURATION: "RFConfiguration",
    IN_LIST_PASSIVE_TARGET: "InListPassiveTarget",
}

#: The IC byte GetFirmwareVersion returns on a PN532 (a PN531 says 0x31, a PN533 0x33).
PN532_IC: Final = 0x32

#: SAMConfiguration: normal mode (no SAM), virtual-card timeout 0x14 * 50 ms, IRQ pin driven.
SAM_NORMAL_MODE: Final = 0x01
SAM_PARAMS: Final = bytes([SAM_NORMAL_MODE, 0x14, 0x01])

#: RFConfiguration item 5 (MaxRetries): MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. The default
#: MxRtyPassiveActivation 0xFF retries forever, so InListPassiveTarget would never answer "no
#: card"; a small count turns every poll into a bounded exchange.
RF_ITEM_MAX_RETRIES: Final = 0x05
PASSIVE_ACTIVATION_RETRIES: Final = 0x02
MAX_RETRIES_PARAMS: Final = bytes([RF_ITEM_MAX_RETRIES, 0xFF, 0x01, PASSIVE_ACTIVATION_RETRIES])

#: InListPassiveTarget: at most one target, 106 kbps type A (ISO/IEC 14443 A, MIFARE).
BRTY_106_TYPE_A: Final = 0x00
LIST_ONE_TYPE_A_PARAMS: Final = bytes([0x01, BRTY_106_TYPE_A])


class ResponseError(ValueError):
    """A response frame's data does not have the layout its command defines."""


def command_name(code: int) -> str:
    """Human name of a command code, for messages."""
    return COMMAND_NAMES.get(code, f"command 0x{code:02X}")


@dataclass(frozen=True, slots=True)
class FirmwareVersion:
    """The answer to GetFirmwareVersion: IC, version, revision and supported-protocol bits."""

    ic: int
    version: int
    revision: int
    support: int

    @property
    def is_pn532(self) -> bool:
        return self.ic == PN532_IC

    def __str__(self) -> str:
        return f"IC 0x{self.ic:02X} firmware {self.version}.{self.revision} support 0x{self.support:02X}"


def parse_firmware_version(data: bytes) -> FirmwareVersion:
    """Decode GetFirmwareVersion's data (after the response code): IC, Ver, Rev, Support."""
    if len(data) != 4:
        raise ResponseError(f"GetFirmwareVersion answer has {len(data)} bytes, expected 4")
    return FirmwareVersion(*data)


@dataclass(frozen=True, slots=True)
class TypeATarget:
    """One ISO/IEC 14443 A target as InListPassiveTarget reports it."""

    sens_res: bytes  # ATQA, 2 bytes
    sel_res: int  # SAK
    uid: bytes  # NFCID1: 4, 7 or 10 bytes


def parse_type_a_targets(data: bytes) -> list[TypeATarget]:
    """Decode InListPassiveTarget's data for 106 kbps type A: ``NbTg`` then per target
    ``Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1 [ATSLength ATS]``.

    The ATS is present only for ISO/IEC 14443-4 targets (SEL_RES bit 6); its length byte counts
    itself.
    """
    if not data:
        raise ResponseError("InListPassiveTarget answer is empty")
    count, pos, targets = data[0], 1, []
    for _ in range(count):
        if len(data) < pos + 5:
            raise ResponseError("InListPassiveTarget answer ends inside a target header")
        sens_res, sel_res, uid_len = data[pos + 1 : pos + 3], data[pos + 3], data[pos + 4]
        pos += 5
        if uid_len == 0 or len(data) < pos + uid_len:
            raise ResponseError(f"InListPassiveTarget answer has a bad NFCID1 length {uid_len}")
        uid = data[pos : pos + uid_len]
        pos += uid_len
        if sel_res & 0x20 and pos < len(data):
            pos += data[pos]  # skip the ATS
            if pos > len(data):
                raise ResponseError("InListPassiveTarget answer ends inside an ATS")
        targets.append(TypeATarget(sens_res, sel_res, uid))
    if pos != len(data):
        raise ResponseError(f"InListPassiveTarget answer has {len(data) - pos} stray bytes")
    return targets


def encode_type_a_target(number: int, target: TypeATarget) -> bytes:
    """One target entry as the PN532 sends it (used by the emulator; no ATS)."""
    return bytes([number]) + target.sens_res + bytes([target.sel_res, len(target.uid)]) + target.uid

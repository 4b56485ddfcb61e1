"""Messages of the safety-MCU protocol, version 1.0 (docs/safety-mcu-protocol.md, section "Messages").

Payloads are big-endian. Bit 7 of the type says who sends it (0: Linux, 1: the MCU), so a receiver
recognises its own frames echoed back by a miswired or looped-back UART. A minor protocol version
may append fields to a payload: parsers accept a payload longer than they know and ignore the tail.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar, Final, Self

from drivers.interfaces import PilotState

#: (major, minor) of the protocol this module speaks. A different major is incompatible.
PROTOCOL_VERSION: Final = (1, 0)
#: Bit 7 of a message type: set when the MCU sends it.
FROM_MCU: Final = 0x80


class MessageError(ValueError):
    """A frame passed its CRC but its payload does not parse (too short, value out of range)."""


class MsgType(IntEnum):
    """Message types; 0x01.. from Linux, 0x81.. from the MCU."""

    HELLO = 0x01
    HEARTBEAT = 0x02
    SET_PWM = 0x03
    HELLO_REPLY = 0x81
    HEARTBEAT_REPLY = 0x82
    STATUS = 0x83
    ACK = 0x84
    NACK = 0x85


class NackCode(IntEnum):
    """Why the MCU refused a request."""

    BAD_LENGTH = 0x01  # payload shorter than the message needs
    BAD_VALUE = 0x02  # a field is out of range (e.g. a duty cycle the MCU will not generate)
    UNKNOWN_TYPE = 0x03  # the MCU does not know this message type
    NOT_READY = 0x04  # no compatible HELLO yet, or the MCU is in its safe state


class StatusFlag(IntFlag):
    """STATUS flags: what the MCU's own inputs and interlocks say."""

    RCD_TRIPPED = 0x01  # the residual current device tripped (latched until it is reset)
    RELAY_ENABLED = 0x02  # the MCU allows the contactor coil to be energised
    RELAY_CLOSED = 0x04  # the contactor's auxiliary contact reads closed
    SAFE_STATE = 0x08  # the MCU holds its safe state: relay enable off, CP at state F


class McuFault(IntFlag):
    """STATUS fault bits: faults the MCU detected itself."""

    HEARTBEAT_LOST = 0x0001  # Linux went silent; the MCU entered its safe state
    DIODE_MISSING = 0x0002  # the CP negative half-wave shows no EV diode
    RELAY_WELDED = 0x0004  # auxiliary contact closed while relay enable is off
    OVER_TEMPERATURE = 0x0008  # the MCU's temperature input is above its limit
    SELF_TEST_FAILED = 0x0010  # the power-on self-test (RCD test, ADC references) failed


def _unpack(fmt: struct.Struct, payload: bytes, name: str) -> tuple[int, ...]:
    if len(payload) < fmt.size:
        raise MessageError(f"{name} payload has {len(payload)} bytes, needs {fmt.size}")
    values: tuple[int, ...] = fmt.unpack_from(payload)
    return values


@dataclass(frozen=True, slots=True)
class Hello:
    """Linux -> MCU: the protocol version Linux speaks; starts (or restarts) a session."""

    TYPE: ClassVar[MsgType] = MsgType.HELLO
    _FMT: ClassVar[struct.Struct] = struct.Struct(">BB")
    version: tuple[int, int] = PROTOCOL_VERSION

    def payload(self) -> bytes:
        return self._FMT.pack(*self.version)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        major, minor = _unpack(cls._FMT, payload, "HELLO")
        return cls((major, minor))


@dataclass(frozen=True, slots=True)
class HelloReply:
    """MCU -> Linux: the MCU's protocol and firmware versions, heartbeat timeout and serial number."""

    TYPE: ClassVar[MsgType] = MsgType.HELLO_REPLY
    _FMT: ClassVar[struct.Struct] = struct.Struct(">BBBBBH12s")
    protocol: tuple[int, int]
    firmware: tuple[int, int, int]
    heartbeat_timeout_ms: int
    serial: bytes  # 12 bytes, e.g. the 96-bit unique ID of the microcontroller

    def payload(self) -> bytes:
        return self._FMT.pack(*self.protocol, *self.firmware, self.heartbeat_timeout_ms, self.serial)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        if len(payload) < cls._FMT.size:
            raise MessageError(f"HELLO_REPLY payload has {len(payload)} bytes, needs {cls._FMT.size}")
        p_major, p_minor, f_major, f_minor, f_patch, timeout, serial = cls._FMT.unpack_from(payload)
        return cls((p_major, p_minor), (f_major, f_minor, f_patch), timeout, serial)

    @property
    def firmware_version(self) -> str:
        return ".".join(str(part) for part in self.firmware)

    @property
    def serial_hex(self) -> str:
        return self.serial.hex().upper()


@dataclass(frozen=True, slots=True)
class HeartbeatReply:
    """MCU -> Linux: answer to a HEARTBEAT (same SEQ), with the MCU's uptime."""

    TYPE: ClassVar[MsgType] = MsgType.HEARTBEAT_REPLY
    _FMT: ClassVar[struct.Struct] = struct.Struct(">I")
    uptime_ms: int

    def payload(self) -> bytes:
        return self._FMT.pack(self.uptime_ms & 0xFFFFFFFF)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        (uptime,) = _unpack(cls._FMT, payload, "HEARTBEAT_REPLY")
        return cls(uptime)


_CP_STATES: Final = {ord(s.value): s for s in PilotState}


@dataclass(frozen=True, slots=True)
class Status:
    """MCU -> Linux: everything the MCU measures, sent on every change and periodically."""

    TYPE: ClassVar[MsgType] = MsgType.STATUS
    _FMT: ClassVar[struct.Struct] = struct.Struct(">BhHBBHh")
    cp_state: PilotState
    cp_voltage_mv: int  # high level of the CP signal as measured, signed
    duty_permille: int  # the duty cycle the MCU generates now
    pp_current_a: int | None  # cable rating from the PP resistor; None: no cable / no PP
    flags: StatusFlag
    faults: McuFault
    temperature_c: float  # carried in 0.1 degC

    def payload(self) -> bytes:
        return self._FMT.pack(
            ord(self.cp_state.value),
            self.cp_voltage_mv,
            self.duty_permille,
            self.pp_current_a or 0,
            int(self.flags),
            int(self.faults),
            round(self.temperature_c * 10),
        )

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        cp, voltage, duty, pp, flags, faults, decidegrees = _unpack(cls._FMT, payload, "STATUS")
        state = _CP_STATES.get(cp)
        if state is None:
            raise MessageError(f"STATUS has CP state byte 0x{cp:02X}, not 'A'..'F'")
        if duty > 1000:
            raise MessageError(f"STATUS has duty cycle {duty} per-mille, above 1000")
        return cls(state, voltage, duty, pp or None, StatusFlag(flags), McuFault(faults), decidegrees / 10)


@dataclass(frozen=True, slots=True)
class SetPwm:
    """Linux -> MCU: generate this duty cycle (per-mille); 1000 = no PWM (X1), 0 = state F."""

    TYPE: ClassVar[MsgType] = MsgType.SET_PWM
    _FMT: ClassVar[struct.Struct] = struct.Struct(">H")
    duty_permille: int

    def payload(self) -> bytes:
        return self._FMT.pack(self.duty_permille)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        (duty,) = _unpack(cls._FMT, payload, "SET_PWM")
        return cls(duty)


@dataclass(frozen=True, slots=True)
class Ack:
    """MCU -> Linux: the request with this SEQ was carried out."""

    TYPE: ClassVar[MsgType] = MsgType.ACK
    _FMT: ClassVar[struct.Struct] = struct.Struct(">B")
    request_type: int

    def payload(self) -> bytes:
        return self._FMT.pack(self.request_type)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        (request_type,) = _unpack(cls._FMT, payload, "ACK")
        return cls(request_type)


@dataclass(frozen=True, slots=True)
class Nack:
    """MCU -> Linux: the request with this SEQ was refused, and why."""

    TYPE: ClassVar[MsgType] = MsgType.NACK
    _FMT: ClassVar[struct.Struct] = struct.Struct(">BB")
    request_type: int
    code: int  # a NackCode value; kept an int so an unknown code from a newer MCU still parses

    def payload(self) -> bytes:
        return self._FMT.pack(self.request_type, self.code)

    @classmethod
    def parse(cls, payload: bytes) -> Self:
        request_type, code = _unpack(cls._FMT, payload, "NACK")
        return cls(request_type, code)

    @property
    def reason(self) -> str:
        try:
            return NackCode(self.code).name
        except ValueError:
            return f"code 0x{self.code:02X}"


def is_valid_duty(permille: int) -> bool:
    """Duty cycles a version-1 MCU generates: 0 (F), 50 (5 %), 100..960 (current), 1000 (X1)."""
    return permille in (0, 50, 1000) or 100 <= permille <= 960

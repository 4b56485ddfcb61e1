"""The bridge's message set, the same over CAN and serial: one type byte, then the fields.

Version 1 is defined here; versions 2 and 3 add :mod:`.certificate_messages` and :mod:`.ocsp_messages`.

The transports (:mod:`.can_segmentation`, :mod:`.serial_framing`) carry these bytes unchanged, so one
encoder/decoder serves both. Field values are kept as they travel (deci-amperes, seconds from now,
wire codes mapped to enums) so ``decode(encode(m)) == m`` exactly; the bridge converts to the units of
the events. The layouts with examples are in docs/iso15118-bridge.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, TypeAlias, TypeVar

from drivers.interfaces import EnergyTransferMode, Iso15118Protocol, Iso15118StopReason, OcspRequestData
from drivers.iso15118.certificate_messages import (
    CERTIFICATE_DECODERS,
    CertificateMessage,
    EvCertificateRequest,
    EvCertificateResponse,
    RootCertificates,
    V2gCertificateChain,
    V2gCsr,
    V2gCsrRequest,
    encode_certificate_message,
)

# MalformedMessage is re-exported: it is what decode() raises.
from drivers.iso15118.codec import MalformedMessage as MalformedMessage
from drivers.iso15118.codec import Reader, Writer
from drivers.iso15118.codes import (
    ENERGY_MODE_CODES,
    HASH_ALGORITHM_CODES,
    PROTOCOL_CODES,
    STOP_REASON_CODES,
)
from drivers.iso15118.ocsp_messages import OCSP_DECODERS, V2gOcspResponses, encode_ocsp_message

#: The version this code speaks; a module of an older supported version is served in its version.
PROTOCOL_VERSION: Final = 3
SUPPORTED_VERSIONS: Final = frozenset({1, 2, 3})
#: Longest encoded message (type byte included); both transports carry up to this many bytes.
MAX_MESSAGE_BYTES: Final = 4095
#: Longest message of version 2, carried in SEGMENT messages when above MAX_MESSAGE_BYTES.
MAX_LONG_MESSAGE_BYTES: Final = 65535

#: "Absent" markers of optional numeric fields.
NONE_U16: Final = 0xFFFF
NONE_U32: Final = 0xFFFF_FFFF

# Limits: OCPP 2.0.1 IdTokenType.idToken (36) for the EMAID, OCSPRequestDataType for the hash data
# (maxItems 4 in AuthorizeRequest); 255 for the EVCCID (the ISO 15118-20 identifier length).
MAX_EMAID: Final = 36
MAX_EVCC_ID: Final = 255
MAX_HASH_ENTRIES: Final = 4
MAX_ISSUER_HASH: Final = 128
MAX_SERIAL_NUMBER: Final = 40
MAX_RESPONDER_URL: Final = 512
MAX_NAME: Final = 64
MAX_FAULT_DETAIL: Final = 255
MAX_ACTIVE_FAULTS: Final = 32


class MessageType(IntEnum):
    """First byte of every message. 0x0_ both ways, 0x1_ module to station, 0x2_ station to module."""

    HELLO = 0x01
    HEARTBEAT = 0x02
    SESSION_STARTED = 0x10
    SESSION_STOPPED = 0x11
    CONTRACT = 0x12
    CHARGING_NEEDS = 0x13
    MODULE_FAULT = 0x14
    CURRENT_LIMIT = 0x20
    AUTHORIZATION = 0x21


# --- messages ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """Both ways: the station asks (also to resynchronise); the module answers and replays its state."""

    version: int
    session_id: int  # the sender's current session, 0 for none
    heartbeat_ms: int
    name: str  # free text: firmware name and version


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Both ways, every heartbeat period: "alive", the sender's session, its active fault codes."""

    session_id: int
    active_faults: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """Module to station: an EV session began; ``session_id`` (1..255) tags every later message of it."""

    session_id: int
    protocol: Iso15118Protocol
    energy_mode: EnergyTransferMode
    evcc_id: str


@dataclass(frozen=True, slots=True)
class SessionStopped:
    """Module to station: the session ended."""

    session_id: int
    reason: Iso15118StopReason


@dataclass(frozen=True, slots=True)
class Contract:
    """Module to station: Plug & Charge contract data; an empty EMAID travels as zero length."""

    session_id: int
    emaid: str | None
    hash_data: tuple[OcspRequestData, ...]


@dataclass(frozen=True, slots=True)
class ChargingNeeds:
    """Module to station: the EV's charging parameters, wire units (0.1 A, 0.1 V, W, Wh, s)."""

    session_id: int
    energy_mode: EnergyTransferMode
    requested_energy_wh: int | None
    departure_s: int | None  # seconds from when the module sent this message
    max_current_da: int
    max_voltage_dv: int
    max_power_w: int | None
    min_current_da: int | None


@dataclass(frozen=True, slots=True)
class ModuleFault:
    """Module to station: a fault of the module appeared (``active``) or went away."""

    code: int
    active: bool
    detail: str


@dataclass(frozen=True, slots=True)
class CurrentLimit:
    """Station to module: what the EV may draw. 0 A offers nothing; None is "not limited by this"."""

    current_da: int | None
    power_w: int | None


@dataclass(frozen=True, slots=True)
class Authorization:
    """Station to module: the authorization result for the contract of ``session_id``."""

    session_id: int
    accepted: bool


Message: TypeAlias = (
    Hello
    | Heartbeat
    | SessionStarted
    | SessionStopped
    | Contract
    | ChargingNeeds
    | ModuleFault
    | CurrentLimit
    | Authorization
    | CertificateMessage
    | V2gOcspResponses
)


# --- encoding ---------------------------------------------------------------------------------------


def _opt16(value: int | None) -> int:
    if value is not None and not 0 <= value < NONE_U16:
        raise ValueError(f"{value} outside 0..{NONE_U16 - 1} (0x{NONE_U16:X} means absent)")
    return NONE_U16 if value is None else value


def _opt32(value: int | None) -> int:
    if value is not None and not 0 <= value < NONE_U32:
        raise ValueError(f"{value} outside 0..{NONE_U32 - 1} (0x{NONE_U32:X} means absent)")
    return NONE_U32 if value is None else value


def _check_session(session_id: int) -> None:
    if not 1 <= session_id <= 255:
        raise ValueError(f"session id {session_id} outside 1..255")


def encode(message: Message) -> bytes:
    """The bytes of ``message``; ValueError when a field is outside what the wire format carries."""
    match message:
        case Hello(version, session_id, heartbeat_ms, name):
            w = Writer(MessageType.HELLO).u8(version).u8(session_id).u16(heartbeat_ms)
            w.text(name, max_bytes=MAX_NAME, ascii_only=False)
        case Heartbeat(session_id, faults):
            if len(faults) > MAX_ACTIVE_FAULTS or not all(1 <= c <= 255 for c in faults):
                raise ValueError(f"active fault codes {faults}: at most {MAX_ACTIVE_FAULTS}, each 1..255")
            w = Writer(MessageType.HEARTBEAT).u8(session_id).u8(len(faults))
            for code in faults:
                w.u8(code)
        case SessionStarted(session_id, protocol, energy_mode, evcc_id):
            _check_session(session_id)
            if not evcc_id:
                raise ValueError("empty EVCCID")
            w = Writer(MessageType.SESSION_STARTED).u8(session_id)
            w.u8(PROTOCOL_CODES[protocol]).u8(ENERGY_MODE_CODES[energy_mode])
            w.text(evcc_id, max_bytes=MAX_EVCC_ID, ascii_only=True)
        case SessionStopped(session_id, reason):
            _check_session(session_id)
            w = Writer(MessageType.SESSION_STOPPED).u8(session_id).u8(STOP_REASON_CODES[reason])
        case Contract(session_id, emaid, hash_data):
            w = _encode_contract(session_id, emaid, hash_data)
        case ChargingNeeds():
            w = _encode_needs(message)
        case ModuleFault(code, active, detail):
            w = Writer(MessageType.MODULE_FAULT).u8(code).u8(int(active))
            w.text(detail, max_bytes=MAX_FAULT_DETAIL, ascii_only=False)
        case CurrentLimit(current_da, power_w):
            w = Writer(MessageType.CURRENT_LIMIT).u16(_opt16(current_da)).u32(_opt32(power_w))
        case Authorization(session_id, accepted):
            _check_session(session_id)
            w = Writer(MessageType.AUTHORIZATION).u8(session_id).u8(int(accepted))
        case (
            EvCertificateRequest()
            | EvCertificateResponse()
            | V2gCsr()
            | V2gCsrRequest()
            | V2gCertificateChain()
            | RootCertificates()
        ):
            w = encode_certificate_message(message)
        case V2gOcspResponses():
            w = encode_ocsp_message(message)
    data = w.done()
    if len(data) > MAX_LONG_MESSAGE_BYTES:  # unreachable with the limits above; guards a future field
        raise ValueError(f"message of {len(data)} bytes, at most {MAX_LONG_MESSAGE_BYTES}")
    return data


def _encode_contract(session_id: int, emaid: str | None, hash_data: tuple[OcspRequestData, ...]) -> Writer:
    _check_session(session_id)
    if emaid == "":
        raise ValueError("an absent EMAID is None, not an empty string")
    if emaid is None and not hash_data:
        raise ValueError("a contract needs an EMAID or certificate hash data")
    if len(hash_data) > MAX_HASH_ENTRIES:
        raise ValueError(f"{len(hash_data)} certificate hash entries, at most {MAX_HASH_ENTRIES}")
    w = Writer(MessageType.CONTRACT).u8(session_id)
    w.text(emaid or "", max_bytes=MAX_EMAID, ascii_only=True).u8(len(hash_data))
    for entry in hash_data:
        w.u8(HASH_ALGORITHM_CODES[entry.hash_algorithm])
        w.text(entry.issuer_name_hash, max_bytes=MAX_ISSUER_HASH, ascii_only=True)
        w.text(entry.issuer_key_hash, max_bytes=MAX_ISSUER_HASH, ascii_only=True)
        w.text(entry.serial_number, max_bytes=MAX_SERIAL_NUMBER, ascii_only=True)
        w.text(entry.responder_url, max_bytes=MAX_RESPONDER_URL, ascii_only=True, wide=True)
    return w


def _encode_needs(m: ChargingNeeds) -> Writer:
    _check_session(m.session_id)
    if m.max_current_da >= NONE_U16 or m.max_voltage_dv >= NONE_U16:
        raise ValueError("EV maximum current and voltage are required (below 6553.5)")
    w = Writer(MessageType.CHARGING_NEEDS).u8(m.session_id).u8(ENERGY_MODE_CODES[m.energy_mode])
    w.u32(_opt32(m.requested_energy_wh)).u32(_opt32(m.departure_s))
    w.u16(m.max_current_da).u16(m.max_voltage_dv).u32(_opt32(m.max_power_w)).u16(_opt16(m.min_current_da))
    return w


# --- decoding ---------------------------------------------------------------------------------------

_E = TypeVar("_E")


def _lookup(codes: Mapping[_E, int], code: int, what: str) -> _E:
    for value, wire in codes.items():
        if wire == code:
            return value
    raise MalformedMessage(f"unknown {what} code {code}")


def _session(r: Reader) -> int:
    session_id = r.u8()
    if session_id == 0:
        raise MalformedMessage("session id 0 in a session message")
    return session_id


def _none16(value: int) -> int | None:
    return None if value == NONE_U16 else value


def _none32(value: int) -> int | None:
    return None if value == NONE_U32 else value


def _hello(r: Reader) -> Hello:
    return Hello(r.u8(), r.u8(), r.u16(), r.text(max_bytes=MAX_NAME, ascii_only=False))


def _heartbeat(r: Reader) -> Heartbeat:
    session_id, count = r.u8(), r.u8()
    if count > MAX_ACTIVE_FAULTS:
        raise MalformedMessage(f"{count} active faults, at most {MAX_ACTIVE_FAULTS}")
    faults = tuple(r.u8() for _ in range(count))
    if 0 in faults:
        raise MalformedMessage("fault code 0")
    return Heartbeat(session_id, faults)


def _session_started(r: Reader) -> SessionStarted:
    session_id = _session(r)
    protocol = _lookup(PROTOCOL_CODES, r.u8(), "protocol")
    mode = _lookup(ENERGY_MODE_CODES, r.u8(), "energy transfer mode")
    evcc_id = r.text(max_bytes=MAX_EVCC_ID, ascii_only=True)
    if not evcc_id:
        raise MalformedMessage("empty EVCCID")
    return SessionStarted(session_id, protocol, mode, evcc_id)


def _session_stopped(r: Reader) -> SessionStopped:
    session_id = _session(r)
    code = r.u8()
    # A reason code from a newer module is still a stop: keep the stop, lose only the reason.
    reason = next((k for k, v in STOP_REASON_CODES.items() if v == code), Iso15118StopReason.OTHER)
    return SessionStopped(session_id, reason)


def _contract(r: Reader) -> Contract:
    session_id = _session(r)
    emaid = r.text(max_bytes=MAX_EMAID, ascii_only=True) or None
    count = r.u8()
    if count > MAX_HASH_ENTRIES:
        raise MalformedMessage(f"{count} certificate hash entries, at most {MAX_HASH_ENTRIES}")
    entries = tuple(
        OcspRequestData(
            hash_algorithm=_lookup(HASH_ALGORITHM_CODES, r.u8(), "hash algorithm"),
            issuer_name_hash=r.text(max_bytes=MAX_ISSUER_HASH, ascii_only=True),
            issuer_key_hash=r.text(max_bytes=MAX_ISSUER_HASH, ascii_only=True),
            serial_number=r.text(max_bytes=MAX_SERIAL_NUMBER, ascii_only=True),
            responder_url=r.text(max_bytes=MAX_RESPONDER_URL, ascii_only=True, wide=True),
        )
        for _ in range(count)
    )
    if emaid is None and not entries:
        raise MalformedMessage("contract with neither EMAID nor certificate hash data")
    return Contract(session_id, emaid, entries)


def _charging_needs(r: Reader) -> ChargingNeeds:
    session_id = _session(r)
    mode = _lookup(ENERGY_MODE_CODES, r.u8(), "energy transfer mode")
    energy, departure = _none32(r.u32()), _none32(r.u32())
    max_current, max_voltage = r.u16(), r.u16()
    if NONE_U16 in (max_current, max_voltage):
        raise MalformedMessage("EV maximum current and voltage are required")
    return ChargingNeeds(
        session_id, mode, energy, departure, max_current, max_voltage, _none32(r.u32()), _none16(r.u16())
    )


def _module_fault(r: Reader) -> ModuleFault:
    code = r.u8()
    if code == 0:
        raise MalformedMessage("fault code 0")
    return ModuleFault(code, r.flag(), r.text(max_bytes=MAX_FAULT_DETAIL, ascii_only=False))


def _current_limit(r: Reader) -> CurrentLimit:
    return CurrentLimit(_none16(r.u16()), _none32(r.u32()))


def _authorization(r: Reader) -> Authorization:
    return Authorization(_session(r), r.flag())


_DECODERS: Final[Mapping[int, Callable[[Reader], Message]]] = {
    MessageType.HELLO: _hello,
    MessageType.HEARTBEAT: _heartbeat,
    MessageType.SESSION_STARTED: _session_started,
    MessageType.SESSION_STOPPED: _session_stopped,
    MessageType.CONTRACT: _contract,
    MessageType.CHARGING_NEEDS: _charging_needs,
    MessageType.MODULE_FAULT: _module_fault,
    MessageType.CURRENT_LIMIT: _current_limit,
    MessageType.AUTHORIZATION: _authorization,
    **CERTIFICATE_DECODERS,
    **OCSP_DECODERS,
}

#: The version that introduced each message type not in version 1: a module of an older version
#: never gets one (the station's rule) and reads one as an unknown type (what its decoder would do).
_INTRODUCED_IN: Final[Mapping[int, int]] = {
    0x03: 2,  # SEGMENT (segments.SEGMENT_TYPE; segments imports this module)
    **dict.fromkeys(CERTIFICATE_DECODERS, 2),
    **dict.fromkeys(OCSP_DECODERS, 3),
}


def introduced_in(type_byte: int) -> int:
    """The protocol version that introduced the message type ``type_byte`` (1 for the base set)."""
    return _INTRODUCED_IN.get(type_byte, 1)


def decode(data: bytes) -> Message:
    """The message in ``data``; :class:`MalformedMessage` for anything that is not exactly one message."""
    if not data:
        raise MalformedMessage("empty message")
    decoder = _DECODERS.get(data[0])
    if decoder is None:
        raise MalformedMessage(f"unknown message type 0x{data[0]:02X}")
    reader = Reader(data[1:])
    message = decoder(reader)
    reader.end()
    return message

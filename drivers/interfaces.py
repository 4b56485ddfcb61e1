"""The small interfaces between the station core and the hardware.

Drivers report what happened (events through an :data:`EventSink`) and do what they are told
(async commands); they never decide policy. The station core depends on these Protocols only.

Lifecycle rule, the same for every driver:

* Constructing a driver does no I/O; it opens its device lazily, in :meth:`Driver.run` or at the
  first command, whichever comes first. Commands are valid as soon as the driver exists.
* ``await driver.run(sink)`` is a long-running coroutine the daemon starts in its TaskGroup. It
  returns only by cancellation: pollers live in it; a driver with nothing to poll attaches the sink
  and waits. It never raises for device trouble: a lost device is reported as a :class:`FaultRaised`
  (and a :class:`FaultCleared` when it is back), so one bad device never tears down the TaskGroup.
* On start, ``run`` reports the current value of any state it watches (the pilot state, the cable
  capacity), so the core never needs an initial poll.
* The sink is called on the event loop thread; a driver that reads its device in a thread hops back
  with ``loop.call_soon_threadsafe(sink, event)``. Events before ``run`` started are not delivered.
* Commands raise :class:`drivers.errors.DriverError` when the device fails, never a bare OSError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol, TypeAlias, runtime_checkable

from pydantic import BaseModel, ConfigDict


class PilotState(StrEnum):
    """Control-pilot state as the EVSE measures it (IEC 61851-1, Annex A)."""

    A = "A"  # no EV connected (+12 V)
    B = "B"  # EV connected, not ready to charge (+9 V)
    C = "C"  # EV connected, ready to charge (+6 V)
    D = "D"  # EV ready to charge, ventilation required (+3 V)
    E = "E"  # no power / short circuit of the pilot (0 V)
    F = "F"  # EVSE not available (-12 V)


#: Pilot states in which the EV is allowed to draw current (when offered).
CHARGING_STATES: Final = frozenset({PilotState.C, PilotState.D})


class FaultName(StrEnum):
    """Names of the faults the shipped drivers report; other drivers may report other names."""

    METER_LOST = "meter_lost"  # the meter does not answer
    CONTACTOR_WELDED = "contactor_welded"  # feedback says closed after an open command
    CONTACTOR_STUCK_OPEN = "contactor_stuck_open"  # feedback says open after a close command
    LOCK_FAILURE = "lock_failure"  # the connector lock did not engage
    UNLOCK_FAILURE = "unlock_failure"  # the connector lock did not release
    RCD_TRIP = "rcd_trip"  # residual current device tripped
    EMERGENCY_STOP = "emergency_stop"  # emergency stop button pressed
    OVER_TEMPERATURE = "over_temperature"  # temperature above the derating limit


#: IdTokenEnumType of OCPP 2.0.1, the values CardPresented.token_type takes.
ID_TOKEN_TYPES: Final = frozenset(
    {"Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"}
)
ISO14443: Final = "ISO14443"
_ISO14443_UID = re.compile(r"(?:[0-9A-F]{8}|[0-9A-F]{14})")


def iso14443_id_token(uid: bytes | str) -> str:
    """The OCPP idToken of a 4- or 7-byte ISO 14443 UID: upper-case hex, no separators.

    Accepts raw bytes or hex text (any case). Raises ValueError for any other length.
    """
    text = uid.hex() if isinstance(uid, bytes) else uid
    text = text.upper()
    if not _ISO14443_UID.fullmatch(text):
        raise ValueError(f"not a 4- or 7-byte ISO 14443 UID: {text!r}")
    return text


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PilotStateChanged:
    """The control-pilot state of an EVSE changed (or is reported once when the pilot starts)."""

    evse_id: int
    state: PilotState


@dataclass(frozen=True, slots=True)
class CableCapacityChanged:
    """The proximity-pilot (PP) resistor shows the plugged cable's rating; None when unplugged."""

    evse_id: int
    max_current_a: float | None


@dataclass(frozen=True, slots=True)
class CardPresented:
    """An identification token was read, e.g. an RFID card held to the reader."""

    evse_id: int
    id_token: str
    token_type: str  # an OCPP IdTokenEnumType value, see ID_TOKEN_TYPES


@dataclass(frozen=True, slots=True)
class FaultRaised:
    """A device reports a fault; ``name`` is usually a :class:`FaultName` value."""

    evse_id: int
    name: str
    detail: str


@dataclass(frozen=True, slots=True)
class FaultCleared:
    """A fault reported earlier under ``name`` is gone."""

    evse_id: int
    name: str


@dataclass(frozen=True, slots=True)
class InputChanged:
    """A digital input (start button, door switch ...) changed; ``name`` is its configured name."""

    evse_id: int
    name: str
    active: bool


# --- ISO 15118 module bridge events ---------------------------------------------------------------
# An external SECC module runs the ISO 15118 / DIN 70121 stack; its bridge driver reports what the EV
# said, in OCPP 2.0.1 vocabulary, so the core can build Authorize (iso15118CertificateHashData) and
# NotifyEVChargingNeeds without knowing the module's wire format.

#: Fault name of every ISO 15118 bridge trouble: module silent or absent, bus gone, module fault.
ISO15118_FAILURE: Final = "iso15118_failure"


class Iso15118Protocol(StrEnum):
    """The EV communication protocol the module negotiated with the EV (SupportedAppProtocol)."""

    DIN_70121 = "DIN70121"
    ISO_15118_2 = "ISO15118-2"
    ISO_15118_20 = "ISO15118-20"


class EnergyTransferMode(StrEnum):
    """OCPP 2.0.1 EnergyTransferModeEnumType: how the EV wants its energy."""

    DC = "DC"
    AC_SINGLE_PHASE = "AC_single_phase"
    AC_TWO_PHASE = "AC_two_phase"
    AC_THREE_PHASE = "AC_three_phase"


class Iso15118StopReason(StrEnum):
    """Why the module ended an EV session; the values are OCPP 2.0.1 ReasonEnumType names."""

    STOPPED_BY_EV = "StoppedByEV"  # the EV ended the session (SessionStop Terminate)
    EV_DISCONNECTED = "EVDisconnected"  # the cable was unplugged / the pilot went to state A
    TIMEOUT = "Timeout"  # the EV stopped answering (V2G sequence or communication timeout)
    DEAUTHORIZED = "DeAuthorized"  # the station rejected the authorization
    OTHER = "Other"  # module error, or a stop the bridge inferred after losing the module


class HashAlgorithm(StrEnum):
    """OCPP 2.0.1 HashAlgorithmEnumType."""

    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


@dataclass(frozen=True, slots=True)
class OcspRequestData:
    """One entry of OCPP 2.0.1 iso15118CertificateHashData (OCSPRequestDataType) of a contract chain.

    Strings as the EV's certificates give them (hashes in hex); limits of the OCPP schema:
    issuer hashes 128, serial number 40, responder URL 512 characters.
    """

    hash_algorithm: HashAlgorithm
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str
    responder_url: str


@dataclass(frozen=True, slots=True)
class Iso15118SessionStarted:
    """An EV opened a high-level communication session with the module.

    ``evcc_id`` is the EV's EVCCID: upper-case hex (the MAC address for ISO 15118-2, up to 8 bytes
    for DIN 70121) or the ISO 15118-20 identifier string.
    """

    evse_id: int
    evcc_id: str
    protocol: Iso15118Protocol
    energy_mode: EnergyTransferMode


@dataclass(frozen=True, slots=True)
class Iso15118SessionStopped:
    """The EV session reported by the last :class:`Iso15118SessionStarted` ended."""

    evse_id: int
    reason: Iso15118StopReason


@dataclass(frozen=True, slots=True)
class Iso15118ContractPresented:
    """The EV offers a contract for Plug & Charge: the EMAID and/or the OCSP data of its chain.

    ``emaid`` is None when the EV sent only certificate hash data; ``certificate_hash_data`` is
    empty when it sent only the EMAID (at most 4 entries, as OCPP allows). At least one is present.
    """

    evse_id: int
    emaid: str | None
    certificate_hash_data: tuple[OcspRequestData, ...]
    #: The contract certificate chain (PEM) where the module hands it over: never in bridge message set v1
    #: (too long for it), given by the simulated EV; the CSMS may be asked to validate it (C07).
    certificate_pem: str | None = None


@dataclass(frozen=True, slots=True)
class Iso15118ChargingNeeds:
    """What the EV asks for (OCPP ChargingNeedsType); reported again whenever the EV changes it.

    ``departure_time`` is UTC, computed when the message arrived from the EV's "seconds from now".
    Currents are per phase for AC, DC current for DC; None where the EV did not say.
    ``min_current_a`` (AC) is reported because OCPP's ACChargingParametersType requires it.
    """

    evse_id: int
    requested_energy_wh: int | None
    departure_time: datetime | None
    max_current_a: float
    max_voltage_v: float
    max_power_w: int | None
    energy_mode: EnergyTransferMode
    min_current_a: float | None = None


@dataclass(frozen=True, slots=True)
class Iso15118CertificateRequested:
    """The EV asks to install or update its contract certificate (OCPP M01/M02, bridge version 2).

    ``exi_request`` is the EXI document as the EV sent it; the station relays it to the CSMS
    (base64) without reading it and answers with
    :meth:`Iso15118CertificateBridge.send_ev_certificate_response` and the same ``request_id``.
    """

    evse_id: int
    request_id: int
    action: str  # OCPP CertificateActionEnumType: "Install" or "Update"
    schema_version: str
    exi_request: bytes


@dataclass(frozen=True, slots=True)
class Iso15118V2gCsrPresented:
    """The module made a key pair for its ISO 15118 TLS and asks for its V2GCertificate (PEM CSR)."""

    evse_id: int
    csr_pem: str


DriverEvent: TypeAlias = (
    PilotStateChanged
    | CableCapacityChanged
    | CardPresented
    | FaultRaised
    | FaultCleared
    | InputChanged
    | Iso15118SessionStarted
    | Iso15118SessionStopped
    | Iso15118ContractPresented
    | Iso15118ChargingNeeds
    | Iso15118CertificateRequested
    | Iso15118V2gCsrPresented
)
#: Where drivers deliver events; called on the event loop thread, must not block.
EventSink: TypeAlias = Callable[[DriverEvent], None]


# --- readings -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One reading of an energy meter.

    Energies are the meter's register values (never decrease for a working meter). ``power_w`` is
    active power, positive when energy flows to the EV. Per-phase tuples are ordered L1, L2, L3 and
    have as many entries as the meter measures phases. ``timestamp`` is the monotonic clock time
    the reading was taken.
    """

    energy_import_wh: float
    energy_export_wh: float
    power_w: float
    voltage_v: tuple[float, ...]
    current_a: tuple[float, ...]
    frequency_hz: float | None
    timestamp: float


# --- parameters ---------------------------------------------------------------------------------


class DriverParams(BaseModel):
    """Base of every driver's ``Params`` model: the driver's keys in the board YAML.

    Each driver class carries ``Params`` as a class attribute so a config checker can validate a
    board YAML without opening devices (see :func:`drivers.registry.validate_params`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- protocols ----------------------------------------------------------------------------------


@runtime_checkable
class Driver(Protocol):
    """The lifecycle every driver shares (see the module docstring for the rule)."""

    async def run(self, sink: EventSink) -> None:
        """Report events to ``sink`` until cancelled."""
        ...


@runtime_checkable
class EnergyMeter(Driver, Protocol):
    """A (MID/Eichrecht or plain) energy meter of one EVSE."""

    async def read(self) -> MeterReading:
        """Take a reading; raises DriverError when the meter does not answer."""
        ...


@runtime_checkable
class Contactor(Driver, Protocol):
    """The power contactor (relay) of one EVSE, with feedback contact where the board has one."""

    @property
    def is_closed(self) -> bool:
        """What the feedback contact says (the commanded state when there is no feedback)."""
        ...

    async def close(self) -> None:
        """Close; raises DriverError when the feedback does not confirm it."""
        ...

    async def open(self) -> None:
        """Open; raises DriverError when the feedback does not confirm it (e.g. welded)."""
        ...


@runtime_checkable
class ConnectorLock(Driver, Protocol):
    """The motor lock holding the plug in a socket outlet."""

    @property
    def is_locked(self) -> bool:
        """What the lock's feedback says."""
        ...

    async def lock(self) -> None:
        """Lock; raises DriverError when the lock did not engage."""
        ...

    async def unlock(self) -> None:
        """Unlock; raises DriverError when the lock did not release."""
        ...


#: IEC 61851-1 range of the current a PWM duty cycle can offer.
MIN_OFFERED_CURRENT_A: Final = 6.0
MAX_OFFERED_CURRENT_A: Final = 80.0


@runtime_checkable
class Pilot(Driver, Protocol):
    """The control pilot of one EVSE: measures the EV state, offers a current by PWM duty cycle.

    Pilot state changes are reported as :class:`PilotStateChanged` events through the sink.
    """

    @property
    def state(self) -> PilotState:
        """The last measured pilot state."""
        ...

    async def set_current_limit(self, amps: float | None) -> None:
        """Offer ``amps`` (6..80 A) to the EV; None means no PWM (100 % duty, "X1"): do not charge.

        A value outside 6..80 A raises ValueError: below 6 A the caller must pass None.
        """
        ...


@runtime_checkable
class RfidReader(Driver, Protocol):
    """An identification reader; reports :class:`CardPresented` events, has no commands."""


@runtime_checkable
class DigitalInput(Driver, Protocol):
    """A digital input (RCD, emergency stop, start button); reports :class:`InputChanged`."""

    @property
    def is_active(self) -> bool:
        """The current (debounced) input level, active meaning asserted."""
        ...


@runtime_checkable
class TemperatureSensor(Driver, Protocol):
    """A temperature sensor (connector, power electronics)."""

    async def read_celsius(self) -> float:
        """Current temperature in degrees Celsius; raises DriverError when the sensor is gone."""
        ...


@runtime_checkable
class Display(Driver, Protocol):
    """A text display for the driver: what evse/station/core/screen.py composes (messages, cost, state).

    ``columns`` x ``rows`` characters; ``show`` gets ``rows`` lines joined by newlines."""

    columns: int
    rows: int

    async def show(self, text: str, language: str | None) -> None:
        """Show ``text`` (``language`` an RFC 5646 tag when known); replaces the previous text."""
        ...


@dataclass(frozen=True, slots=True)
class EvseDrivers:
    """The drivers of one EVSE, as a board (real or simulated) provides them."""

    evse_id: int
    meter: EnergyMeter
    contactor: Contactor
    pilot: Pilot
    lock: ConnectorLock | None = None  # None for a tethered cable
    rfid: RfidReader | None = None  # None when the EVSE has no reader of its own
    display: Display | None = None  # None when the EVSE has no screen (personal messages are then dropped)
    iso15118: Iso15118Bridge | None = None  # None without an ISO 15118 module (basic charging only)

    def all(self) -> tuple[Driver, ...]:
        """Every present driver, for the daemon to start each ``run(sink)`` in its TaskGroup."""
        present: list[Driver | None] = [
            self.meter,
            self.contactor,
            self.pilot,
            self.lock,
            self.rfid,
            self.display,
            self.iso15118,
        ]
        return tuple(d for d in present if d is not None)


@runtime_checkable
class Iso15118Bridge(Driver, Protocol):
    """The link to an external SECC module that speaks ISO 15118 / DIN 70121 with the EV.

    Reports :class:`Iso15118SessionStarted`, :class:`Iso15118ContractPresented`,
    :class:`Iso15118ChargingNeeds` and :class:`Iso15118SessionStopped`; a silent or faulty module is a
    :class:`FaultRaised` named :data:`ISO15118_FAILURE`. The core decides; the module only relays.
    """

    async def set_current_limit(self, amps: float | None) -> None:
        """Offer ``amps`` to the EV (per phase for AC, DC current for DC); None offers nothing.

        The limit is state: it is remembered and sent again at every (re)connect of the module, so a
        call while the module is away is not an error. A negative value raises ValueError; a failed
        send to a connected module raises DriverError.
        """
        ...

    async def send_authorization(self, accepted: bool) -> None:
        """Tell the module whether the contract of the current session is authorized.

        Raises DriverError when there is no session or the module cannot be reached.
        """
        ...


@runtime_checkable
class Iso15118CertificateBridge(Protocol):
    """What a bridge of message set version 2 adds: Plug & Charge certificate work, relayed to the module.

    Reports :class:`Iso15118CertificateRequested` and :class:`Iso15118V2gCsrPresented`. Roots, the
    V2G chain and (version 3) the chain's OCSP responses are state: remembered and sent again after
    every handshake with the module.
    """

    async def send_ev_certificate_response(self, request_id: int, accepted: bool, exi_response: bytes) -> None:
        """The CSMS's answer to the EV's certificate request ``request_id`` (empty EXI when not accepted)."""
        ...

    async def request_v2g_csr(self, common_name: str, organization: str, country: str) -> None:
        """Ask the module for a new key pair and a CSR with this subject (TriggerMessage SignV2GCertificate)."""
        ...

    async def set_v2g_certificate_chain(self, chain_pem: str) -> None:
        """Hand the module its signed V2G certificate chain (leaf first)."""
        ...

    async def set_root_certificates(self, v2g_roots: Sequence[str], mo_roots: Sequence[str]) -> None:
        """Hand the module the complete sets of V2G and MO roots (PEM each)."""
        ...

    async def set_v2g_ocsp_responses(self, responses: Sequence[bytes]) -> None:
        """Hand the module the DER OCSP responses of its V2G chain's Sub-CA certificates (chain order).

        For OCSP stapling to the EV; state, repeated after every handshake. Raises DriverError when the
        module speaks bridge protocol 1 or 2, or for a response that does not fit (empty or > 4125
        bytes, more than 4).
        """
        ...

"""Simulated ISO 15118 module with its EV: what `evse sim iso15118` plays on the simulated board.

The station sees what a real bridge driver reports (session started, contract, charging needs, session
stopped) and answers through the same two commands (``set_current_limit``, ``send_authorization``).
The simulated EV behaves as a Plug & Charge EV does: it waits for the authorization, then asks for power
(pilot state C); a refusal ends its session (DeAuthorized), as the bridge document asks of a module.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from drivers.errors import DriverError
from drivers.interfaces import (
    DriverParams,
    EnergyTransferMode,
    EventSink,
    HashAlgorithm,
    Iso15118ChargingNeeds,
    Iso15118ContractPresented,
    Iso15118Protocol,
    Iso15118SessionStarted,
    Iso15118SessionStopped,
    Iso15118StopReason,
    OcspRequestData,
    PilotState,
    PilotStateChanged,
)
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from cryptography import x509

    from drivers.sim.board import SimBoard

log = logging.getLogger(__name__)

SIM_RESPONDER_URL: Final = "http://ocsp.sim.invalid/"
_EMAID_MAX: Final = 36


def _key_hash(issuer: x509.Certificate) -> str:
    """SHA-256 of the issuer's subjectPublicKey bits, as OCSP's issuerKeyHash is made (RFC 6960)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    elif isinstance(key, rsa.RSAPublicKey):
        bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    else:  # other key types do not occur in ISO 15118 PKIs; any stable name of the key will do here
        bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(bits).hexdigest()


def _responder(certificate: x509.Certificate) -> str:
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return SIM_RESPONDER_URL
    for description in access:
        if description.access_method == AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)[:512]
    return SIM_RESPONDER_URL


def hash_data_of_chain(pem: str) -> tuple[OcspRequestData, ...]:
    """OCSP data of each certificate of a PEM chain (leaf first) whose issuer is in the chain too.

    A lone leaf gives none: without its issuer the station cannot have it checked by OCSP, which is the
    case where the certificate itself may go to the CSMS (CentralContractValidationAllowed).
    """
    # Imported here: the simulated board of a station that never plays a certificate loads no `cryptography`.
    from cryptography import x509

    try:
        chain = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise DriverError("sim iso15118", f"unreadable certificate chain: {exc}") from None
    entries: list[OcspRequestData] = []
    for certificate, issuer in itertools.pairwise(chain):
        entries.append(
            OcspRequestData(
                HashAlgorithm.SHA256,
                hashlib.sha256(certificate.issuer.public_bytes()).hexdigest(),
                _key_hash(issuer),
                format(certificate.serial_number, "x"),
                _responder(certificate),
            )
        )
    return tuple(entries[:4])


def sim_hash_data(emaid: str) -> tuple[OcspRequestData, ...]:
    """A plausible chain for an EV without a certificate file: the contract and its MO sub-CA, named after
    the eMAID so that the same EV always presents the same chain (and the OCSP cache can be seen working)."""
    name_hash = hashlib.sha256(b"CN=Sim MO Sub-CA 2").hexdigest()
    key_hash = hashlib.sha256(b"Sim MO Sub-CA 2 key").hexdigest()
    contract_serial = hashlib.sha256(emaid.upper().encode()).hexdigest()[:16]
    return (
        OcspRequestData(HashAlgorithm.SHA256, name_hash, key_hash, contract_serial, SIM_RESPONDER_URL),
        OcspRequestData(
            HashAlgorithm.SHA256,
            hashlib.sha256(b"CN=Sim MO Sub-CA 1").hexdigest(),
            hashlib.sha256(b"Sim MO Sub-CA 1 key").hexdigest(),
            "5157",
            SIM_RESPONDER_URL,
        ),
    )


@dataclass
class SimEvSession:
    """The simulated EV's ISO 15118 session, as `evse sim status` shows it."""

    emaid: str | None
    authorizations: list[bool] = field(default_factory=list)


class SimIso15118Bridge:
    """ISO 15118 bridge of a simulated EVSE; the board's ``iso15118_session`` hook plays the EV."""

    class Params(DriverParams):
        """The simulated module takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self._evse_id = evse_id
        self.name = f"sim iso15118 evse={evse_id}"
        self.session: SimEvSession | None = None
        self.current_limit_a: float | None = None

    async def run(self, sink: EventSink) -> None:
        await asyncio.Event().wait()  # events go out on the board's wire, from the hooks

    async def set_current_limit(self, amps: float | None) -> None:
        if amps is not None and amps < 0:
            raise ValueError(f"current limit must be >= 0 A, got {amps}")
        self.current_limit_a = amps

    async def send_authorization(self, accepted: bool) -> None:
        session = self.session
        if session is None:
            raise DriverError(self.name, "no ISO 15118 session to authorize")
        session.authorizations.append(accepted)
        log.info("evse=%s sim iso15118 authorization accepted=%s", self._evse_id, accepted)
        if accepted:
            # PowerDelivery: the EV closes S2 and asks for energy.
            if self._state.ev_state is PilotState.B:
                self._state.set_ev_state(PilotState.C)
                self._state.emit(PilotStateChanged(self._evse_id, PilotState.C))
        else:
            self.end(Iso15118StopReason.DEAUTHORIZED)

    def begin(
        self,
        emaid: str | None,
        *,
        certificate_pem: str | None,
        energy_wh: int | None,
        departure_s: int | None,
        phases: int,
        evcc_id: str,
    ) -> None:
        """The EV opens its session and offers its contract (and its charging needs, if any were given)."""
        if emaid is not None and not 1 <= len(emaid) <= _EMAID_MAX:
            raise DriverError(self.name, f"eMAID must be 1 to {_EMAID_MAX} characters")
        if emaid is None and certificate_pem is None:
            raise DriverError(self.name, "a contract needs an eMAID or a certificate")
        hash_data = hash_data_of_chain(certificate_pem) if certificate_pem else sim_hash_data(emaid or "")
        mode = EnergyTransferMode.AC_THREE_PHASE if phases == 3 else EnergyTransferMode.AC_SINGLE_PHASE
        self.session = SimEvSession(emaid)
        self._state.emit(Iso15118SessionStarted(self._evse_id, evcc_id, Iso15118Protocol.ISO_15118_2, mode))
        self._state.emit(Iso15118ContractPresented(self._evse_id, emaid, hash_data, certificate_pem))
        if energy_wh is not None or departure_s is not None:
            departure = None if departure_s is None else datetime.now(UTC) + timedelta(seconds=departure_s)
            self._state.emit(
                Iso15118ChargingNeeds(
                    self._evse_id, energy_wh, departure, 32.0, 400.0 if phases == 3 else 230.0, None, mode, 6.0
                )
            )

    def end(self, reason: Iso15118StopReason) -> None:
        """The session ends (EV unplugged, refused, stopped by the EV)."""
        if self.session is None:
            return
        self.session = None
        self._state.emit(Iso15118SessionStopped(self._evse_id, reason))

"""The development CSMS's side of Plug & Charge: contracts it knows, an OCSP responder, and the hook that
answers Get15118EVCertificate.

Plausible, not a real mobility operator: an eMAID is accepted when it is on ``contracts``; a contract
chain is good unless one of its serial numbers is on ``revoked_serials``; GetCertificateStatus answers
with a real DER OCSP response (signed by a responder key made at start) that is valid for
``ocsp_validity``, so a station can cache it until its nextUpdate as M06 asks.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from ocpp.v201 import call_result, datatypes

from evse.clock import Clock

#: Contracts (eMAIDs) a developer can present with `evse sim iso15118` without configuring anything.
DEFAULT_CONTRACTS: tuple[str, ...] = ("DE8EOCAET5E43X1", "NLTNMC00122045K", "FRXYZ123456789A")

_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}


def _responder(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dev CSMS OCSP responder")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, cert


class PlugAndChargeCsms:
    """Contracts, revocations and the OCSP responder of the dev CSMS (plain attributes: tests change them)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.contracts: set[str] = set(DEFAULT_CONTRACTS)
        self.revoked_serials: set[str] = set()
        self.ocsp_validity = timedelta(hours=1)
        #: Get15118EVCertificate (M01/M02): a stand-in answer by default; a test may replace it.
        self.ev_certificate: Callable[[Mapping[str, Any]], Any] = stand_in_ev_certificate
        self._key, self._cert = _responder(clock.now())

    def knows(self, emaid: str) -> bool:
        """An eMAID on ``contracts`` (compared case-insensitively, as idTokens are)."""
        return emaid.upper() in {c.upper() for c in self.contracts}

    def _revoked(self, serial: str) -> bool:
        return serial.lower().lstrip("0") in {s.lower().lstrip("0") for s in self.revoked_serials}

    def authorize(self, payload: Mapping[str, Any], info: datatypes.IdTokenInfoType) -> call_result.Authorize:
        """An eMAID: accepted when known and its chain good; ``info`` (the card rules) answers other tokens."""
        token = payload.get("idToken", {})
        if token.get("type") != "eMAID":
            return call_result.Authorize(id_token_info=info)
        known = self.knows(str(token.get("idToken", "")))
        hashes_ = payload.get("iso15118CertificateHashData") or []
        certificate = payload.get("certificate")
        status = "Accepted"
        if any(self._revoked(str(h.get("serialNumber", ""))) for h in hashes_):
            status = "CertificateRevoked"
        elif certificate is not None:
            status = self._check_certificate(str(certificate))
        elif not hashes_:
            status = "NoCertificateAvailable"
        accepted = known and status == "Accepted"
        return call_result.Authorize(
            id_token_info=datatypes.IdTokenInfoType(status="Accepted" if accepted else "Invalid"),
            certificate_status=status,
        )

    def _check_certificate(self, pem: str) -> str:
        """Central contract validation, plausibly: a readable chain whose leaf is in its validity and not revoked."""
        try:
            chain = x509.load_pem_x509_certificates(pem.encode())
        except ValueError:
            return "CertChainError"
        leaf, now = chain[0], self._clock.now()
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            return "CertificateExpired"
        if self._revoked(format(leaf.serial_number, "x")):
            return "CertificateRevoked"
        return "Accepted"

    def certificate_status(self, payload: Mapping[str, Any]) -> call_result.GetCertificateStatus:
        """M06: a signed OCSP response for the certificate the request names (good unless revoked)."""
        data = payload.get("ocspRequestData", {})
        try:
            algorithm = _ALGORITHMS[str(data["hashAlgorithm"])]
            name_hash, key_hash = bytes.fromhex(data["issuerNameHash"]), bytes.fromhex(data["issuerKeyHash"])
            serial = int(str(data["serialNumber"]), 16)
        except (KeyError, ValueError):
            return call_result.GetCertificateStatus(status="Failed")
        now = self._clock.now().astimezone(UTC).replace(microsecond=0)
        revoked = self._revoked(str(data["serialNumber"]))
        try:
            builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
                issuer_name_hash=name_hash,
                issuer_key_hash=key_hash,
                serial_number=serial,
                algorithm=algorithm,
                cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
                this_update=now,
                next_update=now + self.ocsp_validity,
                revocation_time=now if revoked else None,
                revocation_reason=None,
            )
        except ValueError:  # hashes of the wrong length for their algorithm
            return call_result.GetCertificateStatus(status="Failed")
        response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, self._cert).sign(self._key, hashes.SHA256())
        der = response.public_bytes(serialization.Encoding.DER)
        return call_result.GetCertificateStatus(status="Accepted", ocsp_result=base64.b64encode(der).decode())


def stand_in_ev_certificate(payload: Mapping[str, Any]) -> Any:
    """M01/M02 as far as a CSMS without a contract CA can go: Accepted with a stand-in exiResponse.

    The bytes are no EXI a real EV decodes: a marker, the action and the SHA-256 of the EV's request, so a
    demo or a test sees that the answer belongs to the request it relayed. A request that is not base64
    is answered Failed, as a real CSMS that cannot parse the EXI would."""
    try:
        request = base64.b64decode(str(payload.get("exiRequest", "")), validate=True)
    except ValueError:
        return call_result.Get15118EVCertificate(status="Failed", exi_response="")
    if not request:
        return call_result.Get15118EVCertificate(status="Failed", exi_response="")
    stand_in = b"devcsms CertificateInstallationRes " + str(payload.get("action")).encode() + b" "
    stand_in += hashlib.sha256(request).digest()
    return call_result.Get15118EVCertificate(status="Accepted", exi_response=base64.b64encode(stand_in).decode())

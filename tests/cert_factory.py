"""Certificates made in the tests with `cryptography`, and the reference hash data the tests compute for them
independently of the station (an OCSP CertID, built by the library's OCSP request builder)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from drivers.interfaces import HashAlgorithm, OcspRequestData

ALGORITHMS = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}


@dataclass
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(Encoding.PEM).decode()


def make_certificate(
    name: str,
    *,
    ca: bool = True,
    issuer: Issued | None = None,
    valid_from: datetime | None = None,
    valid_days: float = 365,
    serial: int | None = None,
    ocsp_url: str | None = None,
) -> Issued:
    """A certificate for CN=`name`, self-signed unless `issuer` is given; `ocsp_url` names its OCSP
    responder (Authority Information Access)."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = valid_from or datetime.now(UTC) - timedelta(hours=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ocsp_url is not None:
        access = x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def stand_in_request_data(serial: str, issuer: str, responder: str) -> OcspRequestData:
    """The OCSP data of a certificate `issuer` signed, without making it: hashes of SHA-256's real length (of
    "CN=<issuer>" and "<issuer> key"), so a real OCSP responder can answer for it."""
    return OcspRequestData(
        HashAlgorithm.SHA256,
        hashlib.sha256(f"CN={issuer}".encode()).hexdigest(),
        hashlib.sha256(f"{issuer} key".encode()).hexdigest(),
        serial,
        responder,
    )


def hash_data_fields(entry: OcspRequestData) -> dict[str, str]:
    """The CertID part of the station's OCSPRequestData, in reference_hash_data's form, to compare the two."""
    return {
        "hash_algorithm": entry.hash_algorithm.value,
        "issuer_name_hash": entry.issuer_name_hash,
        "issuer_key_hash": entry.issuer_key_hash,
        "serial_number": entry.serial_number,
    }


def reference_hash_data(
    certificate: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256"
) -> dict[str, str]:
    """certificateHashData as the OCTT would compute it, in the ocpp library's snake_case."""
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, ALGORITHMS[algorithm]).build()
    return {
        "hash_algorithm": algorithm,
        "issuer_name_hash": request.issuer_name_hash.hex(),
        "issuer_key_hash": request.issuer_key_hash.hex(),
        "serial_number": format(request.serial_number, "x"),
    }

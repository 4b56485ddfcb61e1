"""certificateHashData (OCPP 2.0.1 CertificateHashDataType): how the CSMS and the station name a certificate
without sending it (GetInstalledCertificateIds, DeleteCertificate).

The three values are those of an OCSP CertID (RFC 6960, 4.1.1), which OCPP 2.0.1 takes over:

- issuerNameHash: hash of the DER encoding of the certificate's issuer Name;
- issuerKeyHash: hash of the issuer's public key, i.e. the value of the subjectPublicKey BIT STRING in the
  issuer's certificate, without tag, length and unused-bits octet (for a self-signed root: its own key);
- serialNumber: the serial number in hexadecimal, without "0x" and without leading zeroes.

Both inputs are cut out of the certificates' own DER rather than re-encoded from parsed objects, so a name
in an unusual but valid encoding still hashes to what the CSMS computed from the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature

_SEQUENCE = 0x30
_BIT_STRING = 0x03
_VERSION = 0xA0  # [0] EXPLICIT, absent for a v1 certificate


class HashAlgorithm(StrEnum):
    """HashAlgorithmEnumType."""

    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


@dataclass(frozen=True)
class CertificateHashData:
    """One certificate's hash data, hex strings in lower case."""

    algorithm: HashAlgorithm
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    def matches(self, other: CertificateHashData) -> bool:
        """Same certificate. The CSMS may write hex in either case, and a serial with leading zeroes."""
        return (
            self.algorithm == other.algorithm
            and self.issuer_name_hash.lower() == other.issuer_name_hash.lower()
            and self.issuer_key_hash.lower() == other.issuer_key_hash.lower()
            and _serial(self.serial_number) == _serial(other.serial_number)
        )

    def same_issuer_and_serial(self, other: CertificateHashData) -> bool:
        """Issuer name and serial number alone identify a certificate (RFC 5280 4.1.2.2): for a certificate
        whose issuer's key the station may not hold."""
        return (
            self.algorithm == other.algorithm
            and self.issuer_name_hash.lower() == other.issuer_name_hash.lower()
            and _serial(self.serial_number) == _serial(other.serial_number)
        )


def hash_data(
    certificate: x509.Certificate, issuer: x509.Certificate, algorithm: HashAlgorithm = HashAlgorithm.SHA256
) -> CertificateHashData:
    """The hash data of `certificate`, whose issuer's certificate is `issuer` (itself for a root)."""
    digest = algorithm.value.lower()
    return CertificateHashData(
        algorithm=algorithm,
        issuer_name_hash=hashlib.new(digest, issuer_name_der(certificate)).hexdigest(),
        issuer_key_hash=hashlib.new(digest, public_key_bits(issuer)).hexdigest(),
        serial_number=serial_hex(certificate),
    )


def serial_hex(certificate: x509.Certificate) -> str:
    return format(certificate.serial_number, "x")


def find_issuer(certificate: x509.Certificate, candidates: Iterable[x509.Certificate]) -> x509.Certificate | None:
    """The certificate that signed `certificate`: itself if self-signed, else one of `candidates` whose
    subject is its issuer and whose key verifies its signature; None if none does."""
    for candidate in (certificate, *candidates):
        if candidate.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def issuer_name_der(certificate: x509.Certificate) -> bytes:
    """The issuer Name exactly as encoded in the certificate (tag and length included)."""
    tbs = certificate.tbs_certificate_bytes
    start, end = _tbs_fields(tbs)[2]
    return tbs[start:end]


def public_key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING value of the certificate, without its unused-bits octet."""
    tbs = certificate.tbs_certificate_bytes
    start, _ = _tbs_fields(tbs)[5]
    _, content, spki_end = _element(tbs, start)
    fields = list(_children(tbs, content, spki_end))
    if len(fields) != 2 or fields[1][0] != _BIT_STRING:
        raise ValueError("subjectPublicKeyInfo is not an algorithm and a BIT STRING")
    _, _, bits_start, bits_end = fields[1]
    return tbs[bits_start + 1 : bits_end]


def _tbs_fields(tbs: bytes) -> list[tuple[int, int]]:
    """(start, end) of each TBSCertificate field after the optional version: serialNumber, signature,
    issuer, validity, subject, subjectPublicKeyInfo, then any extensions."""
    tag, content, end = _element(tbs, 0)
    if tag != _SEQUENCE:
        raise ValueError("TBSCertificate is not a SEQUENCE")
    fields = [(t, s, e) for t, s, _, e in _children(tbs, content, end)]
    if fields and fields[0][0] == _VERSION:
        fields = fields[1:]
    if len(fields) < 6:
        raise ValueError("TBSCertificate has too few fields")
    return [(s, e) for _, s, e in fields]


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(tag, element start, content start, element end) of each element in data[start:end]."""
    offset = start
    while offset < end:
        tag, content, element_end = _element(data, offset)
        yield tag, offset, content, element_end
        offset = element_end


def _element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, end) of the DER element at `offset` (single-octet tags: all X.509 uses here)."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    content = offset + 2
    if length & 0x80:
        octets = length & 0x7F
        if not 1 <= octets <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[content : content + octets], "big")
        content += octets
    end = content + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, content, end


def _serial(text: str) -> str:
    return text.lower().lstrip("0") or "0"

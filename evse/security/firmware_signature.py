"""Firmware signature check (L01): the signing certificate up to a ManufacturerRootCertificate, then the
signature over the downloaded image.

The signingCertificate of UpdateFirmware is PEM: the signing certificate first, optionally followed by
intermediates. It must chain (cryptography's path validation: each link's signature, each certificate
valid now) to one of the roots (installed ManufacturerRootCertificates or the factory root named in YAML).
The `signature` field is the base64 of an RSA (PKCS#1 v1.5) or ECDSA signature over the SHA-256 of the
image; the image is hashed in pieces so a large image never sits in memory.

Loaded only when an update is signed: cryptography's X.509 is not imported by the daemon at start-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from evse.errors import EvseError
from evse.security.chain import ChainInvalid, verify_path

log = logging.getLogger(__name__)

HASH_PIECE = 1024 * 1024


class SigningCertificateInvalid(EvseError):
    """The signing certificate does not chain to a trusted manufacturer root (InvalidCertificate)."""


class FirmwareSignatureInvalid(EvseError):
    """The image's signature does not verify with the signing certificate (InvalidSignature)."""


def load_roots(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Every certificate in these PEM files (or the .pem files of these directories); unreadable ones
    are logged and skipped, so one bad file cannot disable every update."""
    roots: list[x509.Certificate] = []
    for path in paths:
        if not path.exists():  # no InstallCertificate yet, or no factory root: nothing to trust there
            log.debug("no manufacturer roots at %s", path)
            continue
        files = sorted(p for p in path.glob("*.pem") if not p.name.startswith(".")) if path.is_dir() else [path]
        for file in files:
            try:
                roots += x509.load_pem_x509_certificates(file.read_bytes())
            except (OSError, ValueError) as exc:
                log.warning("manufacturer root unreadable path=%s: %s", file, exc)
    return roots


def verify_signing_certificate(pem: str, roots: list[x509.Certificate], now: datetime) -> x509.Certificate:
    """The signing certificate of `pem`, checked up to one of `roots`; SigningCertificateInvalid if not.

    Path building and validation are cryptography's (each link's signature, validity at `now`, CA
    constraints), with extension policies that let a code-signing certificate through: the web PKI
    defaults would demand a TLS client or server usage of it."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise SigningCertificateInvalid(f"signingCertificate is not PEM X.509: {exc}") from None
    if not roots:
        raise SigningCertificateInvalid("no ManufacturerRootCertificate installed")
    leaf = certificates[0]
    _check_validity(leaf, now)  # the commonest failure, named plainly before the path is built
    try:
        verify_path(certificates, roots, now)
    except ChainInvalid as exc:
        raise SigningCertificateInvalid(
            f"{leaf.subject.rfc4514_string()}: no valid path to a manufacturer root: {exc}"
        ) from None
    return leaf


def _check_validity(certificate: x509.Certificate, now: datetime) -> None:
    subject = certificate.subject.rfc4514_string()
    if now < certificate.not_valid_before_utc:
        raise SigningCertificateInvalid(f"{subject}: not valid before {certificate.not_valid_before_utc.isoformat()}")
    if now > certificate.not_valid_after_utc:
        raise SigningCertificateInvalid(f"{subject}: expired {certificate.not_valid_after_utc.isoformat()}")


def image_digest(image: Path) -> bytes:
    """SHA-256 of the image, read in pieces."""
    digest = hashlib.sha256()
    with open(image, "rb") as source:
        while piece := source.read(HASH_PIECE):
            digest.update(piece)
    return digest.digest()


def verify_image_signature(image: Path, signature_b64: str, signer: x509.Certificate) -> None:
    """Check the base64 `signature_b64` over the image with the signer's key; FirmwareSignatureInvalid
    if it does not verify or is not base64."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        raise FirmwareSignatureInvalid("signature is not base64") from None
    digest = image_digest(image)
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        else:
            raise FirmwareSignatureInvalid(f"unsupported signing key type {type(key).__name__}")
    except InvalidSignature:
        raise FirmwareSignatureInvalid("signature does not match the image") from None

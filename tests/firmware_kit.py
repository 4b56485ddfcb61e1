"""Firmware test equipment: a manufacturer PKI made with `cryptography`, simulated-board images, their
signatures, and the UpdateFirmware request a CSMS sends. Used by the L tests, `make fw-demo` and the bench.

A simulated image is one text line `EVSE-FIRMWARE <version>` and random bytes: the sim installer reads
the version from it and writes it to station.firmware_version_file, as a real image's first boot would.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from ocpp.v201 import call

KeyType = Literal["ec", "rsa"]
Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _key(key_type: KeyType) -> Key:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _certificate(
    name: str, key: Key, *, issuer: tuple[x509.Certificate, Key] | None, ca: bool, valid_days: float = 365
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.now(UTC) - timedelta(hours=1)
    signer_cert, signer_key = issuer if issuer is not None else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_cert.subject if signer_cert is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(signer_key, hashes.SHA256())


@dataclass
class Manufacturer:
    """A manufacturer root, optionally an intermediate, and the firmware signing certificate under it."""

    root: x509.Certificate
    signer: x509.Certificate
    signer_key: Key
    intermediate: x509.Certificate | None = None

    @property
    def root_pem(self) -> str:
        return self.root.public_bytes(Encoding.PEM).decode()

    @property
    def signing_pem(self) -> str:
        """The signingCertificate field: the signing certificate, then the intermediate if there is one."""
        chain = [self.signer, *([self.intermediate] if self.intermediate is not None else [])]
        return "".join(c.public_bytes(Encoding.PEM).decode() for c in chain)

    def sign(self, image: bytes) -> str:
        """The signature field: base64 of the signature over the SHA-256 of the image."""
        digest = hashlib.sha256(image).digest()
        if isinstance(self.signer_key, rsa.RSAPrivateKey):
            raw = self.signer_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        else:
            raw = self.signer_key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        return base64.b64encode(raw).decode()


def make_manufacturer(
    key_type: KeyType = "ec", *, intermediate: bool = False, signer_valid_days: float = 365
) -> Manufacturer:
    root_key = _key(key_type)
    root = _certificate("Test Manufacturer Root", root_key, issuer=None, ca=True)
    issuer: tuple[x509.Certificate, Key] = (root, root_key)
    middle = None
    if intermediate:
        middle_key = _key(key_type)
        middle = _certificate("Test Manufacturer Firmware CA", middle_key, issuer=issuer, ca=True)
        issuer = (middle, middle_key)
    signer_key = _key(key_type)
    signer = _certificate("Test Firmware Signer", signer_key, issuer=issuer, ca=False, valid_days=signer_valid_days)
    return Manufacturer(root, signer, signer_key, middle)


def sim_image(version: str, size: int = 256 * 1024) -> bytes:
    """An image the sim installer accepts, announcing `version`."""
    header = f"EVSE-FIRMWARE {version}\n".encode()
    return header + os.urandom(max(0, size - len(header)))


def update_firmware(
    request_id: int,
    location: str,
    *,
    manufacturer: Manufacturer | None = None,
    image: bytes | None = None,
    signature: str | None = None,
    signing_pem: str | None = None,
    retrieve: datetime | None = None,
    install: datetime | None = None,
    retries: int | None = 0,
    retry_interval: int | None = 0,
) -> Any:
    """UpdateFirmwareRequest as the CSMS sends it; signed (L01) when a manufacturer is given, else L02."""
    firmware: dict[str, Any] = {
        "location": location,
        "retrieve_date_time": (retrieve or datetime.now(UTC)).isoformat(),
    }
    if install is not None:
        firmware["install_date_time"] = install.isoformat()
    if manufacturer is not None:
        assert image is not None
        firmware["signing_certificate"] = signing_pem or manufacturer.signing_pem
        firmware["signature"] = signature or manufacturer.sign(image)
    return call.UpdateFirmware(request_id=request_id, firmware=firmware, retries=retries, retry_interval=retry_interval)

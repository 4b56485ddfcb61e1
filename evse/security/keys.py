"""The station's private keys, behind a small interface so a manufacturer can keep them in a TPM or a
secure element instead (OCPP 2.0.1 A02.FR.05: a key made on the station never leaves it).

Callers never hold the private key: they ask the store for the public key, for a CSR signed with the
key, and for the place OpenSSL loads it from for the TLS handshake. `FileKeyStore` is the implementation
for boards without secure hardware: ECDSA P-256 keys as PKCS#8 PEM files in `<state_dir>/keys/`
(directory 0700, files 0600 from the moment they exist), written atomically (temporary file, fsync,
rename, directory fsync), and never logged.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from evse.errors import EvseError
from evse.security.atomic_file import fsync_directory, write_atomically

log = logging.getLogger(__name__)

#: The key a CSR was made for, waiting for its certificate (CertificateSigned).
PENDING = "pending"
#: The key of the station certificate in use (profile 3).
STATION = "station"
#: The key of the certificate in use before the last accepted one, until the new one has connected.
PREVIOUS = "previous"


class KeyStoreError(EvseError):
    """A key could not be made, read or moved (disk full, read-only, no such key)."""


class KeyStore(Protocol):
    """Where the station's private keys live; names are short identifiers ("pending", "station")."""

    def generate(self, name: str) -> ec.EllipticCurvePublicKey:
        """Make a new key pair under `name` (replacing any key of that name); its public key."""
        ...

    def public_key(self, name: str) -> ec.EllipticCurvePublicKey | None:
        """The public key stored under `name`, None if there is none."""
        ...

    def sign_csr(self, name: str, builder: x509.CertificateSigningRequestBuilder) -> x509.CertificateSigningRequest:
        """`builder` signed with the key `name` (SHA-256)."""
        ...

    def tls_key_file(self, name: str) -> Path:
        """The file OpenSSL loads the key from for the TLS handshake."""
        ...

    def rename(self, name: str, new_name: str) -> None:
        """Move the key `name` to `new_name` atomically (replacing that one)."""
        ...


class FileKeyStore:
    """ECDSA P-256 keys as PEM files in `<state_dir>/keys/`, mode 0600, for boards without secure hardware."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "keys"
        self._lock = threading.Lock()

    def path(self, name: str) -> Path:
        if not name.isidentifier():  # a name never becomes a path outside the directory
            raise KeyStoreError(f"invalid key name {name!r}")
        return self.directory / f"{name}.key"

    def generate(self, name: str) -> ec.EllipticCurvePublicKey:
        key = ec.generate_private_key(ec.SECP256R1())
        data = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        target = self.path(name)
        with self._lock:
            try:
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_atomically(target, data, mode=0o600)
            except OSError as exc:
                raise KeyStoreError(f"cannot store key {name} in {self.directory}: {exc.strerror or exc}") from exc
        log.info("key generated name=%s algorithm=ecdsa-p256", name)
        return key.public_key()

    def public_key(self, name: str) -> ec.EllipticCurvePublicKey | None:
        key = self._load(name)
        return None if key is None else key.public_key()

    def sign_csr(self, name: str, builder: x509.CertificateSigningRequestBuilder) -> x509.CertificateSigningRequest:
        key = self._load(name)
        if key is None:
            raise KeyStoreError(f"no key {name}")
        return builder.sign(key, hashes.SHA256())

    def tls_key_file(self, name: str) -> Path:
        return self.path(name)

    def rename(self, name: str, new_name: str) -> None:
        with self._lock:
            try:
                os.replace(self.path(name), self.path(new_name))
                fsync_directory(self.directory)
            except OSError as exc:
                raise KeyStoreError(f"cannot move key {name} to {new_name}: {exc.strerror or exc}") from exc
        log.info("key moved name=%s to=%s", name, new_name)

    def _load(self, name: str) -> ec.EllipticCurvePrivateKey | None:
        try:
            data = self.path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreError(f"cannot read key {name}: {exc.strerror or exc}") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            # Never the exception text: a parser may quote what it read.
            raise KeyStoreError(f"key {name} is not an unencrypted PEM private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyStoreError(f"key {name} is not an ECDSA key")
        return key

"""The station's own certificate (ChargingStationCertificate, OCPP 2.0.1 A02): checking the chain a CSMS
sends in CertificateSigned, and keeping the accepted one for TLS profile 3.

    <state_dir>/certs/station/chain.pem    leaf first, then the intermediates the CSMS sent (0644)
    <state_dir>/keys/station.key           its private key (evse.security.keys, 0600)

A chain is accepted only when (A02.FR.06) its leaf carries the public key of the pending CSR's key, it is
valid now, and it verifies up to an installed CSMS root (the YAML ca_file or state_dir/certs/csms_roots),
checked by `cryptography`'s X.509 path validation with the web PKI profile for client certificates
(a subjectAltName is optional: OCPP names the station by its CN).

Accepting keeps the certificate in use as `previous.pem` with its key `previous`, writes the chain, then
moves the pending key to `station`; until a connection comes up with it (`proven`) a CSMS refusing it in
the handshake sends the station back to the previous one (`revert`): nothing bricks a station remotely.
A crash between writing the chain and moving the key leaves a chain whose key is not the station key:
`tls_files` checks they match and otherwise falls back to the YAML's client certificate, so no crash
leaves TLS with a key that does not fit its certificate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evse.security.atomic_file import write_atomically
from evse.security.cert_store import CertificateRejected, CertificateStoreError, parse_pem_certificates
from evse.security.chain import TLS_CLIENT, ChainInvalid, spki, verify_path
from evse.security.keys import PENDING, PREVIOUS, STATION, KeyStore, KeyStoreError
from evse.security.paths import station_chain_path

log = logging.getLogger(__name__)


class StationCertificate:
    """The station certificate of one state_dir and the key store holding its key."""

    def __init__(self, state_dir: Path, keys: KeyStore) -> None:
        self.chain_path = station_chain_path(state_dir)
        self.previous_path = self.chain_path.with_name("previous.pem")
        # Present from the acceptance of a certificate until a connection with it came up (or it was
        # given up): while it is, a CSMS refusing the new certificate sends the station back to the old one.
        self.unproven_path = self.chain_path.with_name("unproven")
        self.keys = keys

    def check(self, chain_pem: str, roots: Sequence[x509.Certificate], now: datetime) -> list[x509.Certificate]:
        """The parsed chain (leaf first) if it may become the station certificate, else CertificateRejected."""
        chain = parse_pem_certificates(chain_pem, "PEM certificate chain")
        leaf = chain[0]
        subject = leaf.subject.rfc4514_string()
        pending = self.keys.public_key(PENDING)
        if pending is None:
            raise CertificateRejected("InvalidCertificate", "no certificate signing request is pending")
        if spki(leaf.public_key()) != spki(pending):
            raise CertificateRejected("InvalidCertificate", f"{subject}: not the key of the pending request")
        if now > leaf.not_valid_after_utc:
            raise CertificateRejected(
                "InvalidCertificate", f"{subject}: expired {leaf.not_valid_after_utc.isoformat()}"
            )
        if not roots:
            raise CertificateRejected("InvalidCertificate", "no CSMS root certificate installed to check it against")
        try:
            # A certificate valid from a later date is accepted and used once valid (`starts_later`): its path
            # is checked for the moment it starts.
            verify_path(chain, roots, max(now, leaf.not_valid_before_utc), TLS_CLIENT)
        except ChainInvalid as exc:
            raise CertificateRejected(
                "InvalidCertificate", f"{subject}: no path to an installed CSMS root: {exc}"
            ) from None
        return chain

    def accept(self, chain: Sequence[x509.Certificate]) -> None:
        """Store the checked chain and make the pending key the station key; CertificateStoreError if the
        file system refuses."""
        data = b"".join(c.public_bytes(Encoding.PEM) for c in chain)
        try:
            self.chain_path.parent.mkdir(parents=True, exist_ok=True)
            if self.certificate() is not None:  # keep the one in use to come back to (A02: never brick)
                write_atomically(self.previous_path, self.chain_path.read_bytes(), mode=0o644)
                self.keys.rename(STATION, PREVIOUS)
            else:
                self.previous_path.unlink(missing_ok=True)
            write_atomically(self.unproven_path, b"", mode=0o644)
            write_atomically(self.chain_path, data, mode=0o644)
            self.keys.rename(PENDING, STATION)
        except (OSError, KeyStoreError) as exc:
            raise CertificateStoreError(f"cannot store the station certificate: {exc}") from exc
        log.info(
            "station certificate installed subject=%s serial=%x expires=%s",
            chain[0].subject.rfc4514_string(),
            chain[0].serial_number,
            chain[0].not_valid_after_utc.isoformat(),
        )

    def certificate(self) -> x509.Certificate | None:
        """The stored station certificate (the leaf), if its key is the station key."""
        try:
            leaf = x509.load_pem_x509_certificates(self.chain_path.read_bytes())[0]
            key = self.keys.public_key(STATION)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyStoreError) as exc:
            log.warning("station certificate unusable path=%s: %s", self.chain_path, exc)
            return None
        if key is None or spki(leaf.public_key()) != spki(key):
            return None
        return leaf

    def starts_later(self, now: datetime) -> bool:
        """The accepted certificate is not valid yet: the previous one (or the YAML's) serves until it is."""
        leaf = self.certificate()
        return leaf is not None and now < leaf.not_valid_before_utc

    def unproven(self) -> bool:
        """A certificate was accepted and no connection has come up with it yet."""
        return self.unproven_path.exists()

    def proven(self) -> None:
        """A connection came up with the new certificate: the previous one is no longer needed."""
        self.unproven_path.unlink(missing_ok=True)
        self.previous_path.unlink(missing_ok=True)
        log.info("station certificate confirmed by a connection")

    def previous_tls_files(self) -> tuple[Path, Path] | None:
        """(chain, key) of the certificate in use before the last accepted one; None when there was none
        (the YAML's client certificate is then the one to go back to)."""
        key = self.keys.tls_key_file(PREVIOUS)
        return (self.previous_path, key) if self.previous_path.exists() and key.exists() else None

    def revert(self) -> None:
        """The CSMS refused the new certificate: go back to the previous one (or to the YAML's)."""
        try:
            if self.previous_tls_files() is not None:
                write_atomically(self.chain_path, self.previous_path.read_bytes(), mode=0o644)
                self.keys.rename(PREVIOUS, STATION)
                self.previous_path.unlink(missing_ok=True)
            else:
                self.chain_path.unlink(missing_ok=True)
            self.unproven_path.unlink(missing_ok=True)
        except (OSError, KeyStoreError) as exc:
            raise CertificateStoreError(f"cannot restore the previous station certificate: {exc}") from exc
        log.warning("station certificate: back to the previous one")

    def tls_files(self) -> tuple[Path, Path] | None:
        """(certificate chain file, key file) for the TLS context, None when no usable one is stored."""
        if self.certificate() is None:
            return None
        return self.chain_path, self.keys.tls_key_file(STATION)

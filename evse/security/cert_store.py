"""The CA certificates the CSMS installs on the station (M05), kept as PEM files in state_dir.

    <state_dir>/certs/csms_roots/<sha256 of the DER>.pem            CSMSRootCertificate (extra roots for TLS)
    <state_dir>/certs/manufacturer_roots/<sha256 of the DER>.pem    ManufacturerRootCertificate
    <state_dir>/certs/v2g_roots/...                                 V2GRootCertificate (ISO 15118)
    <state_dir>/certs/mo_roots/...                                  MORootCertificate (ISO 15118)

Files rather than the SQLite database so the TLS code and a technician (`evse certs list`, openssl) read
them as they are. Each file is written to a temporary name, fsynced, renamed over its final name and the
directory fsynced: a crash at any instant leaves either no file or the whole file, and at most a hidden
temporary one, which readers skip and the next install removes. Naming a file by its certificate's
fingerprint makes a repeated install of the same certificate a no-op rather than a second entry.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evse.errors import EvseError
from evse.security.atomic_file import fsync_directory, write_atomically
from evse.security.hash_data import CertificateHashData, HashAlgorithm, find_issuer, hash_data

log = logging.getLogger(__name__)


class CertificateUse(StrEnum):
    """The certificate types InstallCertificate installs (InstallCertificateUseEnumType)."""

    CSMS_ROOT = "CSMSRootCertificate"
    MANUFACTURER_ROOT = "ManufacturerRootCertificate"
    V2G_ROOT = "V2GRootCertificate"
    MO_ROOT = "MORootCertificate"


DIRECTORIES: dict[CertificateUse, str] = {
    CertificateUse.CSMS_ROOT: "csms_roots",
    CertificateUse.MANUFACTURER_ROOT: "manufacturer_roots",
    CertificateUse.V2G_ROOT: "v2g_roots",
    CertificateUse.MO_ROOT: "mo_roots",
}


class CertificateRejected(EvseError):
    """A certificate the station refuses (M05.FR.06 no room, M05.FR.07 invalid): answered Rejected."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # a StatusInfo reasonCode
        self.detail = detail


class CertificateStoreError(EvseError):
    """The store could not be changed (disk full, read-only, not a directory): answered Failed."""


@dataclass(frozen=True)
class InstalledCertificate:
    """One certificate file of the store."""

    use: CertificateUse
    path: Path
    certificate: x509.Certificate


def parse_pem_certificates(pem: str, what: str) -> list[x509.Certificate]:
    """The certificates in `pem`, in order; CertificateRejected (InvalidCertificate) naming `what` when it
    is not PEM."""
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise CertificateRejected("InvalidCertificate", f"not a {what}: {exc}") from None


def parse_ca_certificate(pem: str, now: datetime) -> x509.Certificate:
    """The single CA certificate in `pem`, valid at `now`; CertificateRejected (reason InvalidCertificate)
    for anything else: not PEM, several certificates, not a CA, expired or not yet valid (M05.FR.07)."""
    certificates = parse_pem_certificates(pem, "PEM X.509 certificate")
    if len(certificates) != 1:
        raise CertificateRejected("InvalidCertificate", f"{len(certificates)} certificates, expected one")
    certificate = certificates[0]
    subject = certificate.subject.rfc4514_string()
    if certificate.serial_number <= 0:  # RFC 5280: positive; hash data has no form for others
        raise CertificateRejected("InvalidCertificate", f"{subject}: serial number is not positive")
    try:
        basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        basic = None
    except ValueError as exc:  # a malformed extension
        raise CertificateRejected("InvalidCertificate", f"{subject}: {exc}") from None
    if basic is None or not basic.ca:
        raise CertificateRejected("InvalidCertificate", f"{subject}: not a CA certificate")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise CertificateRejected("InvalidCertificate", f"{subject}: key usage does not allow signing certificates")
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if now < start:
        raise CertificateRejected("InvalidCertificate", f"{subject}: not valid before {start.isoformat()}")
    if now > end:
        raise CertificateRejected("InvalidCertificate", f"{subject}: expired {end.isoformat()}")
    return certificate


class CertificateStore:
    """The installed CA certificates of one state_dir.

    Reading never creates anything, so `evse certs list` may look while the daemon runs. Writes are
    serialized by a lock (the handlers run them in worker threads) and belong to the one daemon.
    """

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "certs"
        self._lock = threading.Lock()

    def directory(self, use: CertificateUse) -> Path:
        return self.root / DIRECTORIES[use]

    def installed(self, uses: Iterable[CertificateUse] | None = None) -> list[InstalledCertificate]:
        """The installed certificates of the given types (all types if None), by type then file name."""
        found: list[InstalledCertificate] = []
        for use in CertificateUse if uses is None else uses:
            directory = self.directory(use)
            try:
                names = sorted(p.name for p in directory.iterdir() if _is_certificate_file(p.name))
            except (FileNotFoundError, NotADirectoryError):  # nothing of this type installed yet
                continue
            except OSError as exc:  # a listing must not fail a GetVariables or a GetInstalledCertificateIds
                log.warning("certificate directory unreadable, skipped path=%s: %s", directory, exc)
                continue
            for name in names:
                path = directory / name
                try:
                    certificate = x509.load_pem_x509_certificate(path.read_bytes())
                except FileNotFoundError:  # deleted since the listing
                    continue
                except (OSError, ValueError) as exc:  # a bad disk, or a technician's copy gone wrong
                    log.warning("certificate file unreadable, skipped path=%s: %s", path, exc)
                    continue
                found.append(InstalledCertificate(use, path, certificate))
        return found

    def count(self) -> int:
        """How many certificates are installed, all types together (SecurityCtrlr.CertificateEntries)."""
        return len(self.installed())

    def install(self, use: CertificateUse, pem: str, *, now: datetime, capacity: int | None) -> InstalledCertificate:
        """Check and store a CA certificate; at most `capacity` certificates in all (None: no limit).

        Raises CertificateRejected (answer Rejected) or CertificateStoreError (answer Failed)."""
        certificate = parse_ca_certificate(pem, now)
        data = certificate.public_bytes(Encoding.PEM)
        name = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest() + ".pem"
        directory = self.directory(use)
        with self._lock:
            if (directory / name).is_file():
                return InstalledCertificate(use, directory / name, certificate)
            installed = self.count()
            if capacity is not None and installed >= capacity:
                raise CertificateRejected(
                    "OutOfStorage", f"{installed} certificates installed, CertificateEntries allows {capacity}"
                )
            try:
                directory.mkdir(parents=True, exist_ok=True)
                _remove_temporaries(directory)
                write_atomically(directory / name, data, mode=0o644)  # a CA certificate is public
            except OSError as exc:
                raise CertificateStoreError(f"cannot store certificate in {directory}: {exc}") from exc
        entry = InstalledCertificate(use, directory / name, certificate)
        log.info(
            "certificate installed type=%s subject=%s serial=%x",
            use.value,
            certificate.subject.rfc4514_string(),
            certificate.serial_number,
        )
        return entry

    def hash_data(
        self,
        entry: InstalledCertificate,
        algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        *,
        among: list[InstalledCertificate] | None = None,
    ) -> CertificateHashData:
        """The hash data of an installed certificate (`among`: the installed ones, if already listed).

        The issuer's key is the certificate's own for a root, else that of the installed certificate that
        signed it. A CA certificate whose issuer is not installed uses its own key: wrong by the letter,
        but stable, so what GetInstalledCertificateIds reports is what DeleteCertificate finds."""
        candidates = [e.certificate for e in (self.installed() if among is None else among)]
        issuer = find_issuer(entry.certificate, candidates) or entry.certificate
        return hash_data(entry.certificate, issuer, algorithm)

    def find(self, wanted: CertificateHashData) -> InstalledCertificate | None:
        """The installed certificate with this hash data, computed with the algorithm it names."""
        installed = self.installed()
        for entry in installed:
            if self.hash_data(entry, wanted.algorithm, among=installed).matches(wanted):
                return entry
        return None

    def delete(self, entry: InstalledCertificate) -> None:
        """Remove an installed certificate for good; CertificateStoreError if the file system refuses."""
        with self._lock:
            try:
                entry.path.unlink()
                fsync_directory(entry.path.parent)
            except OSError as exc:
                raise CertificateStoreError(f"cannot delete {entry.path}: {exc}") from exc
        log.info(
            "certificate deleted type=%s subject=%s serial=%x",
            entry.use.value,
            entry.certificate.subject.rfc4514_string(),
            entry.certificate.serial_number,
        )


def _is_certificate_file(name: str) -> bool:
    return name.endswith(".pem") and not name.startswith(".")


def _remove_temporaries(directory: Path) -> None:
    """What a crash between creating a temporary file and renaming it left behind."""
    for leftover in directory.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()

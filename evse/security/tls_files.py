"""The TLS files the YAML names (csms.ca_file, client_cert, client_key), checked before they are used.

`evse check-config` and the daemon's start-up run the same checks, so a technician learns about a missing,
unparseable or mismatched file from one line that names it, not from a bare `[Errno 2]` at the first
connection attempt. Pure apart from reading the files; the clock is passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

from evse.config import CsmsSection, Settings
from evse.errors import ConfigError
from evse.security.paths import station_chain_path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsFileProblem:
    """One thing wrong with one TLS file, phrased for a technician.

    ``unusable`` problems (missing, unreadable, not PEM, key not matching) can never work and stop the
    daemon's start-up. The others depend on the clock (a board without RTC boots in 1970 until NTP answers)
    or on the CSMS's policy (the CN), so the daemon only logs them and still charges offline; check-config
    reports every problem.
    """

    key: str
    path: Path
    problem: str
    unusable: bool

    def line(self, source: str) -> str:
        return f"{source}: {self.key}: {self.path}: {self.problem}"


class _Unusable(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _Unusable("no such file") from None
    except IsADirectoryError:
        raise _Unusable("is a directory, not a file") from None
    except OSError as exc:
        raise _Unusable(f"cannot read: {exc.strerror}") from None


def _certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path)
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise _Unusable("not a PEM certificate (expected -----BEGIN CERTIFICATE-----)") from None


def _private_key(path: Path) -> PrivateKeyTypes:
    data = _read(path)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise _Unusable("the key is encrypted and the station has no passphrase for it") from None
    except (ValueError, UnsupportedAlgorithm):
        raise _Unusable("not a PEM private key (expected -----BEGIN ... PRIVATE KEY-----)") from None


def _common_name(cert: x509.Certificate) -> str | None:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return None
    value = names[0].value
    return value if isinstance(value, str) else value.decode(errors="replace")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _validity(key: str, path: Path, certs: list[x509.Certificate], now: datetime) -> list[TlsFileProblem]:
    problems = []
    for index, cert in enumerate(certs):
        # In a bundle the position tells which certificate is meant; the CN tells a human which one that is.
        which = f"certificate {index + 1} of {len(certs)} " if len(certs) > 1 else ""
        common_name = _common_name(cert)
        name = f"(CN={common_name}) " if common_name is not None else f"(subject {cert.subject.rfc4514_string()}) "
        if now > cert.not_valid_after_utc:
            problem = f"{which}{name}expired on {_stamp(cert.not_valid_after_utc)}"
        elif now < cert.not_valid_before_utc:
            problem = f"{which}{name}not valid before {_stamp(cert.not_valid_before_utc)}"
        else:
            continue
        problems.append(TlsFileProblem(key, path, problem, unusable=False))
    return problems


def _public_der(key: PrivateKeyTypes | x509.Certificate) -> bytes:
    public = key.public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_tls_files(
    csms: CsmsSection, station_id: str, now: datetime, state_dir: Path | None = None
) -> list[TlsFileProblem]:
    """Every problem with the TLS files ``csms`` names, in the order ca_file, client_cert, client_key.
    Profile 3 without a client_cert needs a station certificate installed in ``state_dir``.

    A file that is named is checked whatever the security profile: a SetNetworkProfile may move the
    station to profile 2 or 3 later, and then the file had better work.
    """
    problems: list[TlsFileProblem] = []
    leaf: x509.Certificate | None = None
    if csms.security_profile == 3 and csms.client_cert is None:
        installed = station_chain_path(state_dir) if state_dir is not None else None
        if installed is None or not installed.exists():
            problems.append(
                TlsFileProblem(
                    "csms.client_cert",
                    installed or Path("state_dir"),
                    "security_profile 3 needs client_cert and client_key, or a station certificate installed"
                    " with `evse certs install`",
                    unusable=True,
                )
            )
    if csms.ca_file is not None:
        try:
            problems += _validity("csms.ca_file", csms.ca_file, _certificates(csms.ca_file), now)
        except _Unusable as exc:
            problems.append(TlsFileProblem("csms.ca_file", csms.ca_file, exc.problem, unusable=True))
    if csms.client_cert is not None:
        try:
            chain = _certificates(csms.client_cert)
        except _Unusable as exc:
            problems.append(TlsFileProblem("csms.client_cert", csms.client_cert, exc.problem, unusable=True))
        else:
            leaf = chain[0]  # TLS sends the file's first certificate as the station's own
            problems += _validity("csms.client_cert", csms.client_cert, chain, now)
            common_name = _common_name(leaf)
            if common_name != station_id:
                # The CSMS identifies the station by this CN and refuses a certificate issued to another one.
                got = "has no subject CN" if common_name is None else f"subject CN {common_name!r}"
                problems.append(
                    TlsFileProblem(
                        "csms.client_cert",
                        csms.client_cert,
                        f"{got}, not the station id {station_id!r}",
                        unusable=False,
                    )
                )
    if csms.client_key is not None:
        try:
            key = _private_key(csms.client_key)
        except _Unusable as exc:
            problems.append(TlsFileProblem("csms.client_key", csms.client_key, exc.problem, unusable=True))
        else:
            if leaf is not None and _public_der(key) != _public_der(leaf):
                problems.append(
                    TlsFileProblem(
                        "csms.client_key",
                        csms.client_key,
                        f"does not match the certificate in {csms.client_cert}",
                        unusable=True,
                    )
                )
    return problems


def check_tls_at_start(settings: Settings, now: datetime, source: str) -> None:
    """The daemon's start-up check: ConfigError (one line) for an unusable file, a warning for the rest."""
    problems = check_tls_files(settings.csms, settings.station.id, now, settings.state_dir)
    for problem in problems:
        if problem.unusable:
            raise ConfigError(problem.line(source))
    for problem in problems:
        log.warning("tls file problem: %s", problem.line(source))


def valid_certificate_in(paths: list[Path], now: datetime) -> bool:
    """Whether any of the PEM files holds a certificate valid at `now` (A05.FR.02/03: "a valid
    certificate installed"); unreadable files count as holding none."""
    for path in paths:
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError):
            continue
        if any(c.not_valid_before_utc <= now <= c.not_valid_after_utc for c in certs):
            return True
    return False


def leaf_expiry(path: Path) -> datetime | None:
    """When the first certificate of a PEM file expires; None when it cannot be read."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0].not_valid_after_utc
    except (OSError, ValueError):
        return None

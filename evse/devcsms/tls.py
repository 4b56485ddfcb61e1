"""Certificates for ``evse dev-csms --tls``: a throw-away CA and a server certificate for localhost.

Development only: a newcomer points a station's ``csms.ca_file`` at the CA written here and sees security
profile 2 (or 3, with the station certificate also issued here) run on one machine. Never a production PKI.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write(self, cert_path: Path, key_path: Path) -> None:
        cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Created 0600, never widened afterwards: a key readable by others for an instant is already out.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "evse dev-csms"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    is_ca: bool = False,
    hosts: tuple[str, ...] = (),
    client: bool = False,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> Issued:
    """An ECDSA P-256 certificate for ``common_name``, self-signed when ``issuer`` is None.

    ``hosts`` become subjectAltNames (IP addresses or DNS names), which is what TLS host name checks read.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if is_ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
        purpose = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.ExtendedKeyUsage([purpose]), critical=False
        )
    if hosts:
        names: list[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


@dataclass(frozen=True)
class DevPki:
    """The files ``evse dev-csms --tls`` serves with and a station trusts."""

    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    def station_cert(self, station_id: str) -> Path:
        return self.directory / f"station-{station_id}.pem"

    def station_key(self, station_id: str) -> Path:
        return self.directory / f"station-{station_id}-key.pem"

    def create(self, hosts: tuple[str, ...], station_ids: tuple[str, ...] = ()) -> None:
        """Write a fresh CA, a server certificate for ``hosts`` and a client certificate per station id."""
        self.directory.mkdir(parents=True, exist_ok=True)
        ca = issue("evse dev-csms CA", is_ca=True)
        ca.write(self.ca_file, self.directory / "ca-key.pem")
        issue(hosts[0], issuer=ca, hosts=hosts).write(self.server_cert, self.server_key)
        for station_id in station_ids:
            # CN = station identity: what a CSMS checks a profile 3 client certificate against.
            issue(station_id, issuer=ca, client=True).write(self.station_cert(station_id), self.station_key(station_id))

    def server_context(self) -> ssl.SSLContext:
        """TLS 1.2+ server context; a client certificate from this CA is asked for but not required.

        Optional so that the one server accepts profile 2 (no client certificate) and profile 3 alike.
        """
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.server_cert, self.server_key)
        context.load_verify_locations(self.ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        return context

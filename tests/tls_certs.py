"""A throw-away PKI for tests: CAs, CSMS server and station client certificates made with `cryptography`,
written as PEM files, plus the server-side SSLContext a test CSMS listens with.

Keys are ECDSA P-256 unless a test asks for RSA (the spec's TLS_RSA_* suites need an RSA server key).
Every certificate is valid from an hour ago for a day unless the test says otherwise, so an expired or
not-yet-valid certificate is one argument away.

    pki = TestPki(tmp_path)
    root = pki.ca("CSMS Root")
    server = root.issue_server()                    # SAN 127.0.0.1: what the URL of a loopback test names
    station = pki.ca("Station CA").issue_client("CS001")
    ctx = server_context(server, client_ca=station_ca)
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

LOOPBACK = "127.0.0.1"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_key(key_type: KeyType = "ec") -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str = "Test PKI") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_pem(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass(frozen=True)
class Issued:
    """A leaf certificate, its key and the PEM files a context loads them from."""

    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path
    key_path: Path


class CertificateAuthority:
    """A self-signed root that issues server and client certificates into `directory`."""

    def __init__(
        self,
        directory: Path,
        common_name: str,
        *,
        key_type: KeyType = "ec",
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> None:
        self.directory = directory
        self.common_name = common_name
        self.key_type = key_type
        self.key = new_key(key_type)
        self._serial = 1
        self.slug = slug = common_name.lower().replace(" ", "-")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or _now() - datetime.timedelta(days=1))
            .not_valid_after(not_after or _now() + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.path = _write_pem(directory / f"{slug}.pem", self.cert.public_bytes(serialization.Encoding.PEM))

    def _issue(
        self,
        slug: str,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        san: list[x509.GeneralName] | None,
        key_type: KeyType | None,
        not_before: datetime.datetime | None,
        not_after: datetime.datetime | None,
    ) -> Issued:
        key = new_key(key_type or self.key_type)
        self._serial += 1
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or _now() - datetime.timedelta(hours=1))
            .not_valid_after(not_after or _now() + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_path = _write_pem(
            self.directory / f"{self.slug}-{slug}-{self._serial}.crt", cert.public_bytes(serialization.Encoding.PEM)
        )
        key_path = _write_pem(self.directory / f"{self.slug}-{slug}-{self._serial}.key", _key_pem(key), mode=0o600)
        return Issued(cert, key, cert_path, key_path)

    def issue_server(
        self,
        hosts: tuple[str, ...] = (LOOPBACK,),
        *,
        key_type: KeyType | None = None,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Issued:
        """A CSMS certificate naming `hosts` (IP addresses or DNS names) in its subjectAltName."""
        san: list[x509.GeneralName] = []
        for host in hosts:
            try:
                san.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                san.append(x509.DNSName(host))
        return self._issue(
            "server", _name(hosts[0]), ExtendedKeyUsageOID.SERVER_AUTH, san, key_type, not_before, not_after
        )

    def issue_client(
        self,
        station_id: str,
        *,
        organization: str = "Test CPO",
        key_type: KeyType | None = None,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Issued:
        """A Charging Station certificate: CN = station identity, O = the operator (OCPP Part 2 A00)."""
        return self._issue(
            f"client-{station_id}",
            _name(station_id, organization),
            ExtendedKeyUsageOID.CLIENT_AUTH,
            None,
            key_type,
            not_before,
            not_after,
        )


class TestPki:
    """Makes CAs under one directory; each CA writes its own and its leaves' PEM files there."""

    __test__ = False  # a helper, not a pytest test class

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ca(self, common_name: str = "Test CSMS Root", **kwargs: object) -> CertificateAuthority:
        return CertificateAuthority(self.directory, common_name, **kwargs)  # type: ignore[arg-type]


def server_context(
    server: Issued,
    *,
    client_ca: CertificateAuthority | None = None,
    minimum_version: ssl.TLSVersion | None = None,
    maximum_version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    """The SSLContext a test CSMS serves with; `client_ca` turns on mutual TLS (client cert required)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server.cert_path, server.key_path)
    if minimum_version is not None:
        context.minimum_version = minimum_version
    if maximum_version is not None:
        context.maximum_version = maximum_version
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca.path)
    return context

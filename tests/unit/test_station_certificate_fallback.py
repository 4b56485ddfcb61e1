"""The station certificate's fallback (A02: nothing bricks a station remotely), on real files in a
temporary state_dir: the certificate in use is kept until the new one has connected once."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from evse.security.csr import new_station_csr
from evse.security.keys import FileKeyStore
from evse.security.station_certificate import StationCertificate
from tests.csr_signing import sign_csr
from tests.tls_certs import CertificateAuthority, TestPki

NOW = datetime.datetime.now(datetime.UTC)


def signed(own: StationCertificate, ca: CertificateAuthority) -> list[x509.Certificate]:
    csr = x509.load_pem_x509_csr(new_station_csr(own.keys, "CS001", "EvseStack").encode())
    return own.check(sign_csr(ca, csr).public_bytes(Encoding.PEM).decode(), [ca.cert], NOW)


def test_a_refused_second_certificate_reverts_to_the_first(tmp_path: Path) -> None:
    own = StationCertificate(tmp_path, FileKeyStore(tmp_path))
    ca = TestPki(tmp_path / "pki").ca()
    first = signed(own, ca)
    own.accept(first)
    assert own.unproven() and own.previous_tls_files() is None  # nothing before it: the YAML's is the fallback
    own.proven()
    assert not own.unproven()
    second = signed(own, ca)
    own.accept(second)
    assert own.unproven() and own.certificate() == second[0]
    assert own.previous_tls_files() is not None
    own.revert()
    assert own.certificate() == first[0]  # chain and key both back: they match
    assert not own.unproven() and own.previous_tls_files() is None


def test_reverting_the_first_certificate_leaves_the_factory_one(tmp_path: Path) -> None:
    own = StationCertificate(tmp_path, FileKeyStore(tmp_path))
    ca = TestPki(tmp_path / "pki").ca()
    own.accept(signed(own, ca))
    own.revert()
    assert own.certificate() is None and own.tls_files() is None

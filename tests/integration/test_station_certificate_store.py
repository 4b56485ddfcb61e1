"""evse.security.station_certificate on real files: what TLS loads after an accepted chain, and after a crash
between storing the chain and moving its key."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509

from evse.security.csr import new_station_csr
from evse.security.keys import PENDING, FileKeyStore
from evse.security.station_certificate import StationCertificate
from tests.csr_signing import pem, sign_csr
from tests.tls_certs import TestPki

NOW = datetime.datetime.now(datetime.UTC)


def test_accepted_chain_and_key_are_what_tls_loads(tmp_path: Path) -> None:
    root = TestPki(tmp_path / "pki").ca("CSMS Root")
    store = StationCertificate(tmp_path / "state", FileKeyStore(tmp_path / "state"))
    assert store.tls_files() is None  # nothing stored: the YAML's client certificate is used
    csr = x509.load_pem_x509_csr(new_station_csr(store.keys, "CS001", "Org").encode())
    issued = sign_csr(root, csr)
    store.accept(store.check(pem(issued), [root.cert], NOW))
    files = store.tls_files()
    assert files is not None
    chain_file, key_file = files
    assert x509.load_pem_x509_certificates(chain_file.read_bytes()) == [issued]
    assert key_file == tmp_path / "state" / "keys" / "station.key"
    assert store.keys.public_key(PENDING) is None


def test_chain_without_its_key_falls_back_to_the_factory_certificate(tmp_path: Path) -> None:
    """A crash after the chain was written but before the key moved: the chain does not match the station
    key, so TLS keeps the YAML's certificate rather than a pair that cannot handshake."""
    root = TestPki(tmp_path / "pki").ca("CSMS Root")
    store = StationCertificate(tmp_path / "state", FileKeyStore(tmp_path / "state"))
    csr = x509.load_pem_x509_csr(new_station_csr(store.keys, "CS001", "Org").encode())
    issued = sign_csr(root, csr)
    store.chain_path.parent.mkdir(parents=True)
    store.chain_path.write_text(pem(issued))
    assert store.certificate() is None
    assert store.tls_files() is None

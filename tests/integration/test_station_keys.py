"""The station's key store (evse.security.keys): keys made on the station, files 0600 in state_dir/keys,
never in a log line (OCPP 2.0.1 A02.FR.05; issue 9, section 1 "Private keys")."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evse.security.keys import PENDING, STATION, FileKeyStore, KeyStore, KeyStoreError


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0: a file is then only private if it was created with a private mode, not by luck of umask."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_generated_key_is_p256_in_a_private_file(tmp_path: Path, permissive_umask: None) -> None:
    store: KeyStore = FileKeyStore(tmp_path)
    public = store.generate(PENDING)
    assert isinstance(public.curve, ec.SECP256R1)
    path = tmp_path / "keys" / "pending.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.public_key(PENDING) == public
    assert [p.name for p in path.parent.iterdir()] == ["pending.key"]  # no temporary file left behind


def test_regenerating_replaces_the_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    first = store.generate(PENDING)
    second = store.generate(PENDING)
    assert first != second
    assert store.public_key(PENDING) == second


def test_csr_is_signed_by_the_stored_key(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    public = store.generate(PENDING)
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CS001")])
    )
    csr = store.sign_csr(PENDING, builder)
    assert csr.is_signature_valid
    assert csr.public_key() == public


def test_rename_moves_the_key_and_keeps_it_private(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    public = store.generate(PENDING)
    store.rename(PENDING, STATION)
    assert store.public_key(PENDING) is None
    assert store.public_key(STATION) == public
    assert stat.S_IMODE(store.tls_key_file(STATION).stat().st_mode) == 0o600


def test_missing_key_and_bad_names_are_refused(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path)
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    with pytest.raises(KeyStoreError, match="no key pending"):
        store.sign_csr(PENDING, builder)
    with pytest.raises(KeyStoreError, match="invalid key name"):
        store.generate("../escape")


def test_no_log_line_contains_the_key(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = FileKeyStore(tmp_path)
    store.generate(PENDING)
    store.sign_csr(PENDING, x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])))
    store.rename(PENDING, STATION)
    pem = store.tls_key_file(STATION).read_text()
    body = "".join(pem.splitlines()[1:-1])
    assert caplog.records, "the store logs what it does"
    for record in caplog.records:
        line = record.getMessage()
        assert "PRIVATE KEY" not in line
        assert not any(chunk in line for chunk in (body[i : i + 16] for i in range(0, len(body) - 16, 16)))

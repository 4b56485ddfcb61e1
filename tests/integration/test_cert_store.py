"""The certificate store on real files: what InstallCertificate refuses (M05.FR.06, M05.FR.07), atomic
writes (a crash mid-write loses nothing), hash data and deletion."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from evse.security.cert_store import (
    CertificateRejected,
    CertificateStore,
    CertificateStoreError,
    CertificateUse,
    InstalledCertificate,
)
from evse.security.hash_data import HashAlgorithm
from tests.cert_factory import make_certificate, reference_hash_data

NOW = datetime.now(UTC)


def as_dict(
    store: CertificateStore, entry: InstalledCertificate, algorithm: HashAlgorithm = HashAlgorithm.SHA256
) -> dict[str, str]:
    data = store.hash_data(entry, algorithm)
    return {
        "hash_algorithm": data.algorithm.value,
        "issuer_name_hash": data.issuer_name_hash,
        "issuer_key_hash": data.issuer_key_hash,
        "serial_number": data.serial_number,
    }


def test_install_writes_one_pem_per_certificate_in_its_type_directory(tmp_path: Path) -> None:
    store = CertificateStore(tmp_path)
    root = make_certificate("CSMS Root")
    entry = store.install(CertificateUse.CSMS_ROOT, root.pem, now=NOW, capacity=5)
    assert entry.path.parent == tmp_path / "certs" / "csms_roots"
    assert entry.path.read_text() == root.pem
    # The same certificate again is no second entry.
    store.install(CertificateUse.CSMS_ROOT, root.pem, now=NOW, capacity=5)
    store.install(CertificateUse.MANUFACTURER_ROOT, make_certificate("Maker").pem, now=NOW, capacity=5)
    assert [(e.use, e.certificate) for e in store.installed([CertificateUse.CSMS_ROOT])] == [
        (CertificateUse.CSMS_ROOT, root.certificate)
    ]
    assert store.count() == 2
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == ["csms_roots", "manufacturer_roots"]


def test_reading_an_empty_state_dir_creates_nothing(tmp_path: Path) -> None:
    store = CertificateStore(tmp_path)
    assert store.installed() == [] and store.count() == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("pem", "why"),
    [
        ("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", "not a PEM"),
        ("hello", "not a PEM"),
        (make_certificate("Leaf", ca=False).pem, "not a CA"),
        (make_certificate("Old", valid_from=NOW - timedelta(days=30), valid_days=10).pem, "expired"),
        (make_certificate("Future", valid_from=NOW + timedelta(days=1)).pem, "not valid before"),
        (make_certificate("A").pem + make_certificate("B").pem, "2 certificates"),
    ],
)
def test_M05_FR_07_invalid_certificates_are_rejected(tmp_path: Path, pem: str, why: str) -> None:
    store = CertificateStore(tmp_path)
    with pytest.raises(CertificateRejected) as refused:
        store.install(CertificateUse.CSMS_ROOT, pem, now=NOW, capacity=5)
    assert refused.value.reason == "InvalidCertificate"
    assert why in refused.value.detail
    assert store.count() == 0


def test_M05_FR_06_no_install_beyond_the_capacity(tmp_path: Path) -> None:
    store = CertificateStore(tmp_path)
    first, second = make_certificate("One"), make_certificate("Two")
    store.install(CertificateUse.V2G_ROOT, first.pem, now=NOW, capacity=1)
    with pytest.raises(CertificateRejected) as refused:
        store.install(CertificateUse.MO_ROOT, second.pem, now=NOW, capacity=1)
    assert refused.value.reason == "OutOfStorage"
    # Re-installing what is there needs no room.
    store.install(CertificateUse.V2G_ROOT, first.pem, now=NOW, capacity=1)
    assert store.count() == 1


def test_a_crash_before_the_rename_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fails while the new file is being made durable: the installed certificate is intact,
    no partial certificate is ever listed, and the next install sweeps the temporary file away."""
    store = CertificateStore(tmp_path)
    kept = store.install(CertificateUse.CSMS_ROOT, make_certificate("Kept").pem, now=NOW, capacity=5)
    directory = kept.path.parent
    # What a power loss between write and rename leaves: a hidden, half-written temporary file.
    (directory / f".{'ab' * 32}.pem.x1.tmp").write_text("-----BEGIN CERTIFICATE-----\nMIIB")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", failing_fsync)
        with pytest.raises(CertificateStoreError):
            store.install(CertificateUse.CSMS_ROOT, make_certificate("Lost").pem, now=NOW, capacity=5)
    assert [e.path for e in store.installed()] == [kept.path]
    assert kept.path.read_bytes() == kept.certificate.public_bytes(Encoding.PEM)
    assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []  # removed by the failed install
    (directory / ".left.pem.x2.tmp").write_text("partial")
    store.install(CertificateUse.CSMS_ROOT, make_certificate("Next").pem, now=NOW, capacity=5)
    assert sorted(p.name.endswith(".pem") for p in directory.iterdir()) == [True, True]


def test_M05_FR_03_storage_that_cannot_be_written_fails(tmp_path: Path) -> None:
    (tmp_path / "certs").write_text("a file where the directory should be")
    store = CertificateStore(tmp_path)
    with pytest.raises(CertificateStoreError):
        store.install(CertificateUse.CSMS_ROOT, make_certificate("Root").pem, now=NOW, capacity=5)
    assert store.installed() == []


def test_hash_data_uses_the_installed_issuer_and_find_deletes_by_it(tmp_path: Path) -> None:
    store = CertificateStore(tmp_path)
    root = make_certificate("Root")
    sub = make_certificate("Sub CA", issuer=root)
    store.install(CertificateUse.CSMS_ROOT, root.pem, now=NOW, capacity=5)
    sub_entry = store.install(CertificateUse.CSMS_ROOT, sub.pem, now=NOW, capacity=5)
    assert as_dict(store, sub_entry) == reference_hash_data(sub.certificate, root.certificate)
    assert as_dict(store, sub_entry, HashAlgorithm.SHA512) == reference_hash_data(
        sub.certificate, root.certificate, "SHA512"
    )
    wanted = store.hash_data(sub_entry, HashAlgorithm.SHA384)
    found = store.find(wanted)
    assert found is not None and found.path == sub_entry.path
    store.delete(found)
    assert not sub_entry.path.exists()
    assert store.find(wanted) is None
    assert [e.certificate for e in store.installed()] == [root.certificate]

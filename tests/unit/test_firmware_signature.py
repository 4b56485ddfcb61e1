"""The firmware signature check: signing certificate up to a manufacturer root, then RSA or ECDSA with
SHA-256 over the image (L01.FR.02/03, L01.FR.22). Images and keys are made here with `cryptography`."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evse.security.firmware_signature import (
    FirmwareSignatureInvalid,
    SigningCertificateInvalid,
    load_roots,
    verify_image_signature,
    verify_signing_certificate,
)
from tests.firmware_kit import KeyType, make_manufacturer, sim_image

NOW = datetime.now(UTC)


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
@pytest.mark.parametrize("intermediate", [False, True])
def test_a_genuine_image_verifies(tmp_path: Path, key_type: KeyType, intermediate: bool) -> None:
    maker = make_manufacturer(key_type, intermediate=intermediate)
    image = sim_image("2.0.0", 100_000)
    path = tmp_path / "fw.img"
    path.write_bytes(image)
    signer = verify_signing_certificate(maker.signing_pem, [maker.root], NOW)
    assert signer == maker.signer
    verify_image_signature(path, maker.sign(image), signer)


def test_one_changed_byte_fails_the_signature(tmp_path: Path) -> None:
    maker = make_manufacturer()
    image = sim_image("2.0.0", 10_000)
    signature = maker.sign(image)
    path = tmp_path / "fw.img"
    path.write_bytes(image[:-1] + bytes([image[-1] ^ 1]))
    with pytest.raises(FirmwareSignatureInvalid, match="does not match"):
        verify_image_signature(path, signature, maker.signer)


def test_a_signature_that_is_not_base64_is_invalid(tmp_path: Path) -> None:
    maker = make_manufacturer()
    path = tmp_path / "fw.img"
    path.write_bytes(b"x")
    with pytest.raises(FirmwareSignatureInvalid, match="base64"):
        verify_image_signature(path, "not base64 !", maker.signer)
    with pytest.raises(FirmwareSignatureInvalid):
        verify_image_signature(path, base64.b64encode(b"\x30\x00").decode(), maker.signer)


def test_a_signer_of_another_manufacturer_is_refused() -> None:
    ours, theirs = make_manufacturer(), make_manufacturer()
    with pytest.raises(SigningCertificateInvalid, match="no valid path to a manufacturer root"):
        verify_signing_certificate(theirs.signing_pem, [ours.root], NOW)


def test_no_installed_root_refuses_every_signer() -> None:
    with pytest.raises(SigningCertificateInvalid, match="no ManufacturerRootCertificate"):
        verify_signing_certificate(make_manufacturer().signing_pem, [], NOW)


def test_an_expired_signing_certificate_is_refused() -> None:
    maker = make_manufacturer(signer_valid_days=1)
    with pytest.raises(SigningCertificateInvalid, match="expired"):
        verify_signing_certificate(maker.signing_pem, [maker.root], NOW + timedelta(days=3))


def test_an_intermediate_left_out_breaks_the_chain() -> None:
    maker = make_manufacturer(intermediate=True)
    only_leaf = maker.signing_pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    with pytest.raises(SigningCertificateInvalid):
        verify_signing_certificate(only_leaf, [maker.root], NOW)


def test_garbage_is_not_a_certificate() -> None:
    with pytest.raises(SigningCertificateInvalid, match="not PEM"):
        verify_signing_certificate("hello", [make_manufacturer().root], NOW)


def test_roots_are_read_from_files_and_directories_and_a_bad_file_is_skipped(tmp_path: Path) -> None:
    a, b = make_manufacturer(), make_manufacturer()
    directory = tmp_path / "manufacturer_roots"
    directory.mkdir()
    (directory / "a.pem").write_text(a.root_pem)
    (directory / "broken.pem").write_text("not a certificate")
    factory = tmp_path / "factory.pem"
    factory.write_text(b.root_pem)
    roots = load_roots([directory, factory, tmp_path / "missing.pem"])
    assert roots == [a.root, b.root]

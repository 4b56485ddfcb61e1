"""certificateHashData (CertificateHashDataType, used by M03/M04) against values the test computes itself."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from evse.security.hash_data import CertificateHashData, HashAlgorithm, find_issuer, hash_data
from tests.cert_factory import make_certificate, reference_hash_data

ROOT = make_certificate("Test Root CA")
SUB = make_certificate("Test Sub CA", issuer=ROOT, serial=0x0ABC)


def as_dict(data: CertificateHashData) -> dict[str, str]:
    return {
        "hash_algorithm": data.algorithm.value,
        "issuer_name_hash": data.issuer_name_hash,
        "issuer_key_hash": data.issuer_key_hash,
        "serial_number": data.serial_number,
    }


@pytest.mark.parametrize("algorithm", list(HashAlgorithm))
def test_hash_data_equals_the_ocsp_cert_id(algorithm: HashAlgorithm) -> None:
    """issuerNameHash, issuerKeyHash and serialNumber are those of an OCSP CertID, for a root (its own key)
    and for a certificate signed by another, with each hash algorithm of HashAlgorithmEnumType."""
    assert as_dict(hash_data(ROOT.certificate, ROOT.certificate, algorithm)) == reference_hash_data(
        ROOT.certificate, ROOT.certificate, algorithm.value
    )
    assert as_dict(hash_data(SUB.certificate, ROOT.certificate, algorithm)) == reference_hash_data(
        SUB.certificate, ROOT.certificate, algorithm.value
    )


def test_hash_data_from_name_and_key_encodings() -> None:
    """The same values from the parsed objects: the issuer Name re-encoded as DER, and for an EC key the
    uncompressed point, which is the subjectPublicKey BIT STRING value; the serial without leading zeroes."""
    data = hash_data(SUB.certificate, ROOT.certificate)
    assert data.issuer_name_hash == hashlib.sha256(SUB.certificate.issuer.public_bytes()).hexdigest()
    point = ROOT.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert data.issuer_key_hash == hashlib.sha256(point).hexdigest()
    assert data.serial_number == "abc"


def test_matches_ignores_hex_case_and_leading_zeroes_but_not_the_algorithm() -> None:
    data = hash_data(SUB.certificate, ROOT.certificate)
    written = replace(data, issuer_name_hash=data.issuer_name_hash.upper(), serial_number="00ABC")
    assert data.matches(written)
    assert not data.matches(replace(data, serial_number="abd"))
    assert not data.matches(replace(data, issuer_key_hash="00" + data.issuer_key_hash[2:]))
    assert not data.matches(hash_data(SUB.certificate, ROOT.certificate, HashAlgorithm.SHA384))


def test_find_issuer_is_itself_for_a_root_and_the_signer_otherwise() -> None:
    other = make_certificate("Unrelated Root CA")
    assert find_issuer(ROOT.certificate, []) is ROOT.certificate
    assert find_issuer(SUB.certificate, [other.certificate, ROOT.certificate]) is ROOT.certificate
    assert find_issuer(SUB.certificate, [other.certificate]) is None
    impostor = make_certificate("Test Root CA")  # the issuer's name, another key: the signature tells
    assert find_issuer(SUB.certificate, [impostor.certificate]) is None

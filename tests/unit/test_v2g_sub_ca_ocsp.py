"""M06: which certificates of a V2G chain the station asks the OCSP status of, and with which data."""

from __future__ import annotations

from cryptography.hazmat.primitives.serialization import Encoding

from evse.security.v2g_chain import sub_ca_request_data
from tests.cert_factory import hash_data_fields, make_certificate, reference_hash_data

URL1, URL2 = "http://ocsp.root.example/", "http://ocsp.sub1.example/"


def test_every_sub_ca_in_chain_order_with_its_issuer_hashes_and_responder() -> None:
    """The leaf is not asked for; Sub-CA 2's issuer is Sub-CA 1 (in the chain), Sub-CA 1's the root
    (installed, not in the chain); the hashes are the OCSP CertID's, as the OCTT computes them."""
    root = make_certificate("V2G Root")
    sub1 = make_certificate("Sub-CA 1", issuer=root, ocsp_url=URL1)
    sub2 = make_certificate("Sub-CA 2", issuer=sub1, ocsp_url=URL2)
    leaf = make_certificate("SECC", ca=False, issuer=sub2, ocsp_url="http://ocsp.sub2.example/")
    entries = sub_ca_request_data(leaf.pem + sub2.pem + sub1.pem, [root.certificate])
    expected = [
        reference_hash_data(sub2.certificate, sub1.certificate),
        reference_hash_data(sub1.certificate, root.certificate),
    ]
    got = [hash_data_fields(e) for e in entries]
    assert got == expected
    assert [e.responder_url for e in entries] == [URL2, URL1]


def test_a_sub_ca_without_responder_or_known_issuer_is_left_out() -> None:
    """OCSPRequestDataType needs the issuer's key hash and a responderURL: without them nothing is asked."""
    root = make_certificate("V2G Root")
    sub1 = make_certificate("Sub-CA 1", issuer=root)  # no Authority Information Access
    sub2 = make_certificate("Sub-CA 2", issuer=sub1, ocsp_url=URL2)
    leaf = make_certificate("SECC", ca=False, issuer=sub2)
    chain = leaf.pem + sub2.pem + sub1.pem
    assert [e.serial_number for e in sub_ca_request_data(chain, [root.certificate])] == [
        format(sub2.certificate.serial_number, "x")
    ]
    lone = make_certificate("Sub-CA 1", issuer=make_certificate("Other Root"), ocsp_url=URL1)
    assert (
        sub_ca_request_data(leaf.pem + lone.certificate.public_bytes(Encoding.PEM).decode(), [root.certificate]) == []
    )

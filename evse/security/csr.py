"""The PKCS#10 certificate signing request for the station's own certificate (OCPP 2.0.1 A02.FR.03).

Subject as Part 2 A00 wants a Charging Station certificate: CN = the station identity, O =
SecurityCtrlr.OrganizationName. The key is made afresh on the station for every request (A02.FR.02)
and kept under keys.PENDING until a certificate for it arrives.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from evse.security.keys import PENDING, KeyStore


def station_subject(station_id: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, station_id),
        ]
    )


def new_station_csr(keys: KeyStore, station_id: str, organization: str) -> str:
    """A new pending key and the PEM CSR for it. Blocking (key file fsync): run it in a thread."""
    keys.generate(PENDING)
    builder = x509.CertificateSigningRequestBuilder().subject_name(station_subject(station_id, organization))
    return keys.sign_csr(PENDING, builder).public_bytes(Encoding.PEM).decode()

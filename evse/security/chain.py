"""Certificate path validation for every chain the station checks (CertificateSigned for its own and the V2G
certificate, firmware signing certificates), by `cryptography`'s X.509 verifier rather than a hand-written
walk: path building, each link's signature, validity at the given moment, CA constraints and depth.

Two extension profiles: the web PKI's for the station's TLS client certificate, and a private-PKI one for
manufacturer and ISO 15118 chains, whose leaves carry code-signing or ISO 15118 usages the web PKI defaults
would refuse; a CA there must still say it is one (basicConstraints).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from evse.errors import EvseError

MAX_DEPTH = 6  # intermediates between a leaf and its root, more than any OCPP or ISO 15118 PKI uses


class ChainInvalid(EvseError):
    """No valid path from the leaf to one of the roots; the message says why."""


#: The station's TLS client certificate: the web PKI's profile, with a subjectAltName optional (OCPP names
#: the station by its CN).
TLS_CLIENT = (
    ExtensionPolicy.webpki_defaults_ca(),
    ExtensionPolicy.webpki_defaults_ee().may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None),
)
#: Manufacturer (firmware signing) and ISO 15118 (V2G) chains.
PRIVATE_PKI = (
    ExtensionPolicy.permit_all().require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None),
    ExtensionPolicy.permit_all(),
)


def verify_path(
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
    profile: tuple[ExtensionPolicy, ExtensionPolicy] = PRIVATE_PKI,
) -> None:
    """Check that `chain` (leaf first, then any intermediates) leads to one of `roots` at the moment `at`."""
    if not roots:
        raise ChainInvalid("no root certificate to check it against")
    ca_policy, ee_policy = profile
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(at)
        .max_chain_depth(MAX_DEPTH)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        raise ChainInvalid(str(exc)) from None


def spki(item: x509.Certificate | x509.CertificateSigningRequest | CertificatePublicKeyTypes) -> bytes:
    """The DER SubjectPublicKeyInfo of a certificate's, a CSR's or a bare public key: equal bytes, same key."""
    key = item.public_key() if isinstance(item, x509.Certificate | x509.CertificateSigningRequest) else item
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)

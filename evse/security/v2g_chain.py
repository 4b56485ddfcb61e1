"""The V2G certificate chains of the station's ISO 15118 modules (A02/A03 with V2GCertificate, M03).

The key pair is made by the module, not the station: the key is the module's TLS key towards the EV,
so it is created where TLS runs and never crosses the CAN or serial bus (anyone on the bus could read
it; a real module may keep it in a secure element). The station relays the module's CSR to the CSMS
(SignCertificate), checks the CSMS's CertificateSigned chain against the CSR's key and the installed
V2G roots, keeps a copy (GetInstalledCertificateIds V2GCertificateChain, and to hand it again to a
module that lost it) and hands it to the module.

    <state_dir>/certs/v2g_chain/evse<N>.pem     the chain of EVSE N's module, leaf first
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

from drivers.interfaces import HashAlgorithm, OcspRequestData
from evse.security.atomic_file import write_atomically
from evse.security.cert_store import CertificateRejected, CertificateStoreError, parse_pem_certificates
from evse.security.chain import ChainInvalid, spki, verify_path
from evse.security.hash_data import find_issuer, hash_data

_FILE = re.compile(r"evse(\d+)\.pem")


@dataclass(frozen=True)
class CheckedChain:
    """A V2G chain that passed :func:`check_v2g_chain`: for whose module, and its certificates."""

    evse_id: int
    pem: str
    certificates: list[x509.Certificate]


def check_v2g_chain(
    chain_pem: str, pending_csrs: Mapping[int, str], roots: Sequence[x509.Certificate], now: datetime
) -> CheckedChain:
    """The chain and the EVSE whose pending CSR it answers; CertificateRejected (InvalidCertificate) when
    it is not PEM, answers no pending CSR, or has no valid path to an installed V2G root now."""
    chain = parse_pem_certificates(chain_pem, "PEM certificate chain")
    leaf = chain[0]
    subject = leaf.subject.rfc4514_string()
    evse_id = next(
        (evse for evse, csr in pending_csrs.items() if spki(x509.load_pem_x509_csr(csr.encode())) == spki(leaf)),
        None,
    )
    if evse_id is None:
        raise CertificateRejected("InvalidCertificate", f"{subject}: answers no pending V2G certificate request")
    try:
        verify_path(chain, roots, now)
    except ChainInvalid as exc:
        raise CertificateRejected("InvalidCertificate", f"{subject}: no path to an installed V2G root: {exc}") from None
    return CheckedChain(evse_id, chain_pem, chain)


def sub_ca_request_data(chain_pem: str, roots: Sequence[x509.Certificate]) -> list[OcspRequestData]:
    """M06: the OCSP request data of each Sub-CA certificate of a V2G chain (leaf first), in chain order.

    The Sub-CAs are what the module staples for the EV (the OCTT's TC_M_24 asks for them); each one's issuer
    is the next certificate of the chain or, for the last, an installed V2G root. A Sub-CA without an OCSP
    responder (Authority Information Access) or whose issuer the station does not hold is left out: OCPP's
    OCSPRequestDataType needs both. Raises ValueError for a chain that is not PEM.
    """
    chain = x509.load_pem_x509_certificates(chain_pem.encode())
    entries: list[OcspRequestData] = []
    for index, certificate in enumerate(chain[1:], start=1):
        issuer = find_issuer(certificate, [*chain[index + 1 :], *roots])
        responder = ocsp_responder(certificate)
        if issuer is None or responder is None:
            continue
        names = hash_data(certificate, issuer)
        entries.append(
            OcspRequestData(
                HashAlgorithm.SHA256, names.issuer_name_hash, names.issuer_key_hash, names.serial_number, responder
            )
        )
    return entries


def ocsp_responder(certificate: x509.Certificate) -> str | None:
    """The certificate's first OCSP responder URL (Authority Information Access), if it names one that
    fits OCPP's responderURL (512 characters)."""
    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        if description.access_method == x509.oid.AuthorityInformationAccessOID.OCSP:
            url = str(description.access_location.value)
            return url if len(url) <= 512 else None
    return None


class V2gChainStore:
    """One PEM file per EVSE, written atomically (a crash leaves the old chain or the new one)."""

    def __init__(self, state_dir: Path) -> None:
        self.directory = state_dir / "certs" / "v2g_chain"

    def save(self, evse_id: int, chain_pem: str) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            write_atomically(self.directory / f"evse{evse_id}.pem", chain_pem.encode(), mode=0o644)
        except OSError as exc:
            raise CertificateStoreError(f"V2G chain not stored: {exc}") from exc

    def load_all(self) -> dict[int, str]:
        """The stored chains by EVSE id (unreadable files are skipped: the module then asks again)."""
        chains: dict[int, str] = {}
        if not self.directory.is_dir():
            return chains
        for path in sorted(self.directory.iterdir()):
            match = _FILE.fullmatch(path.name)
            if match is not None:
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    chains[int(match.group(1))] = path.read_text()
        return chains

    def chains(self) -> list[list[x509.Certificate]]:
        """The stored chains parsed, leaf first (for GetInstalledCertificateIds)."""
        parsed: list[list[x509.Certificate]] = []
        for pem in self.load_all().values():
            with contextlib.suppress(ValueError):
                parsed.append(x509.load_pem_x509_certificates(pem.encode()))
        return parsed

"""Factory provisioning of the station's own certificate, for `evse certs csr` and `evse certs install`:
at the end of the production line the key is made on the station (it never leaves it), its CSR goes to
the manufacturer's or operator's CA, and the signed chain comes back to be installed as the
ChargingStationCertificate - the same files and checks as A02 over OCPP, without a CSMS.

Run them before the daemon starts: both use the key store's pending key, which a SignCertificate the
daemon makes at the same time would replace.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography import x509

from evse.errors import ConfigError
from evse.security.cert_store import CertificateRejected
from evse.security.csr import new_station_csr
from evse.security.keys import FileKeyStore
from evse.security.station_certificate import StationCertificate
from evse.security.tls import csms_root_files


def factory_csr(state_dir: Path, station_id: str, organization: str) -> str:
    """A new pending key in state_dir and the PEM CSR for it (CN = station id, O = organization)."""
    return new_station_csr(FileKeyStore(state_dir), station_id, organization)


def install_signed(state_dir: Path, chain_pem: str, roots: list[Path], now: datetime) -> x509.Certificate:
    """Check the chain as CertificateSigned would (the pending key, validity, a path to one of `roots`)
    and install it; ConfigError with one line when it cannot be."""
    own = StationCertificate(state_dir, FileKeyStore(state_dir))
    trusted: list[x509.Certificate] = []
    for path in roots:
        try:
            trusted += x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a readable PEM certificate: {exc}") from None
    try:
        chain = own.check(chain_pem, trusted, now)
    except CertificateRejected as exc:
        raise ConfigError(f"certificate refused: {exc.detail}") from None
    own.accept(chain)
    own.proven()  # installed by hand at the factory: there is no older one to come back to
    return chain[0]


def trusted_roots(ca_file: Path | None, state_dir: Path, extra: Path | None) -> list[Path]:
    """The roots a factory chain must lead to: `extra` when given, else the station's CSMS roots."""
    from evse.security.cert_store import CertificateStore, CertificateUse

    if extra is not None:
        return [extra]
    return csms_root_files(ca_file, CertificateStore(state_dir).directory(CertificateUse.CSMS_ROOT))

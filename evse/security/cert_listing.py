"""What `evse certs list` prints: the installed CA certificates of a state_dir, for a technician."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evse.security.cert_store import CertificateStore


def certificate_rows(store: CertificateStore, now: datetime) -> list[dict[str, Any]]:
    """One row per installed certificate: type, subject, validity and the SHA-256 hash data the CSMS sees."""
    installed = store.installed()
    rows = []
    for entry in installed:
        certificate = entry.certificate
        start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        data = store.hash_data(entry, among=installed)
        rows.append(
            {
                "type": entry.use.value,
                "subject": certificate.subject.rfc4514_string(),
                "not_before": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "expires": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "state": "expired" if now > end else "not yet valid" if now < start else "valid",
                "file": str(entry.path),
                "hash_algorithm": data.algorithm.value,
                "issuer_name_hash": data.issuer_name_hash,
                "issuer_key_hash": data.issuer_key_hash,
                "serial_number": data.serial_number,
            }
        )
    return rows


def listing_lines(rows: list[dict[str, Any]], store: CertificateStore) -> list[str]:
    if not rows:
        return [f"no certificates installed in {store.root}"]
    lines = []
    for row in rows:
        lines += [
            f"{row['type']}  {row['subject']}",
            f"  expires {row['expires']} ({row['state']})  file {row['file']}",
            f"  {row['hash_algorithm']} issuerNameHash={row['issuer_name_hash']}"
            f" issuerKeyHash={row['issuer_key_hash']} serialNumber={row['serial_number']}",
        ]
    return lines

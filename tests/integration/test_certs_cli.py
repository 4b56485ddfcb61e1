"""`evse certs list`: what a technician sees of the installed certificates, read from state_dir while the
daemon runs (a real daemon process, the certificate installed by the dev CSMS)."""

from __future__ import annotations

import json
from pathlib import Path

from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.cert_factory import make_certificate, reference_hash_data
from tests.integration.conftest import STATION_ID
from tests.integration.test_cli import evse, start_daemon, stop_daemon, write_config


def test_certs_list_without_certificates_creates_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, 9000)
    result = evse("certs", "list", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("no certificates installed in ")
    assert not (tmp_path / "state").exists()


async def test_certs_list_shows_what_the_csms_installed_while_the_daemon_runs(csms: DevCsms, tmp_path: Path) -> None:
    config = write_config(tmp_path, csms.port)
    proc = await start_daemon(config)
    try:
        await csms.wait_for("BootNotification", timeout=20)
        root = make_certificate("Technician Visible Root")
        result = await csms.call(
            STATION_ID, call.InstallCertificate(certificate_type="ManufacturerRootCertificate", certificate=root.pem)
        )
        assert result.status == "Accepted"
        listing = evse("certs", "list", "--config", str(config))
        assert listing.returncode == 0, listing.stderr
        expected = reference_hash_data(root.certificate, root.certificate)
        lines = listing.stdout.splitlines()
        assert lines[0] == "ManufacturerRootCertificate  CN=Technician Visible Root"
        expires = root.certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert lines[1].startswith(f"  expires {expires} (valid)")
        assert lines[2] == (
            f"  SHA256 issuerNameHash={expected['issuer_name_hash']} issuerKeyHash={expected['issuer_key_hash']}"
            f" serialNumber={expected['serial_number']}"
        )
        rows = json.loads(evse("certs", "list", "--json", "--config", str(config)).stdout)
        assert [(r["type"], r["serial_number"]) for r in rows] == [
            ("ManufacturerRootCertificate", expected["serial_number"])
        ]
    finally:
        assert await stop_daemon(proc) == 0

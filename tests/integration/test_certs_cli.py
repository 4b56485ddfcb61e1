"""`evse certs list`: what a technician sees of the installed certificates, read from state_dir while the
daemon runs (a real daemon process, the certificate installed by the dev CSMS)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.cert_factory import make_certificate, reference_hash_data
from tests.csr_signing import sign_csr
from tests.integration.conftest import STATION_ID
from tests.integration.test_cli import evse, start_daemon, stop_daemon, write_config
from tests.tls_certs import CertificateAuthority, TestPki, server_context


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


async def test_factory_provisioning_csr_install_then_profile_3(tmp_path: Path) -> None:
    """`evse certs csr` makes the station key on the station (0600, in no output) and prints a CSR with
    CN = station identity and O = SecurityCtrlr.OrganizationName; the chain the factory CA signs for it is
    installed by `evse certs install`; a profile 3 station with no client_cert in its YAML then presents
    that certificate to a CSMS that requires it (a real daemon process, a real TLS server)."""
    pki = TestPki(tmp_path / "pki")
    factory_ca = pki.ca("Factory CA")
    config = write_config(tmp_path, 9000, device_model={"SecurityCtrlr.OrganizationName": "Acme Charging"})
    made = evse("certs", "csr", "--config", str(config))
    assert made.returncode == 0, made.stderr
    csr = x509.load_pem_x509_csr(made.stdout.encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION_ID
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme Charging"
    key_file = tmp_path / "state" / "keys" / "pending.key"
    assert key_file.stat().st_mode & 0o077 == 0
    assert "PRIVATE KEY" not in made.stdout + made.stderr

    def install(chain: Path) -> subprocess.CompletedProcess[str]:
        return evse("certs", "install", str(chain), "--config", str(config), "--ca", str(factory_ca.path))

    stray = pki.ca("Stray CA")
    refused = install(_chain(tmp_path, stray, csr))
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: certificate refused: ") and len(refused.stderr.splitlines()) == 1
    installed = install(_chain(tmp_path, factory_ca, csr))
    assert installed.returncode == 0, installed.stderr
    assert f"CN={STATION_ID}" in installed.stdout
    again = install(_chain(tmp_path, factory_ca, csr))
    assert again.returncode == 2 and "no certificate signing request is pending" in again.stderr

    csms = DevCsms(boot_interval=300)
    await csms.start(ssl=server_context(factory_ca.issue_server(), client_ca=factory_ca))
    try:
        tls = {"url": f"wss://127.0.0.1:{csms.port}/ocpp", "security_profile": 3, "ca_file": str(factory_ca.path)}
        config = write_config(
            tmp_path, csms.port, csms=tls, device_model={"SecurityCtrlr.OrganizationName": "Acme Charging"}
        )
        checked = evse("check-config", str(config))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        proc = await start_daemon(config)
        try:
            await csms.wait_for("BootNotification", timeout=20)
            presented = x509.load_der_x509_certificate(csms.connections[-1].peer_certificate or b"")
            assert presented.public_key() == csr.public_key()
        finally:
            await stop_daemon(proc)
    finally:
        await csms.stop()


def test_profile_3_without_any_station_certificate_fails_check_config(tmp_path: Path) -> None:
    """check-config names what profile 3 lacks instead of printing ok."""
    ca = TestPki(tmp_path / "pki").ca("CSMS Root")
    tls = {"url": "wss://127.0.0.1:9000/ocpp", "security_profile": 3, "ca_file": str(ca.path)}
    checked = evse("check-config", str(write_config(tmp_path, 9000, csms=tls)))
    assert checked.returncode == 2
    assert "security_profile 3 needs client_cert and client_key, or a station certificate installed" in checked.stderr


def _chain(tmp_path: Path, ca: CertificateAuthority, csr: x509.CertificateSigningRequest) -> Path:
    path = tmp_path / f"chain-{ca.slug}.pem"
    path.write_bytes(sign_csr(ca, csr).public_bytes(Encoding.PEM))
    return path

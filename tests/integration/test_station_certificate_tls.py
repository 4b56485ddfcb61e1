"""A02 end to end under security profile 3: the certificate the CSMS signs over the wire is the one the
station presents from its next TLS connection on, as the server sees it (issue 9, section 4)."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.wire import until
from tests.csr_signing import pem, sign_csr
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.integration.test_tls import tls_settings
from tests.tls_certs import TestPki, server_context


async def test_TC_A_11_CS_profile_3_reconnects_with_the_signed_certificate(tmp_path: Path) -> None:
    """A02.FR.06/08: an Accepted station certificate is used for the next connection: the CSMS's TLS server,
    which requires client certificates, first sees the factory certificate and then the one it signed."""
    root = TestPki(tmp_path / "pki").ca("CSMS Root")  # signs the CSMS server and the station certificates
    factory = root.issue_client(STATION_ID)
    csms = DevCsms(boot_interval=300)
    await csms.start(ssl=server_context(root.issue_server(), client_ca=root))
    sut = StationUnderTest(tls_settings(tmp_path, csms.port, 3, root, factory))
    try:
        await sut.start()
        await csms.wait_for("BootNotification", timeout=10)
        assert csms.connections[-1].peer_certificate == factory.cert.public_bytes(Encoding.DER)

        csms.respond("SignCertificate", {"status": "Accepted"})
        trigger = call.TriggerMessage(requested_message="SignChargingStationCertificate")
        assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
        csr = x509.load_pem_x509_csr((await csms.wait_for("SignCertificate", timeout=10))["csr"].encode())
        issued = sign_csr(root, csr)
        signed = call.CertificateSigned(certificate_chain=pem(issued), certificate_type="ChargingStationCertificate")
        assert (await csms.call(STATION_ID, signed)).status == "Accepted"
        # The connection in use keeps its certificate; the next one presents the new one.
        assert len(csms.connections) == 1
        await csms.disconnect(STATION_ID)
        await csms.wait_connected(STATION_ID, timeout=15)
        assert len(csms.connections) == 2
        assert csms.connections[-1].peer_certificate == issued.public_bytes(Encoding.DER)
        # The connection proved it: the fallback marker is gone, the certificate stays.
        marker = sut.settings.state_dir / "certs" / "station" / "unproven"
        await until(lambda: not marker.exists(), "the new certificate proven by its connection")
        csms.assert_no_failures()
    finally:
        await sut.stop()
        await csms.stop()


async def test_A02_refused_new_certificate_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    """A02 (nothing bricks a station remotely): the CSMS signs a certificate from a CA its own TLS server
    does not trust. The station accepts it (its chain leads to an installed CSMS root), the next handshake
    is refused, and the station goes back to the factory certificate, connects with it, gives the new one
    up and reports InvalidChargingStationCertificate."""
    pki = TestPki(tmp_path / "pki")
    root = pki.ca("CSMS Root")
    stray = pki.ca("Stray CA")
    factory = root.issue_client(STATION_ID)
    csms = DevCsms(boot_interval=300)
    await csms.start(ssl=server_context(root.issue_server(), client_ca=root))
    sut = StationUnderTest(tls_settings(tmp_path, csms.port, 3, root, factory))
    try:
        await sut.start()
        await csms.wait_for("StatusNotification", timeout=10)
        install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem(stray.cert))
        assert (await csms.call(STATION_ID, install)).status == "Accepted"
        csms.respond("SignCertificate", {"status": "Accepted"})
        trigger = call.TriggerMessage(requested_message="SignChargingStationCertificate")
        assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
        csr = x509.load_pem_x509_csr((await csms.wait_for("SignCertificate", timeout=10))["csr"].encode())
        signed = call.CertificateSigned(
            certificate_chain=pem(sign_csr(stray, csr)), certificate_type="ChargingStationCertificate"
        )
        assert (await csms.call(STATION_ID, signed)).status == "Accepted"
        await csms.disconnect(STATION_ID)
        await until(lambda: len(csms.connections) >= 2, "the station back with the factory certificate", 30)
        assert csms.connections[-1].peer_certificate == factory.cert.public_bytes(Encoding.DER)
        station_dir = sut.settings.state_dir / "certs" / "station"
        await until(lambda: not (station_dir / "unproven").exists(), "the refused certificate given up")
        assert not (station_dir / "chain.pem").exists()
        event = await csms.wait_for(
            "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidChargingStationCertificate"
        )
        assert "refused the new ChargingStationCertificate" in event["techInfo"]
        csms.assert_no_failures()
    finally:
        await sut.stop()
        await csms.stop()


async def test_A02_certificate_valid_from_a_later_date_is_kept_until_then(tmp_path: Path) -> None:
    """A02: a certificate whose validity starts in an hour is Accepted (its chain checked for that moment)
    and stored, but the station switches to it only once it is valid: the next handshake still presents
    the factory certificate, and nothing is given up meanwhile."""
    root = TestPki(tmp_path / "pki").ca("CSMS Root")
    factory = root.issue_client(STATION_ID)
    csms = DevCsms(boot_interval=300)
    await csms.start(ssl=server_context(root.issue_server(), client_ca=root))
    sut = StationUnderTest(tls_settings(tmp_path, csms.port, 3, root, factory))
    try:
        await sut.start()
        await csms.wait_for("StatusNotification", timeout=10)
        csms.respond("SignCertificate", {"status": "Accepted"})
        trigger = call.TriggerMessage(requested_message="SignChargingStationCertificate")
        assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
        csr = x509.load_pem_x509_csr((await csms.wait_for("SignCertificate", timeout=10))["csr"].encode())
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
        issued = sign_csr(root, csr, not_before=later)
        signed = call.CertificateSigned(certificate_chain=pem(issued), certificate_type="ChargingStationCertificate")
        assert (await csms.call(STATION_ID, signed)).status == "Accepted"
        await csms.disconnect(STATION_ID)
        await until(lambda: len(csms.connections) >= 2, "the station reconnected", 15)
        assert csms.connections[-1].peer_certificate == factory.cert.public_bytes(Encoding.DER)
        station_dir = sut.settings.state_dir / "certs" / "station"
        assert (station_dir / "unproven").exists() and (station_dir / "chain.pem").exists()
        csms.assert_no_failures()
    finally:
        await sut.stop()
        await csms.stop()

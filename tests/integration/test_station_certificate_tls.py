"""A02 end to end under security profile 3: the certificate the CSMS signs over the wire is the one the
station presents from its next TLS connection on, as the server sees it (issue 9, section 4); a certificate
the CSMS's own TLS server refuses sends the station back to the previous one; one valid from a later date
waits until then."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.test_a_station_certificate import request_csr
from tests.conformance.wire import until
from tests.csr_signing import pem, sign_csr
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.integration.test_tls import tls_settings
from tests.tls_certs import CertificateAuthority, Issued, TestPki, server_context


@dataclass
class MutualTls:
    """A profile 3 station with a factory certificate from `root`, booted at a CSMS that requires one."""

    pki: TestPki
    root: CertificateAuthority  # signs the CSMS server and the station certificates
    factory: Issued
    csms: DevCsms
    sut: StationUnderTest

    def presented(self) -> bytes | None:
        return self.csms.connections[-1].peer_certificate

    async def sign(self, certificate: x509.Certificate) -> str:
        signed = call.CertificateSigned(
            certificate_chain=pem(certificate), certificate_type="ChargingStationCertificate"
        )
        return str((await self.csms.call(STATION_ID, signed)).status)

    async def reconnect(self) -> None:
        """The CSMS drops the connection; the station comes back with a new handshake."""
        connections = len(self.csms.connections)
        await self.csms.disconnect(STATION_ID)
        await until(lambda: len(self.csms.connections) > connections, "the station reconnected", 30)


@pytest.fixture
async def tls(tmp_path: Path) -> AsyncIterator[MutualTls]:
    pki = TestPki(tmp_path / "pki")
    root = pki.ca("CSMS Root")
    factory = root.issue_client(STATION_ID)
    csms = DevCsms(boot_interval=300)
    await csms.start(ssl=server_context(root.issue_server(), client_ca=root))
    sut = StationUnderTest(tls_settings(tmp_path, csms.port, 3, root, factory))
    try:
        await sut.start()
        await csms.wait_for("StatusNotification", timeout=10)
        yield MutualTls(pki, root, factory, csms, sut)
    finally:
        await sut.stop()
        await csms.stop()


async def test_TC_A_11_CS_profile_3_reconnects_with_the_signed_certificate(tls: MutualTls) -> None:
    """A02.FR.06/08: an Accepted station certificate is used for the next connection: the CSMS's TLS server,
    which requires client certificates, first sees the factory certificate and then the one it signed."""
    assert tls.presented() == tls.factory.cert.public_bytes(Encoding.DER)
    issued = sign_csr(tls.root, await request_csr(tls.csms))
    assert await tls.sign(issued) == "Accepted"
    assert len(tls.csms.connections) == 1  # the connection in use keeps its certificate
    await tls.reconnect()
    assert tls.presented() == issued.public_bytes(Encoding.DER)
    # The connection proved it: the fallback marker is gone, the certificate stays.
    marker = tls.sut.settings.state_dir / "certs" / "station" / "unproven"
    await until(lambda: not marker.exists(), "the new certificate proven by its connection")
    tls.csms.assert_no_failures()


async def test_A02_refused_new_certificate_falls_back_to_the_previous_one(tls: MutualTls) -> None:
    """A02 (nothing bricks a station remotely): the CSMS signs a certificate from a CA its own TLS server
    does not trust. The station accepts it (its chain leads to an installed CSMS root), the next handshake
    is refused, and the station goes back to the factory certificate, connects with it, gives the new one
    up and reports InvalidChargingStationCertificate."""
    stray = tls.pki.ca("Stray CA")
    install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem(stray.cert))
    assert (await tls.csms.call(STATION_ID, install)).status == "Accepted"
    assert await tls.sign(sign_csr(stray, await request_csr(tls.csms))) == "Accepted"
    await tls.reconnect()
    assert tls.presented() == tls.factory.cert.public_bytes(Encoding.DER)
    station_dir = tls.sut.settings.state_dir / "certs" / "station"
    await until(lambda: not (station_dir / "unproven").exists(), "the refused certificate given up")
    assert not (station_dir / "chain.pem").exists()
    event = await tls.csms.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidChargingStationCertificate"
    )
    assert "refused the new ChargingStationCertificate" in event["techInfo"]
    tls.csms.assert_no_failures()


async def test_A02_certificate_valid_from_a_later_date_is_kept_until_then(tls: MutualTls) -> None:
    """A02: a certificate whose validity starts in an hour is Accepted (its chain checked for that moment)
    and stored, but the station switches to it only once it is valid: the next handshake still presents
    the factory certificate, and nothing is given up meanwhile."""
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    assert await tls.sign(sign_csr(tls.root, await request_csr(tls.csms), not_before=later)) == "Accepted"
    await tls.reconnect()
    assert tls.presented() == tls.factory.cert.public_bytes(Encoding.DER)
    station_dir = tls.sut.settings.state_dir / "certs" / "station"
    assert (station_dir / "unproven").exists() and (station_dir / "chain.pem").exists()
    tls.csms.assert_no_failures()

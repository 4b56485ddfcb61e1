"""Security profiles 2 and 3 end to end against the dev CSMS serving wss:// (what `evse dev-csms --tls` runs).

The CA, server and station certificates are the ones `evse dev-csms --tls` generates (evse/devcsms/tls.py),
written to a temporary directory; the station is the real daemon, built from settings as `evse run` does.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evse.devcsms.server import DevCsms
from evse.devcsms.tls import DevPki
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings


@pytest.fixture
def pki(tmp_path: Path) -> DevPki:
    made = DevPki(tmp_path / "dev-csms-tls")
    made.create(("localhost", "127.0.0.1"), station_ids=(STATION_ID,))
    return made


async def serve(context: ssl.SSLContext) -> DevCsms:
    server = DevCsms(basic_auth={STATION_ID: PASSWORD})
    await server.start("127.0.0.1", 0, ssl=context)
    return server


@pytest.fixture
async def tls_csms(pki: DevPki) -> AsyncIterator[DevCsms]:
    server = await serve(pki.server_context())
    yield server
    await server.stop()


async def boot(station: StationUnderTest, csms: DevCsms) -> None:
    await station.start()
    try:
        await csms.wait_for("BootNotification", timeout=15)
        assert csms.connected(STATION_ID)
    finally:
        await station.stop()


async def test_profile_2_boots_over_wss_with_basic_auth(tmp_path: Path, pki: DevPki, tls_csms: DevCsms) -> None:
    """Profile 2 (Part 2 A00): TLS with the CSMS's server certificate checked against ca_file, and
    the host name `localhost` of the URL checked against it; Basic auth inside the TLS tunnel."""
    assert tls_csms.url.startswith("wss://")
    csms_section = {
        "url": f"wss://localhost:{tls_csms.port}/ocpp",
        "security_profile": 2,
        "basic_auth_password": PASSWORD,
        "ca_file": str(pki.ca_file),
    }
    await boot(StationUnderTest(station_settings(tmp_path, tls_csms.port, csms=csms_section)), tls_csms)
    [attempt] = tls_csms.auth_attempts
    assert (attempt.username, attempt.accepted) == (STATION_ID, True)


async def test_profile_3_boots_with_the_station_certificate_the_dev_csms_issued(tmp_path: Path, pki: DevPki) -> None:
    """Profile 3: a server that requires a client certificate from its CA lets the station in, so the
    station presented the certificate named by client_cert/client_key (CN = station id)."""
    context = pki.server_context()
    context.verify_mode = ssl.CERT_REQUIRED
    csms = await serve(context)
    try:
        csms_section = {
            "url": f"wss://localhost:{csms.port}/ocpp",
            "security_profile": 3,
            "ca_file": str(pki.ca_file),
            "client_cert": str(pki.station_cert(STATION_ID)),
            "client_key": str(pki.station_key(STATION_ID)),
        }
        csms.basic_auth = None  # profile 3 sends no password; the certificate is the credential
        await boot(StationUnderTest(station_settings(tmp_path, csms.port, csms=csms_section)), csms)
    finally:
        await csms.stop()


async def test_a_station_that_does_not_trust_the_ca_never_connects(
    tmp_path: Path, tls_csms: DevCsms, caplog: pytest.LogCaptureFixture
) -> None:
    """No silent downgrade: an untrusted server certificate means no connection and no password sent."""
    other = DevPki(tmp_path / "other-ca")
    other.create(("localhost",))
    csms_section = {
        "url": f"wss://localhost:{tls_csms.port}/ocpp",
        "security_profile": 2,
        "basic_auth_password": PASSWORD,
        "ca_file": str(other.ca_file),
    }
    station = StationUnderTest(station_settings(tmp_path, tls_csms.port, csms=csms_section))
    await station.start()
    try:
        with pytest.raises(TimeoutError):
            await tls_csms.wait_connected(STATION_ID, timeout=3)
        assert tls_csms.auth_attempts == []
        assert station.d.connection.attempts >= 1
    finally:
        await station.stop()
    assert any("security_event=InvalidCsmsCertificate" in r.getMessage() for r in caplog.records)

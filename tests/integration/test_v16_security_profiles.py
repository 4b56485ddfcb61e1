"""Security profiles under OCPP 1.6 (security whitepaper edition 3): the same TLS connection as 2.0.1 to a
1.6 dev CSMS serving wss://, and the SecurityProfile raised by ChangeConfiguration (A05, 1.6 flavour):
reconnect with the new profile to the same CSMS URL, record it once it came up, fall back when it fails.
Every certificate is made in the test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v16 import call

from evse.devcsms.server16 import DevCsms16
from tests.csr_signing import pem, sign_csr
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, server_context


async def serve(servers16: list[DevCsms16], port: int = 0, ca: CertificateAuthority | None = None) -> DevCsms16:
    server = DevCsms16(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start("127.0.0.1", port, ssl=server_context(ca.issue_server()) if ca is not None else None)
    servers16.append(server)
    return server


async def until(condition: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the Central System's state has no event to wait on
            await asyncio.sleep(0.05)


async def security_profile(csms: DevCsms16) -> str:
    answer = await csms.call(STATION_ID, call.GetConfiguration(key=["SecurityProfile"]))
    [entry] = answer.configuration_key
    return str(entry["value"])


def station(tmp_path: Path, port: int, **csms: Any) -> StationUnderTest:
    section = {"url": f"ws://127.0.0.1:{port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD}
    section |= {"ocpp_version": "1.6", **csms}
    # Fallback after 2 failed attempts with the new profile; the backoff is 1 s (conftest).
    return StationUnderTest(
        station_settings(
            tmp_path, port, csms=section, device_model={"OCPPCommCtrlr.NetworkProfileConnectionAttempts": 2}
        )
    )


async def test_a_1_6_station_connects_with_security_profile_2(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16]
) -> None:
    """Whitepaper security profile 2 under 1.6: TLS with the Central System's certificate checked against
    ca_file, Basic auth inside the tunnel, subprotocol ocpp1.6; SecurityProfile reads 2."""
    csms = await serve(servers16, ca=ca)
    sut = station(
        tmp_path, csms.port, url=f"wss://127.0.0.1:{csms.port}/ocpp", security_profile=2, ca_file=str(ca.path)
    )
    await sut.start()
    try:
        await csms.wait_for("BootNotification", timeout=15)
        [attempt] = csms.auth_attempts
        assert (attempt.username, attempt.accepted) == (STATION_ID, True)
        assert await security_profile(csms) == "2"
    finally:
        await sut.stop()


async def install_root(csms: DevCsms16, ca: CertificateAuthority) -> None:
    request = call.InstallCertificate(
        certificate_type="CentralSystemRootCertificate", certificate=ca.cert.public_bytes(Encoding.PEM).decode()
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"


async def raise_to(csms: DevCsms16, profile: int) -> str:
    answer = await csms.call(STATION_ID, call.ChangeConfiguration(key="SecurityProfile", value=str(profile)))
    return str(answer.status)


async def test_TC_083_CS_upgrade_security_profile_1_to_2(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16]
) -> None:
    """Whitepaper A05 (1.6): with a CentralSystemRootCertificate installed, ChangeConfiguration(SecurityProfile=2)
    is Accepted; the station then reconnects to wss:// of the same URL, and once that connection is up
    SecurityProfile reads 2, and after a restart the station connects with profile 2 again (never below the
    profile in use)."""
    plain = await serve(servers16)
    port = plain.port
    sut = station(tmp_path, port)
    await sut.start()
    try:
        await plain.wait_for("BootNotification", timeout=15)
        assert await security_profile(plain) == "1"
        await install_root(plain, ca)
        assert await raise_to(plain, 2) == "Accepted"
        # The operator moves the Central System to TLS on the same address.
        await plain.stop()
        secure = await serve(servers16, port, ca)
        await until(lambda: secure.connected(STATION_ID))
        assert await security_profile(secure) == "2"
        await sut.stop()
        attempts = len(secure.auth_attempts)
        await sut.start()
        await until(lambda: len(secure.auth_attempts) > attempts and secure.connected(STATION_ID))
        assert await security_profile(secure) == "2"
    finally:
        await sut.stop()


async def test_upgrade_that_cannot_connect_falls_back_to_the_profile_in_use(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16]
) -> None:
    """Whitepaper A05.FR.08 (1.6): when no connection comes up with the new profile (the Central System still
    serves ws:// only), the station goes back to the old one after NetworkProfileConnectionAttempts
    attempts; SecurityProfile still reads 1."""
    plain = await serve(servers16)
    sut = station(tmp_path, plain.port)
    await sut.start()
    try:
        await plain.wait_for("BootNotification", timeout=15)
        await install_root(plain, ca)
        attempts = len(plain.auth_attempts)
        assert await raise_to(plain, 2) == "Accepted"
        await until(lambda: len(plain.auth_attempts) > attempts and plain.connected(STATION_ID))
        assert await security_profile(plain) == "1"
    finally:
        await sut.stop()


async def test_upgrade_without_a_central_system_root_is_rejected(tmp_path: Path, servers16: list[DevCsms16]) -> None:
    """Whitepaper A05.FR.03 (1.6): profile 2 needs a valid CentralSystemRootCertificate: Rejected without one,
    and the station stays connected as it was."""
    plain = await serve(servers16)
    sut = station(tmp_path, plain.port)
    await sut.start()
    try:
        await plain.wait_for("BootNotification", timeout=15)
        attempts = len(plain.auth_attempts)
        assert await raise_to(plain, 2) == "Rejected"
        await asyncio.sleep(0.5)
        assert len(plain.auth_attempts) == attempts
        assert await security_profile(plain) == "1"
    finally:
        await sut.stop()


async def test_TC_083_CS_upgrade_security_profile_1_to_3_with_the_signed_charge_point_certificate(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16]
) -> None:
    """Whitepaper A05.FR.04 (1.6): profile 3 needs a valid Charge Point certificate: Rejected before one is
    installed; after ExtendedTriggerMessage(SignChargePointCertificate) and CertificateSigned, Accepted, and
    the station reconnects to wss:// presenting that certificate to a Central System that requires it."""
    plain = await serve(servers16)
    port = plain.port
    sut = station(tmp_path, port)
    await sut.start()
    try:
        await plain.wait_for("BootNotification", timeout=15)
        await install_root(plain, ca)
        assert await raise_to(plain, 3) == "Rejected"
        trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
        assert (await plain.call(STATION_ID, trigger)).status == "Accepted"
        csr = x509.load_pem_x509_csr((await plain.wait_for("SignCertificate", timeout=15))["csr"].encode())
        signed = call.CertificateSigned(certificate_chain=pem(sign_csr(ca, csr)))
        assert (await plain.call(STATION_ID, signed)).status == "Accepted"
        assert await raise_to(plain, 3) == "Accepted"
        await plain.stop()
        secure = DevCsms16(basic_auth=None, boot_interval=300)  # profile 3: the certificate is the credential
        await secure.start("127.0.0.1", port, ssl=server_context(ca.issue_server(), client_ca=ca))
        servers16.append(secure)
        await until(lambda: secure.connected(STATION_ID))
        assert await security_profile(secure) == "3"
    finally:
        await sut.stop()


@pytest.mark.parametrize("profile", [2, 3])
async def test_TC_084_CS_downgrade_security_profile_rejected(
    tmp_path: Path, ca: CertificateAuthority, servers16: list[DevCsms16], profile: int
) -> None:
    """Whitepaper A05.FR.01 (1.6): connected with SecurityProfile 2 or 3, a ChangeConfiguration(SecurityProfile)
    one level lower is Rejected; the station keeps the connection it has (no new attempt) and SecurityProfile
    still reads the profile in use."""
    secure = DevCsms16(basic_auth={STATION_ID: PASSWORD} if profile == 2 else None, boot_interval=300)
    await secure.start("127.0.0.1", 0, ssl=server_context(ca.issue_server(), client_ca=ca if profile == 3 else None))
    servers16.append(secure)
    section: dict[str, Any] = {"url": f"wss://127.0.0.1:{secure.port}/ocpp", "security_profile": profile}
    section["ca_file"] = str(ca.path)
    if profile == 3:
        client = ca.issue_client(STATION_ID)
        section |= {"client_cert": str(client.cert_path), "client_key": str(client.key_path)}
    sut = station(tmp_path, secure.port, **section)
    await sut.start()
    try:
        await secure.wait_for("BootNotification", timeout=15)
        assert await security_profile(secure) == str(profile)
        connections = len(secure.connections)
        lower = call.ChangeConfiguration(key="SecurityProfile", value=str(profile - 1))
        assert (await secure.call(STATION_ID, lower)).status == "Rejected"
        await asyncio.sleep(0.5)
        assert len(secure.connections) == connections and secure.connected(STATION_ID)
        assert await security_profile(secure) == str(profile)
    finally:
        await sut.stop()

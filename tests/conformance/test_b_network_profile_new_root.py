"""Block B, migrating to a new NetworkConnectionProfile whose CSMS has a new CSMS root certificate
(TC_B_47_CS, TC_B_50_CS): the station runs security profile 2 against a CSMS whose server certificate
chains to the root it was given; the CSMS installs another root (M05), stores a slot for a CSMS that
presents a certificate of that root (B09) and puts it first (B10). Every CSMS serves TLS with
certificates made in the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.test_b_network_profile import FAST_FALLBACK, prefer_slot_2_and_reset, profile, unused_port
from tests.csr_signing import pem
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, TestPki, server_context

#: The first root and the one the CSMS installs later: different keys, different names.
OLD_ROOT, NEW_ROOT = "CSMS Root 2025", "CSMS Root 2026"


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki(tmp_path / "pki")


@pytest.fixture
async def servers() -> AsyncIterator[list[DevCsms]]:
    started: list[DevCsms] = []
    yield started
    for server in started:
        await server.stop()


async def tls_csms(servers: list[DevCsms], root: CertificateAuthority) -> DevCsms:
    """A profile 2 CSMS whose server certificate `root` issued."""
    server = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start(ssl=server_context(root.issue_server()))
    servers.append(server)
    return server


@pytest.fixture
async def on_old_root(
    tmp_path: Path, pki: TestPki, servers: list[DevCsms]
) -> AsyncIterator[tuple[DevCsms, StationUnderTest]]:
    """The CSMS of the first root and a profile 2 station booted there, trusting that root only."""
    old_root = pki.ca(OLD_ROOT)
    csms = await tls_csms(servers, old_root)
    settings = station_settings(
        tmp_path,
        csms.port,
        csms={
            "url": f"wss://127.0.0.1:{csms.port}/ocpp",
            "security_profile": 2,
            "ca_file": str(old_root.path),
            "basic_auth_password": PASSWORD,
        },
        device_model=FAST_FALLBACK,
    )
    sut = StationUnderTest(settings)
    await sut.start()
    await csms.wait_for("StatusNotification", timeout=15)
    yield csms, sut
    await sut.stop()


async def install_root_and_slot_2(csms: DevCsms, root: CertificateAuthority, url: str) -> None:
    """M05: the new root, Accepted; B09: slot 2, profile 2, at `url`, Accepted."""
    install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem(root.cert))
    assert (await csms.call(STATION_ID, install)).status == "Accepted"
    slot = call.SetNetworkProfile(configuration_slot=2, connection_data=profile(url, security_profile=2))
    assert (await csms.call(STATION_ID, slot)).status == "Accepted"


async def installed_roots(csms: DevCsms) -> list[str]:
    """The serial numbers of the CSMS roots the station lists (M03)."""
    got = await csms.call(STATION_ID, call.GetInstalledCertificateIds(certificate_type=["CSMSRootCertificate"]))
    return sorted(c["certificate_hash_data"]["serial_number"] for c in got.certificate_hash_data_chain or [])


def serial(root: CertificateAuthority) -> str:
    return format(root.cert.serial_number, "x")


async def test_TC_B_50_CS_migrate_to_new_csms_with_new_csms_root(
    on_old_root: tuple[DevCsms, StationUnderTest], pki: TestPki, servers: list[DevCsms]
) -> None:
    """B09 + B10 with M05: a CSMS root installed over OCPP is trusted for the new slot's TLS connection:
    after the Reset the station boots at the new CSMS (whose certificate the first root did not issue),
    with profile 2 and its password, and nothing more at the old one."""
    old, sut = on_old_root
    new_root = pki.ca(NEW_ROOT)
    new = await tls_csms(servers, new_root)
    await install_root_and_slot_2(old, new_root, new.url.replace("ws://", "wss://"))
    await prefer_slot_2_and_reset(old, sut)
    boot = await new.wait_for("BootNotification", timeout=15)
    assert boot["reason"] == "RemoteReset"
    await new.wait_for("StatusNotification", timeout=10)
    assert new.connections[-1].username == STATION_ID and new.auth_attempts[-1].accepted
    assert [b for b in old.received("BootNotification") if b["reason"] == "RemoteReset"] == []
    assert not old.connected(STATION_ID)
    assert serial(new_root) in await installed_roots(new)
    new.assert_no_failures()


async def test_TC_B_47_CS_fallback_after_network_profile_connection_attempts_new_csms_root(
    on_old_root: tuple[DevCsms, StationUnderTest], pki: TestPki
) -> None:
    """B10 fallback with M05: the new root is installed and slot 2 (profile 2) put first, but nothing
    answers at slot 2's address; after NetworkProfileConnectionAttempts failed attempts the station is back
    on slot 1, still trusting the first root (installing another did not replace it), and boots there."""
    old, sut = on_old_root
    new_root = pki.ca(NEW_ROOT)
    await install_root_and_slot_2(old, new_root, f"wss://127.0.0.1:{unused_port()}/ocpp")
    await prefer_slot_2_and_reset(old, sut)
    boot = await old.wait_for("BootNotification", timeout=20)
    assert boot["reason"] == "RemoteReset"
    await old.wait_for("StatusNotification", timeout=10)
    assert sut.d.connection.attempts == 3  # two on slot 2, the third on slot 1
    assert serial(new_root) in await installed_roots(old)
    old.assert_no_failures()

"""Block A over the wire: HTTP Basic authentication and its password (A00, A01), and the security profile
upgrade through SetNetworkProfile + NetworkConfigurationPriority (A05), against dev CSMSs on loopback,
one of them serving TLS with certificates made in the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.conformance.test_b_network_profile import profile
from tests.conformance.wire import until
from tests.csr_signing import pem
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest, station_settings
from tests.tls_certs import CertificateAuthority, TestPki, server_context

NEW_PASSWORD = "a-new-password-0123456789"  # 25 characters: a passwordString of 16 to 40


def set_variable(component: str, variable: str, value: str) -> Any:
    return call.SetVariables(
        set_variable_data=[{"component": {"name": component}, "variable": {"name": variable}, "attribute_value": value}]
    )


async def security_profile_variable(csms: DevCsms) -> str:
    got = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]
        ),
    )
    return str(got.get_variable_result[0]["attribute_value"])


@pytest.fixture
def root(tmp_path: Path) -> CertificateAuthority:
    return TestPki(tmp_path / "pki").ca("CSMS Root")


@pytest.fixture
async def tls_csms(root: CertificateAuthority) -> AsyncIterator[DevCsms]:
    """The CSMS the station upgrades to: wss:// with a server certificate issued by `root`."""
    server = DevCsms(basic_auth={STATION_ID: PASSWORD}, boot_interval=300)
    await server.start(ssl=server_context(root.issue_server()))
    yield server
    await server.stop()


async def test_TC_A_01_CS_basic_authentication_valid_credentials(csms: DevCsms, station: StationUnderTest) -> None:
    """A00.FR.2xx (profile 1): the upgrade request carries Authorization: Basic with the station identity as
    user name and BasicAuthPassword as password; the dev CSMS compares both, so Accepted proves them."""
    assert csms.auth_attempts and all(a.accepted and a.username == STATION_ID for a in csms.auth_attempts)
    assert csms.connections[-1].username == STATION_ID
    assert csms.received("BootNotification")


async def test_TC_A_09_CS_new_basic_auth_password_accepted_and_used(csms: DevCsms, station: StationUnderTest) -> None:
    """A01.FR.01-03: SetVariables(SecurityCtrlr.BasicAuthPassword) is Accepted; once the answer has left the
    station closes the connection (1012) by itself and reconnects with the new password, which the CSMS
    now requires; A01.FR.05 (with A04): the change is a security event whose text names no password."""
    connections = len(csms.connections)
    assert csms.basic_auth is not None
    result = await csms.call(STATION_ID, set_variable("SecurityCtrlr", "BasicAuthPassword", NEW_PASSWORD))
    assert result.set_variable_result[0]["attribute_status"] == "Accepted"
    csms.basic_auth[STATION_ID] = NEW_PASSWORD
    await until(lambda: len(csms.connections) > connections, "the station reconnected by itself", timeout=15)
    assert csms.auth_attempts[-1].accepted
    assert not any(a.accepted is False for a in csms.auth_attempts)
    log = (station.settings.state_dir / "security.log").read_text()
    assert "SecurityCtrlr.BasicAuthPassword set by the CSMS" in log
    assert NEW_PASSWORD not in log and PASSWORD not in log
    csms.assert_no_failures()


async def test_TC_A_10_CS_new_basic_auth_password_rejected_old_one_kept(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """A01: a password shorter than a passwordString's 16 characters is Rejected (the reason names no
    value); the connection stays up and the next one still authenticates with the old password."""
    result = await csms.call(STATION_ID, set_variable("SecurityCtrlr", "BasicAuthPassword", "too-short"))
    item = result.set_variable_result[0]
    assert item["attribute_status"] == "Rejected"
    assert "too-short" not in str(item.get("attribute_status_info"))
    assert csms.connected(STATION_ID)
    connections = len(csms.connections)
    await csms.disconnect(STATION_ID)
    await until(lambda: len(csms.connections) > connections, "the station reconnected", timeout=15)
    assert csms.auth_attempts[-1].accepted  # the CSMS still expects PASSWORD
    csms.assert_no_failures()


async def test_TC_A_19_CS_upgrade_security_profile_accepted(
    csms: DevCsms, tls_csms: DevCsms, root: CertificateAuthority, make_station: Any
) -> None:
    """A05.FR.04: with the CSMS root installed (M05) and a profile 2 slot stored (B09), the priority listing
    it is accepted; after the Reset the station connects with profile 2 and SecurityCtrlr.SecurityProfile
    says 2. From then on the profile 1 slot is never used again: when the TLS CSMS goes away the station
    keeps trying profile 2 and does not fall back to ws:// (no downgrade, not even by B10 fallback)."""
    sut: StationUnderTest = await make_station(device_model={"OCPPCommCtrlr.NetworkProfileConnectionAttempts": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    assert await security_profile_variable(csms) == "1"
    installed = await csms.call(
        STATION_ID, call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem(root.cert))
    )
    assert installed.status == "Accepted"
    stored = await csms.call(
        STATION_ID, call.SetNetworkProfile(configuration_slot=2, connection_data=profile(tls_csms.url, 2))
    )
    assert stored.status == "Accepted"
    result = await csms.call(STATION_ID, set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
    assert result.set_variable_result[0]["attribute_status"] == "RebootRequired"
    assert (await csms.call(STATION_ID, call.Reset(type="Immediate"))).status == "Accepted"
    assert await sut.wait_exit() is Exit.RESET
    csms.skip()
    await sut.start()
    await tls_csms.wait_for("BootNotification", timeout=15)
    await tls_csms.wait_for("StatusNotification", timeout=10)
    assert tls_csms.connections[-1].username == STATION_ID
    assert await security_profile_variable(tls_csms) == "2"
    active = await tls_csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "ActiveNetworkProfile"}}]
        ),
    )
    assert active.get_variable_result[0]["attribute_value"] == "2"  # B10: the slot in use
    assert "security profile 2 in use" in (sut.settings.state_dir / "security.log").read_text()
    old_connections = len(csms.connections)
    await tls_csms.stop()
    attempts = sut.d.connection.attempts
    await until(lambda: sut.d.connection.attempts >= attempts + 3, "three more attempts", timeout=30)
    assert len(csms.connections) == old_connections  # slot 1 (profile 1) was never tried
    assert not csms.connected(STATION_ID)


async def test_TC_A_20_CS_upgrade_refused_without_a_csms_root(csms: DevCsms, station: StationUnderTest) -> None:
    """A05.FR.02: a profile 2 slot may be stored, but the priority that would use it is Rejected while no
    valid CSMSRootCertificate is installed; the station stays on its profile 1 CSMS."""
    url = csms.url.replace("ws://", "wss://")
    stored = await csms.call(STATION_ID, call.SetNetworkProfile(configuration_slot=2, connection_data=profile(url, 2)))
    assert stored.status == "Accepted"
    result = await csms.call(STATION_ID, set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
    item = result.set_variable_result[0]
    assert item["attribute_status"] == "Rejected"
    assert item["attribute_status_info"]["reason_code"] == "InvalidCertificate"
    assert "CSMS root" in item["attribute_status_info"]["additional_info"]
    csms.assert_no_failures()


async def test_TC_A_21_CS_upgrade_to_3_refused_without_a_station_certificate(
    csms: DevCsms, root: CertificateAuthority, tmp_path: Path, make_station: Any
) -> None:
    """A05.FR.03: with a CSMS root but no valid ChargingStationCertificate (none from A02, none in the YAML),
    a priority listing a profile 3 slot is Rejected; listing the profile 2 slot is accepted (A05.FR.04)."""
    await make_station(csms={**_yaml_csms(csms), "ca_file": str(root.path)})
    await csms.wait_for("StatusNotification", timeout=10)
    url = csms.url.replace("ws://", "wss://")
    for slot, level in ((2, 3), (3, 2)):
        stored = await csms.call(
            STATION_ID, call.SetNetworkProfile(configuration_slot=slot, connection_data=profile(url, level))
        )
        assert stored.status == "Accepted"
    refused = await csms.call(STATION_ID, set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "2,1"))
    item = refused.set_variable_result[0]
    assert item["attribute_status"] == "Rejected"
    assert "ChargingStationCertificate" in item["attribute_status_info"]["additional_info"]
    allowed = await csms.call(STATION_ID, set_variable("OCPPCommCtrlr", "NetworkConfigurationPriority", "3,1"))
    assert allowed.set_variable_result[0]["attribute_status"] == "RebootRequired"
    csms.assert_no_failures()


async def test_TC_A_22_CS_downgrade_of_the_security_profile_rejected(
    tls_csms: DevCsms, root: CertificateAuthority, tmp_path: Path
) -> None:
    """A05 / B09: at profile 2, a profile 1 network profile is Rejected with NoSecurityDowngrade and
    nothing changes: the station stays on its TLS connection."""
    settings = station_settings(
        tmp_path,
        tls_csms.port,
        csms={
            "url": f"wss://127.0.0.1:{tls_csms.port}/ocpp",
            "security_profile": 2,
            "basic_auth_password": PASSWORD,
            "ca_file": str(root.path),
        },
    )
    sut = StationUnderTest(settings)
    await sut.start()
    try:
        await tls_csms.wait_for("StatusNotification", timeout=15)
        assert await security_profile_variable(tls_csms) == "2"
        result = await tls_csms.call(
            STATION_ID,
            call.SetNetworkProfile(configuration_slot=2, connection_data=profile("ws://127.0.0.1:1/ocpp", 1)),
        )
        assert result.status == "Rejected"
        assert result.status_info["reason_code"] == "NoSecurityDowngrade"
        assert tls_csms.connected(STATION_ID)
        tls_csms.assert_no_failures()
    finally:
        await sut.stop()


def _yaml_csms(csms: DevCsms) -> dict[str, Any]:
    return {"url": f"ws://127.0.0.1:{csms.port}/ocpp", "security_profile": 1, "basic_auth_password": PASSWORD}

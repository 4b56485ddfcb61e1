"""Block A, the station's own certificate (A02) over the wire: TriggerMessage(SignChargingStationCertificate),
the CSR the dev CSMS receives (parsed and checked here with `cryptography`), CertificateSigned accepted or
refused with an InvalidChargingStationCertificate security event."""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.cert_factory import reference_hash_data
from tests.csr_signing import pem, sign_csr
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest
from tests.tls_certs import CertificateAuthority, Issued, TestPki

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki(tmp_path / "pki")


async def request_csr(csms: DevCsms) -> x509.CertificateSigningRequest:
    """Trigger the station's CSR (answered Accepted by this CSMS) and return it, checked as the CSMS would."""
    csms.respond("SignCertificate", {"status": "Accepted"})
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    assert result.status == "Accepted"
    payload = await csms.wait_for("SignCertificate", timeout=10)
    assert payload["certificateType"] == "ChargingStationCertificate"
    return x509.load_pem_x509_csr(payload["csr"].encode())


async def install_root(csms: DevCsms, ca: CertificateAuthority) -> None:
    result = await csms.call(
        STATION_ID, call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=pem(ca.cert))
    )
    assert result.status == "Accepted"


async def test_TC_A_11_CS_update_charging_station_certificate(
    csms: DevCsms, station: StationUnderTest, pki: TestPki, caplog: pytest.LogCaptureFixture
) -> None:
    """A02.FR.02/03: a new ECDSA P-256 key made on the station, its PEM CSR with CN = station identity and
    O = SecurityCtrlr.OrganizationName, signed by that key; A02.FR.06: the chain to an installed CSMS root is
    Accepted and stored with its key in state_dir; A02.FR.05: the key is in no log line."""
    caplog.set_level(logging.DEBUG)
    root = pki.ca("CSMS Root")
    await install_root(csms, root)
    csr = await request_csr(csms)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION_ID
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "EvseStack"
    public = csr.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    issued = sign_csr(root, csr)
    result = await csms.call(
        STATION_ID, call.CertificateSigned(certificate_chain=pem(issued), certificate_type="ChargingStationCertificate")
    )
    assert result.status == "Accepted"
    state = station.settings.state_dir
    assert x509.load_pem_x509_certificates((state / "certs" / "station" / "chain.pem").read_bytes()) == [issued]
    key_file = state / "keys" / "station.key"
    assert key_file.stat().st_mode & 0o077 == 0
    key_body = "".join(key_file.read_text().splitlines()[1:-1])
    assert all(key_body[:40] not in r.getMessage() and "PRIVATE KEY" not in r.getMessage() for r in caplog.records)
    csms.assert_no_failures()


async def test_station_certificate_cannot_be_deleted(csms: DevCsms, station: StationUnderTest, pki: TestPki) -> None:
    """M04.FR.06: DeleteCertificate for the ChargingStationCertificate installed through A02 is refused
    (Failed) and the certificate stays."""
    root = pki.ca("CSMS Root")
    await install_root(csms, root)
    issued = sign_csr(root, await request_csr(csms))
    signed = call.CertificateSigned(certificate_chain=pem(issued), certificate_type="ChargingStationCertificate")
    assert (await csms.call(STATION_ID, signed)).status == "Accepted"
    result = await csms.call(
        STATION_ID, call.DeleteCertificate(certificate_hash_data=reference_hash_data(issued, root.cert))
    )
    assert result.status == "Failed"
    assert (station.settings.state_dir / "certs" / "station" / "chain.pem").exists()
    csms.assert_no_failures()


def _expired(root: CertificateAuthority, csr: x509.CertificateSigningRequest, _other: CertificateAuthority) -> Any:
    return sign_csr(root, csr, not_before=NOW - 10 * DAY, not_after=NOW - DAY)


def _unknown_issuer(
    _root: CertificateAuthority, csr: x509.CertificateSigningRequest, other: CertificateAuthority
) -> Any:
    return sign_csr(other, csr)


def _other_key(root: CertificateAuthority, csr: x509.CertificateSigningRequest, _other: CertificateAuthority) -> Any:
    builder = x509.CertificateSigningRequestBuilder().subject_name(csr.subject)
    return sign_csr(root, builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()))


@pytest.mark.parametrize(
    "make", [_expired, _unknown_issuer, _other_key], ids=["expired", "unknown-issuer", "other-key"]
)
async def test_TC_A_14_CS_invalid_certificate_is_rejected(
    csms: DevCsms, station: StationUnderTest, pki: TestPki, make: Any
) -> None:
    """A02.FR.06/07: an expired certificate, one not issued under an installed CSMS root, and one for another
    key are Rejected, discarded, and reported with an InvalidChargingStationCertificate security event."""
    root = pki.ca("CSMS Root")
    await install_root(csms, root)
    csr = await request_csr(csms)
    result = await csms.call(
        STATION_ID,
        call.CertificateSigned(
            certificate_chain=pem(make(root, csr, pki.ca("Unknown CA"))), certificate_type="ChargingStationCertificate"
        ),
    )
    assert result.status == "Rejected"
    event = await csms.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] != "StartupOfTheDevice", timeout=10
    )
    assert event["type"] == "InvalidChargingStationCertificate"
    assert not (station.settings.state_dir / "certs" / "station" / "chain.pem").exists()
    csms.assert_no_failures()


async def test_TC_A_15_CS_sign_certificate_request_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """A02: the trigger is Accepted and the station sends its SignCertificateRequest; a CSMS that rejects it
    (the dev CSMS default) leaves the station without a new certificate and without errors."""
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    assert result.status == "Accepted"
    payload = await csms.wait_for("SignCertificate", timeout=10)
    assert x509.load_pem_x509_csr(payload["csr"].encode()).is_signature_valid
    assert not (station.settings.state_dir / "certs" / "station" / "chain.pem").exists()
    csms.assert_no_failures()


async def test_TC_A_23_CS_certificate_signed_timeout_repeats_the_request(csms: DevCsms, make_station: Any) -> None:
    """A02 (SecurityCtrlr.CertSigningWaitMinimum, CertSigningRepeatTimes): an accepted SignCertificateRequest
    with no CertificateSigned after CertSigningWaitMinimum seconds is sent again with a CSR for a fresh key,
    the wait doubling, CertSigningRepeatTimes times and no more."""
    await make_station(
        device_model={"SecurityCtrlr.CertSigningWaitMinimum": 1, "SecurityCtrlr.CertSigningRepeatTimes": 1}
    )
    await csms.wait_for("StatusNotification", timeout=10)
    first = await request_csr(csms)
    second = x509.load_pem_x509_csr((await csms.wait_for("SignCertificate", timeout=5))["csr"].encode())
    assert second.public_key() != first.public_key()
    with pytest.raises(TimeoutError):  # the second wait is 2 s; one repeat was allowed, so none follows
        await csms.wait_for("SignCertificate", timeout=3.5)
    assert len(csms.received("SignCertificate")) == 2
    csms.assert_no_failures()


async def test_TC_A_23_CS_certificate_signed_ends_the_series(csms: DevCsms, make_station: Any, pki: TestPki) -> None:
    """A02: a CertificateSigned accepted before the wait is over ends the series: no repeat follows."""
    root = pki.ca("CSMS Root")
    await make_station(device_model={"SecurityCtrlr.CertSigningWaitMinimum": 1})
    await csms.wait_for("StatusNotification", timeout=10)
    await install_root(csms, root)
    csr = await request_csr(csms)
    signed = call.CertificateSigned(
        certificate_chain=pem(sign_csr(root, csr)), certificate_type="ChargingStationCertificate"
    )
    assert (await csms.call(STATION_ID, signed)).status == "Accepted"
    with pytest.raises(TimeoutError):
        await csms.wait_for("SignCertificate", timeout=2.5)
    csms.assert_no_failures()


async def station_with_factory_certificate(
    csms: DevCsms, make_station: Any, pki: TestPki, expires_in: datetime.timedelta
) -> Issued:
    """A profile 1 station whose YAML names a factory client certificate expiring in `expires_in`."""
    root = pki.ca("CSMS Root")
    factory = root.issue_client(STATION_ID, not_after=NOW + expires_in)
    csms_section = {
        "url": f"ws://127.0.0.1:{csms.port}/ocpp",
        "security_profile": 1,
        "basic_auth_password": PASSWORD,
        "ca_file": str(root.path),
        "client_cert": str(factory.cert_path),
        "client_key": str(factory.key_path),
    }
    await make_station(csms=csms_section)
    return factory


async def test_A03_station_renews_its_certificate_before_it_expires(
    csms: DevCsms, make_station: Any, pki: TestPki
) -> None:
    """A03: the station asks for a new ChargingStationCertificate by itself when the one it holds expires
    within EvseStackCtrlr.CertificateRenewalDays (here: a factory certificate with 10 days left, 30 days
    lead time); the CSR is for a new key, with CN = station identity."""
    factory = await station_with_factory_certificate(csms, make_station, pki, expires_in=10 * DAY)
    payload = await csms.wait_for("SignCertificate", timeout=15)
    assert payload["certificateType"] == "ChargingStationCertificate"
    csr = x509.load_pem_x509_csr(payload["csr"].encode())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == STATION_ID
    assert csr.public_key() != factory.cert.public_key()
    csms.assert_no_failures()


async def test_A03_no_renewal_while_the_certificate_is_far_from_expiry(
    csms: DevCsms, make_station: Any, pki: TestPki
) -> None:
    """A03: with 60 days left and 30 days lead time the station asks for nothing."""
    await station_with_factory_certificate(csms, make_station, pki, expires_in=60 * DAY)
    await csms.wait_for("StatusNotification", timeout=10)
    with pytest.raises(TimeoutError):
        await csms.wait_for("SignCertificate", timeout=1.5)

"""The OCPP 1.6 security whitepaper (edition 3) over the wire against the 1.6 dev CSMS: signed firmware,
GetLog, the certificate messages, ExtendedTriggerMessage, SecurityEventNotification. Certificates and
firmware signatures are made in the test; transfers go to the loopback HTTP server."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v16 import call

from evse.daemon import Exit
from evse.devcsms.server16 import DevCsms16
from evse.security_wiring import installed_csms_roots
from tests.csr_signing import pem, sign_csr
from tests.firmware_kit import Manufacturer, make_manufacturer, sim_image
from tests.http_server import LoopbackHttpServer
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.tls_certs import TestPki

IMAGE = sim_image("3.0.0")
STATION = {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel", "serial": "S1", "firmware_version": "1.0.0"}
SIGNED_SEQUENCE = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting"]


@pytest.fixture
def http() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as server:
        server.files["/fw.bin"] = IMAGE
        yield server


@pytest.fixture
def maker() -> Manufacturer:
    return make_manufacturer()


def hash_data_of(certificate: x509.Certificate) -> dict[str, str]:
    """The parts of CertificateHashDataType computed here rather than by the station's code: SHA256 of the
    issuer's DER name, and the serial in hex."""
    digest = hashes.Hash(hashes.SHA256())
    digest.update(certificate.issuer.public_bytes())
    return {"issuerNameHash": digest.finalize().hex(), "serialNumber": format(certificate.serial_number, "x")}


def same_certificate(entry: dict[str, Any], wanted: dict[str, str]) -> bool:
    return entry["issuer_name_hash"].lower() == wanted["issuerNameHash"] and entry["serial_number"].lower().lstrip(
        "0"
    ) == wanted["serialNumber"].lstrip("0")


async def install(csms16: DevCsms16, kind: str, certificate: x509.Certificate) -> str:
    request = call.InstallCertificate(certificate_type=kind, certificate=pem(certificate))
    return str((await csms16.call(STATION_ID, request)).status)


async def installed(csms16: DevCsms16, kind: str) -> Any:
    return await csms16.call(STATION_ID, call.GetInstalledCertificateIds(certificate_type=kind))


# ---- certificates ---------------------------------------------------------------------------------------


async def test_TC_075_1_CS_install_manufacturer_root_certificate(
    csms16: DevCsms16, station16: StationUnderTest, maker: Manufacturer
) -> None:
    """Whitepaper M05 (1.6): InstallCertificate(ManufacturerRootCertificate) Accepted, then
    GetInstalledCertificateIds(ManufacturerRootCertificate) lists it (hash data computed by the test)."""
    assert await install(csms16, "ManufacturerRootCertificate", maker.root) == "Accepted"
    answer = await installed(csms16, "ManufacturerRootCertificate")
    assert answer.status == "Accepted"
    assert [e for e in answer.certificate_hash_data if same_certificate(e, hash_data_of(maker.root))]
    # The other type is asked for on its own: nothing of it is installed.
    assert (await installed(csms16, "CentralSystemRootCertificate")).status == "NotFound"


async def test_TC_075_2_CS_install_central_system_root_certificate(
    csms16: DevCsms16, station16: StationUnderTest, tmp_path: Path
) -> None:
    """Whitepaper M05 (1.6): InstallCertificate(CentralSystemRootCertificate) Accepted, then
    GetInstalledCertificateIds(CentralSystemRootCertificate) Accepted and listing it (hash data computed by
    the test). It lands where the station's TLS reads the CSMS roots (the 2.0.1 CSMSRootCertificate of the
    certificate store), and is not listed as a ManufacturerRootCertificate."""
    root = TestPki(tmp_path / "pki").ca("Test Central System Root")
    assert await install(csms16, "CentralSystemRootCertificate", root.cert) == "Accepted"
    roots = installed_csms_roots(station16.settings.state_dir)
    assert [f for f in roots.iterdir() if root.cert.public_bytes(Encoding.PEM) in f.read_bytes()]
    answer = await installed(csms16, "CentralSystemRootCertificate")
    assert answer.status == "Accepted"
    assert [e for e in answer.certificate_hash_data if same_certificate(e, hash_data_of(root.cert))]
    assert (await installed(csms16, "ManufacturerRootCertificate")).status == "NotFound"


async def test_TC_076_CS_delete_a_specific_certificate(
    csms16: DevCsms16, station16: StationUnderTest, tmp_path: Path
) -> None:
    """Whitepaper M04 (1.6): the hash data GetInstalledCertificateIds gave deletes the certificate (Accepted),
    after which it is not listed; asking again is NotFound."""
    root = TestPki(tmp_path / "pki").ca("Test Central System Root")
    assert await install(csms16, "CentralSystemRootCertificate", root.cert) == "Accepted"
    [entry] = (await installed(csms16, "CentralSystemRootCertificate")).certificate_hash_data
    delete = call.DeleteCertificate(certificate_hash_data=entry)
    assert (await csms16.call(STATION_ID, delete)).status == "Accepted"
    assert (await installed(csms16, "CentralSystemRootCertificate")).status == "NotFound"
    assert (await csms16.call(STATION_ID, delete)).status == "NotFound"


async def test_TC_078_CS_invalid_central_system_certificate_security_event(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """Whitepaper M05 (1.6): an InstallCertificate(CentralSystemRootCertificate) whose certificate is not one
    is Rejected and reported by SecurityEventNotification(InvalidCentralSystemCertificate); nothing is listed."""
    request = call.InstallCertificate(
        certificate_type="CentralSystemRootCertificate",
        certificate="-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )
    assert (await csms16.call(STATION_ID, request)).status == "Rejected"
    event = await csms16.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidCentralSystemCertificate", timeout=10
    )
    assert "InstallCertificate" in event["techInfo"]
    assert (await installed(csms16, "CentralSystemRootCertificate")).status == "NotFound"


async def test_TC_074_CS_update_charge_point_certificate_by_request_of_central_system(
    csms16: DevCsms16, station16: StationUnderTest, tmp_path: Path
) -> None:
    """Whitepaper A02 (1.6): ExtendedTriggerMessage(SignChargePointCertificate) Accepted, a SignCertificate.req
    with a PEM CSR naming the station, and the certificate the CSMS's CA signed is Accepted by
    CertificateSigned (its issuer is an installed CentralSystemRootCertificate)."""
    root = TestPki(tmp_path / "pki").ca("Test Central System Root")
    assert await install(csms16, "CentralSystemRootCertificate", root.cert) == "Accepted"
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    request = await csms16.wait_for("SignCertificate", timeout=15)
    csr = x509.load_pem_x509_csr(request["csr"].encode())
    assert STATION_ID in csr.subject.rfc4514_string()
    signed = call.CertificateSigned(certificate_chain=pem(sign_csr(root, csr)))
    assert (await csms16.call(STATION_ID, signed)).status == "Accepted"


async def test_TC_077_CS_invalid_charge_point_certificate_security_event(
    csms16: DevCsms16, station16: StationUnderTest, tmp_path: Path
) -> None:
    """Whitepaper A02 (1.6): ExtendedTriggerMessage(SignChargePointCertificate) Accepted, a SignCertificate.req,
    and a CertificateSigned whose certificate is not issued under an installed CentralSystemRootCertificate
    is Rejected and reported as InvalidChargePointCertificate (the whitepaper's name for it) by
    SecurityEventNotification. The certificate is not kept: profile 3 (which needs a valid Charge Point
    certificate) is still refused. The OCTT runs it at profile 3; the check does not depend on the profile."""
    pki = TestPki(tmp_path / "pki")
    root, stranger = pki.ca("Test Central System Root"), pki.ca("Somebody Else")
    assert await install(csms16, "CentralSystemRootCertificate", root.cert) == "Accepted"
    trigger = call.ExtendedTriggerMessage(requested_message="SignChargePointCertificate")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    request = await csms16.wait_for("SignCertificate", timeout=15)
    csr = x509.load_pem_x509_csr(request["csr"].encode())
    signed = call.CertificateSigned(certificate_chain=pem(sign_csr(stranger, csr)))
    assert (await csms16.call(STATION_ID, signed)).status == "Rejected"
    event = await csms16.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidChargePointCertificate", timeout=10
    )
    assert event["timestamp"]
    refused = await csms16.call(STATION_ID, call.ChangeConfiguration(key="SecurityProfile", value="3"))
    assert refused.status == "Rejected"


# ---- signed firmware ------------------------------------------------------------------------------------


def signed_update(request_id: int, location: str, maker: Manufacturer, image: bytes) -> call.SignedUpdateFirmware:
    return call.SignedUpdateFirmware(
        request_id=request_id,
        firmware={
            "location": location,
            "retrieve_date_time": datetime.now(UTC).isoformat(),
            "signing_certificate": maker.signing_pem,
            "signature": maker.sign(image),
        },
        retries=0,
        retry_interval=0,
    )


def signed_statuses(csms16: DevCsms16, request_id: int) -> list[str]:
    return [
        p["status"] for p in csms16.received("SignedFirmwareStatusNotification") if p.get("requestId") == request_id
    ]


async def test_TC_080_CS_secure_firmware_update(
    csms16: DevCsms16, make_station16: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """Whitepaper L01 (1.6): SignedUpdateFirmware Accepted; SignedFirmwareStatusNotification with the requestId
    for Downloading, Downloaded, SignatureVerified, Installing, InstallRebooting, and Installed after the
    reboot; the plain FirmwareStatusNotification is not used; a FirmwareUpdated security event follows."""
    sut: StationUnderTest = await make_station16(
        station={**STATION, "firmware_version_file": str(tmp_path / "running-version")},
        firmware={"installer": "sim"},
    )
    await csms16.wait_for("BootNotification", timeout=10)
    assert await install(csms16, "ManufacturerRootCertificate", maker.root) == "Accepted"
    answer = await csms16.call(STATION_ID, signed_update(31, http.url("/fw.bin"), maker, IMAGE))
    assert answer.status == "Accepted"
    assert await sut.wait_exit() is Exit.RESET
    assert signed_statuses(csms16, 31) == SIGNED_SEQUENCE
    csms16.skip("BootNotification")
    await sut.start()
    boot = await csms16.wait_for("BootNotification", timeout=10)
    assert boot["firmwareVersion"] == "3.0.0"
    await csms16.wait_for(
        "SignedFirmwareStatusNotification", predicate=lambda p: p["status"] == "Installed", timeout=10
    )
    assert signed_statuses(csms16, 31) == [*SIGNED_SEQUENCE, "Installed"]
    assert csms16.received("FirmwareStatusNotification") == []
    await csms16.wait_for("SecurityEventNotification", predicate=lambda p: p["type"] == "FirmwareUpdated", timeout=10)
    # ExtendedTriggerMessage(FirmwareStatusNotification) answers with the signed notification: Idle now.
    trigger = call.ExtendedTriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    idle = await csms16.wait_for(
        "SignedFirmwareStatusNotification", predicate=lambda p: p["status"] == "Idle", timeout=10
    )
    assert "requestId" not in idle


async def test_secure_firmware_update_invalid_signing_certificate_is_refused_before_download(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """Whitepaper L01: a signing certificate of another manufacturer is answered InvalidCertificate and
    reported by SecurityEventNotification(InvalidFirmwareSigningCertificate); nothing is downloaded."""
    assert await install(csms16, "ManufacturerRootCertificate", maker.root) == "Accepted"
    stranger = make_manufacturer()
    answer = await csms16.call(STATION_ID, signed_update(32, http.url("/fw.bin"), stranger, IMAGE))
    assert answer.status == "InvalidCertificate"
    event = await csms16.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidFirmwareSigningCertificate", timeout=10
    )
    assert "32" in event["techInfo"]
    await asyncio.sleep(0.3)
    assert http.requests == []
    assert signed_statuses(csms16, 32) == []


async def test_TC_081_CS_secure_firmware_update_invalid_signature(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """Whitepaper L01 (1.6): a signature that is not over this image: Downloading, Downloaded, InvalidSignature
    with the requestId, a SecurityEventNotification(InvalidFirmwareSignature), and nothing installed."""
    assert await install(csms16, "ManufacturerRootCertificate", maker.root) == "Accepted"
    request = signed_update(33, http.url("/fw.bin"), maker, sim_image("9.9.9"))  # signed over another image
    assert (await csms16.call(STATION_ID, request)).status == "Accepted"
    await csms16.wait_for(
        "SignedFirmwareStatusNotification", predicate=lambda p: p["status"] == "InvalidSignature", timeout=10
    )
    assert signed_statuses(csms16, 33) == ["Downloading", "Downloaded", "InvalidSignature"]
    event = await csms16.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidFirmwareSignature", timeout=10
    )
    assert "33" in event["techInfo"]
    assert station16.d.station.reset_reason != "FirmwareUpdate"


# ---- GetLog --------------------------------------------------------------------------------------------


def members(body: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return tar.getnames()


@pytest.mark.parametrize("log_type", ["SecurityLog", "DiagnosticsLog"])
async def test_TC_079_CS_get_security_log(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer, log_type: str
) -> None:
    """Whitepaper N01 (1.6): GetLog Accepted with the file name; LogStatusNotification Uploading then Uploaded
    with the requestId; the file arrives; no DiagnosticsStatusNotification (GetDiagnostics's) is sent."""
    request = call.GetLog(log={"remote_location": http.url("/logs/")}, log_type=log_type, request_id=41, retries=0)
    answer = await csms16.call(STATION_ID, request)
    assert answer.status == "Accepted"
    assert answer.filename and log_type in answer.filename
    await csms16.wait_for("LogStatusNotification", predicate=lambda p: p["status"] == "Uploaded", timeout=10)
    notes = csms16.received("LogStatusNotification")
    assert [(p["status"], p.get("requestId")) for p in notes] == [("Uploading", 41), ("Uploaded", 41)]
    assert members(http.uploads[f"/logs/{answer.filename}"].body)
    assert csms16.received("DiagnosticsStatusNotification") == []
    # ExtendedTriggerMessage(LogStatusNotification): Idle, without a requestId, once it is over.
    trigger = call.ExtendedTriggerMessage(requested_message="LogStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    idle = await csms16.wait_for("LogStatusNotification", predicate=lambda p: p["status"] == "Idle", timeout=10)
    assert "requestId" not in idle


# ---- ExtendedTriggerMessage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "action"),
    [
        ("BootNotification", "BootNotification"),
        ("Heartbeat", "Heartbeat"),
        ("StatusNotification", "StatusNotification"),
        ("MeterValues", "MeterValues"),
    ],
)
async def test_extended_trigger_message_core_messages(
    csms16: DevCsms16, station16: StationUnderTest, requested: str, action: str
) -> None:
    """Whitepaper F06 (1.6): ExtendedTriggerMessage of a Core message is Accepted and the message follows."""
    csms16.skip(action)
    answer = await csms16.call(STATION_ID, call.ExtendedTriggerMessage(requested_message=requested, connector_id=1))
    assert answer.status == "Accepted"
    sent = await csms16.wait_for(action, timeout=10)
    if action in ("StatusNotification", "MeterValues"):
        assert sent["connectorId"] == 1


async def test_extended_trigger_message_for_a_connector_that_does_not_exist_is_rejected(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    answer = await csms16.call(
        STATION_ID, call.ExtendedTriggerMessage(requested_message="StatusNotification", connector_id=7)
    )
    assert answer.status == "Rejected"


async def test_security_event_notification_arrives_under_1_6(csms16: DevCsms16, station16: StationUnderTest) -> None:
    """Whitepaper A04: the station's security events reach a 1.6 Central System (StartupOfTheDevice at boot)."""
    event = await csms16.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "StartupOfTheDevice", timeout=10
    )
    assert event["timestamp"]

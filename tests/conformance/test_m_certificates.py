"""Block M, installed CA certificates over the wire: InstallCertificate (M05), GetInstalledCertificateIds
(M03) and DeleteCertificate (M04), driven by the dev CSMS; hash data checked against the OCSP CertID each
test computes itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.cert_factory import Issued, make_certificate, reference_hash_data
from tests.integration.conftest import STATION_ID, StationUnderTest

ALL_ROOT_TYPES = ["CSMSRootCertificate", "ManufacturerRootCertificate", "V2GRootCertificate", "MORootCertificate"]


async def install(csms: DevCsms, certificate_type: str, pem: str) -> Any:
    return await csms.call(STATION_ID, call.InstallCertificate(certificate_type=certificate_type, certificate=pem))


async def installed_ids(csms: DevCsms, types: list[str] | None = None) -> Any:
    return await csms.call(STATION_ID, call.GetInstalledCertificateIds(certificate_type=types))


async def delete(csms: DevCsms, hash_data: dict[str, str]) -> Any:
    return await csms.call(STATION_ID, call.DeleteCertificate(certificate_hash_data=hash_data))


def chain_entry(certificate_type: str, root: Issued) -> dict[str, Any]:
    return {
        "certificate_type": certificate_type,
        "certificate_hash_data": reference_hash_data(root.certificate, root.certificate),
    }


def listed(result: Any) -> list[dict[str, Any]]:
    assert result.status == "Accepted"
    return sorted(result.certificate_hash_data_chain, key=lambda e: e["certificate_type"])


async def test_TC_M_01_CS_install_csms_root_certificate(csms: DevCsms, station: StationUnderTest) -> None:
    """M05.FR.01/02: Accepted, then listed with the hash data the CSMS computes (M03.FR.03/04); stored in
    state_dir/certs/csms_roots, where the TLS code finds it, and still there after a restart."""
    root = make_certificate("TC_M_01 CSMS Root")
    assert (await install(csms, "CSMSRootCertificate", root.pem)).status == "Accepted"
    result = await installed_ids(csms, ["CSMSRootCertificate"])
    assert listed(result) == [chain_entry("CSMSRootCertificate", root)]
    files = list((station.settings.state_dir / "certs" / "csms_roots").glob("*.pem"))
    assert [f.read_bytes() for f in files] == [root.certificate.public_bytes(Encoding.PEM)]
    await station.stop()
    csms.skip()
    await station.start()
    await csms.wait_for("BootNotification", timeout=10)
    assert listed(await installed_ids(csms, ["CSMSRootCertificate"])) == [chain_entry("CSMSRootCertificate", root)]
    csms.assert_no_failures()


async def test_TC_M_02_CS_TC_M_03_CS_TC_M_04_CS_install_manufacturer_v2g_and_mo_roots(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """M05.FR.01/02 for ManufacturerRootCertificate, V2GRootCertificate and MORootCertificate: each is
    Accepted and then listed under its own type."""
    for certificate_type in ALL_ROOT_TYPES[1:]:
        root = make_certificate(f"{certificate_type} root")
        assert (await install(csms, certificate_type, root.pem)).status == "Accepted"
        assert listed(await installed_ids(csms, [certificate_type])) == [chain_entry(certificate_type, root)]
    csms.assert_no_failures()


async def test_TC_M_07_CS_install_rejected_certificate_invalid(csms: DevCsms, station: StationUnderTest) -> None:
    """M05.FR.07: an expired certificate, a malformed PEM and an end-entity (not CA) certificate are Rejected
    and none is listed afterwards."""
    now = datetime.now(UTC)
    expired = make_certificate("Expired root", valid_from=now - timedelta(days=30), valid_days=10)
    malformed = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    leaf = make_certificate("Not a CA", ca=False)
    for pem in (expired.pem, malformed, leaf.pem):
        result = await install(csms, "CSMSRootCertificate", pem)
        assert result.status == "Rejected"
        assert result.status_info["reason_code"] == "InvalidCertificate"
    assert (await installed_ids(csms, ["CSMSRootCertificate"])).status == "NotFound"
    csms.assert_no_failures()


async def test_M05_FR_06_install_beyond_certificate_entries_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """M05.FR.06: once as many certificates are installed as the maxLimit of SecurityCtrlr.CertificateEntries
    allows, the next is Rejected; CertificateEntries reports how many are installed."""
    report = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "CertificateEntries"},
                    "attribute_type": "Actual",
                }
            ]
        ),
    )
    assert report.get_variable_result[0]["attribute_value"] == "0"
    capacity = 20  # config/device_model/security_ctrlr.yaml
    for i in range(capacity):
        result = await install(csms, ALL_ROOT_TYPES[i % 4], make_certificate(f"Root {i}").pem)
        assert result.status == "Accepted"
    result = await install(csms, "CSMSRootCertificate", make_certificate("One too many").pem)
    assert (result.status, result.status_info["reason_code"]) == ("Rejected", "OutOfStorage")
    report = await csms.call(
        STATION_ID,
        call.GetVariables(
            get_variable_data=[{"component": {"name": "SecurityCtrlr"}, "variable": {"name": "CertificateEntries"}}]
        ),
    )
    assert report.get_variable_result[0]["attribute_value"] == str(capacity)
    csms.assert_no_failures()


async def test_M05_FR_03_install_failed_when_the_store_cannot_be_written(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """M05.FR.03: a certificate that passes every check but cannot be stored is answered Failed."""
    (station.settings.state_dir / "certs").write_text("a file where the certificate directory should be")
    result = await install(csms, "CSMSRootCertificate", make_certificate("Unstorable").pem)
    assert result.status == "Failed"
    csms.assert_no_failures()


async def test_TC_M_12_CS_TC_M_13_CS_TC_M_14_CS_TC_M_16_CS_TC_M_17_CS_TC_M_18_CS_retrieve_by_type(
    csms: DevCsms, station: StationUnderTest
) -> None:
    """M03.FR.03/04: with one root of each type installed, each filter lists exactly its types, with the hash
    data the CSMS computes; no certificateType lists all of them."""
    roots = {t: make_certificate(f"{t} root") for t in ALL_ROOT_TYPES}
    for certificate_type, root in roots.items():
        assert (await install(csms, certificate_type, root.pem)).status == "Accepted"
    for certificate_type, root in roots.items():  # TC_M_12, 13, 14, 16
        assert listed(await installed_ids(csms, [certificate_type])) == [chain_entry(certificate_type, root)]
    both = ["CSMSRootCertificate", "ManufacturerRootCertificate"]  # TC_M_17
    assert listed(await installed_ids(csms, both)) == [chain_entry(t, roots[t]) for t in both]
    everything = sorted(ALL_ROOT_TYPES)  # TC_M_18
    assert listed(await installed_ids(csms)) == [chain_entry(t, roots[t]) for t in everything]
    csms.assert_no_failures()


async def test_TC_M_19_CS_retrieve_no_matching_certificate(csms: DevCsms, station: StationUnderTest) -> None:
    """M03.FR.02: NotFound, without a certificateHashDataChain, when nothing of the asked type is installed."""
    assert (await install(csms, "MORootCertificate", make_certificate("MO root").pem)).status == "Accepted"
    result = await installed_ids(csms, ["CSMSRootCertificate", "V2GCertificateChain"])
    assert result.status == "NotFound"
    assert result.certificate_hash_data_chain is None
    csms.assert_no_failures()


async def test_TC_M_20_CS_delete_certificate(csms: DevCsms, station: StationUnderTest) -> None:
    """M04.FR.01/02: deleting by the hash data GetInstalledCertificateIds returned is Accepted and the
    certificate is gone; a second one is deleted by SHA-384 hash data the CSMS computed itself."""
    first, second = make_certificate("Delete me"), make_certificate("Delete me too")
    for root in (first, second):
        assert (await install(csms, "CSMSRootCertificate", root.pem)).status == "Accepted"
    reported = listed(await installed_ids(csms, ["CSMSRootCertificate"]))
    wanted = reference_hash_data(first.certificate, first.certificate)
    assert (await delete(csms, wanted)).status == "Accepted"
    assert listed(await installed_ids(csms, ["CSMSRootCertificate"])) == [
        e for e in reported if e["certificate_hash_data"] != wanted
    ]
    sha384 = reference_hash_data(second.certificate, second.certificate, "SHA384")
    assert (await delete(csms, sha384)).status == "Accepted"
    assert (await installed_ids(csms, ["CSMSRootCertificate"])).status == "NotFound"
    assert list((station.settings.state_dir / "certs" / "csms_roots").glob("*.pem")) == []
    csms.assert_no_failures()


async def test_TC_M_22_CS_delete_no_matching_certificate(csms: DevCsms, station: StationUnderTest) -> None:
    """M04.FR.04: hash data of a certificate the station does not hold is NotFound; what is installed stays."""
    kept = make_certificate("Kept root")
    assert (await install(csms, "CSMSRootCertificate", kept.pem)).status == "Accepted"
    unknown = make_certificate("Never installed")
    assert (await delete(csms, reference_hash_data(unknown.certificate, unknown.certificate))).status == "NotFound"
    assert listed(await installed_ids(csms)) == [chain_entry("CSMSRootCertificate", kept)]
    csms.assert_no_failures()


async def test_TC_M_23_CS_delete_charging_station_certificate_failed(
    csms: DevCsms, make_station: Any, tmp_path: Path
) -> None:
    """M04.FR.06: the station's own certificate (ChargingStationCertificate, here the configured client
    certificate issued by the CSMS's CA) cannot be deleted: Failed, and its file is untouched."""
    ca = make_certificate("CSMS CA")
    own = make_certificate(STATION_ID, ca=False, issuer=ca)
    cert_file, key_file = tmp_path / "station.pem", tmp_path / "station.key"
    cert_file.write_text(own.pem + ca.pem)
    key_file.write_bytes(own.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key_file.chmod(0o600)
    csms_section = {
        "url": csms.url,
        "security_profile": 1,
        "basic_auth_password": "test-password-0001",
        "client_cert": str(cert_file),
        "client_key": str(key_file),
    }
    await make_station(csms=csms_section)
    await csms.wait_for("StatusNotification", timeout=10)
    result = await delete(csms, reference_hash_data(own.certificate, ca.certificate))
    assert result.status == "Failed"
    assert cert_file.read_text() == own.pem + ca.pem
    csms.assert_no_failures()

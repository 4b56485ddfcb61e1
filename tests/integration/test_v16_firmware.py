"""OCPP 1.6 Firmware Management over the wire: UpdateFirmware and GetDiagnostics driven by the 1.6 dev CSMS,
the image served and the diagnostics received by the loopback HTTP server, installed by the simulated
board's installer. Every status sequence is asserted as the Central System received it."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call

from evse.daemon import Exit
from evse.devcsms.server16 import DevCsms16
from tests.firmware_kit import sim_image
from tests.http_server import LoopbackHttpServer
from tests.integration.conftest import STATION_ID, StationUnderTest

IMAGE = sim_image("2.0.0")
STATION = {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel", "serial": "S1", "firmware_version": "1.0.0"}


@pytest.fixture
def http() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as server:
        server.files["/fw.bin"] = IMAGE
        yield server


async def firmware_station(csms16: DevCsms16, make_station16: Any, tmp_path: Path) -> StationUnderTest:
    sut: StationUnderTest = await make_station16(
        station={**STATION, "firmware_version_file": str(tmp_path / "running-version")},
        firmware={"installer": "sim"},
    )
    await csms16.wait_for("BootNotification", timeout=10)
    await csms16.wait_for("StatusNotification", timeout=10)
    return sut


def firmware_statuses(csms16: DevCsms16) -> list[str]:
    return [p["status"] for p in csms16.received("FirmwareStatusNotification")]


def diagnostics_statuses(csms16: DevCsms16) -> list[str]:
    return [p["status"] for p in csms16.received("DiagnosticsStatusNotification")]


async def firmware_reached(csms16: DevCsms16, status: str, timeout: float = 10) -> None:
    await csms16.wait_for("FirmwareStatusNotification", predicate=lambda p: p["status"] == status, timeout=timeout)


async def diagnostics_reached(csms16: DevCsms16, status: str, timeout: float = 10) -> None:
    await csms16.wait_for("DiagnosticsStatusNotification", predicate=lambda p: p["status"] == status, timeout=timeout)


def update_firmware(location: str, retries: int = 0) -> call.UpdateFirmware:
    return call.UpdateFirmware(
        location=location, retrieve_date=datetime.now(UTC).isoformat(), retries=retries, retry_interval=0
    )


async def test_TC_044_1_CS_firmware_update_download_and_install(
    csms16: DevCsms16, make_station16: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """1.6 5.19 / 4.5: UpdateFirmware (no signature: the 2.0.1 L02 path, nothing to verify) is answered, then
    Downloading, Downloaded, Installing before the reboot and Installed after it, once the new boot is
    accepted; the new BootNotification names the installed version. Nothing 1.6 has no word for
    (InstallRebooting, SignatureVerified) reaches the Central System."""
    sut = await firmware_station(csms16, make_station16, tmp_path)
    await csms16.call(STATION_ID, update_firmware(http.url("/fw.bin")))
    assert await sut.wait_exit() is Exit.RESET
    assert firmware_statuses(csms16) == ["Downloading", "Downloaded", "Installing"]
    assert (tmp_path / "running-version").read_text().strip() == "2.0.0"
    csms16.skip("BootNotification")
    await sut.start()
    boot = await csms16.wait_for("BootNotification", timeout=10)
    assert boot["firmwareVersion"] == "2.0.0"
    await firmware_reached(csms16, "Installed")
    assert firmware_statuses(csms16) == ["Downloading", "Downloaded", "Installing", "Installed"]
    # The signed notification is never used for a plain update.
    assert csms16.received("SignedFirmwareStatusNotification") == []
    # 1.6 5.17: once the update is over, a triggered FirmwareStatusNotification says Idle.
    answer = await csms16.call(STATION_ID, call.TriggerMessage(requested_message="FirmwareStatusNotification"))
    assert answer.status == "Accepted"
    await firmware_reached(csms16, "Idle")


async def test_TC_044_2_CS_firmware_update_download_failed(
    csms16: DevCsms16, make_station16: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """A location that answers 404: Downloading, then DownloadFailed; nothing installed, no reboot."""
    sut = await firmware_station(csms16, make_station16, tmp_path)
    await csms16.call(STATION_ID, update_firmware(http.url("/missing.bin")))
    await firmware_reached(csms16, "DownloadFailed")
    assert firmware_statuses(csms16) == ["Downloading", "DownloadFailed"]
    assert not (tmp_path / "running-version").exists()
    assert sut.d.station.reset_reason != "FirmwareUpdate"


async def test_trigger_firmware_status_while_downloading_reports_downloading(
    csms16: DevCsms16, make_station16: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """1.6 5.17: TriggerMessage(FirmwareStatusNotification) reports the running update's status, Idle before."""
    await firmware_station(csms16, make_station16, tmp_path)
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    await firmware_reached(csms16, "Idle")
    # Every attempt breaks off and the next waits retryInterval: the update stays at Downloading meanwhile.
    http.behaviour.break_after, http.behaviour.break_times = 1000, None
    request = call.UpdateFirmware(
        location=http.url("/fw.bin"), retrieve_date=datetime.now(UTC).isoformat(), retries=3, retry_interval=60
    )
    await csms16.call(STATION_ID, request)
    await firmware_reached(csms16, "Downloading")
    csms16.skip("FirmwareStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    triggered = await csms16.wait_for("FirmwareStatusNotification", timeout=5)
    assert triggered["status"] == "Downloading"


def unpack(body: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return tar.getnames()


async def test_TC_045_1_CS_get_diagnostics(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """1.6 5.7 / 4.4: GetDiagnostics.conf names the file; Uploading then Uploaded; the file arrives at the
    location (a directory: the file name is appended) and holds the station's log. No LogStatusNotification
    (that is GetLog's) is sent for it."""
    answer = await csms16.call(STATION_ID, call.GetDiagnostics(location=http.url("/diag/"), retries=0))
    assert answer.file_name and answer.file_name.endswith(".tar.gz")
    await diagnostics_reached(csms16, "Uploaded")
    assert diagnostics_statuses(csms16) == ["Uploading", "Uploaded"]
    upload = http.uploads[f"/diag/{answer.file_name}"]
    assert "evse.log" in unpack(upload.body)
    assert csms16.received("LogStatusNotification") == []
    # Idle once it is over (1.6 5.17).
    trigger = call.TriggerMessage(requested_message="DiagnosticsStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    await diagnostics_reached(csms16, "Idle")


async def test_TC_045_2_CS_get_diagnostics_upload_failed(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """The upload is refused by the server: Uploading, then UploadFailed; the station keeps serving."""
    http.behaviour.refuse["/refused.tar.gz"] = 403
    answer = await csms16.call(STATION_ID, call.GetDiagnostics(location=http.url("/refused.tar.gz"), retries=0))
    assert answer.file_name
    await diagnostics_reached(csms16, "UploadFailed")
    assert diagnostics_statuses(csms16) == ["Uploading", "UploadFailed"]
    trigger = call.TriggerMessage(requested_message="DiagnosticsStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    await diagnostics_reached(csms16, "Idle")


async def test_get_diagnostics_to_a_location_the_station_cannot_upload_to_names_no_file(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """1.6 5.7: no fileName when no diagnostics will be uploaded (only http and https are supported)."""
    answer = await csms16.call(STATION_ID, call.GetDiagnostics(location="ftp://127.0.0.1/diag/"))
    assert answer.file_name is None
    await asyncio.sleep(0.3)
    assert diagnostics_statuses(csms16) == []


async def test_trigger_diagnostics_status_while_uploading_reports_uploading(
    csms16: DevCsms16, station16: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """1.6 5.17: TriggerMessage(DiagnosticsStatusNotification) says Uploading while a GetDiagnostics is under
    way (here waiting a minute between refused attempts), Idle otherwise."""
    http.behaviour.refuse["/busy.tar.gz"] = 503
    request = call.GetDiagnostics(location=http.url("/busy.tar.gz"), retries=3, retry_interval=60)
    assert (await csms16.call(STATION_ID, request)).file_name
    await diagnostics_reached(csms16, "Uploading")
    csms16.skip("DiagnosticsStatusNotification")
    trigger = call.TriggerMessage(requested_message="DiagnosticsStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    triggered = await csms16.wait_for("DiagnosticsStatusNotification", timeout=5)
    assert triggered["status"] == "Uploading"


async def test_firmware_management_is_announced_with_its_transfer_protocols(
    csms16: DevCsms16, station16: StationUnderTest
) -> None:
    """1.6 9.1/9.2: SupportedFeatureProfiles names FirmwareManagement; SupportedFileTransferProtocols (read-only)
    names what the transfers use, the device model's OCPPCommCtrlr.FileTransferProtocols."""
    request = call.GetConfiguration(key=["SupportedFeatureProfiles", "SupportedFileTransferProtocols"])
    answer = await csms16.call(STATION_ID, request)
    values = {entry["key"]: entry for entry in answer.configuration_key}
    assert "FirmwareManagement" in values["SupportedFeatureProfiles"]["value"].split(",")
    assert values["SupportedFileTransferProtocols"]["value"] == "HTTPS,HTTP"
    assert values["SupportedFileTransferProtocols"]["readonly"] is True


async def test_TC_044_3_CS_firmware_update_installation_failed(
    csms16: DevCsms16, make_station16: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """1.6 5.19 / 4.5: an image the installer refuses (not a firmware for this board, the OCTT's invalid
    firmware): Downloading, Downloaded, Installing, then InstallationFailed (2.0.1's InstallVerificationFailed
    said in 1.6); no reboot, the old firmware keeps running, the connector is back in service, and a
    triggered FirmwareStatusNotification says Idle afterwards."""
    sut = await firmware_station(csms16, make_station16, tmp_path)
    http.files["/invalid.bin"] = b"not a firmware image for this board" * 100
    await csms16.call(STATION_ID, update_firmware(http.url("/invalid.bin")))
    await firmware_reached(csms16, "InstallationFailed")
    assert firmware_statuses(csms16) == ["Downloading", "Downloaded", "Installing", "InstallationFailed"]
    assert not (tmp_path / "running-version").exists()
    assert sut.d.station.reset_reason != "FirmwareUpdate"
    assert sut.task is not None and not sut.task.done()
    await csms16.wait_for(
        "StatusNotification", predicate=lambda p: p["connectorId"] == 1 and p["status"] == "Available", timeout=10
    )
    csms16.skip("FirmwareStatusNotification")
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms16.call(STATION_ID, trigger)).status == "Accepted"
    await firmware_reached(csms16, "Idle")

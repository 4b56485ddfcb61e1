"""Block L, firmware management over the wire: UpdateFirmware driven by the dev CSMS, the image served by
the loopback HTTP server, signed with a manufacturer PKI made here, installed by the simulated board's
installer (or a `command` installer written by the test). Every status sequence is asserted as the CSMS
received it; "nothing installed" is checked on the version file the installer writes."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from ocpp.v201 import call

from evse.daemon import Exit
from evse.devcsms.server import DevCsms
from tests.conformance.octt import wire_checked
from tests.conformance.wire import charging, status, until
from tests.firmware_kit import Manufacturer, make_manufacturer, sim_image, update_firmware
from tests.http_server import LoopbackHttpServer
from tests.integration.conftest import STATION_ID, StationUnderTest
from tests.tls_certs import TestPki, server_context

__all__ = ["wire_checked"]

IMAGE = sim_image("2.0.0")
STATION = {"id": STATION_ID, "vendor": "TestVendor", "model": "TestModel", "serial": "S1", "firmware_version": "1.0.0"}


@pytest.fixture
def http() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as server:
        server.files["/fw.bin"] = IMAGE
        yield server


@pytest.fixture
def maker() -> Manufacturer:
    return make_manufacturer()


def version_file(tmp_path: Path) -> Path:
    return tmp_path / "running-version"


async def firmware_station(
    csms: DevCsms,
    make_station: Any,
    tmp_path: Path,
    *,
    evses: int = 1,
    firmware: dict[str, Any] | None = None,
    **extra: Any,
) -> StationUnderTest:
    sut: StationUnderTest = await make_station(
        evses=evses,
        station={**STATION, "firmware_version_file": str(version_file(tmp_path))},
        firmware=firmware or {"installer": "sim"},
        **extra,
    )
    await csms.wait_for("BootNotification", timeout=10)
    for evse_id in range(1, evses + 1):
        await csms.wait_for("StatusNotification", predicate=lambda p, e=evse_id: p["evseId"] == e, timeout=10)
    return sut


async def install_root(csms: DevCsms, maker: Manufacturer) -> None:
    request = call.InstallCertificate(certificate_type="ManufacturerRootCertificate", certificate=maker.root_pem)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"


def statuses(csms: DevCsms, request_id: int | None = None) -> list[str]:
    return [
        p["status"]
        for p in csms.received("FirmwareStatusNotification")
        if request_id is None or p.get("requestId") == request_id
    ]


async def reached(csms: DevCsms, wanted: str, request_id: int, timeout: float = 10) -> None:
    await csms.wait_for(
        "FirmwareStatusNotification",
        predicate=lambda p: p["status"] == wanted and p.get("requestId") == request_id,
        timeout=timeout,
    )


async def reboot(sut: StationUnderTest, csms: DevCsms) -> dict[str, Any]:
    """The install asked for a restart: the daemon leaves as for a Reset; the test boots it again (the
    CLI would re-execute it). Returns the new BootNotification."""
    assert await sut.wait_exit() is Exit.RESET
    csms.skip("BootNotification")
    await sut.start()
    return await csms.wait_for("BootNotification", timeout=10)


UNSIGNED_ALLOWED = {"installer": "sim", "allow_unsigned": True}
SIGNED_SEQUENCE = ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallRebooting"]


async def test_TC_L_01_CS_secure_firmware_update_installation_successful(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.01/20: every new state is reported with the requestId of the update; L01.FR.15: InstallRebooting
    before the restart; after it, BootNotification reason FirmwareUpdate with the new firmwareVersion, the
    connectors, then Installed for the same requestId and a FirmwareUpdated security event (L01.FR.31)."""
    sut = await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    request = update_firmware(101, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallRebooting", 101)
    assert statuses(csms) == SIGNED_SEQUENCE
    boot = await reboot(sut, csms)
    assert boot["reason"] == "FirmwareUpdate"
    assert boot["chargingStation"]["firmwareVersion"] == "2.0.0"
    await reached(csms, "Installed", 101)
    assert statuses(csms) == [*SIGNED_SEQUENCE, "Installed"]
    assert all(p["requestId"] == 101 for p in csms.received("FirmwareStatusNotification"))
    # The connectors are reported before Installed, as after any boot.
    assert csms.received("StatusNotification")[-1]["connectorStatus"] == "Available"
    updated = await csms.wait_for("SecurityEventNotification", predicate=lambda p: p["type"] == "FirmwareUpdated")
    assert "101" in updated["techInfo"]
    # L01.FR.25: once Installed, a trigger reports Idle without a requestId.
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    idle = await csms.wait_for("FirmwareStatusNotification", predicate=lambda p: p["status"] == "Idle")
    assert "requestId" not in idle


async def test_TC_L_02_CS_secure_firmware_update_install_scheduled(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """L01.FR.11/12: an installDateTime in the future: InstallScheduled after SignatureVerified, and Installing
    only once that time has come. The RSA signer chains to a factory root named in YAML (firmware.factory_root)."""
    maker = make_manufacturer("rsa")
    root = tmp_path / "factory-root.pem"
    root.write_text(maker.root_pem)
    await firmware_station(csms, make_station, tmp_path, firmware={"installer": "sim", "factory_root": str(root)})
    install_at = datetime.now(UTC) + timedelta(seconds=2)
    request = update_firmware(102, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, install=install_at)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallScheduled", 102)
    await reached(csms, "InstallRebooting", 102)
    assert statuses(csms) == [
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "InstallScheduled",
        "Installing",
        "InstallRebooting",
    ]
    assert datetime.now(UTC) >= install_at
    assert version_file(tmp_path).read_text().strip() == "2.0.0"


async def test_TC_L_03_CS_secure_firmware_update_download_scheduled(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.13: a retrieveDateTime in the future: DownloadScheduled, and the image is asked for only once
    that time has come. L01.FR.26: a TriggerMessage meanwhile reports DownloadScheduled with the requestId."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    retrieve_at = datetime.now(UTC) + timedelta(seconds=2)
    request = update_firmware(103, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, retrieve=retrieve_at)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "DownloadScheduled", 103)
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    await reached(csms, "DownloadScheduled", 103)  # the triggered copy
    assert not [r for r in http.requests if r.method == "GET"]
    await reached(csms, "InstallRebooting", 103)
    assert statuses(csms) == ["DownloadScheduled", "DownloadScheduled", *SIGNED_SEQUENCE]
    assert datetime.now(UTC) >= retrieve_at


async def test_TC_L_05_CS_secure_firmware_update_invalid_certificate(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.22: the signing certificate is checked before the request is accepted: one of another
    manufacturer is answered InvalidCertificate (L01.FR.02: InvalidFirmwareSigningCertificate security event)
    and nothing is downloaded or installed."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    stranger = make_manufacturer()
    request = update_firmware(105, http.url("/fw.bin"), manufacturer=stranger, image=IMAGE)
    assert (await csms.call(STATION_ID, request)).status == "InvalidCertificate"
    event = await csms.wait_for(
        "SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidFirmwareSigningCertificate"
    )
    assert "105" in event["techInfo"]
    await asyncio.sleep(0.3)
    assert statuses(csms) == []
    assert http.requests == []
    assert not version_file(tmp_path).exists()


async def test_TC_L_06_CS_secure_firmware_update_invalid_signature(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.03: a signature that does not match the downloaded image (the image was tampered with):
    Downloaded, then InvalidSignature and an InvalidFirmwareSignature security event; nothing installed."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    request = update_firmware(
        106, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, signature=maker.sign(sim_image("2.0.0"))
    )
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InvalidSignature", 106)
    await csms.wait_for("SecurityEventNotification", predicate=lambda p: p["type"] == "InvalidFirmwareSignature")
    await asyncio.sleep(0.3)
    assert statuses(csms) == ["Downloading", "Downloaded", "InvalidSignature"]
    assert not version_file(tmp_path).exists()
    assert not list((tmp_path / "state" / "firmware").glob("*"))  # the rejected image is not kept


async def test_TC_L_07_CS_secure_firmware_update_download_failed(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.09: the server refuses: the download is tried 1 + retries times, then DownloadFailed; a
    TriggerMessage then reports DownloadFailed with the requestId (L01.FR.26)."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    http.behaviour.refuse["/fw.bin"] = 404
    request = update_firmware(107, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, retries=2, retry_interval=0)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "DownloadFailed", 107)
    assert statuses(csms) == ["Downloading", "Downloading", "Downloading", "DownloadFailed"]
    assert len([r for r in http.requests if r.method == "GET"]) == 3
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    await reached(csms, "DownloadFailed", 107)
    assert not version_file(tmp_path).exists()


def installer_script(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "install.sh"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


async def test_TC_L_08_CS_installation_failed(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """The `command` installer exits non-zero: InstallationFailed; the station does not restart, the EVSE is
    back in service and the old version still runs."""
    script = installer_script(tmp_path, 'echo "flash write error" >&2\nexit 3\n')
    sut = await firmware_station(
        csms, make_station, tmp_path, firmware={"installer": "command", "command": [str(script)]}
    )
    await install_root(csms, maker)
    request = update_firmware(108, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallationFailed", 108)
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "Installing", "InstallationFailed"]
    # Unavailable while installing, Available again after the failure.
    await csms.wait_for("StatusNotification", predicate=status("Unavailable"))
    await csms.wait_for("StatusNotification", predicate=status("Available"))
    assert sut.task is not None and not sut.task.done()
    assert not version_file(tmp_path).exists()


async def test_TC_L_08_CS_install_verification_failed(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """A genuinely signed image the board's installer finds unfit (not an image for this board):
    InstallVerificationFailed, nothing installed."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    foreign = b"not an image for this board" * 1000
    http.files["/other.bin"] = foreign
    request = update_firmware(118, http.url("/other.bin"), manufacturer=maker, image=foreign)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallVerificationFailed", 118)
    assert statuses(csms)[-2:] == ["Installing", "InstallVerificationFailed"]
    assert not version_file(tmp_path).exists()


async def test_TC_L_10_CS_secure_firmware_update_accepted_canceled(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.24: a second UpdateFirmware while the first waits for its retrieveDateTime: AcceptedCanceled,
    the first is dropped (its image never asked for) and the second runs to InstallRebooting."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    http.files["/old.bin"] = sim_image("1.5.0")
    later = datetime.now(UTC) + timedelta(hours=1)
    first = update_firmware(110, http.url("/old.bin"), manufacturer=maker, image=http.files["/old.bin"], retrieve=later)
    assert (await csms.call(STATION_ID, first)).status == "Accepted"
    await reached(csms, "DownloadScheduled", 110)
    second = update_firmware(111, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, second)).status == "AcceptedCanceled"
    await reached(csms, "InstallRebooting", 111)
    assert statuses(csms, 110) == ["DownloadScheduled"]
    assert statuses(csms, 111) == SIGNED_SEQUENCE
    assert [r.path for r in http.requests] == ["/fw.bin"]
    assert version_file(tmp_path).read_text().strip() == "2.0.0"


async def test_TC_L_11_CS_secure_firmware_update_unable_to_cancel(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.27: while the image is being written, a new UpdateFirmware is Rejected and the running install
    completes."""
    go = tmp_path / "go"
    started = tmp_path / "started"
    script = installer_script(tmp_path, f'touch "{started}"\nwhile [ ! -e "{go}" ]; do sleep 0.05; done\nexit 0\n')
    await firmware_station(csms, make_station, tmp_path, firmware={"installer": "command", "command": [str(script)]})
    await install_root(csms, maker)
    request = update_firmware(112, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "Installing", 112)
    await until(started.exists, "installer started")
    again = update_firmware(113, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, again)).status == "Rejected"
    go.touch()
    await reached(csms, "InstallRebooting", 112)
    assert statuses(csms, 113) == []


async def session_during_update(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer, allow: bool
) -> StationUnderTest:
    """EVSE 1 charges when the update arrives: it is downloaded and verified, the install waits
    (InstallScheduled) with the session untouched. Returns once InstallScheduled has arrived."""
    sut = await firmware_station(
        csms,
        make_station,
        tmp_path,
        evses=2,
        device_model={"ChargingStation.AllowNewSessionsPendingFirmwareUpdate": allow},
    )
    await install_root(csms, maker)
    await charging(csms, sut, 1)
    request = update_firmware(114, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallScheduled", 114)
    await asyncio.sleep(0.5)
    assert statuses(csms) == ["Downloading", "Downloaded", "SignatureVerified", "InstallScheduled"]
    assert sut.d.board.contactor(1).is_closed  # the session is never cut
    assert not [p for p in csms.received("TransactionEvent") if p["eventType"] == "Ended"]
    return sut


async def test_TC_L_14_CS_install_waits_for_the_session_new_sessions_allowed(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.06 with AllowNewSessionsPendingFirmwareUpdate true: the idle EVSE 2 stays Available and a new
    session starts on it while the install waits; the install waits for the last session (EVSE 1 ending
    is not enough), then both EVSEs go Unavailable and the install runs."""
    sut = await session_during_update(csms, make_station, tmp_path, http, maker, allow=True)
    assert not [p for p in csms.received("StatusNotification") if p["connectorStatus"] == "Unavailable"]
    assert sut.d.station.evses[2].state.operative
    await charging(csms, sut, 2, card="04A2B3C4D5E6F7")  # a new session while the install is pending
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    await asyncio.sleep(1.0)
    assert statuses(csms)[-1] == "InstallScheduled"  # EVSE 2 still charges
    assert sut.d.board.contactor(2).is_closed
    sut.d.board.unplug(2)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    await reached(csms, "InstallRebooting", 114)
    unavailable = {p["evseId"] for p in csms.received("StatusNotification") if p["connectorStatus"] == "Unavailable"}
    assert unavailable == {1, 2}
    assert statuses(csms)[-2:] == ["Installing", "InstallRebooting"]


async def test_TC_L_15_CS_install_waits_for_the_session_new_sessions_not_allowed(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """L01.FR.07 with AllowNewSessionsPendingFirmwareUpdate false: the idle EVSE 2 goes Unavailable while the
    install waits; the charging EVSE 1 keeps charging and is set Unavailable as soon as its session ends
    (the same path as a Scheduled ChangeAvailability), then the install runs."""
    sut = await session_during_update(csms, make_station, tmp_path, http, maker, allow=False)
    await csms.wait_for("StatusNotification", predicate=status("Unavailable", 2))
    assert not sut.d.station.evses[2].state.operative
    assert sut.d.board.contactor(1).is_closed
    sut.d.board.plug(2)  # no session may start on the EVSE held for the install
    sut.d.board.swipe(2, "04A2B3C4D5E6F7")
    await asyncio.sleep(0.5)
    assert not [p for p in csms.received("TransactionEvent") if p.get("evse", {}).get("id") == 2]
    assert not sut.d.board.contactor(2).is_closed
    seen = len([p for p in csms.received("StatusNotification") if p["evseId"] == 1])
    sut.d.board.unplug(1)
    await csms.wait_for("TransactionEvent", predicate=lambda p: p["eventType"] == "Ended")
    await reached(csms, "InstallRebooting", 114)
    after = [p["connectorStatus"] for p in csms.received("StatusNotification") if p["evseId"] == 1][seen:]
    assert after[-1] == "Unavailable" and "Occupied" not in after
    assert statuses(csms)[-2:] == ["Installing", "InstallRebooting"]


async def test_TC_L_18_CS_secure_firmware_update_missing_signing_certificate_and_signature(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """TC_L_18_CS: a station doing secure updates (the default) answers an UpdateFirmware without
    signingCertificate and signature Rejected, downloads nothing and says no FirmwareStatusNotification;
    one with a certificate but no signature is refused the same way, and a signed one still goes through."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    answer = await csms.call(STATION_ID, update_firmware(140, http.url("/fw.bin")))
    assert (answer.status, answer.status_info["reason_code"]) == ("Rejected", "UnsignedFirmware")
    signed = update_firmware(141, http.url("/fw.bin"), manufacturer=maker, image=IMAGE)
    unsigned_firmware = {key: value for key, value in signed.firmware.items() if key != "signature"}
    no_signature = call.UpdateFirmware(request_id=142, firmware=unsigned_firmware)
    assert (await csms.call(STATION_ID, no_signature)).status == "Rejected"
    assert not http.requests and statuses(csms) == []
    assert (await csms.call(STATION_ID, signed)).status == "Accepted"
    await reached(csms, "InstallRebooting", 141)
    assert statuses(csms) == SIGNED_SEQUENCE


async def test_TC_F_19_CS_trigger_firmware_status_notification_downloading(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """F06.FR.04/05, L01.FR.26: TriggerMessage(FirmwareStatusNotification) while the image is downloading
    (its first attempt broke; the next one waits retryInterval): Accepted, then FirmwareStatusNotification
    Downloading with the update's requestId."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    http.behaviour.break_after = len(IMAGE) // 2
    request = update_firmware(143, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, retries=1, retry_interval=60)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "Downloading", 143)
    await until(lambda: len(http.requests) == 1 and http.behaviour.break_times == 0, "the first attempt broken")
    seen = len(statuses(csms))
    trigger = call.TriggerMessage(requested_message="FirmwareStatusNotification")
    assert (await csms.call(STATION_ID, trigger)).status == "Accepted"
    await until(lambda: len(statuses(csms)) > seen, "the triggered FirmwareStatusNotification")
    triggered = csms.received("FirmwareStatusNotification")[seen]
    assert triggered == {"status": "Downloading", "requestId": 143}
    assert len(http.requests) == 1  # still waiting out retryInterval: the status is the download's own


async def test_L02_non_secure_update_has_no_signature_step(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer
) -> None:
    """L02: without signingCertificate and signature there is no signature step (Downloaded, then
    Installing), and the new version boots and reports Installed (a station set to allow unsigned updates)."""
    sut = await firmware_station(csms, make_station, tmp_path, firmware=UNSIGNED_ALLOWED)
    request = update_firmware(120, http.url("/fw.bin"))
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallRebooting", 120)
    assert statuses(csms) == ["Downloading", "Downloaded", "Installing", "InstallRebooting"]
    boot = await reboot(sut, csms)
    assert (boot["reason"], boot["chargingStation"]["firmwareVersion"]) == ("FirmwareUpdate", "2.0.0")
    await reached(csms, "Installed", 120)


async def test_a_broken_download_is_resumed_with_range_not_started_again(
    csms: DevCsms, make_station: Any, tmp_path: Path, http: LoopbackHttpServer, maker: Manufacturer
) -> None:
    """The connection breaks half way: the next attempt (retries) asks only for the missing bytes, and the
    assembled image verifies and installs."""
    await firmware_station(csms, make_station, tmp_path)
    await install_root(csms, maker)
    http.behaviour.break_after = len(IMAGE) // 2
    request = update_firmware(121, http.url("/fw.bin"), manufacturer=maker, image=IMAGE, retries=1)
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await reached(csms, "InstallRebooting", 121)
    gets = [r for r in http.requests if r.method == "GET"]
    assert len(gets) == 2 and "Range" not in gets[0].headers
    assert gets[1].headers["Range"].startswith("bytes=") and gets[1].headers["Range"] != "bytes=0-"
    assert statuses(csms) == [
        "Downloading",
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "InstallRebooting",
    ]


async def test_https_location_is_checked_against_the_installed_csms_roots(
    csms: DevCsms, make_station: Any, tmp_path: Path
) -> None:
    """An https:// location: the server's certificate must chain to a root the station trusts. Unknown at
    first (DownloadFailed, nothing installed); once its root is installed (InstallCertificate
    CSMSRootCertificate) the same update goes through."""
    pki = TestPki(tmp_path / "pki")
    (tmp_path / "pki").mkdir()
    ca = pki.ca("Firmware Server Root")
    with LoopbackHttpServer(tls=server_context(ca.issue_server())) as https:
        https.files["/fw.bin"] = IMAGE
        await firmware_station(csms, make_station, tmp_path, firmware=UNSIGNED_ALLOWED)
        assert (await csms.call(STATION_ID, update_firmware(130, https.url("/fw.bin")))).status == "Accepted"
        await reached(csms, "DownloadFailed", 130)
        assert not version_file(tmp_path).exists()
        install = call.InstallCertificate(
            certificate_type="CSMSRootCertificate", certificate=ca.cert.public_bytes(Encoding.PEM).decode()
        )
        assert (await csms.call(STATION_ID, install)).status == "Accepted"
        assert (await csms.call(STATION_ID, update_firmware(131, https.url("/fw.bin")))).status == "Accepted"
        await reached(csms, "InstallRebooting", 131)
        assert statuses(csms, 130) == ["Downloading", "DownloadFailed"]
        assert version_file(tmp_path).read_text().strip() == "2.0.0"

"""OCTT block N, Retrieve Log Information (N01): GetLog, the upload received and unpacked by a real HTTP(S)
server on loopback, and every LogStatusNotification as the CSMS saw it.

The station uploads with PUT (see evse/logs/upload.py for why); a location ending in "/" gets the file name
the GetLogResponse announced.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from tests.conformance.octt import wire_checked
from tests.http_server import LoopbackHttpServer
from tests.integration.conftest import PASSWORD, STATION_ID, StationUnderTest
from tests.tls_certs import TestPki, server_context

__all__ = ["wire_checked"]

Payload = dict[str, Any]


@pytest.fixture
def http() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as server:
        yield server


async def get_log(
    csms: DevCsms,
    location: str,
    request_id: int = 1,
    log_type: str = "DiagnosticsLog",
    oldest: datetime | None = None,
    latest: datetime | None = None,
    retries: int | None = 0,
    retry_interval: int | None = 0,
) -> Any:
    log: Payload = {"remote_location": location}
    if oldest is not None:
        log["oldest_timestamp"] = oldest.isoformat()
    if latest is not None:
        log["latest_timestamp"] = latest.isoformat()
    request = call.GetLog(
        log=log, log_type=log_type, request_id=request_id, retries=retries, retry_interval=retry_interval
    )
    return await csms.call(STATION_ID, request)


async def log_statuses(csms: DevCsms, request_id: int, count: int, timeout: float = 10) -> list[str]:
    """The next `count` LogStatusNotification statuses for `request_id`, in the order they arrived."""
    return [
        (await csms.wait_for("LogStatusNotification", predicate=lambda p: p.get("requestId") == request_id,
                             timeout=timeout))["status"]
        for _ in range(count)
    ]  # fmt: skip


def unpack(body: bytes) -> dict[str, str]:
    """The members of an uploaded tar.gz, as text."""
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        out: dict[str, str] = {}
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is not None
            out[member.name] = data.read().decode()
        return out


def uploaded(http: LoopbackHttpServer, path: str) -> dict[str, str]:
    request = http.uploads[path]
    assert request.method == "PUT"
    return unpack(request.body)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def prewrite_diagnostics(state_dir: Path, lines: list[tuple[datetime, str]]) -> None:
    """An older rotated file, as an earlier run of the station left it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{stamp(t)} INFO evse.earlier: {message}\n" for t, message in lines)
    (state_dir / "evse.log.1").write_text(text)


async def test_TC_N_25_CS_get_diagnostics_log_success(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """N01: GetLog DiagnosticsLog: Accepted with the file name, Uploading then Uploaded with the requestId
    (every notification of an upload carries it); the file arrives at remoteLocation + filename as a
    tar.gz whose evse.log holds what the station logged."""
    response = await get_log(csms, http.url("/logs/"), request_id=7)
    assert response.status == "Accepted"
    assert response.filename.endswith(".tar.gz") and STATION_ID in response.filename
    assert await log_statuses(csms, 7, 2) == ["Uploading", "Uploaded"]
    members = uploaded(http, f"/logs/{response.filename}")
    assert list(members) == ["evse.log"]
    assert f"daemon ready station={STATION_ID}" in members["evse.log"]


async def test_TC_N_25_CS_time_window_honoured(make_station: Any, csms: DevCsms, http: LoopbackHttpServer) -> None:
    """N01: only the entries between oldestTimestamp and latestTimestamp (both inclusive) are uploaded; the
    station's log files (the current one and the rotated ones) are all searched."""
    base = datetime(2021, 3, 1, tzinfo=UTC)
    sut: StationUnderTest = await make_station(start=False)
    prewrite_diagnostics(
        sut.settings.state_dir,
        [(base - timedelta(days=30), "too old"), (base, "first in"), (base + timedelta(days=1), "last in"),
         (base + timedelta(days=2), "too new")],
    )  # fmt: skip
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)

    response = await get_log(csms, http.url("/w/"), oldest=base, latest=base + timedelta(days=1))
    assert await log_statuses(csms, 1, 2) == ["Uploading", "Uploaded"]
    text = uploaded(http, f"/w/{response.filename}")["evse.log"]
    assert "first in" in text and "last in" in text
    assert "too old" not in text and "too new" not in text
    assert "daemon ready" not in text  # today's lines are after latestTimestamp

    # Only a lower bound: everything since, today's lines included.
    response = await get_log(csms, http.url("/since/"), request_id=2, oldest=base + timedelta(days=1, seconds=1))
    assert await log_statuses(csms, 2, 2) == ["Uploading", "Uploaded"]
    text = uploaded(http, f"/since/{response.filename}")["evse.log"]
    assert "too new" in text and "daemon ready" in text
    assert "last in" not in text and "first in" not in text


async def test_TC_N_26_CS_get_diagnostics_log_upload_failed(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """N01: the server fails every attempt (HTTP 500): 1 + retries attempts, then UploadFailure."""
    http.behaviour.refuse["/broken"] = 500
    response = await get_log(csms, http.url("/broken"), request_id=3, retries=2, retry_interval=0)
    assert response.status == "Accepted"
    assert await log_statuses(csms, 3, 2) == ["Uploading", "UploadFailure"]
    assert [r.method for r in http.requests if r.path == "/broken"] == ["PUT"] * 3


async def test_TC_N_26_CS_server_down(csms: DevCsms, station: StationUnderTest) -> None:
    """N01: nobody listens at remoteLocation: UploadFailure once the retries are spent."""
    with LoopbackHttpServer() as gone:
        location = gone.url("/logs/")
    response = await get_log(csms, location, request_id=4, retries=1, retry_interval=0)
    assert response.status == "Accepted"
    assert await log_statuses(csms, 4, 2) == ["Uploading", "UploadFailure"]


async def test_get_log_retry_succeeds_after_a_failure(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """N01 retries: the first attempt fails (503), the retry after retryInterval succeeds: Uploaded,
    and the CSMS never sees UploadFailure for it."""
    http.behaviour.refuse["/flaky.tar.gz"] = 503
    response = await get_log(csms, http.url("/flaky.tar.gz"), request_id=5, retries=3, retry_interval=1)
    assert response.status == "Accepted"
    await csms.wait_for("LogStatusNotification", predicate=lambda p: p["status"] == "Uploading", timeout=5)
    await _until(lambda: any(r.path == "/flaky.tar.gz" for r in http.requests))
    del http.behaviour.refuse["/flaky.tar.gz"]
    assert await log_statuses(csms, 5, 1) == ["Uploaded"]
    assert "evse.log" in unpack(http.uploads["/flaky.tar.gz"].body)


@pytest.mark.parametrize("code", [401, 403])
async def test_get_log_permission_denied(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer, code: int
) -> None:
    """N01: the server refuses the station's credentials: PermissionDenied, without retrying (the same
    credentials would be refused again)."""
    http.behaviour.refuse["/private/x.tar.gz"] = code
    await get_log(csms, http.url("/private/x.tar.gz"), request_id=6, retries=3, retry_interval=0)
    assert await log_statuses(csms, 6, 2) == ["Uploading", "PermissionDenied"]
    assert len([r for r in http.requests if r.path == "/private/x.tar.gz"]) == 1


@pytest.mark.parametrize("location", ["http://", "not a url", "http://127.0.0.1:99999/x"])
async def test_get_log_bad_location_is_bad_message(csms: DevCsms, station: StationUnderTest, location: str) -> None:
    """N01: a remoteLocation that is no usable URL: Accepted (it is a GetLog the station supports), then
    Uploading and BadMessage."""
    response = await get_log(csms, location, request_id=8)
    assert response.status == "Accepted"
    assert await log_statuses(csms, 8, 2) == ["Uploading", "BadMessage"]


async def test_TC_N_34_CS_get_log_rejected(csms: DevCsms, station: StationUnderTest) -> None:
    """N01: a GetLog the station cannot carry out is Rejected: an ftp:// location (this station uploads
    by HTTP and HTTPS only); nothing is sent for it afterwards."""
    before = len(csms.received("LogStatusNotification"))
    response = await get_log(csms, "ftp://127.0.0.1/logs/", request_id=9)
    assert response.status == "Rejected"
    assert response.status_info["reason_code"] == "UnsupportedRequest"
    await _quiet()
    assert len(csms.received("LogStatusNotification")) == before


async def test_TC_N_35_CS_get_security_log_success(make_station: Any, csms: DevCsms, http: LoopbackHttpServer) -> None:
    """N01: GetLog SecurityLog: the security log's records in the window (one JSON object a line), here
    the StartupOfTheDevice of this boot but not an event from before oldestTimestamp."""
    sut: StationUnderTest = await make_station(start=False)
    sut.settings.state_dir.mkdir(parents=True)
    old = {"timestamp": "2020-01-01T00:00:00.000Z", "type": "SettingSystemTime", "techInfo": "long ago"}
    (sut.settings.state_dir / "security.log.1").write_text(json.dumps(old) + "\n")
    await sut.start()
    await csms.wait_for("BootNotification", timeout=10)

    response = await get_log(
        csms, http.url("/sec/"), request_id=11, log_type="SecurityLog", oldest=datetime(2021, 1, 1, tzinfo=UTC)
    )
    assert response.status == "Accepted"
    assert await log_statuses(csms, 11, 2) == ["Uploading", "Uploaded"]
    members = uploaded(http, f"/sec/{response.filename}")
    assert list(members) == ["security.log"]
    records = [json.loads(line) for line in members["security.log"].splitlines()]
    assert "StartupOfTheDevice" in {r["type"] for r in records}
    assert "long ago" not in members["security.log"]

    # Without a window: everything still kept, the old record included.
    response = await get_log(csms, http.url("/all/"), request_id=12, log_type="SecurityLog")
    assert await log_statuses(csms, 12, 2) == ["Uploading", "Uploaded"]
    assert "long ago" in uploaded(http, f"/all/{response.filename}")["security.log"]


async def upload_in_retry_wait(csms: DevCsms, http: LoopbackHttpServer, request_id: int) -> None:
    """An upload in progress: its first attempt failed and it waits a long retryInterval for the next."""
    http.behaviour.refuse["/busy/first.tar.gz"] = 500
    response = await get_log(csms, http.url("/busy/first.tar.gz"), request_id=request_id, retries=5,
                             retry_interval=3600)  # fmt: skip
    assert response.status == "Accepted"
    assert await log_statuses(csms, request_id, 1) == ["Uploading"]
    await _until(lambda: any(r.path == "/busy/first.tar.gz" for r in http.requests))


async def test_TC_N_36_CS_get_log_second_request(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """N01: a second GetLog while an upload runs: AcceptedCanceled; LogStatusNotification AcceptedCanceled
    for the first requestId, then Uploading and Uploaded for the second; the first is never heard of
    again (no retry reaches the server, no UploadFailure)."""
    await upload_in_retry_wait(csms, http, 21)
    response = await get_log(csms, http.url("/second/"), request_id=22)
    assert response.status == "AcceptedCanceled"
    notifications = [
        await csms.wait_for("LogStatusNotification", predicate=lambda p: p.get("requestId") in (21, 22), timeout=10)
        for _ in range(3)
    ]
    assert [(n["requestId"], n["status"]) for n in notifications] == [
        (21, "AcceptedCanceled"), (22, "Uploading"), (22, "Uploaded"),
    ]  # fmt: skip
    assert f"/second/{response.filename}" in http.uploads
    await _quiet()
    assert [n["status"] for n in csms.received("LogStatusNotification") if n.get("requestId") == 21] == [
        "Uploading", "AcceptedCanceled",
    ]  # fmt: skip
    assert len([r for r in http.requests if r.path == "/busy/first.tar.gz"]) == 1


async def test_TC_F_16_CS_trigger_log_status_notification_uploading(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """F06.FR.15: TriggerMessage(LogStatusNotification) during an upload: Accepted, then Uploading with
    the requestId of the GetLog being carried out."""
    await upload_in_retry_wait(csms, http, 31)
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="LogStatusNotification"))
    assert result.status == "Accepted"
    triggered = await csms.wait_for("LogStatusNotification", timeout=5)
    assert (triggered["status"], triggered.get("requestId")) == ("Uploading", 31)


async def test_get_log_https_checked_against_installed_csms_roots(
    csms: DevCsms, station: StationUnderTest, tmp_path: Path
) -> None:
    """An https location is verified against the CSMS roots the station trusts (never the system store):
    without one nothing is sent; a server whose
    certificate chains to a root installed by InstallCertificate(CSMSRootCertificate) gets the log; one
    from another CA does not (UploadFailure), and the log is not sent to it."""
    pki = TestPki(tmp_path / "pki")
    trusted, stranger = pki.ca("Operator Root"), pki.ca("Stranger Root")
    with LoopbackHttpServer(tls=server_context(trusted.issue_server())) as good:
        # No CSMS root yet (profile 1, no ca_file): nothing to verify the server with, nothing is sent.
        await get_log(csms, good.url("/tls/"), request_id=40)
        assert await log_statuses(csms, 40, 2) == ["Uploading", "UploadFailure"]
        assert good.uploads == {}

        install = call.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=trusted.path.read_text())
        assert (await csms.call(STATION_ID, install)).status == "Accepted"
        response = await get_log(csms, good.url("/tls/"), request_id=41)
        assert await log_statuses(csms, 41, 2) == ["Uploading", "Uploaded"]
        assert "evse.log" in unpack(good.uploads[f"/tls/{response.filename}"].body)

    with LoopbackHttpServer(tls=server_context(stranger.issue_server())) as bad:
        await get_log(csms, bad.url("/tls/"), request_id=42)
        assert await log_statuses(csms, 42, 2) == ["Uploading", "UploadFailure"]
        assert bad.uploads == {}


async def test_get_log_never_uploads_passwords_or_keys(
    csms: DevCsms, station: StationUnderTest, http: LoopbackHttpServer
) -> None:
    """Passwords and private keys never leave the station in a log: the YAML's Basic-auth password and a
    key the station made itself (A02, TriggerMessage SignChargingStationCertificate), logged by careless
    code, are neither in the diagnostics file on the card nor in the upload; URL credentials become
    Basic authentication and are not logged either."""
    result = await csms.call(STATION_ID, call.TriggerMessage(requested_message="SignChargingStationCertificate"))
    assert result.status == "Accepted"
    await csms.wait_for("SignCertificate", timeout=10)
    key_files = list((station.settings.state_dir / "keys").glob("*.key"))
    assert key_files, "the station made no key"
    key_pem = key_files[0].read_text()
    key_lines = [line for line in key_pem.splitlines() if line and not line.startswith("-----")]

    careless = logging.getLogger("evse.careless")
    careless.warning("connecting with password=%s", PASSWORD)
    careless.warning("the password is %s", PASSWORD)
    careless.warning("loaded key\n%s", key_pem)
    careless.warning("key line %s", key_lines[1])

    location = http.url("/logs/").replace("http://", "http://uploader:s3cret-upl0ad@")
    response = await get_log(csms, location, request_id=51)
    assert await log_statuses(csms, 51, 2) == ["Uploading", "Uploaded"]
    request = http.uploads[f"/logs/{response.filename}"]
    assert request.headers["Authorization"].startswith("Basic ")
    text = unpack(request.body)["evse.log"]
    on_card = (station.settings.state_dir / "evse.log").read_text()

    assert "connecting with password=***" in text and "loaded key" in text  # the lines are there ...
    for secret in [PASSWORD, "s3cret-upl0ad", "PRIVATE KEY", *key_lines]:  # ... their secrets are not
        assert secret not in text, secret
    for secret in [PASSWORD, "s3cret-upl0ad", "PRIVATE KEY"]:
        assert secret not in on_card, secret


async def _until(check: Any, timeout: float = 5.0) -> None:
    import asyncio

    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - the HTTP server records requests in its own thread
            await asyncio.sleep(0.02)


async def _quiet() -> None:
    import asyncio

    await asyncio.sleep(0.4)

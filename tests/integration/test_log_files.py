"""The log parts on real files and sockets: the rotating diagnostics file, the tar.gz GetLog packs, one
upload attempt against the loopback HTTP server, and a GetLog cut by a restart."""

from __future__ import annotations

import asyncio
import logging
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call

from evse.devcsms.server import DevCsms
from evse.logs.diagnostics_file import DiagnosticsFile, log_files
from evse.logs.packing import pack
from evse.logs.scrub import Scrubber
from evse.logs.upload import Outcome, parse_location, upload
from tests.http_server import LoopbackHttpServer
from tests.integration.conftest import STATION_ID, StationUnderTest

FILE = "CS001-DiagnosticsLog-1-20261201T170000Z.tar.gz"


@pytest.fixture
def http() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as server:
        yield server


def test_the_diagnostics_file_rotates_within_its_bound(tmp_path: Path) -> None:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    with DiagnosticsFile(tmp_path, Scrubber(["sesame-open-42"]), max_bytes=16 * 1024, count=2, level="DEBUG"):
        for i in range(2000):
            logging.getLogger("evse.test").debug("line %s with the password sesame-open-42", i)
    files = log_files(tmp_path)
    assert [p.name for p in files] == ["evse.log.2", "evse.log.1", "evse.log"]
    assert all(p.stat().st_size <= 16 * 1024 for p in files)
    text = "".join(p.read_text() for p in files)
    assert "line 1999 with the password ***" in text and "sesame-open-42" not in text
    assert text.splitlines()[0][:4].isdigit() and text.splitlines()[0][23] == "Z"  # 2026-...T..:..:...mmmZ
    # Detached afterwards: the root logger is as it was.
    assert (root.level, root.handlers) == (level, handlers)


def test_an_unwritable_state_dir_leaves_logging_to_stderr(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    handlers = list(logging.getLogger().handlers)
    with DiagnosticsFile(blocked / "state", Scrubber(), max_bytes=16 * 1024, count=1):
        assert logging.getLogger().handlers == handlers


def test_pack_writes_scrubbed_members_and_leaves_nothing_else(tmp_path: Path) -> None:
    lines = [
        "2026-12-01T17:00:00.000Z INFO a: key follows\n",
        "-----BEGIN EC PRIVATE KEY-----\n",
        "MHcCAQEEIBbase64base64base64base64base64base64base64AoGCCqGSM49\n",
        "-----END EC PRIVATE KEY-----\n",
        "2026-12-01T17:00:01.000Z INFO a: after\n",
    ]
    archive = pack(tmp_path / "out" / FILE, {"evse.log": lines, "empty.log": []}, Scrubber())
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        text = tar.extractfile("evse.log").read().decode()  # type: ignore[union-attr]
    assert names == ["evse.log", "empty.log"]
    assert text == "2026-12-01T17:00:00.000Z INFO a: key follows\n[private key removed]\n" \
        "2026-12-01T17:00:01.000Z INFO a: after\n"  # fmt: skip
    assert [p.name for p in (tmp_path / "out").iterdir()] == [FILE]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return pack(tmp_path / FILE, {"evse.log": ["2026-12-01T17:00:00.000Z INFO a: hello\n"]}, Scrubber())


async def test_upload_puts_the_file(http: LoopbackHttpServer, archive: Path) -> None:
    result = await upload(parse_location(http.url("/in/"), FILE), archive, FILE, None)
    assert result.outcome is Outcome.UPLOADED
    request = http.uploads[f"/in/{FILE}"]
    assert request.method == "PUT" and request.body == await asyncio.to_thread(archive.read_bytes)


async def test_upload_falls_back_to_a_multipart_post(http: LoopbackHttpServer, archive: Path) -> None:
    """A POST-only endpoint (405 to PUT) gets the file as multipart/form-data, field "file"."""
    http.behaviour.refuse_method["PUT"] = 405
    result = await upload(parse_location(http.url("/form"), FILE), archive, FILE, None)
    assert result.outcome is Outcome.UPLOADED
    request = http.uploads["/form"]
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert f'name="file"; filename="{FILE}"'.encode() in request.body
    assert await asyncio.to_thread(archive.read_bytes) in request.body


@pytest.mark.parametrize(
    ("refuse", "outcome"),
    [
        ({"PUT": 405, "POST": 405}, Outcome.NOT_SUPPORTED),
        ({"PUT": 400}, Outcome.BAD_MESSAGE),
        ({"PUT": 404}, Outcome.REFUSED),
        ({"PUT": 403}, Outcome.PERMISSION_DENIED),
        ({"PUT": 502}, Outcome.FAILED),
    ],
)
async def test_upload_outcomes(
    http: LoopbackHttpServer, archive: Path, refuse: dict[str, int], outcome: Outcome
) -> None:
    http.behaviour.refuse_method.update(refuse)
    result = await upload(parse_location(http.url("/x"), FILE), archive, FILE, None)
    assert result.outcome is outcome
    assert result.outcome.retry is (outcome is Outcome.FAILED)


async def test_a_cancelled_upload_closes_its_connection(archive: Path) -> None:
    """A second GetLog cancels the running upload: the server sees the connection end, not a thread
    still sending."""
    closed = asyncio.Event()
    received = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            received.set()  # never answers
        closed.set()
        writer.close()

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        task = asyncio.create_task(upload(parse_location(f"http://127.0.0.1:{port}/x", FILE), archive, FILE, None))
        await asyncio.wait_for(received.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(closed.wait(), 5)


async def test_a_get_log_cut_by_a_restart_is_reported_failed(
    make_station: Any, csms: DevCsms, http: LoopbackHttpServer
) -> None:
    """N01: an upload the station was carrying out when it stopped ends as UploadFailure for its requestId
    once it runs again (nothing is resumed), and the next GetLog works."""
    sut: StationUnderTest = await make_station()
    await csms.wait_for("BootNotification", timeout=10)
    http.behaviour.refuse["/slow.tar.gz"] = 500
    request = call.GetLog(log={"remote_location": http.url("/slow.tar.gz")}, log_type="DiagnosticsLog",
                          request_id=77, retries=5, retry_interval=3600)  # fmt: skip
    assert (await csms.call(STATION_ID, request)).status == "Accepted"
    await csms.wait_for("LogStatusNotification", predicate=lambda p: p["status"] == "Uploading", timeout=5)
    await sut.stop()

    again = StationUnderTest(sut.settings)
    await again.start()
    try:
        # (The outbox delivers at least once: the Uploading may come again if its removal was cut.)
        failed = await csms.wait_for(
            "LogStatusNotification", predicate=lambda p: p["status"] != "Uploading", timeout=10
        )
        assert (failed["status"], failed["requestId"]) == ("UploadFailure", 77)
        request = call.GetLog(log={"remote_location": http.url("/ok/")}, log_type="DiagnosticsLog", request_id=78)
        assert (await csms.call(STATION_ID, request)).status == "Accepted"
        statuses = [
            (await csms.wait_for("LogStatusNotification", predicate=lambda p: p["requestId"] == 78, timeout=10))[
                "status"
            ]
            for _ in range(2)
        ]
        assert statuses == ["Uploading", "Uploaded"]
        assert [p.name for p in (sut.settings.state_dir / "log-uploads").iterdir()] == []
    finally:
        await again.stop()
    csms.assert_no_failures()

"""One firmware download attempt against the loopback HTTP(S) server: streamed to a file, resumed with
Range after a broken connection, capped at max_image_bytes, https checked against the given roots."""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from evse.firmware.download import DownloadTarget, download
from evse.firmware.errors import DownloadError
from tests.http_server import LoopbackHttpServer
from tests.tls_certs import TestPki, server_context

IMAGE = os.urandom(300_000)


@pytest.fixture
def server() -> Iterator[LoopbackHttpServer]:
    with LoopbackHttpServer() as http:
        http.files["/fw.bin"] = IMAGE
        yield http


def target(server: LoopbackHttpServer, tmp_path: Path, **changes: object) -> DownloadTarget:
    values: dict[str, object] = {"url": server.url("/fw.bin"), "path": tmp_path / "fw.img", "max_bytes": 1 << 20}
    values.update(changes)
    return DownloadTarget(**values)  # type: ignore[arg-type]


def nothing(size: int, total: int | None) -> None:
    pass


async def test_the_whole_image_lands_in_the_file(server: LoopbackHttpServer, tmp_path: Path) -> None:
    size = await download(target(server, tmp_path), nothing)
    assert size == len(IMAGE)
    assert (tmp_path / "fw.img").read_bytes() == IMAGE


async def test_a_broken_connection_keeps_the_part_and_the_next_attempt_asks_only_for_the_rest(
    server: LoopbackHttpServer, tmp_path: Path
) -> None:
    server.behaviour.break_after = 100_000
    with pytest.raises(DownloadError, match="broken") as failed:
        await download(target(server, tmp_path), nothing)
    assert failed.value.retryable
    kept = (tmp_path / "fw.img").stat().st_size
    assert 0 < kept <= 100_000
    await download(target(server, tmp_path), nothing)
    assert server.requests[-1].headers.get("Range") == f"bytes={kept}-"
    assert (tmp_path / "fw.img").read_bytes() == IMAGE


async def test_a_server_that_ignores_range_is_read_from_the_start(server: LoopbackHttpServer, tmp_path: Path) -> None:
    (tmp_path / "fw.img").write_bytes(IMAGE[:5000])
    server.behaviour.ignore_range = True
    await download(target(server, tmp_path), nothing)
    assert (tmp_path / "fw.img").read_bytes() == IMAGE


async def test_a_partial_file_that_is_already_whole_is_taken_as_it_is(
    server: LoopbackHttpServer, tmp_path: Path
) -> None:
    (tmp_path / "fw.img").write_bytes(IMAGE)
    assert await download(target(server, tmp_path), nothing) == len(IMAGE)
    assert (tmp_path / "fw.img").read_bytes() == IMAGE


async def test_an_image_over_max_image_bytes_is_refused_for_good(server: LoopbackHttpServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="max_image_bytes") as failed:
        await download(target(server, tmp_path, max_bytes=100_000), nothing)
    assert not failed.value.retryable
    assert not (tmp_path / "fw.img").exists() or (tmp_path / "fw.img").stat().st_size <= 100_000


async def test_a_refusing_server_is_a_failed_attempt(server: LoopbackHttpServer, tmp_path: Path) -> None:
    server.behaviour.refuse["/fw.bin"] = 503
    with pytest.raises(DownloadError, match="HTTP 503"):
        await download(target(server, tmp_path), nothing)


async def test_only_http_and_https_locations(server: LoopbackHttpServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="only http"):
        await download(target(server, tmp_path, url="ftp://127.0.0.1/fw.bin"), nothing)


async def test_https_is_checked_against_the_given_roots(tmp_path: Path) -> None:
    pki = TestPki(tmp_path)
    ca = pki.ca("Firmware Server Root")
    with LoopbackHttpServer(tls=server_context(ca.issue_server())) as https:
        https.files["/fw.bin"] = IMAGE
        trusting = ssl.create_default_context(cafile=str(ca.path))
        await download(target(https, tmp_path, tls=trusting), nothing)
        assert (tmp_path / "fw.img").read_bytes() == IMAGE
        other = pki.ca("Some Other Root")
        with pytest.raises(DownloadError, match="CERTIFICATE_VERIFY_FAILED"):
            await download(
                target(
                    https, tmp_path, path=tmp_path / "b.img", tls=ssl.create_default_context(cafile=str(other.path))
                ),
                nothing,
            )


class _Redirector(BaseHTTPRequestHandler):
    """Answers every GET with a redirect to the `target` class attribute (set per test)."""

    target = ""
    status = 302

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_a_redirect_is_followed_to_the_image(server: LoopbackHttpServer, tmp_path: Path) -> None:
    handler = type("Redirect", (_Redirector,), {"target": server.url("/fw.bin")})
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{redirector.server_address[1]}/latest"
        assert await download(target(server, tmp_path, url=url), nothing) == len(IMAGE)
        assert (tmp_path / "fw.img").read_bytes() == IMAGE
    finally:
        redirector.shutdown()
        redirector.server_close()


async def test_a_redirect_loop_ends_the_attempt(tmp_path: Path, server: LoopbackHttpServer) -> None:
    redirector = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    _Redirector.target = f"http://127.0.0.1:{redirector.server_address[1]}/again"
    threading.Thread(target=redirector.serve_forever, daemon=True).start()
    try:
        with pytest.raises(DownloadError, match="redirects"):
            await download(target(server, tmp_path, url=_Redirector.target), nothing)
    finally:
        redirector.shutdown()
        redirector.server_close()

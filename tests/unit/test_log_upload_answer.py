"""An upload's answer is read even when the server closes before the station has finished writing.

Over HTTPS a server's close ends the whole asyncio transport (TLS has no half-close), so a server that
answers and closes while the station is still inside a drain() made the station report a network failure
for an upload the server had answered: the CI flake of TC_N GetLog over https (UploadFailure "Connection
lost" for a log the server had stored). Real TLS servers on loopback with certificates made in the test.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from evse.logs.upload import Outcome, parse_location, upload
from tests.tls_certs import TestPki, server_context


async def _answer_early(status: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer once the headers are in, then close our side without reading the body."""
    await reader.readuntil(b"\r\n\r\n")
    writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    writer.close()


async def test_an_answer_sent_before_the_body_is_read_is_the_result(tmp_path: Path) -> None:
    """A server refusing a large upload at once (413, then closing) is REFUSED with its status, not a
    network failure to be retried: the answer was in the station's buffer when its write failed."""
    pki = TestPki(tmp_path / "pki")
    root = pki.ca("Upload Root")
    served = server_context(root.issue_server())
    server = await asyncio.start_server(
        lambda r, w: _answer_early("413 Payload Too Large", r, w), "127.0.0.1", 0, ssl=served
    )
    port = server.sockets[0].getsockname()[1]
    archive = tmp_path / "big.tar.gz"
    archive.write_bytes(b"\0" * (32 * 1024 * 1024))  # more than loopback buffers hold: the writes must wait
    client = ssl.create_default_context(cafile=str(root.path))
    async with server:
        target = parse_location(f"https://127.0.0.1:{port}/logs/", "big.tar.gz")
        result = await asyncio.wait_for(upload(target, archive, "big.tar.gz", client), 30)
    assert (result.outcome, result.detail) == (Outcome.REFUSED, "HTTP 413")


async def test_a_server_that_closes_without_answering_is_still_a_failure(tmp_path: Path) -> None:
    """The other side of the same rule: no answer in the buffer, so the lost connection is the result."""
    pki = TestPki(tmp_path / "pki")
    root = pki.ca("Upload Root")

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=server_context(root.issue_server()))
    port = server.sockets[0].getsockname()[1]
    archive = tmp_path / "big.tar.gz"
    archive.write_bytes(b"\0" * (32 * 1024 * 1024))
    client = ssl.create_default_context(cafile=str(root.path))
    async with server:
        target = parse_location(f"https://127.0.0.1:{port}/logs/", "big.tar.gz")
        result = await asyncio.wait_for(upload(target, archive, "big.tar.gz", client), 30)
    assert result.outcome is Outcome.FAILED

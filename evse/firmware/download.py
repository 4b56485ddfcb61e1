"""One download attempt of a firmware image over HTTP(S), streamed to a file in state_dir.

Streamed in 64 KiB pieces, so memory stays flat whatever the image size (make bench measures it), and
capped at max_image_bytes so a wrong URL cannot fill the card. A partial file left by a broken
connection or a killed process is continued with a Range request; a server that answers the whole file
instead (200) is read from the start again. Blocking socket I/O runs in a worker thread; cancelling the
awaiting task stops the thread at the next piece.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from evse.firmware.errors import DownloadError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
PROGRESS_EVERY_S = 5.0
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class DownloadTarget:
    """Where an image comes from and where it goes."""

    url: str
    path: Path
    max_bytes: int
    tls: ssl.SSLContext | None = None  # for https: trusts the installed roots
    timeout_s: float = 30.0


def fetch(target: DownloadTarget, cancel: threading.Event, progress: Callable[[int, int | None], None]) -> int:
    """Download (or continue) `target`; returns the size of the complete file. Raises DownloadError."""
    url = target.url
    offset = target.path.stat().st_size if target.path.exists() else 0
    for _ in range(MAX_REDIRECTS + 1):
        conn, response = _request(url, target, offset)
        try:
            location = response.getheader("Location")
            if response.status in _REDIRECTS and location:
                # Firmware often sits behind a redirect (a CDN, a signed storage URL); the Range goes along.
                url = urljoin(url, location)
                log.info("firmware location redirected to %s", urlsplit(url)._replace(query="").geturl())
                continue
            total, mode = _start(response, offset, target)
            if total is not None and total > target.max_bytes:
                raise DownloadError(
                    f"image of {total} bytes exceeds max_image_bytes {target.max_bytes}", retryable=False
                )
            if mode == "done":
                return offset
            if mode == "wb":
                offset = 0
            return _stream(response, target, offset, total, mode, cancel, progress)
        finally:
            conn.close()
    raise DownloadError(f"more than {MAX_REDIRECTS} redirects from {target.url}", retryable=False)


def _request(
    url: str, target: DownloadTarget, offset: int
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send the GET (with a Range for the `offset` bytes already on disk) and read the response headers."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"unsupported location {url!r}: only http:// and https://", retryable=False)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=target.timeout_s, context=target.tls or ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=target.timeout_s)
    try:
        conn.request("GET", path, headers={"Range": f"bytes={offset}-"} if offset else {})
        return conn, conn.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise DownloadError(f"cannot reach {parts.hostname}:{parts.port}: {exc}") from None


def _start(response: http.client.HTTPResponse, offset: int, target: DownloadTarget) -> tuple[int | None, str]:
    """The image's total size (None when the server does not say) and how to open the file."""
    length = response.getheader("Content-Length")
    if response.status == 206:
        match = _CONTENT_RANGE.match(response.getheader("Content-Range") or "")
        if match is None or int(match.group(1)) != offset:
            raise DownloadError(f"server answered a range other than bytes={offset}-")
        return (None if match.group(3) == "*" else int(match.group(3))), "ab"
    if response.status == 416 and offset:
        match = re.match(r"bytes \*/(\d+)$", response.getheader("Content-Range") or "")
        if match is not None and int(match.group(1)) == offset:
            return offset, "done"  # the partial file was complete: killed between the last byte and the phase
        target.path.unlink(missing_ok=True)  # larger than the image: not this image, start again
        raise DownloadError("partial file does not match the image on the server")
    if response.status == 200:
        if offset:
            log.info("firmware server ignores Range: downloading from the start url=%s", target.url)
        return (int(length) if length is not None else None), "wb"
    raise DownloadError(f"HTTP {response.status} {response.reason} for {target.url}")


def _stream(
    response: http.client.HTTPResponse,
    target: DownloadTarget,
    offset: int,
    total: int | None,
    mode: str,
    cancel: threading.Event,
    progress: Callable[[int, int | None], None],
) -> int:
    size = offset
    last = time.monotonic()
    with open(target.path, mode) as out:
        while True:
            if cancel.is_set():
                raise DownloadError("cancelled", retryable=False)
            try:
                piece = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                _sync(out)  # what arrived is kept for the Range request of the next attempt
                raise DownloadError(f"connection broken at {size} bytes: {exc}") from None
            if not piece:
                break
            size += len(piece)
            if size > target.max_bytes:
                out.close()
                target.path.unlink(missing_ok=True)
                raise DownloadError(f"image exceeds max_image_bytes {target.max_bytes}", retryable=False)
            out.write(piece)
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                progress(size, total)
        _sync(out)
    if total is not None and size != total:
        raise DownloadError(f"connection broken at {size} of {total} bytes")
    progress(size, total)
    return size


def _sync(out: IO[Any]) -> None:
    out.flush()
    os.fsync(out.fileno())


async def download(target: DownloadTarget, progress: Callable[[int, int | None], None]) -> int:
    """Run `fetch` in a worker thread; a cancelled caller stops it and waits until the file is closed."""
    cancel = threading.Event()
    worker = asyncio.ensure_future(asyncio.to_thread(fetch, target, cancel, progress))
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:
        cancel.set()
        await asyncio.wait([worker])
        if not worker.cancelled():
            worker.exception()  # retrieved: the cancellation is what the caller asked for
        raise

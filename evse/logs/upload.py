"""One upload attempt of a log file to a GetLog remoteLocation over HTTP or HTTPS (asyncio streams).

Method: PUT of the raw file, the way `curl --upload-file` sends it (what station stacks such as EVerest use
and what object stores and WebDAV shares accept); a location ending in ``/`` names a directory and the file
name is appended, as curl does. A server that answers PUT with 405 or 501 gets the same file once more as
a multipart/form-data POST (field ``file``), the form most CSMS upload endpoints implement. PUT first
because it is idempotent: a retry after a broken connection replaces, it does not add a second copy.

``user:password@`` in the location becomes Basic authentication (never logged). HTTPS is verified against
the CSMS roots the station trusts (factory ca_file and installed CSMSRootCertificates) and the host name.

Written on asyncio streams rather than http.client in a thread so that cancelling an upload (a second
GetLog, AcceptedCanceled) closes its socket at once instead of leaving a thread sending.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

CHUNK = 64 * 1024
SCHEMES = ("http", "https")


class BadLocation(ValueError):
    """The remoteLocation is not a URL this station can upload to (LogStatusNotification BadMessage)."""


class UnsupportedScheme(BadLocation):
    """A well-formed URL whose scheme (ftp, sftp ...) this station does not speak: GetLog is Rejected."""


@dataclass(frozen=True)
class Target:
    """Where one upload goes, taken apart from the remoteLocation."""

    scheme: str
    host: str
    port: int
    path: str  # with the query, percent-encoded
    authorization: str | None  # the whole header value; holds the password, never logged

    def __repr__(self) -> str:  # the password stays out of any log line that prints a Target
        return f"Target({self.scheme}://{self.host}:{self.port}{self.path})"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"


def parse_location(location: str, filename: str) -> Target:
    """The Target for `location`; a location ending in "/" (or with no path) gets `filename` appended."""
    if any(c.isspace() for c in location):
        raise BadLocation("remoteLocation contains whitespace")
    try:
        parts = urlsplit(location)
        port = parts.port
    except ValueError as exc:
        raise BadLocation(f"remoteLocation is not a URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme and scheme not in SCHEMES:
        raise UnsupportedScheme(f"scheme {scheme}:// is not supported (only http and https)")
    if not scheme or not parts.netloc:
        raise BadLocation("remoteLocation is not an absolute URL")
    if not parts.hostname:
        raise BadLocation("remoteLocation has no host")
    path = parts.path or "/"
    if path.endswith("/"):
        path += quote(filename)
    if parts.query:
        path += "?" + parts.query
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
    default = 443 if scheme == "https" else 80
    return Target(scheme, parts.hostname, port or default, path, authorization)


class Outcome(enum.Enum):
    """How an attempt ended; `status` is its UploadLogStatusEnumType."""

    UPLOADED = "uploaded"
    PERMISSION_DENIED = "permission denied"  # 401/403: retrying with the same credentials cannot help
    BAD_MESSAGE = "bad message"  # 400: the server could not make sense of the request
    NOT_SUPPORTED = "not supported"  # neither PUT nor POST accepted
    FAILED = "failed"  # network, TLS, timeout, 5xx ...: worth another try
    REFUSED = "refused"  # another 4xx: final, a retry would get the same answer

    @property
    def retry(self) -> bool:
        return self is Outcome.FAILED

    @property
    def status(self) -> str:
        return _STATUS[self]


_STATUS = {
    Outcome.UPLOADED: "Uploaded",
    Outcome.PERMISSION_DENIED: "PermissionDenied",
    Outcome.BAD_MESSAGE: "BadMessage",
    Outcome.NOT_SUPPORTED: "NotSupportedOperation",
    Outcome.FAILED: "UploadFailure",
    Outcome.REFUSED: "UploadFailure",
}


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str


async def upload(target: Target, file: Path, filename: str, context: ssl.SSLContext | None) -> Result:
    """One attempt: PUT, then POST if the server does not take PUT. Never raises for a network failure."""
    try:
        status = await _send("PUT", target, file, filename, context)
        if status in (405, 501):
            status = await _send("POST", target, file, filename, context)
            if status in (405, 501):
                return Result(Outcome.NOT_SUPPORTED, f"HTTP {status} to PUT and POST")
    except (OSError, asyncio.IncompleteReadError, ssl.SSLError, ValueError) as exc:
        return Result(Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return Result(Outcome.UPLOADED, f"HTTP {status}")
    if status in (401, 403):
        return Result(Outcome.PERMISSION_DENIED, f"HTTP {status}")
    if status == 400:
        return Result(Outcome.BAD_MESSAGE, "HTTP 400")
    if status in (408, 429) or status >= 500:
        return Result(Outcome.FAILED, f"HTTP {status}")
    return Result(Outcome.REFUSED, f"HTTP {status}")


async def _send(method: str, target: Target, file: Path, filename: str, context: ssl.SSLContext | None) -> int:
    """Send the request, return the status code (the response body is not needed)."""
    size = (await asyncio.to_thread(file.stat)).st_size
    head, tail, content_type = b"", b"", "application/gzip"
    if method == "POST":
        boundary = uuid.uuid4().hex
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/gzip\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        content_type = f"multipart/form-data; boundary={boundary}"
    tls = context if target.scheme == "https" else None
    if target.scheme == "https" and tls is None:
        raise ssl.SSLError("https needs a TLS context")
    reader, writer = await asyncio.open_connection(
        target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
    )
    try:
        host = f"[{target.host}]" if ":" in target.host else target.host
        headers = [
            f"{method} {target.path} HTTP/1.1",
            f"Host: {host}:{target.port}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(head) + size + len(tail)}",
            "Connection: close",
        ]
        if target.authorization:
            headers.append(f"Authorization: {target.authorization}")
        lost: ConnectionError | None = None
        try:
            writer.write(("\r\n".join(headers) + "\r\n\r\n").encode("latin-1") + head)
            with file.open("rb") as data:
                while chunk := await asyncio.to_thread(data.read, CHUNK):
                    writer.write(chunk)
                    await writer.drain()
            writer.write(tail)
            await writer.drain()
        except ConnectionError as exc:
            # The server answered and closed before our last drain (a refusal such as 413, or simply a fast
            # server: over TLS its close ends the whole transport). Its answer is in the reader if it sent one.
            lost = exc
        status_line = await reader.readline()
        if not status_line and lost is not None:
            raise lost
        fields = status_line.decode("latin-1").split(maxsplit=2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
        return int(fields[1])
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass  # the answer is in; a peer that drops the connection rudely changes nothing

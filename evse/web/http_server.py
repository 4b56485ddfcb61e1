"""A small HTTP/1.1 server on asyncio streams: one request per connection, bounded sizes and times.

The page needs a handful of routes, JSON and static files; the standard library's asyncio streams do that
without a framework to ship and patch on every charger. Each connection carries one request and is closed
after the answer (``Connection: close``), so no keep-alive state lives in the daemon.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1024 * 1024  # a configuration file is a few KiB
REQUEST_TIMEOUT_S = 15.0
#: Connections served at once; more are closed unanswered, so a flood cannot hold the daemon's memory.
MAX_CONNECTIONS = 32


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower case
    body: bytes
    client: str

    def cookie(self, name: str) -> str | None:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(self.headers.get("cookie", ""))
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    """An answer; `headers` are added to the ones every answer gets."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of_json(cls, value: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(value).encode(), "application/json")


Handler = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """The bytes received are not a request this server answers."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


async def _read_request(reader: asyncio.StreamReader, client: str) -> Request:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise BadRequest(431, "header too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        raise BadRequest(400, "bad request line") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise BadRequest(501, "chunked bodies are not accepted")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest(400, "bad content-length") from None
    if length < 0 or length > MAX_BODY_BYTES:
        raise BadRequest(413, "body too large")
    body = await reader.readexactly(length) if length else b""
    parts = urlsplit(target)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return Request(method.upper(), unquote(parts.path), query, headers, body, client)


def _encode(response: Response, secure: bool) -> bytes:
    reason = HTTPStatus(response.status).phrase
    headers = [
        ("Content-Type", response.content_type),
        ("Content-Length", str(len(response.body))),
        ("Connection", "close"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
        *([("Strict-Transport-Security", "max-age=31536000")] if secure else []),
        *response.headers,
    ]
    head = f"HTTP/1.1 {response.status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + response.body


async def serve(handler: Handler, host: str, port: int, context: ssl.SSLContext | None) -> None:
    """Serve `handler` until cancelled."""
    open_connections = 0

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_connections
        peer = writer.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) else "local"
        if open_connections >= MAX_CONNECTIONS:
            writer.close()
            return
        open_connections += 1
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    request = await _read_request(reader, client)
                response = await handler(request)
            except BadRequest as exc:
                response = Response(exc.status, f"{exc}\n".encode())
            writer.write(_encode(response, context is not None))
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # a client that went away or never finished its request: nothing to answer
        except Exception:
            log.exception("web request failed client=%s", client)
        finally:
            open_connections -= 1
            writer.close()

    server = await asyncio.start_server(connection, host, port, ssl=context, limit=MAX_HEADER_BYTES)
    async with server:
        await server.serve_forever()

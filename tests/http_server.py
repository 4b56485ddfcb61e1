"""A real HTTP(S) server on loopback for the transfer tests (firmware downloads, log uploads).

It serves files with Range support, receives PUT and POST uploads, and can misbehave on request: refuse
with a status code, break a download midway (once or every time), or ignore Range. Every request is
recorded so a test can assert what the station asked for.

    with LoopbackHttpServer() as server:
        server.files["/fw.bin"] = image
        url = server.url("/fw.bin")
"""

from __future__ import annotations

import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Request:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Behaviour:
    """How the server misbehaves; tests change these fields while it runs."""

    #: Answer every request on these paths with this status (e.g. {"/fw.bin": 404}).
    refuse: dict[str, int] = field(default_factory=dict)
    #: Close the connection after sending this many bytes of a GET body ...
    break_after: int | None = None
    #: ... this many times (then serve normally); None: every time.
    break_times: int | None = 1
    #: Serve the whole file with 200 even when a Range is asked (a server without Range support).
    ignore_range: bool = False
    #: Answer every request of these methods with this status (e.g. {"PUT": 405}: a POST-only endpoint).
    refuse_method: dict[str, int] = field(default_factory=dict)


class LoopbackHttpServer:
    """ThreadingHTTPServer on 127.0.0.1 (port chosen by the OS), optionally wrapped in TLS."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, Request] = {}
        self.requests: list[Request] = []
        self.behaviour = Behaviour()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        if tls is not None:
            # The handshake happens on the first read, in the request's own thread: a client that stalls or
            # aborts its handshake cannot hold up the accept loop for the next one.
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}{path}"

    def start(self) -> LoopbackHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackHttpServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)
            if request.method in ("PUT", "POST"):
                self.uploads[request.path] = request

    def take_break(self) -> int | None:
        """The byte count after which this GET must break, consuming one of the breaks allowed."""
        with self._lock:
            b = self.behaviour
            if b.break_after is None or b.break_times == 0:
                return None
            if b.break_times is not None:
                b.break_times -= 1
            return b.break_after


_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def _handler(server: LoopbackHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _refused(self) -> bool:
            status = server.behaviour.refuse.get(self.path) or server.behaviour.refuse_method.get(self.command)
            if status is None:
                return False
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True

        def do_GET(self) -> None:
            server.record(Request("GET", self.path, dict(self.headers.items())))
            if self._refused():
                return
            data = server.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start, end = 0, len(data) - 1
            match = _RANGE.match(self.headers.get("Range", ""))
            if match and not server.behaviour.ignore_range:
                start = int(match.group(1))
                end = int(match.group(2)) if match.group(2) else len(data) - 1
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                self.send_response(200)
            self.send_header("Accept-Ranges", "none" if server.behaviour.ignore_range else "bytes")
            body = data[start : end + 1]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            cut = server.take_break()
            if cut is not None and cut < len(body):
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.close()
                return
            self.wfile.write(body)

        def _receive(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length) if length else b""
            server.record(Request(method, self.path, dict(self.headers.items()), body))
            if self._refused():
                return
            self.send_response(201 if method == "PUT" else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_PUT(self) -> None:
            self._receive("PUT")

        def do_POST(self) -> None:
            self._receive("POST")

    return Handler

"""A bare CSMS on loopback for the fuzzer: sends anything, reads the station's answers raw.

It is deliberately not the dev CSMS: it must send frames no OCPP library would send (oversized headers,
unterminated fragments, broken JSON), read the station's answers raw, and keep no journal of a run's
worth of frames. It answers the station's own CALLs (boot, status, events) with minimal valid payloads,
or, through an AnswerMutator, with odd ones, so the station behaves as in the field. For a 1.6 station it
offers the ocpp1.6 subprotocol and answers in 1.6 (BootNotification.conf, StartTransaction.conf ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import struct
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.typing import Subprotocol

from tests.fuzz.payloads import PayloadFactory
from tests.fuzz.versions import V201, FuzzVersion


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer_for(action: str, version: FuzzVersion = V201) -> dict[str, Any]:
    """A minimal valid answer to a CALL the station sends."""
    if version is not V201:
        return _answer_16(action)
    if action == "BootNotification":
        return {"currentTime": _now(), "interval": 300, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    if action == "Authorize":
        return {"idTokenInfo": {"status": "Accepted"}}
    return {}


_TRANSACTION_IDS = iter(range(1, 2**31))


def _answer_16(action: str) -> dict[str, Any]:
    """A minimal valid 1.6 .conf to a CALL the station sends."""
    if action in ("BootNotification", "Heartbeat"):  # the same fields as their 2.0.1 answers
        return _answer_for(action)
    if action == "Authorize":
        return {"idTagInfo": {"status": "Accepted"}}
    if action == "StartTransaction":
        return {"idTagInfo": {"status": "Accepted"}, "transactionId": next(_TRANSACTION_IDS)}
    if action == "DataTransfer":
        return {"status": "UnknownVendorId"}
    if action == "SignCertificate":
        return {"status": "Accepted"}
    return {}


class AnswerMutator:
    """Answers the station's own CALLs badly now and then: a random but valid answer (a BootNotification
    may come back Pending or Rejected), a schema-breaking one, or a CALLERROR. Its own Random, so the
    frames sent to the station stay those of the seed."""

    def __init__(self, seed: int, rate: float, version: FuzzVersion = V201) -> None:
        self._rng = random.Random(seed)
        self._rate = rate
        self._version = version
        self._factories: dict[str, PayloadFactory] = {}
        self.counts: Counter[str] = Counter()

    def answer(self, message_id: str, action: str) -> list[Any] | None:
        """The frame to answer with, or None for the plain valid answer."""
        rng = self._rng
        if rng.random() >= self._rate:
            return None
        if action not in self._factories:
            try:
                self._factories[action] = PayloadFactory(action, rng, kind="Response", version=self._version)
            except FileNotFoundError:
                return None
        choice = rng.randrange(3)
        self.counts[f"{action}:{('valid', 'broken', 'CALLERROR')[choice]}"] += 1
        if choice == 0:
            return [3, message_id, self._factories[action].valid()]
        if choice == 1:
            return [3, message_id, self._factories[action].mutated().payload]
        code = rng.choice(["InternalError", "NotSupported", "SecurityError", "GenericError", "Bogus"])
        return [4, message_id, code, "fuzz", {}]


class BareCsms:
    """A websocket server speaking just enough OCPP-J to keep one station registered, and raw otherwise."""

    def __init__(self, answers: AnswerMutator | None = None, version: FuzzVersion = V201) -> None:
        self.answers = answers
        self.version = version
        self.connections = 0
        self.close_codes: list[int | None] = []  # what the station sent when a connection ended
        self.connected = asyncio.Event()
        self._changed = asyncio.Condition()  # notified when a connection opens or ends
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.station_calls: list[str] = []
        self._socket: ServerConnection | None = None
        self._server: Server | None = None
        self.port = 0

    async def start(self) -> int:
        # No compression: the frame-limit test must put its bytes on the wire as they are.
        subprotocol = Subprotocol(self.version.dialect.subprotocol)
        self._server = await serve(self._serve, "127.0.0.1", 0, subprotocols=[subprotocol], compression=None)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def socket(self) -> ServerConnection:
        assert self._socket is not None, "no station connected"
        return self._socket

    async def wait_connection(self, count: int, timeout: float = 15.0) -> None:
        """Until the station has opened `count` connections in all and the latest is up."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.connections >= count and self.connected.is_set())

    async def wait_closed(self, count: int, timeout: float = 15.0) -> int | None:
        """The close code the station sent when its `count`-th connection ended (None: no close frame)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.close_codes) >= count)
        return self.close_codes[count - 1]

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _serve(self, socket: ServerConnection) -> None:
        self.connections += 1
        self._socket = socket
        self.connected.set()
        await self._notify()
        code: int | None = None
        try:
            async for message in socket:
                await self._route(socket, message)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
        else:
            code = socket.close_code
        finally:
            self.close_codes.append(code)
            if self._socket is socket:
                self._socket = None
                self.connected.clear()
            await self._notify()

    async def _route(self, socket: ServerConnection, message: str | bytes) -> None:
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        try:
            frame = json.loads(text)
        except ValueError:
            await self.replies.put(text)
            return
        if isinstance(frame, list) and len(frame) == 4 and frame[0] == 2:
            self.station_calls.append(str(frame[2]))
            answer = self.answers.answer(frame[1], str(frame[2])) if self.answers is not None else None
            await socket.send(json.dumps(answer or [3, frame[1], _answer_for(str(frame[2]), self.version)]))
            return
        await self.replies.put(text)

    async def send_oversized_header(self, length: int) -> None:
        """Only the header of a text frame announcing `length` bytes: a station that waited for the body
        before refusing would hang here instead of closing."""
        header = b"\x81\x7f" + struct.pack("!Q", length)  # FIN + text, 64-bit length, unmasked (server side)
        self.socket.transport.write(header)

    async def stream_message(self, total: int, fragment: int = 256 * 1024) -> None:
        """One text message of `total` bytes sent as fragments made on the fly (never whole in memory)."""

        socket = self.socket

        async def pieces() -> AsyncIterator[str]:
            chunk = "x" * fragment
            for _ in range(total // fragment):
                if socket.state is not State.OPEN:
                    return  # the station closed: the rest of the message goes nowhere
                yield chunk

        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(30):
                await socket.send(pieces())

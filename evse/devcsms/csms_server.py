"""The websocket server of the development CSMS, whatever OCPP version it speaks.

It is the project's real test double: the station under test talks OCPP-J over a loopback socket
to an independent implementation (the ``ocpp`` library) instead of to mocks of our own code, so a
misreading of the spec shared by our encoder and our decoder cannot go unnoticed. ``DevCsms``
(2.0.1, server.py) and ``DevCsms16`` (1.6J, server16.py) name the subprotocol, the library session
and the default answers; everything a test does with either is here, once.
"""

from __future__ import annotations

import asyncio
import hmac
import http
import logging
import ssl as ssl_module
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from evse.clock import Clock, SystemClock
from evse.devcsms.frames import (
    AuthAttempt,
    ConnectionRecord,
    Direction,
    Frame,
    StationNotConnected,
)
from evse.devcsms.journal import Journal, PayloadPredicate
from evse.devcsms.responses import (
    RegistrationStatus,
    ResponseFn,
    ScriptedAnswers,
    resolve_override,
)
from evse.devcsms.session import StationSession

_log = logging.getLogger("evse.devcsms")

# RFC 6455 close code for a protocol violation: used when the station did not offer our subprotocol.
_CLOSE_PROTOCOL_ERROR = 1002

Behaviour = TypeVar("Behaviour", bound=ScriptedAnswers)


def station_id_from_path(path: str) -> str:
    """The station identity: the last segment of the request path (``/ocpp/CS001`` -> ``CS001``).

    OCPP-J has the station append its identity to the CSMS URL, so whatever prefix the URL had
    is the CSMS's business; the identity may be percent-encoded (OCPP allows e.g. ``:``).
    """
    segments = [segment for segment in urlsplit(path).path.split("/") if segment]
    return unquote(segments[-1]) if segments else ""


def _basic_credentials(headers: Headers) -> tuple[str, str] | None:
    header = headers.get("Authorization")
    if header is None:
        return None
    try:
        return parse_authorization_basic(header)
    except InvalidHeader:
        return None


class CsmsServer(ABC, Generic[Behaviour]):
    """A programmable, observable CSMS for developers and integration tests, of one OCPP version.

    ``tokens`` are the idTokens (1.6: idTags) the CSMS accepts (default DEFAULT_TOKENS).
    ``basic_auth`` maps station id -> password and turns on security profile 1: the username
    must be the station id, anything else gets HTTP 401 and no websocket.
    ``select_subprotocol=False`` accepts connections without selecting the subprotocol, to test
    that a station refuses such a CSMS.
    """

    #: The websocket subprotocol of the version, the only one served.
    SUBPROTOCOL: ClassVar[Subprotocol]

    def __init__(
        self,
        *,
        tokens: Collection[str] | None = None,
        boot_status: RegistrationStatus = "Accepted",
        boot_interval: int = 300,
        basic_auth: Mapping[str, str] | None = None,
        select_subprotocol: bool = True,
        response_timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._clock: Clock = clock or SystemClock()
        self.behaviour: Behaviour = self._create_behaviour(self._clock, tokens, boot_status, boot_interval)
        self.journal = Journal(self._clock)
        self.basic_auth: dict[str, str] | None = dict(basic_auth) if basic_auth is not None else None
        self.select_subprotocol = select_subprotocol
        self.response_timeout = response_timeout
        self.auth_attempts: list[AuthAttempt] = []
        self.connections: list[ConnectionRecord] = []
        self._sessions: dict[str, StationSession] = {}
        self._server: Server | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._scheme = "ws"

    @abstractmethod
    def _create_behaviour(
        self, clock: Clock, tokens: Collection[str] | None, boot_status: RegistrationStatus, boot_interval: int
    ) -> Behaviour:
        """The version's default answers."""

    @abstractmethod
    def _create_session(self, station: str, websocket: ServerConnection) -> StationSession:
        """The library session of the version for one connection."""

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0, *, ssl: ssl_module.SSLContext | None = None) -> int:
        """Listen on ``host:port`` (0 picks a free port) and return the bound port."""
        if self._server is not None:
            raise RuntimeError("DevCsms already started")
        self._server = await serve(
            self._serve_station,
            host,
            port,
            subprotocols=[self.SUBPROTOCOL],
            select_subprotocol=self._choose_subprotocol,
            process_request=self._check_request,
            ssl=ssl,
        )
        self._host = host
        self._port = self._server.sockets[0].getsockname()[1]
        self._scheme = "wss" if ssl else "ws"
        _log.info(
            "csms listening on %s://%s:%d/ocpp/<stationId> (%s)", self._scheme, host, self._port, self.SUBPROTOCOL
        )
        return self._port

    async def stop(self) -> None:
        """Close every station connection (1001 going away) and stop listening."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        if self._server is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The CSMS URL to configure on a station; it appends ``/<stationId>`` itself."""
        return f"{self._scheme}://{self._host}:{self._port}/ocpp"

    # --- scripting -------------------------------------------------------------------------

    @property
    def boot_status(self) -> RegistrationStatus:
        return self.behaviour.boot_status

    @boot_status.setter
    def boot_status(self, status: RegistrationStatus) -> None:
        self.behaviour.boot_status = status

    @property
    def boot_interval(self) -> int:
        return self.behaviour.boot_interval

    @boot_interval.setter
    def boot_interval(self, seconds: int) -> None:
        self.behaviour.boot_interval = seconds

    @property
    def tokens(self) -> set[str]:
        """The accepted idTokens; mutable, consulted at every answer that judges a token."""
        return self.behaviour.tokens

    def respond(self, action: str, response: ResponseFn | Mapping[str, Any] | None) -> None:
        """Answer every later ``action`` CALL with ``response(payload)`` (None restores the default).

        ``response`` gets the CALL payload as a camelCase dict and returns a camelCase dict or a
        ``call_result`` instance of the version (or an awaitable of either); raising an
        ``ocpp.exceptions.OCPPError`` sends that CALLERROR. A fixed dict/call_result works too.
        The answer is still schema-validated; an invalid one goes out as a CALLERROR.
        Do not ``await csms.call()`` from inside it: the station's answer could not be read.
        """
        if response is None:
            self.behaviour.overrides.pop(action, None)
        else:
            self.behaviour.overrides[action] = resolve_override(response)

    # --- observing -------------------------------------------------------------------------

    @property
    def log(self) -> list[Frame]:
        """Every frame received from and sent to every station, in order."""
        return self.journal.frames

    @property
    def failures(self) -> list[str]:
        """What went wrong on the wire: invalid or unparseable station messages, stray answers."""
        return self.journal.failures

    def assert_no_failures(self) -> None:
        """Fail the test if the station sent anything the schemas or OCPP-J framing reject."""
        if self.journal.failures:
            raise AssertionError("OCPP failures:\n" + "\n".join(self.journal.failures))

    async def wait_for(
        self,
        action: str,
        *,
        station: str | None = None,
        predicate: PayloadPredicate | None = None,
        timeout: float = 5.0,
        allow_invalid: bool = False,
    ) -> dict[str, Any]:
        """The payload of the first received ``action`` CALL not returned by an earlier wait_for.

        Returns once the CSMS has answered it. Raises TimeoutError listing what was received, or
        InvalidStationMessage when the matching message failed schema validation (unless
        ``allow_invalid``, for tests that send invalid messages on purpose).
        """
        try:
            async with asyncio.timeout(timeout):
                call = await self.journal.wait_for_call(
                    action, station=station, predicate=predicate, allow_invalid=allow_invalid
                )
        except TimeoutError:
            raise TimeoutError(self.journal.describe_miss(action, station, predicate, timeout)) from None
        return call.request.payload

    def received(self, action: str | None = None, *, station: str | None = None) -> list[dict[str, Any]]:
        """Payloads of every matching CALL received so far, whether wait_for consumed them or not."""
        return self.journal.received(action, station)

    def skip(self, action: str | None = None, *, station: str | None = None) -> int:
        """Mark every matching CALL received so far as consumed, so wait_for only sees new ones."""
        return self.journal.skip(action, station)

    # --- acting on a station ---------------------------------------------------------------

    def connected(self, station_id: str) -> bool:
        return station_id in self._sessions

    async def wait_connected(self, station_id: str, timeout: float = 5.0) -> None:
        """Return once ``station_id`` has an open connection (at once if it already has)."""
        try:
            async with asyncio.timeout(timeout):
                await self.journal.signal.wait_until(lambda: self._sessions.get(station_id))
        except TimeoutError:
            raise TimeoutError(
                f"{station_id} did not connect within {timeout}s; connected: {sorted(self._sessions)}"
            ) from None

    async def disconnect(self, station_id: str, *, code: int = 1000, reason: str = "", abort: bool = False) -> None:
        """Close the station's websocket from the CSMS side and wait until it is gone.

        ``abort=True`` drops the TCP connection without a close frame, as a network failure would.
        """
        session = self._session(station_id)
        if abort:
            session.websocket.transport.abort()
        else:
            await session.websocket.close(code, reason)
        # serve() sets `closed` and _serve_station forgets the session without yielding in
        # between, so once this returns the station counts as disconnected.
        await session.closed.wait()

    async def call(self, station_id: str, payload: Any, *, timeout: float | None = None) -> Any:
        """Send a CALL (an ``ocpp.v201.call`` / ``ocpp.v16.call`` instance of the version) and return its
        ``call_result``.

        A CALLERROR raises the ``ocpp.exceptions.OCPPError`` subclass for its code.
        """
        session = self._session(station_id)
        limit = self.response_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await session.call_station(payload)
        except TimeoutError:
            raise TimeoutError(f"{station_id} did not answer {type(payload).__name__} within {limit}s") from None

    async def send_raw(self, station_id: str, text: str) -> None:
        """Send ``text`` as one websocket text frame, bypassing the library (malformed frames).

        Frames received before this are skipped by ``next_raw``, so it returns the reaction.
        """
        session = self._session(station_id)
        self.journal.mark_raw(station_id)
        self.journal.record(station_id, Direction.SENT, text)
        await session.websocket.send(text)

    async def next_raw(self, station_id: str, timeout: float = 5.0) -> str:
        """The next text frame received from the station after the last send_raw/next_raw."""
        try:
            async with asyncio.timeout(timeout):
                return await self.journal.next_raw(station_id)
        except TimeoutError:
            raise TimeoutError(f"no frame from {station_id} within {timeout}s") from None

    def _session(self, station_id: str) -> StationSession:
        try:
            return self._sessions[station_id]
        except KeyError:
            raise StationNotConnected(f"{station_id} is not connected; connected: {sorted(self._sessions)}") from None

    # --- websocket server ------------------------------------------------------------------

    def _choose_subprotocol(self, connection: ServerConnection, offered: Any) -> Subprotocol | None:
        # Never refuse the handshake here: OCPP-J wants the CSMS to complete it without a
        # subprotocol and then close, which _serve_station does, so the station sees why.
        if self.select_subprotocol and self.SUBPROTOCOL in offered:
            return self.SUBPROTOCOL
        return None

    def _check_request(self, connection: ServerConnection, request: Request) -> Response | None:
        station = station_id_from_path(request.path)
        if not station:
            return connection.respond(http.HTTPStatus.NOT_FOUND, "Append the station id to the URL path\n")
        credentials = _basic_credentials(request.headers)
        if credentials is not None:
            connection.username = credentials[0]
        if self.basic_auth is None:
            return None
        expected = self.basic_auth.get(station)
        accepted = (
            credentials is not None
            and expected is not None
            and credentials[0] == station
            # parse_authorization_basic keeps bytes that are not UTF-8 as surrogates: a 1.6 password may be binary.
            and hmac.compare_digest(self._password_bytes(expected), credentials[1].encode(errors="surrogateescape"))
        )
        self.auth_attempts.append(AuthAttempt(station, credentials[0] if credentials else None, accepted))
        if accepted:
            return None
        _log.warning("csms %s basic auth refused (username=%s)", station, credentials[0] if credentials else None)
        response = connection.respond(http.HTTPStatus.UNAUTHORIZED, "Invalid credentials\n")
        response.headers["WWW-Authenticate"] = build_www_authenticate_basic("evse dev-csms")
        return response

    def _password_bytes(self, configured: str) -> bytes:
        """The password a station must send, for the value `basic_auth` holds for it: the text itself."""
        return configured.encode()

    async def _serve_station(self, websocket: ServerConnection) -> None:
        request = websocket.request
        assert request is not None  # the handler only runs after a completed handshake
        station = station_id_from_path(request.path)
        offered = tuple(request.headers.get_all("Sec-WebSocket-Protocol"))
        self.connections.append(
            ConnectionRecord(
                station=station,
                path=request.path,
                subprotocol=websocket.subprotocol,
                offered_subprotocols=tuple(p.strip() for value in offered for p in value.split(",")),
                username=getattr(websocket, "username", None),
                at=self._clock.now(),
                peer_certificate=_peer_certificate(websocket),
            )
        )
        _log.info("csms %s connected (subprotocol=%s)", station, websocket.subprotocol)
        if self.select_subprotocol and websocket.subprotocol is None:
            self.journal.fail(station, f"offered no {self.SUBPROTOCOL} subprotocol (offered {list(offered)})")
            await websocket.close(_CLOSE_PROTOCOL_ERROR, f"{self.SUBPROTOCOL} subprotocol required")
            return
        previous = self._sessions.get(station)
        if previous is not None:
            # A station that reconnects has given up on its old connection; so do we.
            await previous.websocket.close(1000, "superseded by a new connection")
        session = self._create_session(station, websocket)
        self._sessions[station] = session
        self.journal.signal.notify()
        try:
            await session.serve()
        finally:
            if self._sessions.get(station) is session:
                del self._sessions[station]
            _log.info("csms %s disconnected (code=%s)", station, websocket.close_code)
            self.journal.signal.notify()


def _peer_certificate(websocket: ServerConnection) -> bytes | None:
    tls = websocket.transport.get_extra_info("ssl_object")
    if tls is None:
        return None
    der: bytes | None = tls.getpeercert(binary_form=True)
    return der

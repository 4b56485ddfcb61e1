"""The websocket to the CSMS: connect, authenticate, keep alive, reconnect with the spec's backoff.

OCPP-J (Part 4) and the security profiles (Part 2, A00): the identity is appended to the URL path, the
subprotocol of the connection's OCPP version must be agreed (`ocpp2.0.1`; `ocpp1.6` with the 1.6 dialect),
profile 1/2 send HTTP Basic auth (user = station id), profiles 2/3 use TLS (wss://; profile 3 adds a client
certificate). Reconnects follow OCPPCommCtrlr RetryBackOffWaitMinimum / RetryBackOffRandomRange /
RetryBackOffRepeatTimes (B10 / TC_B_57).

A dead link is noticed by one of two clocks: the websocket ping (WebSocketPingInterval, a pong must come
back within as long again) or a CALL left without an answer for MessageTimeout. The second drops the
connection too: a CSMS that reads one message at a time and hangs on it will not answer a retry on the
same socket either, so only a new connection (and the outbox resending on it) gets the station going again.
A deliberate stop or reset closes with 1001 / 1000, never with the 1011 a library uses for "exception".
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.frames import CloseCode
from websockets.typing import Subprotocol

from evse.errors import ConfigError, EvseError
from evse.ocpp.calls import CallTimeout, NotConnected, OcppMessage, Resp
from evse.ocpp.dialect import V201, Dialect
from evse.ocpp.rpc import Router, RpcSession
from evse.security import tls

log = logging.getLogger(__name__)

# Bounds on the opening and closing handshakes, which are requests to the CSMS like any other and so
# follow MessageTimeout, but never wait longer than this: a handshake that slow is a dead link.
HANDSHAKE_TIMEOUT_MAX = 10.0


@dataclass(frozen=True)
class Endpoint:
    """Everything needed to open the websocket; the password is never logged."""

    url: str
    identity: str
    security_profile: int
    # Text (2.0.1 BasicAuthPassword) or bytes (a 1.6 AuthorizationKey may be binary); never in a log line.
    password: str | bytes | None = field(default=None, repr=False)
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    # CSMS roots installed after the factory (*.pem): trusted beside ca_file.
    extra_roots: str | None = None
    max_frame_bytes: int = 4 * 1024 * 1024

    @property
    def full_url(self) -> str:
        return f"{self.url.rstrip('/')}/{quote(self.identity, safe='')}"

    def headers(self) -> dict[str, str]:
        if self.security_profile in (1, 2) and self.password is not None:
            secret = self.password if isinstance(self.password, bytes) else self.password.encode()
            token = base64.b64encode(f"{self.identity}:".encode() + secret).decode()
            return {"Authorization": f"Basic {token}"}
        return {}

    def ssl_context(self) -> ssl.SSLContext | None:
        """None for profiles 0/1; ConfigError when the URL scheme does not fit the profile (no downgrade)."""
        tls.check_url_scheme(self.security_profile, self.url)
        if self.security_profile < 2:
            return None
        return tls.client_context(
            self.security_profile,
            ca_file=self.ca_file,
            client_cert=self.client_cert,
            client_key=self.client_key,
            extra_roots=Path(self.extra_roots) if self.extra_roots else None,
        )


@dataclass(frozen=True)
class Backoff:
    """RetryBackOff* of OCPPCommCtrlr, read afresh before each wait so a SetVariables applies."""

    wait_minimum: float
    random_range: float
    repeat_times: int

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect attempt `attempt` (0-based): doubled repeat_times times."""
        doublings = min(attempt, self.repeat_times)
        return float(self.wait_minimum * (2**doublings) + random.uniform(0, self.random_range))


class RefusedByCsms(Exception):
    """The CSMS accepted the TCP/TLS connection but not the OCPP handshake."""


class CsmsConnection:
    """Owns the websocket and its RpcSession; `run` never returns until cancelled."""

    def __init__(
        self,
        endpoint: Callable[[], Endpoint],
        router: Router,
        *,
        message_timeout: Callable[[], float],
        backoff: Callable[[], Backoff],
        ping_interval: Callable[[], float],
        on_connected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[], None],
        on_invalid_message: Callable[[str], None] | None = None,
        dialect: Dialect = V201,
    ) -> None:
        self._endpoint = endpoint
        # The OCPP version: the one subprotocol offered and required, and the RPC session's schemas.
        self._dialect = dialect
        self._subprotocol = Subprotocol(dialect.subprotocol)
        self._on_invalid_message = on_invalid_message
        self._router = router
        self._message_timeout = message_timeout
        self._backoff = backoff
        self._ping_interval = ping_interval
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._session: RpcSession | None = None
        self._socket: ClientConnection | None = None
        self._unanswered = asyncio.Event()  # set by a CALL that timed out on the current socket
        self.connected = asyncio.Event()
        # When the current websocket came up (UTC), for the technician's page; None while offline.
        self.connected_since: datetime | None = None
        self.attempts = 0
        # Failed attempts in a row: the backoff grows with it and the endpoint callable may read it to
        # fall back to another network profile (B10).
        self.failures = 0
        # Why the last TLS connection attempt failed; kept over the next successful connection so its
        # security_event can be reported then (take_tls_failure reads and clears it).
        self.last_tls_failure: tls.TlsDiagnosis | None = None
        # The CSMS refused the station's credentials (HTTP 401) since the last take_auth_refusal: reported
        # as FailedToAuthenticateAtCsms once a connection exists again.
        self.auth_refused = False

    def take_auth_refusal(self) -> bool:
        """Whether the CSMS refused the credentials since the last call, and forget it."""
        refused, self.auth_refused = self.auth_refused, False
        return refused

    def take_tls_failure(self) -> tls.TlsDiagnosis | None:
        """The last TLS failure not yet reported, and forget it."""
        failure, self.last_tls_failure = self.last_tls_failure, None
        return failure

    @property
    def router(self) -> Router:
        """The actions this station serves (the fuzzer drives them without a socket)."""
        return self._router

    @property
    def is_connected(self) -> bool:
        return self._session is not None and not self._session.closed

    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        """Send a CALL on the current connection; NotConnected when there is none."""
        session = self._session
        if session is None:
            raise NotConnected("no connection to the CSMS")
        try:
            return await session.call(request, response_type)
        except CallTimeout:
            if session is self._session:
                self._unanswered.set()
            raise

    async def disconnect(self) -> None:
        """Close the socket (e.g. before a reset) with 1000; `run` then reconnects unless cancelled."""
        if self._socket is not None:
            await self._socket.close(CloseCode.NORMAL_CLOSURE, "station resetting")

    async def reconnect(self, reason: str) -> None:
        """Close the socket with 1012 (service restart); `run` connects again with a fresh endpoint, e.g.
        with the BasicAuthPassword the CSMS has just set (A01)."""
        if self._socket is not None:
            log.info("csms reconnecting: %s", reason)
            await self._socket.close(CloseCode.SERVICE_RESTART, reason)

    async def run(self) -> None:
        self.failures = 0
        while True:
            endpoint = self._endpoint()
            try:
                await self._connect_and_serve(endpoint)
                self.failures = 0  # a session that came up resets the backoff
            except ConfigError as exc:
                log.error("csms connect impossible url=%s: %s", endpoint.full_url, exc)
            except (OSError, InvalidHandshake, RefusedByCsms, TimeoutError) as exc:
                reason = await self._failure_reason(endpoint, exc)
                log.warning("csms connect failed url=%s: %s", endpoint.full_url, reason)
            delay = self._backoff().delay(self.failures)
            self.failures += 1
            log.info("csms reconnect in %.1fs (attempt %d)", delay, self.failures)
            await asyncio.sleep(delay)

    async def _failure_reason(self, endpoint: Endpoint, exc: BaseException) -> str:
        """One line naming the cause; a TLS cause is also kept in last_tls_failure."""
        if isinstance(exc, InvalidStatus):
            if exc.response.status_code == 401:  # Part 4: the answer to credentials the CSMS does not accept
                self.auth_refused = True
                return "HTTP 401 security_event=FailedToAuthenticateAtCsms"
            return f"HTTP {exc.response.status_code}"
        diagnosis = tls.classify(exc) if endpoint.security_profile >= 2 else None
        if endpoint.security_profile >= 2 and tls.worth_probing(exc, diagnosis):
            parts = urlsplit(endpoint.url)
            diagnosis = await asyncio.to_thread(
                tls.probe,
                parts.hostname or "",
                parts.port or 443,
                client_cert=endpoint.client_cert if endpoint.security_profile == 3 else None,
                client_key=endpoint.client_key if endpoint.security_profile == 3 else None,
                timeout=min(float(self._message_timeout()), HANDSHAKE_TIMEOUT_MAX),
            )
        if diagnosis is not None:
            self.last_tls_failure = diagnosis
            event = diagnosis.failure.security_event
            return f"{diagnosis} security_event={event}" if event else str(diagnosis)
        return str(exc) or type(exc).__name__

    async def _guarded_on_connected(self) -> None:
        # The boot sequence dies with the connection; its failures must not tear down the reader.
        try:
            await self._on_connected()
        except EvseError as exc:
            log.warning("csms session start-up stopped: %s", exc)

    async def _drop_when_unanswered(self, socket: ClientConnection) -> None:
        await self._unanswered.wait()
        log.warning("csms left a CALL unanswered for MessageTimeout: reconnecting")
        await socket.close(CloseCode.NORMAL_CLOSURE, "no answer within MessageTimeout")

    async def _connect_and_serve(self, endpoint: Endpoint) -> None:
        self.attempts += 1
        ping = self._ping_interval()
        handshake_timeout = min(float(self._message_timeout()), HANDSHAKE_TIMEOUT_MAX)
        async with connect(
            endpoint.full_url,
            subprotocols=[self._subprotocol],
            additional_headers=endpoint.headers(),
            ssl=endpoint.ssl_context(),
            ping_interval=ping if ping > 0 else None,
            ping_timeout=ping if ping > 0 else None,
            compression="deflate",
            open_timeout=handshake_timeout,
            close_timeout=handshake_timeout,
            max_size=endpoint.max_frame_bytes,
        ) as socket:
            if socket.subprotocol != self._subprotocol:
                await socket.close(code=CloseCode.PROTOCOL_ERROR, reason=f"{self._subprotocol} subprotocol required")
                raise RefusedByCsms(f"CSMS selected subprotocol {socket.subprotocol!r}, need {self._subprotocol}")
            try:
                await self._serve(socket, endpoint)
            except asyncio.CancelledError:
                # Leaving `connect` with an exception would close with 1011 (internal error); a stop is
                # a station going away. Shielded so a second cancel cannot cut the close handshake short.
                await asyncio.shield(socket.close(CloseCode.GOING_AWAY, "station stopping"))
                raise

    async def _serve(self, socket: ClientConnection, endpoint: Endpoint) -> None:
        log.info("csms connected url=%s", endpoint.full_url)
        session = RpcSession(
            socket.send,
            self._router,
            message_timeout=self._message_timeout,
            on_invalid=self._on_invalid_message,
            dialect=self._dialect,
        )
        self._session, self._socket = session, socket
        self._unanswered.clear()
        self.connected.set()
        self.connected_since = datetime.now(UTC)
        try:
            async with asyncio.TaskGroup() as group:
                helpers = [
                    group.create_task(self._guarded_on_connected()),
                    group.create_task(self._drop_when_unanswered(socket)),
                ]
                # The end of the connection leaves this block without an exception: on Python 3.11 a
                # TaskGroup that is already aborting because of its body's exception swallows a
                # cancellation arriving meanwhile, and the stop of the daemon would be lost.
                try:
                    async for frame in socket:
                        await session.handle_frame(frame)
                except ConnectionClosed:
                    pass
                finally:
                    for helper in helpers:
                        helper.cancel()
            log.warning("csms connection closed code=%s", socket.close_code)
        finally:
            self._session = self._socket = None
            self.connected.clear()
            self.connected_since = None
            session.close()
            self._on_disconnected()
            await session.drain()

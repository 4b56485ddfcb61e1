"""OCPP-J RPC framing over one websocket: CALL / CALLRESULT / CALLERROR, correlation, dispatch.

The session knows nothing about websockets: it is fed text frames (`handle_frame`) and given a coroutine
to send text. That keeps it testable and lets the connection own reconnects.

- At most one CALL from the station is outstanding (OCPP-J 4.1.1); `call` holds a lock for the round trip.
- Incoming CALLs (and the CSMS's answers) are validated against the official schemas before any handler
  runs; violations and handler failures become the CALLERROR the specification names, and the session
  keeps serving. Outgoing payloads are checked against the schemas in tests (EVSE_VALIDATE_OUTGOING=1, set
  by tests/conftest.py): they are dumped from models generated from those schemas, and on a station the
  check cost a TransactionEvent 40 us and its validator's compilation 4 MiB of peak memory.
- A CALLRESULT/CALLERROR nobody waits for (late, unknown id) is logged and dropped.
- The OCPP version is the session's Dialect (evse/ocpp/dialect.py): its schemas, its actions, and the
  spelling of CALLERROR codes (1.6 says FormationViolation where 2.0.1 says FormatViolation).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from evse.ocpp.calls import CallError, CallTimeout, NotConnected, OcppMessage, Req, Resp
from evse.ocpp.dialect import V201, Dialect
from evse.ocpp.v201 import schemas

log = logging.getLogger(__name__)

CALL, CALLRESULT, CALLERROR = 2, 3, 4
#: "1": check every outgoing payload against its schema too (tests set it; see the module docstring).
VALIDATE_OUTGOING_ENV = "EVSE_VALIDATE_OUTGOING"

# No OCPP 2.0.1 message nests deeper than about a dozen levels; only customData and DataTransfer.data
# take free JSON. Deeper payloads are refused before a handler sees them: pydantic cannot serialize past
# ~250 levels, which turned a BytesPerMessage check into an InternalError.
MAX_PAYLOAD_DEPTH = 32


@dataclass(frozen=True)
class Reply:
    """A handler's answer plus work that must happen only after the CALLRESULT left (e.g. NotifyReport)."""

    payload: OcppMessage
    then: Callable[[], Awaitable[None]] | None = None


Handler = Callable[[Any], Awaitable[OcppMessage | Reply]]


def as_reply(outcome: OcppMessage | Reply) -> Reply:
    """A handler's outcome as a Reply: a bare answer has no work to follow it."""
    return outcome if isinstance(outcome, Reply) else Reply(outcome)


class Router:
    """Maps actions to handlers. Registration is by request class, so a type checker sees the pairing."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[type[OcppMessage], Handler]] = {}

    def register(self, request_type: type[Req], handler: Callable[[Req], Awaitable[OcppMessage | Reply]]) -> None:
        if request_type.ACTION in self._handlers:
            raise ValueError(f"a handler for {request_type.ACTION} is already registered")
        self._handlers[request_type.ACTION] = (request_type, handler)

    def lookup(self, action: str) -> tuple[type[OcppMessage], Handler] | None:
        return self._handlers.get(action)

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(self._handlers)


class _NotJson(Exception):
    """A received message that is not RFC 8259 JSON."""


def _refuse_constant(token: str) -> Any:
    raise _NotJson(f"{token} is not JSON")


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _NotJson(f"number {token[:20]} out of range")
    return value


def _parse(text: str | bytes) -> Any:
    """Python's json accepts NaN and Infinity (not JSON) and overflows 1e999 to infinity; a number no
    handler can compare must not reach one. Nesting deeper than the recursion limit is refused, not raised."""
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise _NotJson(str(exc)[:100]) from None


def _is_number(value: Any) -> bool:
    # JSON has no booleans-as-numbers; Python's True == 1 must not make [true, ...] a message type.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_unicode(value: Any) -> bool:
    """False when `value` holds a lone surrogate (a \\ud800 escape): no text, and no UTF-8 to send back."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests deeper than `limit` arrays/objects."""
    level = [value]
    for _ in range(limit + 1):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return True


def _encode(frame: list[Any]) -> str:
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (say, in data stored before such strings were refused) has no UTF-8 form, and
        # the socket would refuse the text; as a \\u escape it is valid JSON. So a failed send always means
        # a dead socket.
        text = json.dumps(frame, separators=(",", ":"))
    return text


#: CALLERROR codes that say the CSMS's message was not valid OCPP (framing, schema, unknown action), as
#: opposed to a valid request the station declines (NotSupported) or fails at (InternalError).
INVALID_MESSAGE_CODES = frozenset(
    {
        "RpcFrameworkError",
        "MessageTypeNotSupported",
        "NotImplemented",
        "FormatViolation",
        "TypeConstraintViolation",
        "PropertyConstraintViolation",
        "OccurrenceConstraintViolation",
        "ProtocolError",
        # The OCPP 1.6 spellings (evse.ocpp.v16.schemas), which its validation raises directly.
        "FormationViolation",
        "OccurenceConstraintViolation",
    }
)


class RpcSession:
    """The RPC state of one websocket connection."""

    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        router: Router,
        *,
        message_timeout: Callable[[], float],
        validate_outgoing: bool | None = None,
        on_invalid: Callable[[str], None] | None = None,
        dialect: Dialect = V201,
    ) -> None:
        self._send_text = send_text
        # Schemas, known actions and CALLERROR spelling of the OCPP version this connection speaks.
        self._dialect = dialect
        # Told of every incoming message refused as not valid OCPP (A04 InvalidMessages).
        self._on_invalid = on_invalid
        self._router = router
        self._message_timeout = message_timeout
        if validate_outgoing is None:
            validate_outgoing = os.environ.get(VALIDATE_OUTGOING_ENV) == "1"
        self._validate_outgoing = validate_outgoing
        self._call_lock = asyncio.Lock()
        self._pending: tuple[str, str, asyncio.Future[Any]] | None = None
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        # Unique per process run as well as per session: a uuid prefix avoids reusing ids after a restart.
        # Drawn once per session (it was drawn for every message: an os.urandom call per CALL).
        prefix = uuid.uuid4().hex[:8]
        self._ids = (f"{prefix}-{n}" for n in itertools.count(1))

    # ---- outgoing -------------------------------------------------------------------------------------
    async def call(self, request: OcppMessage, response_type: type[Resp]) -> Resp:
        """Send a CALL and wait for its answer; raises CallError, CallTimeout or NotConnected."""
        # Serialised by pydantic straight to JSON text and spliced into the frame: half the cost of a dict
        # dump followed by json.dumps, per CALL (a replayed outbox sends thousands back to back).
        payload = request.model_dump_json(exclude_none=True)
        if self._validate_outgoing:
            self._dialect.validate_request(request.ACTION, json.loads(payload))
        async with self._call_lock:
            if self._closed:
                raise NotConnected("no connection to the CSMS")
            message_id = next(self._ids)
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending = (message_id, request.ACTION, future)
            try:
                # The send is inside the bound too: on a stalled link even writing can block (full buffers).
                async with asyncio.timeout(self._message_timeout()):
                    try:
                        await self._send_text(_encode([CALL, message_id, request.ACTION])[:-1] + "," + payload + "]")
                    except Exception as exc:
                        # Whatever the transport raises when the socket went away (websockets'
                        # ConnectionClosed, OSError): callers handle NotConnected, and nothing else should
                        # reach them (a ConnectionClosed here once ended the outbox sender, and the daemon).
                        # The session is dead from now on, so `closed` tells callers not to retry at once.
                        self._closed = True
                        raise NotConnected(f"{request.ACTION} msg={message_id} not sent: {exc}") from exc
                    log.debug("sent CALL action=%s msg=%s", request.ACTION, message_id)
                    answer = await future
            except TimeoutError:
                raise CallTimeout(f"{request.ACTION} msg={message_id}: no answer within MessageTimeout") from None
            finally:
                self._pending = None
        if not _is_unicode(answer):
            # A lone surrogate passes the schema but not the models (and no SQLite or display could take it):
            # one CSMS answer like that once ended the outbox sender, and with it the daemon (found by fuzz).
            raise CallError("FormatViolation", f"CSMS answer to {request.ACTION} holds a string that is not Unicode")
        try:
            self._dialect.validate_response(request.ACTION, answer)
        except schemas.PayloadViolation as exc:
            raise CallError(exc.code, f"CSMS answer invalid: {exc.description}") from None
        try:
            return response_type.model_validate(answer)
        except ValidationError as exc:
            raise CallError(
                "FormatViolation", f"CSMS answer to {request.ACTION} invalid: {exc.errors()[0]['msg']}"
            ) from None

    @property
    def closed(self) -> bool:
        """The socket is gone (closed, or a send on it failed)."""
        return self._closed

    def close(self) -> None:
        """The websocket is gone: fail the outstanding CALL so its caller can retry later."""
        self._closed = True
        if self._pending is not None and not self._pending[2].done():
            self._pending[2].set_exception(NotConnected("connection lost while waiting for an answer"))

    async def drain(self) -> None:
        """Wait for the handler tasks still running (used when a connection closes)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ---- incoming -------------------------------------------------------------------------------------
    async def handle_frame(self, text: str | bytes) -> None:
        """Process one received websocket message. Never raises for bad input from the peer."""
        try:
            frame = _parse(text)
        except _NotJson as exc:
            await self._send_error("-1", "RpcFrameworkError", f"message is not valid JSON: {exc}")
            return
        kind = frame[0] if isinstance(frame, list) and frame else None
        if _is_number(kind) and kind in (CALLRESULT, CALLERROR):
            # An answer is never answered, however malformed: a CALLERROR to a CALLERROR could ping-pong.
            self._take_answer(frame)
            return
        message_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
        if not isinstance(message_id, str) or not _is_unicode(message_id):
            await self._send_error("-1", "RpcFrameworkError", "message id missing or unreadable")
            return
        if not _is_number(kind) or kind != CALL:
            await self._send_error(message_id, "MessageTypeNotSupported", f"message type {kind!r} unknown")
            return
        if len(frame) != 4 or not isinstance(frame[2], str):
            await self._send_error(message_id, "RpcFrameworkError", "CALL must be [2, id, action, payload]")
            return
        task = asyncio.create_task(self._serve_call(message_id, frame[2], frame[3]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _take_answer(self, frame: list[Any]) -> None:
        message_id = frame[1] if len(frame) > 1 else None
        if not isinstance(message_id, str):
            log.warning("dropped answer without a readable message id")
        elif frame[0] == CALLRESULT and len(frame) == 3:
            self._resolve(message_id, frame[2], None)
        elif frame[0] == CALLERROR and len(frame) >= 4:
            details = frame[4] if len(frame) > 4 and isinstance(frame[4], dict) else {}
            self._resolve(message_id, None, CallError(str(frame[2]), str(frame[3]), details))
        else:
            log.warning("dropped malformed answer msg=%s", message_id)

    def _resolve(self, message_id: str, payload: Any, error: CallError | None) -> None:
        pending = self._pending
        if pending is None or pending[0] != message_id or pending[2].done():
            log.warning("dropped late or unknown answer msg=%s", message_id)
            return
        if error is not None:
            pending[2].set_exception(error)
        else:
            pending[2].set_result(payload)

    async def _serve_call(self, message_id: str, action: str, payload: Any) -> None:
        try:
            reply = await self._dispatch(action, payload)
        except CallError as exc:
            await self._send_error(message_id, exc.code, exc.description, exc.details)
            return
        except Exception:
            log.exception("handler failed action=%s msg=%s", action, message_id)
            await self._send_error(message_id, "InternalError", f"{action} handler failed")
            return
        try:
            await self._send_text(
                _encode([CALLRESULT, message_id, reply.payload.model_dump(mode="json", exclude_none=True)])
            )
        except Exception:  # the socket went away; the CSMS will retry its CALL
            log.warning("could not send CALLRESULT action=%s msg=%s", action, message_id)
            return
        if reply.then is not None:
            try:
                await reply.then()
            except Exception:
                log.exception("follow-up of %s failed msg=%s", action, message_id)

    async def _dispatch(self, action: str, payload: Any) -> Reply:
        if action not in self._dialect.known_actions():
            raise CallError("NotImplemented", f"unknown action {action}")
        entry = self._router.lookup(action)
        if entry is None:
            raise CallError("NotSupported", f"{action} is not supported by this station")
        request_type, handler = entry
        if not _is_unicode(payload):
            raise CallError("FormatViolation", f"{action}: payload holds a string that is not Unicode")
        if depth_exceeds(payload, MAX_PAYLOAD_DEPTH):
            raise CallError("FormatViolation", f"{action}: payload nested deeper than {MAX_PAYLOAD_DEPTH} levels")
        try:
            self._dialect.validate_request(action, payload)
        except schemas.PayloadViolation as exc:
            raise CallError(exc.code, exc.description) from None
        try:
            request = request_type.model_validate(payload)
        except ValidationError as exc:  # schema-valid but not parseable, e.g. an impossible date
            raise CallError("TypeConstraintViolation", str(exc.errors()[0]["msg"])[:255]) from None
        result = await handler(request)
        reply = as_reply(result)
        if self._validate_outgoing:
            self._dialect.validate_response(action, reply.payload.model_dump(mode="json", exclude_none=True))
        return reply

    async def _send_error(
        self, message_id: str, code: str, description: str, details: dict[str, Any] | None = None
    ) -> None:
        log.info("answering CALLERROR code=%s msg=%s: %s", code, message_id, description)
        if code in INVALID_MESSAGE_CODES and self._on_invalid is not None:
            self._on_invalid(f"{code}: {description}")
        code = self._dialect.error_code(code)
        try:
            await self._send_text(_encode([CALLERROR, message_id, code, description[:255], details or {}]))
        except Exception:
            log.warning("could not send CALLERROR msg=%s", message_id)

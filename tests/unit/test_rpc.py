"""OCPP-J framing and CALLERROR mapping of the RPC session (Part 4 section 4), no network."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import pytest

from evse.ocpp.calls import CallError, CallTimeout, NotConnected
from evse.ocpp.rpc import VALIDATE_OUTGOING_ENV, Reply, Router, RpcSession
from evse.ocpp.v201 import messages as m
from evse.ocpp.v201 import schemas


class Wire:
    """The far end of the session: records every frame the session sends."""

    def __init__(self) -> None:
        self.frames: list[list[Any]] = []

    async def send(self, text: str) -> None:
        text.encode("utf-8")  # as websockets does: text that is not Unicode cannot be sent
        self.frames.append(json.loads(text))


def make_session(router: Router | None = None, timeout: float = 1.0) -> tuple[RpcSession, Wire]:
    wire = Wire()
    return RpcSession(wire.send, router or Router(), message_timeout=lambda: timeout), wire


async def settle(session: RpcSession) -> None:
    await asyncio.sleep(0)
    await session.drain()


def heartbeat_router() -> Router:
    router = Router()

    async def reset(request: m.ResetRequest) -> m.ResetResponse:
        return m.ResetResponse(status=m.ResetStatusEnumType.Accepted)

    router.register(m.ResetRequest, reset)
    return router


async def test_call_answered_with_callresult() -> None:
    session, wire = make_session(heartbeat_router())
    await session.handle_frame('[2,"a1","Reset",{"type":"Immediate"}]')
    await settle(session)
    assert wire.frames == [[3, "a1", {"status": "Accepted"}]]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        ("not json at all", [4, "-1", "RpcFrameworkError"]),
        ('{"an": "object"}', [4, "-1", "RpcFrameworkError"]),
        ("[2]", [4, "-1", "RpcFrameworkError"]),
        ('[2,"x1","Reset"]', [4, "x1", "RpcFrameworkError"]),
        ('[7,"x2","Reset",{}]', [4, "x2", "MessageTypeNotSupported"]),
        ('[2,"x3","NoSuchAction",{}]', [4, "x3", "NotImplemented"]),
        ('[2,"x4","UpdateFirmware",{}]', [4, "x4", "NotSupported"]),
        ('[2,"x5","Reset",{}]', [4, "x5", "OccurrenceConstraintViolation"]),
        ('[2,"x6","Reset",{"type":1}]', [4, "x6", "TypeConstraintViolation"]),
        ('[2,"x7","Reset",{"type":"Sometime"}]', [4, "x7", "PropertyConstraintViolation"]),
        ('[2,"x8","Reset",{"type":"Immediate","bogus":1}]', [4, "x8", "FormatViolation"]),
        ('[2,"x9","Reset",[1,2]]', [4, "x9", "FormatViolation"]),
    ],
)
async def test_bad_input_gets_the_specified_callerror(frame: str, expected: list[Any]) -> None:
    session, wire = make_session(heartbeat_router())
    await session.handle_frame(frame)
    await settle(session)
    assert len(wire.frames) == 1
    assert wire.frames[0][:3] == expected
    assert isinstance(wire.frames[0][3], str) and isinstance(wire.frames[0][4], dict)


async def test_handler_that_raises_gives_internal_error_and_session_keeps_serving() -> None:
    router = Router()

    async def broken(request: m.ResetRequest) -> m.ResetResponse:
        raise RuntimeError("boom")

    router.register(m.ResetRequest, broken)
    session, wire = make_session(router)
    await session.handle_frame('[2,"b1","Reset",{"type":"OnIdle"}]')
    await session.handle_frame('[2,"b2","Reset",{"type":"OnIdle"}]')
    await settle(session)
    assert [f[:3] for f in wire.frames] == [[4, "b1", "InternalError"], [4, "b2", "InternalError"]]


async def test_reply_follow_up_runs_after_the_callresult() -> None:
    router = Router()
    session, wire = make_session(router)
    seen_at_follow_up: list[int] = []

    async def follow_up() -> None:
        seen_at_follow_up.append(len(wire.frames))

    async def reset(request: m.ResetRequest) -> Reply:
        return Reply(m.ResetResponse(status=m.ResetStatusEnumType.Accepted), then=follow_up)

    router.register(m.ResetRequest, reset)
    await session.handle_frame('[2,"c1","Reset",{"type":"OnIdle"}]')
    await settle(session)
    assert seen_at_follow_up == [1]


async def test_outgoing_call_correlates_result_and_drops_unknown_answers() -> None:
    session, wire = make_session()
    task = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    await asyncio.sleep(0)
    kind, message_id, action, payload = wire.frames[0]
    assert (kind, action, payload) == (2, "Heartbeat", {})
    await session.handle_frame('[3,"someone-else",{"currentTime":"2026-01-01T00:00:00Z"}]')  # dropped
    assert not task.done()
    await session.handle_frame(json.dumps([3, message_id, {"currentTime": "2026-01-02T03:04:05Z"}]))
    answer = await task
    assert answer.currentTime.day == 2


async def test_only_one_call_outstanding_at_a_time() -> None:
    session, wire = make_session()
    first = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    second = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    await asyncio.sleep(0.01)
    assert len(wire.frames) == 1
    await session.handle_frame(json.dumps([3, wire.frames[0][1], {"currentTime": "2026-01-01T00:00:00Z"}]))
    await first
    await asyncio.sleep(0.01)
    assert len(wire.frames) == 2
    await session.handle_frame(json.dumps([3, wire.frames[1][1], {"currentTime": "2026-01-01T00:00:00Z"}]))
    await second


async def test_call_times_out_after_message_timeout_and_late_answer_is_dropped() -> None:
    session, wire = make_session(timeout=0.05)
    with pytest.raises(CallTimeout):
        await session.call(m.HeartbeatRequest(), m.HeartbeatResponse)
    await session.handle_frame(json.dumps([3, wire.frames[0][1], {"currentTime": "2026-01-01T00:00:00Z"}]))


async def test_callerror_answer_raises_call_error() -> None:
    session, wire = make_session()
    task = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    await asyncio.sleep(0)
    await session.handle_frame(json.dumps([4, wire.frames[0][1], "SecurityError", "not accepted", {}]))
    with pytest.raises(CallError) as info:
        await task
    assert info.value.code == "SecurityError"


async def test_invalid_callresult_is_refused() -> None:
    session, wire = make_session()
    task = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    await asyncio.sleep(0)
    await session.handle_frame(json.dumps([3, wire.frames[0][1], {"currentTime": "noon"}]))
    with pytest.raises(CallError):
        await task


async def test_close_fails_the_outstanding_call() -> None:
    session, _ = make_session()
    task = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
    await asyncio.sleep(0)
    session.close()
    with pytest.raises(NotConnected):
        await task
    with pytest.raises(NotConnected):
        await session.call(m.HeartbeatRequest(), m.HeartbeatResponse)


# ---- found by `make fuzz` (tests/fuzz) --------------------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser's recursion limit
        '[2,"n1","Reset",{"type":NaN}]',  # NaN, Infinity: Python's json takes them, JSON has none
        '[2,"n2","Reset",{"type":"Immediate","evseId":Infinity}]',
        '[2,"n3","Reset",{"type":"Immediate","evseId":1e999}]',  # overflows to infinity
        '[2,"n4\\ud800","Reset",{"type":"Immediate"}]',  # an id that cannot be sent back
    ],
)
async def test_unreadable_message_gets_rpc_framework_error_with_id_minus_one(frame: str) -> None:
    """OCPP-J: a message whose id cannot be read is answered with RpcFrameworkError and id "-1";
    handle_frame never raises (a RecursionError used to escape and tear the connection down)."""
    session, wire = make_session(heartbeat_router())
    await session.handle_frame(frame)
    await settle(session)
    assert [f[:3] for f in wire.frames] == [[4, "-1", "RpcFrameworkError"]]


@pytest.mark.parametrize(
    "frame",
    ['[3,"r1"]', "[3]", "[4]", "[3,17,{}]", "[4,null,null,null,null,null]", '[4,"r2","GenericError"]', "[3.0]"],
)
async def test_malformed_answer_is_dropped_never_answered(frame: str) -> None:
    """A CALLRESULT/CALLERROR is never answered, however malformed: a CALLERROR answering a CALLERROR
    could bounce between two peers forever (OCPP-J: CALLERROR only in response to a CALL)."""
    session, wire = make_session(heartbeat_router())
    await session.handle_frame(frame)
    await settle(session)
    assert wire.frames == []


async def test_true_is_not_a_message_type() -> None:
    session, wire = make_session(heartbeat_router())
    await session.handle_frame('[true,"t1","Reset",{"type":"Immediate"}]')
    await settle(session)
    assert [f[:3] for f in wire.frames] == [[4, "t1", "MessageTypeNotSupported"]]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('[2,"u1","Reset",{"type":"Immediate","customData":{"vendorId":"\\udfff"}}]', "FormatViolation"),
        ('[2,"u2","Reset",{"type":"Immediate","evseId":2147483648}]', "TypeConstraintViolation"),
        ('[2,"u3","Reset",{"type":"Immediate","evseId":-2147483649}]', "TypeConstraintViolation"),
        (
            '[2,"u4","Reset",{"type":"Immediate","customData":{"vendorId":"v","x":' + "[" * 300 + "]" * 300 + "}}]",
            "FormatViolation",
        ),
    ],
)
async def test_payload_the_station_cannot_hold_gets_the_specified_callerror(frame: str, code: str) -> None:
    """A lone surrogate is no Unicode (FormatViolation); OCPP's integer is 32 bits (Part 2 primitive
    datatypes: TypeConstraintViolation); free JSON in customData deeper than MAX_PAYLOAD_DEPTH is refused
    (pydantic cannot re-serialize it for the BytesPerMessage check: it was an InternalError)."""
    session, wire = make_session(heartbeat_router())
    await session.handle_frame(frame)
    await settle(session)
    assert [f[:3] for f in wire.frames] == [[4, frame[4:6], code]]


async def test_payload_at_the_nesting_limit_reaches_the_handler() -> None:
    session, wire = make_session(heartbeat_router())
    deep = "[" * 20 + "]" * 20
    await session.handle_frame('[2,"d1","Reset",{"type":"Immediate","customData":{"vendorId":"v","x":' + deep + "}}]")
    await settle(session)
    assert wire.frames == [[3, "d1", {"status": "Accepted"}]]


async def test_call_on_a_socket_that_fails_to_send_raises_not_connected() -> None:
    """The connection closing under a CALL (here: close 1009 for an oversized frame from the CSMS) made the
    transport's own exception escape `call` and end the outbox sender, and with it the daemon."""

    class Closed(Exception):
        pass

    attempts: list[str] = []

    async def send(text: str) -> None:
        attempts.append(text)
        raise Closed("sent 1009 (message too big)")

    session = RpcSession(send, Router(), message_timeout=lambda: 1.0)
    with pytest.raises(NotConnected):
        await session.call(m.HeartbeatRequest(), m.HeartbeatResponse)
    # Dead from now on: a sender that retried at once, without awaiting, spun forever before the reader
    # could notice the close (seen as a hung daemon growing by megabytes a second).
    assert session.closed
    with pytest.raises(NotConnected):
        await session.call(m.HeartbeatRequest(), m.HeartbeatResponse)
    assert len(attempts) == 1


async def test_answer_echoing_a_lone_surrogate_still_goes_out() -> None:
    """The NotImplemented description names the action; an action holding a lone surrogate made the text
    unsendable (websockets encodes UTF-8) and the CALL went unanswered. It goes out \\u-escaped."""
    session, wire = make_session(heartbeat_router())
    await session.handle_frame('[2,"e1","Res\\udc00et",{}]')
    await settle(session)
    assert [f[:3] for f in wire.frames] == [[4, "e1", "NotImplemented"]]


async def test_outgoing_payloads_are_checked_against_the_schema_in_tests_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run with EVSE_VALIDATE_OUTGOING=1 (tests/conftest.py), so a payload our code builds wrong
    fails there; a station in service sends what its generated models produced without the second check."""
    naive = datetime(2026, 1, 1)  # no time zone: the model takes it, the schema's date-time does not
    request = m.StatusNotificationRequest(
        timestamp=naive, connectorStatus=m.ConnectorStatusEnumType.Available, evseId=1, connectorId=1
    )
    session, wire = make_session()
    with pytest.raises(schemas.PayloadViolation):
        await session.call(request, m.StatusNotificationResponse)
    assert wire.frames == []
    monkeypatch.delenv(VALIDATE_OUTGOING_ENV)
    session, wire = make_session()
    task = asyncio.create_task(session.call(request, m.StatusNotificationResponse))
    await asyncio.sleep(0)
    assert wire.frames[0][2:] == ["StatusNotification", request.model_dump(mode="json", exclude_none=True)]
    task.cancel()


async def test_message_ids_are_unique_within_a_session_and_across_restarts() -> None:
    """OCPP-J: a message id is unique for its sender; a new session (a restart) never reuses the old ids."""
    ids = []
    for _ in range(2):  # two sessions, as after a reconnect or a restart
        session, wire = make_session()
        for _ in range(3):
            task = asyncio.create_task(session.call(m.HeartbeatRequest(), m.HeartbeatResponse))
            await asyncio.sleep(0)
            message_id = wire.frames[-1][1]
            await session.handle_frame(json.dumps([3, message_id, {"currentTime": "2026-01-01T00:00:00Z"}]))
            await task
            ids.append(message_id)
    assert len(set(ids)) == 6
    assert [i.rsplit("-", 1)[1] for i in ids] == ["1", "2", "3"] * 2
    assert len({i.rsplit("-", 1)[0] for i in ids[:3]}) == 1 and ids[0].split("-")[0] != ids[3].split("-")[0]


async def test_an_answer_that_is_not_unicode_is_a_format_violation_not_a_crash() -> None:
    """A lone surrogate in a CSMS answer (here TransactionEventResponse.updatedPersonalMessage.content) passes
    the schema but no model: the caller gets a CallError it already handles (found by the websocket fuzz,
    where it ended the outbox sender and the daemon)."""
    session, wire = make_session()
    request = m.TransactionEventRequest.model_validate(
        {
            "eventType": "Updated",
            "timestamp": "2026-01-01T00:00:00Z",
            "triggerReason": "MeterValuePeriodic",
            "seqNo": 1,
            "transactionInfo": {"transactionId": "t1"},
        }
    )
    task = asyncio.create_task(session.call(request, m.TransactionEventResponse))
    await asyncio.sleep(0)
    message_id = wire.frames[0][1]
    answer = {"updatedPersonalMessage": {"format": "UTF8", "content": "\ud800"}}
    await session.handle_frame(json.dumps([3, message_id, answer]))
    with pytest.raises(CallError) as raised:
        await task
    assert raised.value.code == "FormatViolation"

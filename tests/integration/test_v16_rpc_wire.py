"""The RPC session speaking OCPP 1.6J over a loopback websocket, against the `ocpp` library's 1.6 side.

The far end is independent code: the library's 1.6 ChargePoint class, used as the CSMS, validates every
frame our session sends against its own copy of the 1.6 schemas. The station side is the real
RpcSession with the 1.6 dialect and the generated 1.6 models; the read loop below is what
CsmsConnection does for it in the daemon. OCPP-J 1.6 section 4.2.3 for the CALLERROR codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as LibraryChargePoint16
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, RegistrationStatus
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from evse.ocpp.connection import Backoff, CsmsConnection, Endpoint
from evse.ocpp.dialect import V16
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v16 import messages as m16

NOW = "2026-01-01T12:00:00Z"


class Csms16(LibraryChargePoint16):  # type: ignore[misc]  # the ocpp package ships no type hints
    """The CSMS end of one connection: answers a boot and hands out transaction ids from 42."""

    next_transaction_id = 42

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any) -> Any:
        return call_result.BootNotification(current_time=NOW, interval=300, status=RegistrationStatus.accepted)

    @on(Action.start_transaction)
    def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any) -> Any:
        transaction_id, Csms16.next_transaction_id = Csms16.next_transaction_id, Csms16.next_transaction_id + 1
        return call_result.StartTransaction(
            transaction_id=transaction_id, id_tag_info={"status": AuthorizationStatus.accepted}
        )


Serve = Callable[[ServerConnection], Awaitable[None]]


@contextlib.asynccontextmanager
async def csms(handler: Serve) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, subprotocols=[V16.subprotocol]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp/CS016"


@contextlib.asynccontextmanager
async def station(
    url: str, router: Router, invalid: list[str] | None = None
) -> AsyncIterator[tuple[RpcSession, ClientConnection]]:
    """A 1.6 RPC session over a websocket to `url`, fed by a read loop as CsmsConnection feeds it."""
    async with connect(url, subprotocols=[V16.subprotocol]) as socket:  # type: ignore[list-item]
        assert socket.subprotocol == "ocpp1.6"
        session = RpcSession(
            socket.send,
            router,
            message_timeout=lambda: 5.0,
            validate_outgoing=True,
            on_invalid=invalid.append if invalid is not None else None,
            dialect=V16,
        )

        async def read() -> None:
            async for text in socket:
                await session.handle_frame(text)

        reader = asyncio.create_task(read())
        try:
            yield session, socket
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            session.close()
            await session.drain()


async def test_boot_and_start_transaction_get_their_typed_1_6_answers() -> None:
    """BootNotification and StartTransaction built from our 1.6 models pass the library's schemas, and the
    transactionId the CSMS assigns (1.6: the CSMS, not the station) comes back as an int."""

    async def handler(websocket: ServerConnection) -> None:
        await Csms16("CS016", websocket).start()

    async with csms(handler) as url, station(url, Router()) as (session, _):
        boot = await session.call(
            m16.BootNotificationRequest(chargePointVendor="OpenEVSE", chargePointModel="Sim-1"),
            m16.BootNotificationResponse,
        )
        assert boot.status is m16.RegistrationStatus.Accepted and boot.interval == 300
        start = m16.StartTransactionRequest(
            connectorId=1, idTag="CARD-1", meterStart=1200, timestamp=datetime(2026, 1, 1, 12, tzinfo=UTC)
        )
        answer = await session.call(start, m16.StartTransactionResponse)
        assert isinstance(answer.transactionId, int) and answer.transactionId >= 42
        assert answer.idTagInfo.status is m16.AuthorizationStatus.Accepted


async def test_a_1_6_call_from_the_csms_reaches_its_handler_and_the_answer_passes_the_library() -> None:
    """GetConfiguration from the library's CSMS side: our handler's 1.6 answer is validated by the library."""
    asked: list[m16.GetConfigurationRequest] = []
    answers: asyncio.Queue[Any] = asyncio.Queue()

    async def get_configuration(request: m16.GetConfigurationRequest) -> m16.GetConfigurationResponse:
        asked.append(request)
        return m16.GetConfigurationResponse(
            configurationKey=[m16.KeyValue(key="HeartbeatInterval", readonly=False, value="300")],
            unknownKey=["NoSuchKey"],
        )

    router = Router()
    router.register(m16.GetConfigurationRequest, get_configuration)

    async def handler(websocket: ServerConnection) -> None:
        central = Csms16("CS016", websocket)
        serving = asyncio.create_task(central.start())
        try:
            await answers.put(await central.call(call.GetConfiguration(key=["HeartbeatInterval", "NoSuchKey"])))
            await websocket.wait_closed()  # keep the connection until the station closes it
        finally:
            serving.cancel()

    async with csms(handler) as url, station(url, router):
        result = await asyncio.wait_for(answers.get(), 5.0)
    assert asked[0].key == ["HeartbeatInterval", "NoSuchKey"]
    assert result.configuration_key == [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]
    assert result.unknown_key == ["NoSuchKey"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ([2, "m1", "Reset", {"type": "Hard", "bogus": 1}], "FormationViolation"),
        ([2, "m2", "ChangeConfiguration", {"key": "HeartbeatInterval"}], "OccurenceConstraintViolation"),
        ([2, "m3", "Reset", {"type": 1}], "TypeConstraintViolation"),
        ([2, "m4", "Reset", {"type": "Warm"}], "PropertyConstraintViolation"),
        ([2, "m5", "TransactionEvent", {}], "NotImplemented"),
        ([2, "m6", "UnlockConnector", {"connectorId": 1}], "NotSupported"),
        ([5, "m7", "Reset", {}], "FormationViolation"),
        ("[2, m8", "FormationViolation"),
    ],
)
async def test_broken_calls_are_answered_with_the_1_6_callerror_code(frame: Any, code: str) -> None:
    """OCPP-J 1.6 4.2.3 with the errata spellings: the 2.0.1 names (FormatViolation,
    OccurrenceConstraintViolation, RpcFrameworkError, MessageTypeNotSupported) never reach a 1.6 CSMS."""
    replies: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(websocket: ServerConnection) -> None:
        await websocket.send(frame if isinstance(frame, str) else json.dumps(frame))
        await replies.put(json.loads(await websocket.recv()))
        await websocket.wait_closed()

    async def reset(request: m16.ResetRequest) -> m16.ResetResponse:
        return m16.ResetResponse(status=m16.ResetStatus.Accepted)

    router = Router()
    router.register(m16.ResetRequest, reset)
    router.register(m16.ChangeConfigurationRequest, reset)
    invalid: list[str] = []
    async with csms(handler) as url, station(url, router, invalid):
        reply = await asyncio.wait_for(replies.get(), 5.0)
    assert reply[0] == 4 and reply[2] == code, reply
    expected_id = frame[1] if isinstance(frame, list) else "-1"
    assert reply[1] == expected_id
    # A04 InvalidMessages counts refused messages in either spelling; NotSupported is a valid request declined.
    assert len(invalid) == (0 if code == "NotSupported" else 1), invalid


def connection_to(url: str, router: Router, connected: asyncio.Event) -> CsmsConnection:
    async def on_connected() -> None:
        connected.set()

    return CsmsConnection(
        lambda: Endpoint(url=url.rsplit("/", 1)[0], identity="CS016", security_profile=0),
        router,
        message_timeout=lambda: 5.0,
        backoff=lambda: Backoff(wait_minimum=0.05, random_range=0, repeat_times=0),
        ping_interval=lambda: 0.0,
        on_connected=on_connected,
        on_disconnected=lambda: None,
        dialect=V16,
    )


async def test_the_connection_offers_ocpp1_6_and_boots_through_the_library_csms() -> None:
    """OCPP-J 1.6 3.1.2: the station offers the `ocpp1.6` subprotocol; with it agreed, its CALLs are
    1.6 CALLs the library's CSMS answers."""
    offered: list[str] = []

    async def handler(websocket: ServerConnection) -> None:
        assert websocket.request is not None
        offered.extend(websocket.request.headers.get_all("Sec-WebSocket-Protocol"))
        await Csms16("CS016", websocket).start()

    connected = asyncio.Event()
    async with csms(handler) as url:
        connection = connection_to(url, Router(), connected)
        task = asyncio.create_task(connection.run())
        try:
            await asyncio.wait_for(connected.wait(), 5.0)
            boot = await connection.call(
                m16.BootNotificationRequest(chargePointVendor="OpenEVSE", chargePointModel="Sim-1"),
                m16.BootNotificationResponse,
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert offered == ["ocpp1.6"]
    assert boot.status is m16.RegistrationStatus.Accepted


async def test_a_csms_speaking_only_2_0_1_is_refused_by_a_1_6_connection() -> None:
    """A CSMS that completes the handshake without agreeing to `ocpp1.6` (a 2.0.1-only CSMS, as OCPP-J asks
    it to answer) gets no OCPP traffic: the station closes and retries."""
    handled: list[str | None] = []
    retried = asyncio.Event()

    async def handler(websocket: ServerConnection) -> None:
        handled.append(websocket.subprotocol)
        if len(handled) >= 2:
            retried.set()
        await websocket.wait_closed()

    connected = asyncio.Event()

    def only_2_0_1(connection: ServerConnection, offered: Any) -> Subprotocol | None:
        return Subprotocol("ocpp2.0.1") if "ocpp2.0.1" in offered else None

    async with serve(
        handler, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp2.0.1")], select_subprotocol=only_2_0_1
    ) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ocpp/CS016"
        connection = connection_to(url, Router(), connected)
        task = asyncio.create_task(connection.run())
        try:
            await asyncio.wait_for(retried.wait(), 5.0)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert not connected.is_set() and connection.failures >= 1
    assert set(handled) == {None}

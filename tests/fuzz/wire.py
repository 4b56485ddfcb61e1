"""The websocket run: a bare CSMS on loopback sends generated frames to the real, running daemon.

The CSMS here is deliberately not the dev CSMS: it must send frames no OCPP library would send, read the
station's answers raw, and keep no journal of a run's worth of frames. It answers the station's own CALLs
(boot, status, events) with minimal valid payloads so the station behaves as in the field.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import random
import struct
import time
import traceback
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State
from websockets.typing import Subprotocol

from evse.daemon import Daemon, Exit
from tests.fuzz.frames import Probe
from tests.fuzz.inproc import Failure, Report
from tests.fuzz.oracle import check_step
from tests.fuzz.payloads import PayloadFactory
from tests.fuzz.station import build_station, rss_bytes, seeded_generators

OCPP201 = Subprotocol("ocpp2.0.1")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _answer_for(action: str) -> dict[str, Any]:
    """A minimal valid answer to a CALL the station sends."""
    if action == "BootNotification":
        return {"currentTime": _now(), "interval": 300, "status": "Accepted"}
    if action == "Heartbeat":
        return {"currentTime": _now()}
    if action == "Authorize":
        return {"idTokenInfo": {"status": "Accepted"}}
    return {}


class AnswerMutator:
    """Answers the station's own CALLs badly now and then: a random but valid answer (a BootNotification
    may come back Pending or Rejected), a schema-breaking one, or a CALLERROR. Its own Random, so the
    frames sent to the station stay those of the seed."""

    def __init__(self, seed: int, rate: float) -> None:
        self._rng = random.Random(seed)
        self._rate = rate
        self._factories: dict[str, PayloadFactory] = {}
        self.counts: Counter[str] = Counter()

    def answer(self, message_id: str, action: str) -> list[Any] | None:
        """The frame to answer with, or None for the plain valid answer."""
        rng = self._rng
        if rng.random() >= self._rate:
            return None
        if action not in self._factories:
            try:
                self._factories[action] = PayloadFactory(action, rng, kind="Response")
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

    def __init__(self, answers: AnswerMutator | None = None) -> None:
        self.answers = answers
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
        self._server = await serve(self._serve, "127.0.0.1", 0, subprotocols=[OCPP201], compression=None)
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
            await socket.send(json.dumps(answer or [3, frame[1], _answer_for(str(frame[2]))]))
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


async def start_daemon(tmp: Path, server: BareCsms, **extra: Any) -> tuple[Daemon, asyncio.Task[Exit]]:
    """The daemon built as the integration tests build it (settings overridable), running against `server`."""
    daemon = build_station(tmp, server.port, **extra)
    task = asyncio.create_task(daemon.run())
    await server.wait_connection(1)
    return daemon, task


async def stop_daemon(task: asyncio.Task[Exit]) -> BaseException | None:
    """Cancel the daemon; returns what it died of, if it died by itself."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return None
    except BaseException as exc:  # an ExceptionGroup from its TaskGroup: the finding, not the harness's
        return exc
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in exc.exceptions)
    return "".join(traceback.format_exception(exc, limit=-4)).strip()


async def run_over_websocket(
    frames: int,
    seed: int,
    tmp: Path,
    *,
    reply_timeout: float = 10.0,
    sample_every: int = 5_000,
    answer_mutation: float = 0.2,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """`frames` generated frames from a raw CSMS to the running daemon; the station must answer each as
    OCPP-J prescribes, keep its one connection and keep running, while a share (`answer_mutation`) of
    the answers to its own CALLs are odd, broken or CALLERRORs."""
    logging.disable(logging.CRITICAL)
    answers = AnswerMutator(seed + 1, answer_mutation) if answer_mutation > 0 else None
    csms = BareCsms(answers)
    await csms.start()
    report = Report("websocket", seed)
    try:
        # No state is compared here, so a remote start may time out and free the EVSE for the next one.
        daemon, task = await start_daemon(tmp, csms, device_model={"TxCtrlr.EVConnectionTimeOut": 5})
        try:
            await _fuzz(daemon, task, csms, frames, seed, reply_timeout, sample_every, report, progress)
        finally:
            died = await stop_daemon(task)
        if died is not None:
            report.fail(Failure(seed, report.frames, "daemon", "", "", f"the daemon died: {_describe(died)}"))
    finally:
        await csms.stop()
        logging.disable(logging.NOTSET)
    if answers is not None:
        report.notes.append(
            "answers to the station's CALLs: " + ", ".join(f"{k}={v}" for k, v in sorted(answers.counts.items()))
        )
    return report


async def _fuzz(
    daemon: Daemon,
    task: asyncio.Task[Exit],
    csms: BareCsms,
    frames: int,
    seed: int,
    reply_timeout: float,
    sample_every: int,
    report: Report,
    progress: Callable[[str], None] | None,
) -> None:
    # A valid Reset would restart the daemon and end the run: Reset is only sent broken.
    generators = seeded_generators(daemon, seed, no_handler=frozenset({"Reset"}))
    gc.collect()
    report.memory.append((0, rss_bytes()))
    started = time.perf_counter()
    index = 0
    # What reached a handler lately: a station that fails later (a timer, the metering loop) failed
    # because of one of these.
    recent: deque[Probe] = deque(maxlen=30)
    while index < frames and not task.done():
        if not csms.connected.is_set() and not await _reconnected(csms, task, seed, index, recent, report):
            break
        probes = generators.next(f"f{index}", invalid_only=(index // 1_000) % 2 == 0)
        recent.extend(p for p in probes if p.expect.reaches_handler)
        with contextlib.suppress(ConnectionClosed):
            for probe in probes:
                report.kinds[probe.kind] += 1
                await csms.socket.send(probe.data)
        sent: list[str] = []
        try:
            async with asyncio.timeout(reply_timeout):
                for _ in [p for p in probes if p.expect.message_id is not None]:
                    sent.append(await csms.replies.get())
        except TimeoutError:
            pass  # check_step reports the missing answer
        while not csms.replies.empty():  # answers nobody expected arrive with the next step at the latest
            sent.append(csms.replies.get_nowait())
        problems, replies = check_step(probes, sent)
        report.count(probes, replies)
        for problem in problems:
            first = probes[0]
            text = first.data if isinstance(first.data, str) else repr(first.data)
            report.fail(Failure(seed, index, first.kind, first.detail, text, problem))
        index += 1
        if index % sample_every == 0:
            gc.collect()
            report.memory.append((index, rss_bytes()))
            if progress is not None:
                progress(f"  {index} frames over the websocket, {time.perf_counter() - started:.0f}s")
    await asyncio.sleep(0.5)
    leftovers = []
    while not csms.replies.empty():
        leftovers.append(csms.replies.get_nowait())
    for text in leftovers:
        report.fail(Failure(seed, index, "end", "", "", f"unexpected reply after the run: {text[:200]}"))
    report.frames = index
    report.seconds = time.perf_counter() - started
    gc.collect()
    report.memory.append((index, rss_bytes()))
    if task.done():
        report.fail(Failure(seed, index, "daemon", "", "", f"the daemon ended; lately:\n{_lately(recent)}"))
        return  # the caller reports what it died of
    if not csms.connected.is_set():
        return  # reported by _reconnected
    # Still alive and answering: a plain CALL gets its CALLRESULT.
    await csms.socket.send('[2,"alive","GetLocalListVersion",{}]')
    try:
        async with asyncio.timeout(reply_timeout):
            last = json.loads(await csms.replies.get())
    except TimeoutError:
        last = None
    if last is None or last[:2] != [3, "alive"]:
        report.fail(Failure(seed, index, "alive", "", "", f"station answered {last} to a valid CALL after the run"))


async def _reconnected(
    csms: BareCsms, task: asyncio.Task[Exit], seed: int, index: int, recent: deque[Probe], report: Report
) -> bool:
    """The station dropped its connection: a failure (nothing the fuzzer sends may cost the connection);
    the run goes on if it comes back."""
    await asyncio.sleep(0.1)  # a dying daemon takes its connection with it; report the death instead
    if task.done():
        return False
    cause = _lately(recent)
    report.fail(
        Failure(
            seed, index, "connection", "", "", f"connection lost (close codes {csms.close_codes}); lately:\n{cause}"
        )
    )
    try:
        await csms.wait_connection(csms.connections + 1)
    except TimeoutError:
        return False
    return True


def _lately(recent: deque[Probe]) -> str:
    return "\n".join(f"    {p.kind} {p.detail}: {_text(p.data)[:200]}" for p in recent)


def _text(data: str | bytes) -> str:
    return data if isinstance(data, str) else repr(data)

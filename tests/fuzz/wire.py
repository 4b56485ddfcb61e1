"""The websocket run: the bare CSMS (bare_csms.py) sends generated frames to the real, running daemon."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from evse.daemon import Daemon, Exit
from tests.fuzz.bare_csms import AnswerMutator, BareCsms
from tests.fuzz.frames import Probe
from tests.fuzz.inproc import Failure, Report, run_name
from tests.fuzz.oracle import check_step
from tests.fuzz.station import build_station, rss_bytes, seeded_generators, station_version
from tests.fuzz.versions import FuzzVersion, fuzz_version


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
    ocpp_version: str | None = None,
) -> Report:
    """`frames` generated frames from a raw CSMS to the running daemon; the station must answer each as
    OCPP-J prescribes, keep its one connection and keep running, while a share (`answer_mutation`) of
    the answers to its own CALLs are odd, broken or CALLERRORs. `ocpp_version` "1.6": a 1.6J station and
    a CSMS offering ocpp1.6 (None: 2.0.1)."""
    logging.disable(logging.CRITICAL)
    version = fuzz_version(ocpp_version)
    answers = AnswerMutator(seed + 1, answer_mutation, version) if answer_mutation > 0 else None
    csms = BareCsms(answers, version)
    await csms.start()
    report = Report(run_name("websocket", version), seed)
    try:
        # No state is compared here, so a remote start may time out and free the EVSE for the next one.
        daemon, task = await start_daemon(
            tmp, csms, ocpp_version=ocpp_version, device_model={"TxCtrlr.EVConnectionTimeOut": 5}
        )
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
    # A valid Reset would restart the daemon and end the run: Reset is only sent broken. A key whose change
    # reconnects (2.0.1 BasicAuthPassword, 1.6 AuthorizationKey) would drop the frames in flight: not written.
    generators = seeded_generators(daemon, seed, no_handler=frozenset({"Reset"}), keep_connection=True)
    version: FuzzVersion = station_version(daemon)
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
        problems, replies = check_step(probes, sent, version)
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

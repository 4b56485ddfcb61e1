"""A clean stop: SIGTERM at any point of start-up ends `evse run` in order (exit 0, no traceback), and a
stop or a reset closes the websocket as going away / normal closure (1001 / 1000), never 1011.

The close codes are recorded by a bare websockets server rather than the dev CSMS: it answers just what a
boot needs and keeps the close code of every connection it saw.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from evse.daemon import Exit
from evse.storage import DB_FILENAME
from tests.integration.conftest import StationUnderTest, station_settings
from tests.integration.test_cli import ROOT, write_config

GOING_AWAY, NORMAL_CLOSURE, INTERNAL_ERROR = 1001, 1000, 1011
STOP_WITHIN_S = 30.0  # generous: "it did stop", on a loaded machine


class CloseCodeCsms:
    """Accepts OCPP 2.0.1 websockets, answers BootNotification Accepted and every other CALL with {}."""

    def __init__(self) -> None:
        self.close_codes: list[int | None] = []
        self.actions: list[str] = []
        self.booted = asyncio.Event()
        self.connection: ServerConnection | None = None
        self._server: Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await serve(self._serve, "127.0.0.1", 0, subprotocols=[Subprotocol("ocpp2.0.1")])
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def call(self, action: str, payload: dict[str, Any]) -> None:
        assert self.connection is not None
        await self.connection.send(json.dumps([2, "csms-1", action, payload]))

    async def _serve(self, connection: ServerConnection) -> None:
        self.connection = connection
        try:
            async for text in connection:
                frame = json.loads(text)
                if frame[0] != 2:
                    continue
                action = frame[2]
                self.actions.append(action)
                answer: dict[str, Any] = {}
                if action == "BootNotification":
                    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
                    answer = {"currentTime": now, "interval": 300, "status": "Accepted"}
                await connection.send(json.dumps([3, frame[1], answer]))
                if action == "StatusNotification":
                    self.booted.set()
        except ConnectionClosed:
            pass
        finally:
            self.close_codes.append(connection.close_code)


@pytest.fixture
async def close_csms() -> AsyncIterator[CloseCodeCsms]:
    server = CloseCodeCsms()
    await server.start()
    yield server
    await server.stop()


def evse_run(config: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "evse", "run", "--config", str(config)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = proc.communicate(timeout=STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        raise AssertionError(f"evse run did not stop within {STOP_WITHIN_S}s:\n{stderr}") from None
    return proc.returncode, stderr


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has a handler for `sig` (the SigCgt mask of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


def block_sigterm() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def test_sigterm_right_at_spawn_exits_0_without_traceback(tmp_path: Path) -> None:
    """The SIGTERM is sent the instant the process exists. It is blocked across the exec, so it waits as
    pending for the earliest moment our code can take it, instead of racing the interpreter's start-up;
    from then on it must lead to the orderly stop, however early in imports and build it comes."""
    config = write_config(tmp_path, 9)  # nothing listens there: the station would keep retrying
    proc = evse_run(config, preexec_fn=block_sigterm)
    proc.send_signal(signal.SIGTERM)
    code, stderr = finish(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr


def test_sigterm_after_the_first_log_line_exits_0_without_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, 9)
    proc = evse_run(config)
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the daemon is now building its parts
    proc.send_signal(signal.SIGTERM)
    code, stderr = finish(proc)
    assert code == 0, first + stderr
    assert "Traceback" not in first + stderr


def test_sigterm_while_building_exits_0_without_traceback(tmp_path: Path) -> None:
    """Sent as soon as the state database appears: `build` has begun and the event loop is not running."""
    config = write_config(tmp_path, 9)
    database = tmp_path / "state" / DB_FILENAME
    proc = evse_run(config)
    try:
        deadline = time.monotonic() + STOP_WITHIN_S
        while not database.exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGTERM)
    finally:
        code, stderr = finish(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("after_s", [0.0, 0.05, 0.3])
def test_sigterm_early_in_start_up_exits_0_without_traceback(tmp_path: Path, after_s: float) -> None:
    """From the moment the process catches SIGTERM (its handler is installed) through imports and build."""
    config = write_config(tmp_path, 9)
    proc = evse_run(config)
    try:
        deadline = time.monotonic() + STOP_WITHIN_S
        while not catches(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:
            time.sleep(0.001)
        assert proc.poll() is None
        time.sleep(after_s)
        proc.send_signal(signal.SIGTERM)
    finally:
        code, stderr = finish(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr


async def test_sigterm_closes_the_websocket_going_away(tmp_path: Path, close_csms: CloseCodeCsms) -> None:
    config = write_config(tmp_path, close_csms.port)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "evse", "run", "--config", str(config),
        cwd=ROOT, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(STOP_WITHIN_S):
            await close_csms.booted.wait()
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_WITHIN_S):
            _, stderr = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr.decode()
    await asyncio.sleep(0.2)  # the server's handler records the code once its side closed too
    assert close_csms.close_codes == [GOING_AWAY]


async def test_reset_closes_the_websocket_normally(tmp_path: Path, close_csms: CloseCodeCsms) -> None:
    sut = StationUnderTest(station_settings(tmp_path, close_csms.port))
    await sut.start()
    try:
        async with asyncio.timeout(STOP_WITHIN_S):
            await close_csms.booted.wait()
        await close_csms.call("Reset", {"type": "Immediate"})
        assert await sut.wait_exit(timeout=STOP_WITHIN_S) is Exit.RESET
    finally:
        await sut.stop()
    await asyncio.sleep(0.2)
    assert close_csms.close_codes in ([NORMAL_CLOSURE], [GOING_AWAY])

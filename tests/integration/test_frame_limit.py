"""A websocket message larger than csms.max_frame_bytes is refused from its header, unread (close 1009,
RFC 6455 "message too big"), and the station reconnects. The CSMS is the fuzzer's bare one: no OCPP
library would send such frames."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fuzz.bare_csms import BareCsms
from tests.fuzz.wire import start_daemon, stop_daemon
from tests.integration.conftest import PASSWORD

LIMIT = 1024 * 1024


@pytest.fixture
async def bare_csms() -> AsyncIterator[BareCsms]:
    csms = BareCsms()
    await csms.start()
    yield csms
    await csms.stop()


async def test_oversized_frames_are_refused_unread_and_the_station_reconnects(
    tmp_path: Path, bare_csms: BareCsms
) -> None:
    csms_section = {
        "url": f"ws://127.0.0.1:{bare_csms.port}/ocpp",
        "security_profile": 1,
        "basic_auth_password": PASSWORD,
        "max_frame_bytes": LIMIT,
    }
    _, task = await start_daemon(tmp_path, bare_csms, csms=csms_section)
    try:
        # A header announcing 1 GiB, and no body: refused at once, not after waiting for the body.
        await bare_csms.send_oversized_header(2**30)
        assert await bare_csms.wait_closed(1) == 1009
        await bare_csms.wait_connection(2)

        # 2 MiB: under the 4 MiB default, over the configured limit.
        await bare_csms.stream_message(2 * LIMIT)
        assert await bare_csms.wait_closed(2) == 1009
        await bare_csms.wait_connection(3)

        # 64 MiB in fragments: the station stops reading at the limit, so memory never holds the message.
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            await bare_csms.stream_message(64 * LIMIT)
            assert await bare_csms.wait_closed(3) == 1009
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak - baseline < 8 * LIMIT
        await bare_csms.wait_connection(4)

        # Under the limit a message is read whole and answered (it is not JSON: RpcFrameworkError).
        await bare_csms.socket.send("x" * (LIMIT - 1024))
        async with asyncio.timeout(10):
            answer = json.loads(await bare_csms.replies.get())
        assert answer[:3] == [4, "-1", "RpcFrameworkError"]
        assert not task.done()
    finally:
        await stop_daemon(task)

"""A CALL on a stalled link: MessageTimeout bounds the whole round trip, the send included."""

from __future__ import annotations

import asyncio

import pytest

from evse.ocpp.calls import CallTimeout
from evse.ocpp.rpc import Router, RpcSession
from evse.ocpp.v201 import messages as m


async def test_a_send_that_never_completes_times_out_like_a_missing_answer() -> None:
    """A full socket buffer (a blackholed or throttled link) can block the write itself; the caller must
    still get CallTimeout after MessageTimeout and not wait for ever."""
    stalled = asyncio.Event()

    async def send_text(_text: str) -> None:
        stalled.set()
        await asyncio.Event().wait()  # the write never completes

    session = RpcSession(send_text, Router(), message_timeout=lambda: 0.05)
    async with asyncio.timeout(10):  # only a guard so the old behaviour fails instead of hanging
        with pytest.raises(CallTimeout):
            await session.call(m.HeartbeatRequest(), m.HeartbeatResponse)
    assert stalled.is_set()

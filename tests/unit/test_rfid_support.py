"""Shared pieces of the RFID reader tests: an event recorder and a running-driver context.

Kept in a test module (no tests of its own) because only the RFID test files use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

from drivers.interfaces import DriverEvent, EventSink

E = TypeVar("E")
WAIT_S = 5.0  # generous: a loaded 2-core CI machine, yet a hang still fails in seconds


class Runnable(Protocol):
    async def run(self, sink: EventSink) -> None: ...


class EventRecorder:
    """A sink that keeps every event, with waits for conditions on them (or on an emulator)."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type[E], count: int = 1, timeout: float = WAIT_S) -> list[E]:
        """Wait until ``count`` events of ``kind`` arrived; return them all."""
        await wait_until(lambda: len(self.of(kind)) >= count, timeout, f"{count} x {kind.__name__}")
        return self.of(kind)


async def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S, what: str = "condition") -> None:
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110  (conditions on emulator threads: nothing to await)
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}") from None


@asynccontextmanager
async def running(driver: Runnable, sink: EventSink) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``driver.run(sink)`` for the block; fail if it ended by itself, cancel it afterwards."""
    task = asyncio.create_task(driver.run(sink))
    try:
        yield task
        await asyncio.sleep(0)
        assert not task.done(), f"run() returned on its own: {task}"
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

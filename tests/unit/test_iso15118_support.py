"""Shared pieces of the ISO 15118 bridge tests: an event log to await, a running bridge, sample data."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol, TypeVar

import pytest

from drivers.interfaces import DriverEvent, EventSink, FaultRaised, HashAlgorithm, OcspRequestData
from drivers.iso15118.bridge import LinkedBridge
from drivers.iso15118.can_bridge import CanIso15118Bridge
from drivers.iso15118.serial_bridge import SerialIso15118Bridge
from hil.emulators.iso15118 import EmulatedSecc

HEARTBEAT_MS: Final = 50
#: Silence timeout of tests whose flow must raise no fault: slack for a loaded 2-core machine.
TIMEOUT_MS: Final = 2000
#: Silence timeout of tests that provoke the fault and wait for it.
FAULT_TIMEOUT_MS: Final = 400
NOW: Final = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EMAID: Final = "DE8EOCAET5E43X1"
EVCC_ID: Final = "0A1B2C3D4E5F"

#: Every field at its OCPP maximum length: a contract of about 3.2 kB, some 470 CAN frames.
LONGEST_HASH_DATA: Final = tuple(
    OcspRequestData(
        hash_algorithm=algorithm,
        issuer_name_hash=f"{index}" * 128,
        issuer_key_hash="ABCDEF0123456789" * 8,
        serial_number=f"{index:040d}",
        responder_url=("http://ocsp.example.com/" + "p" * 512)[:512],
    )
    for index, algorithm in enumerate(
        (HashAlgorithm.SHA256, HashAlgorithm.SHA384, HashAlgorithm.SHA512, HashAlgorithm.SHA256), start=1
    )
)

E = TypeVar("E")


def unique_channel() -> str:
    """A virtual CAN channel no other test shares."""
    return f"iso15118-{uuid.uuid4().hex}"


class EventLog:
    """A sink that records every event and lets a test await the next one it expects."""

    def __init__(self) -> None:
        self.events: list[DriverEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: DriverEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(
        self, kind: type[E], *, count: int = 1, where: Callable[[E], bool] = lambda _: True, timeout: float = 5.0
    ) -> E:
        """The ``count``-th event of ``kind`` matching ``where``; TimeoutError when it does not come."""
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.of(kind) if where(e)]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()

    def faults(self) -> list[FaultRaised]:
        return self.of(FaultRaised)


class Runnable(Protocol):
    async def run(self, sink: EventSink) -> None: ...


@contextlib.asynccontextmanager
async def running(driver: Runnable, sink: EventSink) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``driver.run(sink)`` for the block; fails if run ended by itself (it must only be cancelled)."""
    task = asyncio.get_running_loop().create_task(driver.run(sink))
    try:
        yield task
    finally:
        ended_early = task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # re-raises whatever run() raised
        assert not ended_early, "run() returned before it was cancelled"


def can_bridge(channel: str, timeout_ms: int = TIMEOUT_MS) -> CanIso15118Bridge:
    """The CAN bridge on a python-can virtual bus, with the tests' timing and clock."""
    return CanIso15118Bridge(
        evse_id=1,
        channel=channel,
        interface="virtual",
        heartbeat_ms=HEARTBEAT_MS,
        timeout_ms=timeout_ms,
        wall_clock=lambda: NOW,
    )


def bridge_and_module(wire: str) -> tuple[LinkedBridge, EmulatedSecc]:
    """A bridge and the emulated module at its far end: ``can`` (python-can virtual bus) or ``serial`` (pty)."""
    if wire == "can":
        channel = unique_channel()
        return can_bridge(channel), EmulatedSecc.on_can(channel, heartbeat_ms=HEARTBEAT_MS)
    module = EmulatedSecc.on_pty(heartbeat_ms=HEARTBEAT_MS)
    assert module.port is not None
    serial_bridge = SerialIso15118Bridge(
        evse_id=1, port=module.port, heartbeat_ms=HEARTBEAT_MS, timeout_ms=TIMEOUT_MS, wall_clock=lambda: NOW
    )
    return serial_bridge, module


@dataclass
class Rig:
    """A running bridge, the emulated module at its far end (handshake done) and the bridge's events."""

    bridge: LinkedBridge
    module: EmulatedSecc
    log: EventLog


@pytest.fixture(params=["can", "serial"])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    """The Rig over each transport in turn; import it into a test module to use it."""
    bridge, module = bridge_and_module(request.param)
    async with module:
        log = EventLog()
        async with running(bridge, log):
            await module.wait_until(lambda: bool(module.limits))  # handshake done
            yield Rig(bridge, module, log)

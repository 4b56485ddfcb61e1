"""Keeps a reader session running: a device in trouble becomes a fault event, never a crash.

Both reader families (PN532, serial UID) share this loop: run the session; when it fails with a
DriverError, report FaultRaised once, close the device, wait, and try again; report FaultCleared
when a new session says the device is back. Only cancellation ends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from drivers.errors import DriverError
from drivers.interfaces import EventSink, FaultCleared, FaultRaised
from drivers.rfid import RFID_FAILURE

log = logging.getLogger(__name__)

#: A session gets ``ready`` to call once its device answered; it returns only by raising.
Session = Callable[[Callable[[], None]], Awaitable[None]]


async def supervise(
    session: Session,
    *,
    sink: EventSink,
    evse_id: int,
    name: str,
    close: Callable[[], None],
    retry_interval_s: float,
) -> None:
    """Run ``session`` until cancelled, turning its DriverErrors into fault events and retries.

    ``close`` is blocking (it may wait for an exchange in flight) and runs in a thread.
    """
    faulted = False

    def ready() -> None:
        nonlocal faulted
        if faulted:
            faulted = False
            log.info("reader=%r evse=%d recovered", name, evse_id)
            sink(FaultCleared(evse_id, RFID_FAILURE))

    try:
        while True:
            try:
                await session(ready)
            except DriverError as exc:
                if not faulted:
                    faulted = True
                    log.warning("reader=%r evse=%d fault=%s detail=%r", name, evse_id, RFID_FAILURE, str(exc))
                    sink(FaultRaised(evse_id, RFID_FAILURE, str(exc)))
                else:
                    log.debug("reader=%r evse=%d still failing: %s", name, evse_id, exc)
            await asyncio.to_thread(close)
            await asyncio.sleep(retry_interval_s)
    finally:
        # Also on cancellation: release the port or bus (waits for an exchange still in its thread).
        await asyncio.to_thread(close)

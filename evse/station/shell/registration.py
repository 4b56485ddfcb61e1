"""Boot registration and heartbeat (B01-B03, G02): when the station may talk, and keeping the clock.

BootNotification is sent on every new connection until the CSMS Accepts it once in this process life;
Pending / Rejected are retried after the interval the CSMS gave. While not Accepted, nothing but
BootNotification (and, when Pending, messages the CSMS triggers) leaves the station (B02.FR.02, B03.FR.02).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from enum import StrEnum

from evse.clock import Clock
from evse.config import Settings
from evse.ocpp.calls import CallError, CallTimeout, NotConnected
from evse.station.shell.wire_tx import TxWire

log = logging.getLogger(__name__)


class Registration(StrEnum):
    Unknown = "Unknown"  # no BootNotification answered yet
    Pending = "Pending"
    Rejected = "Rejected"
    Accepted = "Accepted"


class Registrar:
    """Runs the boot handshake on each connection and the heartbeat while accepted."""

    def __init__(
        self,
        settings: Settings,
        wire: TxWire,
        clock: Clock,
        *,
        boot_reason: str,
        heartbeat_interval: Callable[[], int],
        set_heartbeat_interval: Callable[[int], None],
    ) -> None:
        self._settings = settings
        self._wire = wire
        self._clock = clock
        self.boot_reason = boot_reason  # BootReason: PowerUp, RemoteReset, FirmwareUpdate ...
        self._heartbeat_interval = heartbeat_interval
        self._set_heartbeat_interval = set_heartbeat_interval
        self.state = Registration.Unknown
        self.accepted = asyncio.Event()
        self.retry_interval = 0
        self._boot_lock = asyncio.Lock()
        self._interval_changed = asyncio.Event()

    async def register(self) -> None:
        """Boot until Accepted on this connection (returns at once if already Accepted)."""
        while self.state is not Registration.Accepted:
            await self.send_boot()
            if self.accepted.is_set():
                return
            # Pending/Rejected: wait the interval (B02.FR.01 / B03.FR.01); a TriggerMessage may shortcut.
            wait = self.retry_interval if self.retry_interval > 0 else 30
            log.info("boot %s, next BootNotification in %ss", self.state.value, wait)
            try:
                async with asyncio.timeout(wait):
                    await self.accepted.wait()
            except TimeoutError:
                continue

    async def send_boot(self, reason: str | None = None) -> None:
        """One BootNotification, for this start's reason or the one given (Triggered)."""
        async with self._boot_lock:
            try:
                answer = await self._wire.boot(self._settings.station, reason or self.boot_reason)
            except (CallTimeout, CallError) as exc:
                log.warning("BootNotification failed: %s", exc)
                self.retry_interval = 30
                return
            self._clock.set_now(answer.current_time)
            self.retry_interval = answer.interval
            status = answer.status
            if status == Registration.Accepted:
                self.state = Registration.Accepted
                if answer.interval > 0:
                    self._set_heartbeat_interval(answer.interval)
                self.accepted.set()
                log.info("boot accepted heartbeat_interval=%s", answer.interval)
            else:
                self.state = Registration(status)

    async def heartbeat(self) -> None:
        """Send one Heartbeat and take the CSMS time."""
        self._clock.set_now(await self._wire.heartbeat())

    def interval_changed(self) -> None:
        """HeartbeatInterval was changed (SetVariables): restart the wait with the new value."""
        self._interval_changed.set()

    async def run_heartbeat(self) -> None:
        """Heartbeat at HeartbeatInterval while accepted and connected; never returns."""
        while True:
            await self.accepted.wait()
            interval = max(1, self._heartbeat_interval())
            self._interval_changed.clear()
            try:
                async with asyncio.timeout(interval):
                    await self._interval_changed.wait()
                continue  # a new interval: wait again from now
            except TimeoutError:
                pass
            try:
                await self.heartbeat()
            except (NotConnected, CallTimeout, CallError) as exc:
                log.debug("heartbeat skipped: %s", exc)

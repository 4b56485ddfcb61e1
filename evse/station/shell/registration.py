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
from evse.ocpp.rpc import CallError, CallSender, CallTimeout, NotConnected
from evse.ocpp.v201.messages import (
    BootNotificationRequest,
    BootNotificationResponse,
    BootReasonEnumType,
    ChargingStationType,
    HeartbeatRequest,
    HeartbeatResponse,
    RegistrationStatusEnumType,
)

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
        sender: CallSender,
        clock: Clock,
        *,
        boot_reason: str,
        heartbeat_interval: Callable[[], int],
        set_heartbeat_interval: Callable[[int], None],
    ) -> None:
        self._settings = settings
        self._sender = sender
        self._clock = clock
        self._boot_reason = BootReasonEnumType(boot_reason)
        self._heartbeat_interval = heartbeat_interval
        self._set_heartbeat_interval = set_heartbeat_interval
        self.state = Registration.Unknown
        self.accepted = asyncio.Event()
        self.retry_interval = 0
        self._boot_lock = asyncio.Lock()
        self._interval_changed = asyncio.Event()

    def boot_request(self, reason: BootReasonEnumType | None = None) -> BootNotificationRequest:
        s = self._settings.station
        return BootNotificationRequest(
            chargingStation=ChargingStationType(
                vendorName=s.vendor, model=s.model, serialNumber=s.serial, firmwareVersion=s.firmware_version
            ),
            reason=reason or self._boot_reason,
        )

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

    async def send_boot(self, reason: BootReasonEnumType | None = None) -> None:
        async with self._boot_lock:
            try:
                answer = await self._sender.call(self.boot_request(reason), BootNotificationResponse)
            except (CallTimeout, CallError) as exc:
                log.warning("BootNotification failed: %s", exc)
                self.retry_interval = 30
                return
            self._clock.set_now(answer.currentTime)
            self.retry_interval = answer.interval
            status = answer.status
            if status is RegistrationStatusEnumType.Accepted:
                self.state = Registration.Accepted
                if answer.interval > 0:
                    self._set_heartbeat_interval(answer.interval)
                self.accepted.set()
                log.info("boot accepted heartbeat_interval=%s", answer.interval)
            else:
                self.state = Registration(status.value)

    async def heartbeat(self) -> None:
        """Send one Heartbeat and take the CSMS time."""
        answer = await self._sender.call(HeartbeatRequest(), HeartbeatResponse)
        self._clock.set_now(answer.currentTime)

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

"""When the station asks the CSMS to sign a new ChargingStationCertificate: on TriggerMessage (A02), before
the one it holds expires (A03), and again when no CertificateSigned follows an accepted request.

One request runs at a time. After a SignCertificateResponse Accepted the station waits
SecurityCtrlr.CertSigningWaitMinimum seconds for CertificateSigned, doubling the wait for each of up to
CertSigningRepeatTimes further requests (each with a fresh key and CSR); a Rejected answer ends the series.
The certificate maths (key, CSR, expiry) is behind callables so X.509 loads only when a request is made.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from evse.clock import Clock

log = logging.getLogger(__name__)

#: Answer of one SignCertificateRequest: True Accepted, False Rejected, None no answer (offline, timeout).
SendRequest = Callable[[], Awaitable[bool | None]]

#: How often the expiry of the station certificate is looked at (A03).
RENEWAL_CHECK_S = 3600.0
#: How often the station looks whether it is online again before a request.
ONLINE_POLL_S = 1.0


class SigningRequests:
    """The A02/A03 request loop of one station; `run` is a long-lived task of the daemon."""

    def __init__(
        self,
        send: SendRequest,
        *,
        online: Callable[[], bool],
        wait_minimum: Callable[[], int],
        repeat_times: Callable[[], int],
        expiry: Callable[[], datetime | None],
        renew_before: Callable[[], timedelta],
        clock: Clock,
    ) -> None:
        self._send = send
        self._online = online
        self._wait_minimum = wait_minimum
        self._repeat_times = repeat_times
        self._expiry = expiry
        self._renew_before = renew_before
        self._clock = clock
        self._wanted = asyncio.Event()
        self._signed = asyncio.Event()
        self.requests_sent = 0

    def request(self) -> None:
        """Ask for a new certificate (TriggerMessage SignChargingStationCertificate); a series already
        running starts over."""
        self._wanted.set()

    def signed(self) -> None:
        """A CertificateSigned for the pending request was accepted: the series is over."""
        self._signed.set()

    def renewal_due(self) -> bool:
        """Whether the station certificate expires within the renewal lead time (A03)."""
        expires = self._expiry()
        return expires is not None and expires - self._clock.now() <= self._renew_before()

    async def run(self) -> None:
        # Checked at start-up too: a station that was off when the lead time began renews on its return.
        # After a series, an hour or a trigger passes before the next check, so a CSMS that never signs
        # is not asked in a loop.
        while True:
            if not self._wanted.is_set() and self.renewal_due():
                log.info("station certificate expires within the renewal lead time: requesting a new one")
                self._wanted.set()
            if self._wanted.is_set():
                self._wanted.clear()
                await self._series()
            try:
                async with asyncio.timeout(RENEWAL_CHECK_S):
                    await self._wanted.wait()
            except TimeoutError:
                pass

    async def _series(self) -> None:
        repeats = max(0, self._repeat_times())
        for attempt in range(repeats + 1):
            while not self._online():  # noqa: ASYNC110 - online is derived state (socket + boot), not an event
                await asyncio.sleep(ONLINE_POLL_S)
            self._signed.clear()
            self.requests_sent += 1
            answer = await self._send()
            if answer is False:
                return
            wait = self._wait_minimum() * 2**attempt
            await _first_of(self._signed, self._wanted, wait)
            if self._signed.is_set() or self._wanted.is_set():  # done, or a new trigger starts a fresh series
                return
            log.warning("no CertificateSigned within %ss (request %d of %d)", wait, attempt + 1, repeats + 1)
        log.error("sign certificate: no certificate after %d requests; waiting for a trigger or renewal", repeats + 1)


async def _first_of(a: asyncio.Event, b: asyncio.Event, timeout: float) -> None:
    """Return when either event is set or after `timeout` seconds."""
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()

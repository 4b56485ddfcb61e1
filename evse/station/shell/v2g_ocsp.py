"""M06: the OCSP status of the Sub-CA certificates of each ISO 15118 module's V2G chain, asked through the
CSMS (GetCertificateStatus) and handed to the module, which staples the responses in its TLS handshake
with the EV.

The station asks when a module gets a new chain, at start once online, every `update_interval_s` and before
a response runs out (its nextUpdate); a round in which the CSMS could not answer for every certificate is
tried again after `retry_interval_s` (or when a response runs out, if sooner). The answers live in the Plug &
Charge OCSP cache (evse.station.shell.ocsp_cache: the station database), so a station that restarts offline
still hands the module what is valid. A response the CSMS could not renew stays with the module until its
nextUpdate, then is withdrawn.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from drivers.errors import DriverError
from drivers.interfaces import Iso15118CertificateBridge, OcspRequestData
from evse.clock import Clock
from evse.station.shell.ocsp_cache import OcspCache
from evse.station.shell.wire_tokens import TokenWire

log = logging.getLogger(__name__)

#: Asked again this long before a response's nextUpdate, so the module never staples a stale one.
RENEW_MARGIN = timedelta(minutes=5)
#: How often an offline station looks whether the CSMS is back (and withdraws responses that ran out).
OFFLINE_POLL_S = 1.0
#: The shortest wait between two rounds that went well, whatever the responses' nextUpdate say.
MIN_WAIT_S = 10.0


@dataclass(frozen=True)
class V2gOcspTiming:
    """How often the station renews the responses (`v2g_ocsp` in the YAML)."""

    update_interval_s: float
    retry_interval_s: float


#: The Sub-CA request data of each EVSE's stored V2G chain (blocking: files and X.509).
ChainEntries = Callable[[], Mapping[int, Sequence[OcspRequestData]]]


class V2gOcsp:
    """Keeps every module's V2G chain stapling data fresh (see the module docstring)."""

    def __init__(
        self,
        *,
        cache: OcspCache,
        wire: TokenWire,
        bridges: Callable[[], Mapping[int, Iso15118CertificateBridge]],
        chain_entries: ChainEntries,
        is_online: Callable[[], bool],
        clock: Clock,
        timing: V2gOcspTiming,
    ) -> None:
        self._cache = cache
        self._wire = wire
        self._bridges = bridges
        self._chain_entries = chain_entries
        self._is_online = is_online
        self._clock = clock
        self._timing = timing
        self._wake = asyncio.Event()
        self._handed: dict[int, tuple[bytes, ...]] = {}  # what each module was last given
        self._last_full_round: datetime | None = None

    def chain_changed(self) -> None:
        """A module got a new V2G chain, or the V2G roots changed: renew now."""
        self._wake.set()

    async def run(self) -> None:
        """The long-lived task: a round whenever one is due; never returns."""
        if not self._bridges():
            return
        entries = await self._read_entries()
        await self._hand_over(entries)  # what is still valid, before any asking (a restart while offline)
        while True:
            if self._wake.is_set():
                self._wake.clear()
                entries = await self._read_entries()
            if self._is_online():
                wait_s = await self.renew(entries)
            else:
                await self._hand_over(entries)  # withdraws what ran out meanwhile
                wait_s = OFFLINE_POLL_S  # asking again as soon as the CSMS is back
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)

    async def _read_entries(self) -> Mapping[int, Sequence[OcspRequestData]]:
        return await asyncio.to_thread(self._chain_entries)

    async def renew(self, entries: Mapping[int, Sequence[OcspRequestData]]) -> float:
        """One round: ask for every Sub-CA whose response is missing or due (every one, once per
        update_interval_s), hand each module its set, and return the seconds until the next round."""
        bridges = self._bridges()
        now = self._clock.now()
        interval = timedelta(seconds=self._timing.update_interval_s)
        full = self._last_full_round is None or now - self._last_full_round >= interval
        failed = False
        next_due = now + interval
        runs_out = now + timedelta(seconds=self._timing.retry_interval_s)  # the first response to expire
        for evse_id, chain in entries.items():
            if evse_id not in bridges:
                continue
            for entry in chain:
                cached = self._cache.lookup(entry)
                if full or cached is None or cached.next_update - RENEW_MARGIN <= now:
                    cached = await self._cache.fetch(entry, self._wire.certificate_status) or cached
                    failed = failed or cached is None or cached.next_update - RENEW_MARGIN <= now
                if cached is not None:
                    next_due = min(next_due, cached.next_update - RENEW_MARGIN)
                    runs_out = min(runs_out, cached.next_update)
        if full:
            self._last_full_round = now
        await self._hand_over(entries)
        until = self._clock.now()
        if failed:  # the CSMS's trouble sets the pace, but a response that runs out meanwhile is withdrawn then
            return max((runs_out - until).total_seconds(), OFFLINE_POLL_S)
        return max((next_due - until).total_seconds(), MIN_WAIT_S)

    async def _hand_over(self, entries: Mapping[int, Sequence[OcspRequestData]]) -> None:
        """Give each module the valid responses of its chain, in chain order, when they changed."""
        for evse_id, bridge in self._bridges().items():
            chain = entries.get(evse_id, ())
            found = [self._cache.lookup(entry) for entry in chain]
            responses = tuple(base64.b64decode(e.response_b64) for e in found if e is not None)
            if self._handed.get(evse_id) == responses or (not responses and evse_id not in self._handed):
                continue
            try:
                await bridge.set_v2g_ocsp_responses(responses)
            except DriverError as exc:
                log.warning("evse=%s V2G OCSP responses not handed to the module: %s", evse_id, exc)
                continue
            self._handed[evse_id] = responses
            log.info("evse=%s V2G OCSP responses handed to the module: %s of %s", evse_id, len(responses), len(chain))

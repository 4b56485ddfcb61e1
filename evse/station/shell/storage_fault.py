"""The station-level storage fault: the state database refuses writes (full, read-only or failing card).

While it is active no EVSE delivers energy. It is raised on every EVSE's state machine as the fault
"storage_failure", which opens the contactor, withdraws the PWM offer, blocks new transactions and makes
the connectors Faulted: in OCPP 2.0.1 (Part 2, ConnectorStatusEnumType) Faulted is the status of a
connector that reported an error and is not available for energy delivery, while Unavailable is the
result of a ChangeAvailability or of the station choosing to be unavailable; a disk failure is the former.

It is raised synchronously in the step that saw a write refused (`check`, called by Station.apply), so a
contactor close decided in that same step never happens: the transaction state is written before the
contactor moves, or the contactor does not move. The CSMS is told by a NotifyEvent sent directly (the
outbox lives on the failing disk). A probe tries a small durable write every `probe_interval` seconds;
when one succeeds, the writes held meanwhile (evse/station/tx_messages.py) are written in order, the
fault clears and charging resumes. After a degraded boot (the real database could not be opened) the
probe opens the real database instead, and its success restarts the daemon on it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import TYPE_CHECKING

from evse.errors import StorageError
from evse.ocpp.calls import CallError, CallTimeout, NotConnected, OcppMessage
from evse.station.core import evse_fsm as fsm
from evse.station.core.faults import fault_variable
from evse.storage import StorageHealth, probe_state_dir, probe_write

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)

NAME = "storage_failure"
PROBE_INTERVAL_S = 5.0


class StorageFault:
    """Raises, reports, probes and clears the station's storage fault; `run` is a daemon task."""

    def __init__(
        self,
        health: StorageHealth,
        station: Station,
        db: sqlite3.Connection,
        *,
        probe_interval: float = PROBE_INTERVAL_S,
        tick: float = 1.0,
    ) -> None:
        self.health = health
        self.probe_interval = probe_interval
        self.tick = tick
        self.active = False
        self.probes = 0  # probes tried during the current fault (diagnostics, tests)
        self._station = station
        self.db = db
        self._reported = False
        self._raised: OcppMessage | None = None
        self._direct_tasks: set[asyncio.Task[None]] = set()
        station.messages.direct = self._send_direct

    # ---- raise and clear --------------------------------------------------------------------------
    def check(self) -> None:
        """Raise the fault now if a write was refused since the last check (cheap; called every step)."""
        if not self.active and not self.health.healthy:
            self._raise()

    def _raise(self) -> None:
        self.active, self._reported, self.probes = True, False, 0
        self._raised = self._notify(active=True)  # kept: sent late, durably, if never sent directly
        log.error("storage_failure raised: no charging until the disk takes writes again (%s)", self.health.failure)
        for evse_id in self._station.evses:
            self._station.apply(evse_id, fsm.FaultChanged(NAME, True))
        self._set_problem()

    def _clear(self) -> None:
        self.active = False
        log.info("storage_failure cleared: charging allowed again")
        for evse_id in self._station.evses:
            self._station.apply(evse_id, fsm.FaultChanged(NAME, False))
        self._set_problem()
        # The disk takes writes again: the events go the durable way; the raising one too if the CSMS
        # was out of reach during the whole fault, so a clearing event never comes alone.
        if not self._reported and self._raised is not None:
            self._station.messages.enqueue(self._raised)
        self._station.messages.enqueue(self._notify(active=False))

    def _set_problem(self) -> None:
        any_fault = self.active or any(r.state.faults for r in self._station.evses.values())
        where = fault_variable(NAME)
        self._station.dm.set_station_value(where.component, where.variable, any_fault)

    def _notify(self, *, active: bool) -> OcppMessage:
        return self._station.fault_event(NAME, active, self.health.failure if active else None)

    # ---- the task ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Raise the fault for writes refused outside a state-machine step, report it, probe the disk."""
        since_probe = 0.0
        while True:
            self.check()
            if self.active:
                if not self._reported:
                    await self._report()
                since_probe += self.tick
                if since_probe >= self.probe_interval:
                    since_probe = 0.0
                    self.probe()
            else:
                since_probe = 0.0
            await asyncio.sleep(self.tick)

    async def _report(self) -> None:
        if not self._station.is_online():
            return  # tried again every tick: reported once the CSMS has accepted the boot
        assert self._raised is not None
        try:
            await self._station.wire.send(self._raised)
        except (NotConnected, CallTimeout, CallError) as exc:
            log.warning("storage_failure not reported yet: %s", exc)
            return
        self._reported = True

    def _send_direct(self, request: OcppMessage) -> None:
        """A message the outbox could not take: sent now if the CSMS is there, else lost (logged)."""
        if not self._station.is_online():
            log.warning("%s lost: not connected and the disk refuses writes", request.ACTION)
            return
        task = asyncio.get_running_loop().create_task(self._call(request))
        self._direct_tasks.add(task)
        task.add_done_callback(self._direct_tasks.discard)

    async def _call(self, request: OcppMessage) -> None:
        try:
            await self._station.wire.send(request)
        except (NotConnected, CallTimeout, CallError) as exc:
            log.warning("%s sent directly was not answered: %s", request.ACTION, exc)

    def probe(self) -> bool:
        """Try a small durable write; on success write what was held and clear the fault. True if cleared."""
        self.probes += 1
        if self.health.degraded_boot:
            try:
                probe_state_dir(self.health.state_dir)
            except StorageError as exc:
                log.info("storage probe: %s still unusable: %s", self.health.state_dir, exc)
                return False
            log.warning("storage probe: %s is writable again: restarting on it", self.health.state_dir)
            self._station.reset_requested.set()  # the daemon exits with RESET and the CLI re-executes it
            return False
        try:
            probe_write(self.db)
        except StorageError as exc:
            log.info("storage probe: disk still refuses writes: %s", exc)
            return False
        messages, outbox = self._station.messages, self._station.outbox
        if not (messages.flush_backlog() and outbox.retry_removals()):
            return False
        self.health.restored()
        self._clear()
        return True

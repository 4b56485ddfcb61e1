"""Availability and reset (G03-G04, B11-B12): ChangeAvailability for the station, an EVSE or a connector,
Scheduled while a transaction runs; Reset of the station or of one EVSE, at once or once idle."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from evse.station.core import evse_fsm as fsm
from evse.station.shell.runtime import EvseRuntime

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)


class Availability:
    """What ChangeAvailability and Reset decide; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station
        self._reset_on_idle = False

    def change_availability(self, evse_id: int, connector_id: int, operative: bool) -> str:
        """Apply ChangeAvailability; returns Accepted or Scheduled (transaction running)."""
        self._station.journal.set_operative(evse_id, connector_id, operative)
        targets = list(self._station.evses) if evse_id == 0 else [evse_id]
        scheduled = False
        for target in targets:
            runtime = self._station.evses[target]
            effective = self.effective_operative(target)
            if runtime.state.tx is not None and not effective:
                runtime.pending_operative = effective
                scheduled = True
            else:
                self._station.apply(target, fsm.OperativeChanged(effective))
        return "Scheduled" if scheduled else "Accepted"

    def effective_operative(self, evse_id: int) -> bool:
        j = self._station.journal
        return j.operative(0, 0) and j.operative(evse_id, 0) and j.operative(evse_id, 1)

    def after_transaction(self, runtime: EvseRuntime) -> None:
        if runtime.pending_operative is not None:
            operative, runtime.pending_operative = runtime.pending_operative, None
            self._station.apply(runtime.state.evse_id, fsm.OperativeChanged(operative))
        if self._reset_on_idle and not self._station.has_transaction():
            self._reset_on_idle = False
            self._station.reset_requested.set()
        if runtime.pending_reset and runtime.state.tx is None:
            runtime.pending_reset = False
            evse_id = runtime.state.evse_id

            async def reset_evse() -> None:
                # An EVSE reset (B11/B12 with evseId) re-initialises this EVSE only: it is Unavailable
                # (StatusNotification) with its power path safe while its drivers start afresh, then
                # takes the availability it had before; no reboot, the other EVSEs charge on.
                self._station.apply(evse_id, fsm.StopRequested("ResetCommand", "ImmediateReset"))  # drops the token
                self._station.apply(evse_id, fsm.OperativeChanged(False))
                try:
                    await runtime.drivers.contactor.open()
                    await runtime.drivers.pilot.set_current_limit(None)
                except DriverError as exc:
                    # Left Unavailable: the safe state for an EVSE whose hardware did not come back.
                    log.error("evse reset failed evse=%s: %s", evse_id, exc)
                    return
                self._station.apply(evse_id, fsm.OperativeChanged(self.effective_operative(evse_id)))

            self._station.spawn(reset_evse())

    def request_reset(self, immediate: bool, evse_id: int | None = None) -> str:
        """Decide a Reset: Accepted (call `begin_reset` once the answer left) or Scheduled (OnIdle, waits
        for the running transactions to end, then resets by itself). With ``evse_id`` only that EVSE and
        its transaction count (B12)."""
        if evse_id is not None:
            runtime = self._station.evses[evse_id]
            if immediate or runtime.state.tx is None:
                return "Accepted"
            runtime.pending_reset = True
            return "Scheduled"
        self._station.journal.set_boot_reason("RemoteReset")
        if immediate or not self._station.has_transaction():
            return "Accepted"
        self._reset_on_idle = True
        return "Scheduled"

    def begin_reset(self, evse_id: int | None = None, reason: str = "ImmediateReset") -> None:
        """End every transaction (ImmediateReset, or 1.6's HardReset/SoftReset), then let the daemon restart;
        with ``evse_id``, end that EVSE's transaction and reset that EVSE alone (B12)."""
        targets = list(self._station.evses) if evse_id is None else [evse_id]
        for target in targets:
            runtime = self._station.evses[target]
            if evse_id is not None:
                runtime.pending_reset = True  # performed by _after_transaction once the EVSE is idle
            if runtime.state.tx is not None:
                self._station.apply(target, fsm.StopRequested("ResetCommand", reason, force=True))
            elif evse_id is not None:
                self.after_transaction(runtime)
        if evse_id is None:
            self._station.reset_requested.set()

"""The power path of each EVSE, as the shell drives it: contactor, plug lock and the control pilot's offer.

The state machine decides (evse.station.core.evse_fsm); this performs, in order per EVSE, and turns a
device that does not obey into a fault, which opens the power path (safety first).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from drivers.errors import DriverError
from evse.station.core import evse_fsm as fsm
from evse.station.shell.runtime import EvseRuntime

if TYPE_CHECKING:
    from evse.station.shell.station import Station

log = logging.getLogger(__name__)


class PowerPath:
    """Contactor, plug lock and pilot offer of every EVSE; one per station."""

    def __init__(self, station: Station) -> None:
        self._station = station

    async def drive_contactor(self, runtime: EvseRuntime, closed: bool) -> None:
        # One power-path job at a time per EVSE, in order: a release of the plug never overtakes the
        # opening of the contactor it must follow.
        async with runtime.power_path:
            await self._switch_contactor(runtime, closed)

    async def release_plug_after_session(self, runtime: EvseRuntime) -> None:
        async with runtime.power_path:
            await self._release_plug(runtime)

    async def _switch_contactor(self, runtime: EvseRuntime, closed: bool) -> None:
        evse_id, lock = runtime.state.evse_id, runtime.drivers.lock
        if closed and not runtime.state.contactor_closed:
            return  # superseded before it ran (a fault in the same step): the state machine wants it open
        if closed and lock is not None:
            try:
                await lock.lock()  # the plug is held before power flows
            except DriverError as exc:
                log.error("lock evse=%s: %s", evse_id, exc)
                self._station.apply(evse_id, fsm.FaultChanged("lock_failure", True))  # keeps the contactor open
                return
            if not runtime.state.contactor_closed:
                return  # a fault arrived while the plug was being locked
        try:
            if closed:
                await runtime.drivers.contactor.close()
            else:
                await runtime.drivers.contactor.open()
        except DriverError as exc:
            # Safety first: a contactor that did not obey is a fault, which opens the power path.
            name = "contactor_stuck_open" if closed else "contactor_welded"
            log.error("contactor evse=%s: %s", evse_id, exc)
            self._station.apply(evse_id, fsm.FaultChanged(name, True))
            return
        if not closed:
            await self._release_plug(runtime)

    async def _release_plug(self, runtime: EvseRuntime) -> None:
        """The session is over and the contactor open: release the plug (if the EV left first, only with
        UnlockOnEVSideDisconnect; otherwise a valid card or UnlockConnector releases it, E09/E10)."""
        lock, state = runtime.drivers.lock, runtime.state
        if lock is None or state.tx is not None or state.contactor_closed:
            return
        if not state.ev_connected and not self._station.dm.get_bool("OCPPCommCtrlr", "UnlockOnEVSideDisconnect"):
            return
        try:
            await lock.unlock()
        except DriverError as exc:
            log.error("unlock evse=%s: %s", state.evse_id, exc)  # the lock driver reports unlock_failure

    def _offer_limit(self, runtime: EvseRuntime, amps: float) -> float | None:
        """The offer once the limit in force caps it: the composite of the charging profiles, the external
        limits, the EVSE's rating and the cable's (IEC 61851-1), see evse.smartcharging.composite."""
        limit = self._station.smart_charging.limit_now(runtime.state.evse_id)
        runtime.limited_by = limit.source if limit.amps <= amps else "evse_max"
        amps = min(amps, limit.amps)
        return amps if amps >= 6 else None  # below 6 A no PWM offer is allowed: the EV must not charge

    def recheck_offer(self, runtime: EvseRuntime) -> None:
        max_a = next(e.max_current_a for e in self._station.settings.evses if e.id == runtime.state.evse_id)
        if self._offer_limit(runtime, max_a) != runtime.offered_a:
            self._station.spawn(self.drive_pilot(runtime, max_a))

    async def drive_pilot(self, runtime: EvseRuntime, amps: float | None) -> None:
        if amps is not None:
            amps = self._offer_limit(runtime, amps)
        runtime.offered_a = amps
        try:
            await runtime.drivers.pilot.set_current_limit(amps)
        except DriverError as exc:
            log.error("pilot evse=%s: %s", runtime.state.evse_id, exc)
            self._station.apply(runtime.state.evse_id, fsm.FaultChanged("pilot_failure", True))
        bridge = runtime.drivers.iso15118
        if bridge is not None:
            # The same limit for an EV on high-level communication: its module offers it in the ISO 15118
            # session (the PWM is 5 % there). A failing module reports its own fault through the bridge.
            try:
                await bridge.set_current_limit(amps)
            except DriverError as exc:
                log.error("iso15118 bridge evse=%s: %s", runtime.state.evse_id, exc)

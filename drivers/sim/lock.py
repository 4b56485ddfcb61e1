"""Simulated connector lock with feedback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.errors import DriverError
from drivers.interfaces import DriverParams, EventSink, FaultName
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimLock:
    """ConnectorLock of a simulated EVSE.

    ``lock_failure``: lock() raises DriverError and the lock stays unlocked.
    ``unlock_failure``: unlock() raises DriverError and the lock stays locked.
    """

    class Params(DriverParams):
        """The simulated lock takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.name = f"sim lock evse={evse_id}"

    @property
    def is_locked(self) -> bool:
        return self._state.locked

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink)

    async def lock(self) -> None:
        if FaultName.LOCK_FAILURE in self._state.faults:
            raise DriverError(self.name, "lock did not engage (fault lock_failure)")
        self._state.locked = True

    async def unlock(self) -> None:
        if FaultName.UNLOCK_FAILURE in self._state.faults:
            raise DriverError(self.name, "lock did not release (fault unlock_failure)")
        self._state.locked = False

"""Simulated energy meter: reads the EVSE's simulated energy and power."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.errors import DriverError
from drivers.interfaces import DriverParams, EventSink, FaultName, MeterReading
from drivers.sim.state import evse_state

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard


class SimMeter:
    """EnergyMeter of a simulated EVSE; raises DriverError while the ``meter_lost`` fault is raised.

    The simulated meter keeps counting while it does not answer, as a real one does.
    """

    class Params(DriverParams):
        """The simulated meter takes no keys in the board YAML."""

    def __init__(self, *, evse_id: int, sim_board: SimBoard | None = None) -> None:
        self._state = evse_state(evse_id, sim_board)
        self.name = f"sim meter evse={evse_id}"

    async def run(self, sink: EventSink) -> None:
        await self._state.bus.serve(sink)

    async def read(self) -> MeterReading:
        if FaultName.METER_LOST in self._state.faults:
            raise DriverError(self.name, "no answer (fault meter_lost)")
        reading = self._state.reading()
        if self._state.persist is not None:
            # Saved before anyone sees the value: a reported energy is never above the saved register.
            self._state.persist()
        return reading

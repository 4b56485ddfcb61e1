"""The simulated hardware of one EVSE, shared by its simulated devices, and the board's event wire.

The physics is piecewise constant: power only changes when an input changes (contactor, pilot
offer, EV state, EV demand), so every change first integrates the energy up to "now" with the old
power. The result is exact for any clock, and energy never decreases.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from drivers.interfaces import CHARGING_STATES, DriverEvent, EventSink, MeterReading, PilotState

if TYPE_CHECKING:
    from drivers.sim.board import SimBoard

log = logging.getLogger(__name__)

NOMINAL_VOLTAGE_V: Final = 230.0
FREQUENCY_HZ: Final = 50.0
DEFAULT_EV_DEMAND_W: Final = 11_000.0


class SimEventBus:
    """The board's one event wire: every attached sink receives every event, synchronously.

    A sink attached several times (the daemon passes the same sink to every driver's ``run``)
    receives each event once; it stays attached until detached as often as it was attached.
    """

    def __init__(self) -> None:
        self._sinks: list[EventSink] = []

    def attach(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def detach(self, sink: EventSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def deliver(self, event: DriverEvent) -> None:
        if not self._sinks:
            log.debug("event=%r dropped=no-sink", event)
        for sink in dict.fromkeys(self._sinks):
            sink(event)

    async def serve(self, sink: EventSink, report_initial: Callable[[EventSink], None] | None = None) -> None:
        """Body of every simulated driver's ``run``: attach, report initial state, wait to be cancelled."""
        self.attach(sink)
        try:
            if report_initial is not None:
                report_initial(sink)
            await asyncio.get_running_loop().create_future()  # never resolves: ends by cancellation
        finally:
            self.detach(sink)


@dataclass(eq=False)
class SimEvseState:
    """What is physically true at one simulated EVSE: EV, contactor, lock, pilot offer, energy.

    Inputs of the physics change only through the ``set_*`` methods, which integrate first.
    """

    evse_id: int
    bus: SimEventBus
    clock: Callable[[], float]
    phases: int = 3
    ev_state: PilotState = PilotState.A
    ev_demand_w: float = DEFAULT_EV_DEMAND_W
    contactor_closed: bool = False
    locked: bool = False
    offered_current_a: float | None = None
    cable_capacity_a: float | None = None
    faults: set[str] = field(default_factory=set)
    display_text: str | None = None
    display_language: str | None = None
    initial_energy_wh: float = 0.0
    # Called after each meter read so the register survives a restart (SimBoard.save_registers).
    persist: Callable[[], None] | None = None
    _energy_import_wh: float = field(default=0.0, init=False)
    _integrated_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._integrated_until = self.clock()
        self._energy_import_wh = self.initial_energy_wh

    # -- physics --

    def power_w(self) -> float:
        """Active power drawn now: the EV's demand, capped by the offer, if it may charge at all."""
        if not self.contactor_closed or self.ev_state not in CHARGING_STATES:
            return 0.0
        if self.offered_current_a is None:
            return 0.0
        cap = self.offered_current_a * NOMINAL_VOLTAGE_V * self.phases
        return max(0.0, min(self.ev_demand_w, cap))

    def advance(self) -> None:
        """Integrate energy up to the clock's now with the power in force since the last change."""
        now = self.clock()
        elapsed = now - self._integrated_until
        if elapsed > 0:  # a clock that steps back integrates nothing rather than negative energy
            self._energy_import_wh += self.power_w() * elapsed / 3600.0
        self._integrated_until = max(now, self._integrated_until)

    @property
    def energy_import_wh(self) -> float:
        self.advance()
        return self._energy_import_wh

    def reading(self) -> MeterReading:
        self.advance()
        power = self.power_w()
        per_phase_a = power / (NOMINAL_VOLTAGE_V * self.phases)
        return MeterReading(
            energy_import_wh=self._energy_import_wh,
            energy_export_wh=0.0,
            power_w=power,
            voltage_v=(NOMINAL_VOLTAGE_V,) * self.phases,
            current_a=(per_phase_a,) * self.phases,
            frequency_hz=FREQUENCY_HZ,
            timestamp=self.clock(),
        )

    # -- inputs --

    def set_contactor(self, closed: bool) -> None:
        self.advance()
        self.contactor_closed = closed

    def set_offered_current(self, amps: float | None) -> None:
        self.advance()
        self.offered_current_a = amps

    def set_ev_state(self, state: PilotState) -> None:
        self.advance()
        self.ev_state = state

    def set_ev_demand(self, watts: float) -> None:
        self.advance()
        self.ev_demand_w = watts

    # -- events --

    def emit(self, event: DriverEvent) -> None:
        self.bus.deliver(event)


def evse_state(evse_id: int, sim_board: SimBoard | None) -> SimEvseState:
    """The simulated hardware a sim device built from a board section acts on.

    Every sim device of a board shares its SimBoard's state, so the ``evse sim`` hooks reach the devices the
    station drives, also on a board that mixes real and simulated drivers. A device built alone (no board
    given, as a registry caller may) gets a one-EVSE board of its own.
    """
    if sim_board is None:
        from drivers.sim.board import SimBoard  # at call time: the board module imports the device modules

        sim_board = SimBoard([evse_id])
    return sim_board.evse_state(evse_id)

"""The external sources of limits on one station, wired: the EMS's Modbus server (when configured), the grid
operator's input, the gate of ExternalControlSignalsEnabled and the reports to the CSMS.

The daemon builds one, hands it every driver event and runs :meth:`ExternalSources.run` in its TaskGroup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from drivers.interfaces import DriverEvent
from evse.config import Settings
from evse.devicemodel.model import DeviceModel, VariableChange
from evse.smartcharging.ems_registers import EvseReading
from evse.smartcharging.grid_input import GridLimitInput
from evse.smartcharging.limit_reports import LimitReports
from evse.smartcharging.limit_sink import SignalGate

if TYPE_CHECKING:
    from evse.smartcharging.ems_control import EmsControl
    from evse.smartcharging.ems_server import EmsServer
    from evse.station.shell.station import Station

CONTROLLER = "SmartChargingCtrlr"
GATE_VARIABLE = "ExternalControlSignalsEnabled"


class ExternalSources:
    """Everything that turns the world outside OCPP into ExternalLimits, and tells the CSMS of them."""

    def __init__(self, settings: Settings, station: Station, dm: DeviceModel) -> None:
        self._station = station
        self.gate = SignalGate(station.external_limits, lambda: dm.get_bool(CONTROLLER, GATE_VARIABLE))
        self.reports = LimitReports(
            station.messages.enqueue,
            station.wire,
            significance_percent=lambda: float(dm.get_decimal(CONTROLLER, "LimitChangeSignificance")),
            with_schedules=lambda: dm.get_bool(CONTROLLER, "NotifyChargingLimitWithSchedules"),
            now=station.clock.now,
        )
        station.external_limits.subscribe(self.reports.on_change)
        grid = settings.grid_limit
        self.grid = GridLimitInput(self.gate, input_name=grid.input, power_w=grid.power_w)
        self.ems: EmsControl | None = None
        self.ems_server: EmsServer | None = None
        if settings.ems is not None:
            self._build_ems(settings)
        dm.on_change(self._on_variable_change)

    def _build_ems(self, settings: Settings) -> None:
        # Imported only here: pymodbus is loaded by stations that have an EMS, not by every station.
        from evse.smartcharging.ems_control import EmsControl
        from evse.smartcharging.ems_server import EmsServer

        ems = settings.ems
        assert ems is not None
        self.ems = EmsControl(
            self.gate,
            [e.id for e in settings.evses],
            failsafe_a=ems.failsafe_current_a,
            timeout_s=ems.timeout_s,
            monotonic=self._station.clock.monotonic,
        )
        self.ems_server = EmsServer(
            self.ems,
            host=ems.modbus.host,
            port=ems.modbus.port,
            unit_id=ems.modbus.unit_id,
            readings=self.readings,
            grid_limit_active=lambda: self.grid.active,
            max_failsafe_a=max(e.max_current_a for e in settings.evses),
        )

    def on_driver_event(self, event: DriverEvent) -> None:
        self.grid.on_driver_event(event)

    def _on_variable_change(self, change: VariableChange) -> None:
        address = change.address
        if address.component.name == CONTROLLER and address.variable.name == GATE_VARIABLE:
            self.gate.refresh()

    def readings(self) -> Mapping[int, EvseReading]:
        """What the EMS reads of each EVSE: the station's snapshot and the pilot's offer."""
        snapshot = {evse["id"]: evse for evse in self._station.snapshot()["evses"]}
        return {
            evse_id: EvseReading(
                connector_status=str(evse["status"]),
                pilot_state=str(evse["pilot"]),
                charging_state=str(evse["charging_state"]),
                offered_a=self._station.evses[evse_id].offered_a,
                power_w=float(evse["power_w"]),
                energy_wh=float(evse["energy_wh"]),
            )
            for evse_id, evse in snapshot.items()
        }

    async def run(self) -> None:
        """The EMS's server and watchdog; returns at once when no EMS is configured."""
        if self.ems is None or self.ems_server is None:
            return
        async with asyncio.TaskGroup() as group:
            group.create_task(self.ems.run())
            group.create_task(self.ems_server.run())

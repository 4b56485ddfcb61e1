"""The Modbus TCP server a local energy manager (EMS) talks to: pymodbus' server, our register map.

Off unless the YAML has an ``ems:`` section. pymodbus serves the protocol (framing, unit ids, exception
answers); one device with one block of registers, whose contents are made at each request by
:meth:`EmsServer.access`: a read fills the block from the station's state, a write is checked against the
map (evse.smartcharging.ems_registers) and handed to :class:`~evse.smartcharging.ems_control.EmsControl`.
pymodbus is imported only here, and this module only when an EMS is configured (tests/integration/
test_lazy_imports.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Mapping

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from evse.smartcharging import ems_registers as regs
from evse.smartcharging.ems_control import EmsControl

log = logging.getLogger(__name__)

#: Modbus function codes that read (holding, input registers) and that write (single, multiple).
READS = frozenset({3, 4})
WRITES = frozenset({6, 16})


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (127.0.0.0/8, ::1, "localhost")."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmsServer:
    """Serves the register map on `host:port` for unit `unit_id` until cancelled."""

    def __init__(
        self,
        control: EmsControl,
        *,
        host: str,
        port: int,
        unit_id: int,
        readings: Callable[[], Mapping[int, regs.EvseReading]],
        grid_limit_active: Callable[[], bool],
        max_failsafe_a: float,
    ) -> None:
        self._control = control
        self._host = host
        self._port = port
        self._unit_id = unit_id
        self._readings = readings
        self._grid_limit_active = grid_limit_active
        self._max_failsafe_a = max_failsafe_a
        self._server: ModbusTcpServer | None = None

    def device(self) -> SimDevice:
        """The one Modbus device: the station block and one block per EVSE, filled at each access."""
        blocks = [SimData(0, count=regs.STATION_REGISTERS, datatype=DataType.REGISTERS)]
        blocks += [
            SimData(evse_id * regs.EVSE_BLOCK, count=regs.EVSE_REGISTERS, datatype=DataType.REGISTERS)
            for evse_id in self._control.evse_ids
        ]
        return SimDevice(self._unit_id, simdata=blocks, action=self.access)

    async def run(self) -> None:
        if not is_loopback(self._host):
            # Modbus TCP has no authentication: anyone who reaches the port can stop charging.
            log.warning(
                "EMS Modbus server bound to %s, not to loopback: every host that reaches port %s can set "
                "the station's limits (Modbus has no authentication); firewall it to the energy manager",
                self._host,
                self._port,
            )
        self._server = ModbusTcpServer(self.device(), address=(self._host, self._port))
        try:
            await self._server.serve_forever(background=True)
        except (OSError, RuntimeError) as exc:  # pymodbus says RuntimeError when it cannot listen
            # Charging goes on: the EMS cannot write, so its timeout puts the failsafe current in force.
            log.error("EMS Modbus server cannot listen on %s:%s, running without it: %s", self._host, self._port, exc)
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            return
        log.info("EMS Modbus TCP server on %s:%s unit=%s", self._host, self._port, self._unit_id)
        try:
            await asyncio.Event().wait()
        finally:
            await self._server.shutdown()  # type: ignore[no-untyped-call]

    async def access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus' hook, called before it answers: fill the block for a read, apply a write."""
        try:
            if function_code not in READS | WRITES:
                return ExcCodes.ILLEGAL_FUNCTION  # coils and discrete inputs: not in the map
            if set_values:
                self._write(address, [int(v) for v in set_values])
            else:  # a read, or pymodbus reading back what a write stored to echo it
                self._fill(registers, start_address)
        except regs.RegisterError as exc:
            log.warning("ems write refused: %s", exc)
            return ExcCodes(exc.code)
        except Exception:
            # Never let the station's state take the server down: the EMS gets "device failure".
            log.exception("ems register access failed function=%s address=%s", function_code, address)
            return ExcCodes.DEVICE_FAILURE
        return None

    def _fill(self, registers: list[int], start_address: int) -> None:
        control = self._control
        station = regs.StationReading(
            evse_count=len(control.evse_ids),
            failsafe_a=control.failsafe_a,
            timeout_s=control.timeout_s,
            failsafe_active=control.failsafe_active,
            grid_limit_active=self._grid_limit_active(),
            seconds_since_write=control.seconds_since_write(),
        )
        self._put(registers, start_address, 0, regs.station_values(station, control.written(0)))
        readings = self._readings()
        for evse_id in control.evse_ids:
            reading = readings.get(evse_id)
            if reading is not None:
                values = regs.evse_values(reading, control.written(evse_id))
                self._put(registers, start_address, evse_id * regs.EVSE_BLOCK, values)

    @staticmethod
    def _put(registers: list[int], start_address: int, address: int, values: list[int]) -> None:
        offset = address - start_address
        registers[offset : offset + len(values)] = values

    def _write(self, address: int, values: list[int]) -> None:
        evse_ids = self._control.evse_ids
        regs.check_write(address, len(values), evse_ids)
        written = dict(zip(range(address, address + len(values)), values, strict=True))
        for evse_id in sorted({regs.locate(a, evse_ids)[0] for a in written}):
            base = evse_id * regs.EVSE_BLOCK
            offsets = {a - base: v for a, v in written.items() if regs.locate(a, evse_ids)[0] == evse_id}
            if evse_id == 0:
                self._write_station(offsets)
            else:
                self._write_limit(evse_id, offsets, regs.Evse.CURRENT_LIMIT, regs.Evse.POWER_LIMIT)

    def _write_station(self, offsets: dict[int, int]) -> None:
        # Every value is checked before any is applied: a refused request changes nothing.
        failsafe = offsets.get(regs.Station.FAILSAFE_CURRENT)
        failsafe_a = None if failsafe is None else regs.failsafe_current(failsafe, self._max_failsafe_a)
        limit_offsets = {regs.Station.CURRENT_LIMIT, regs.Station.POWER_LIMIT, regs.Station.POWER_LIMIT + 1}
        limit = self._limit(0, offsets, regs.Station.CURRENT_LIMIT, regs.Station.POWER_LIMIT)
        if failsafe_a is not None or regs.Station.COMM_TIMEOUT in offsets:
            self._control.write_settings(failsafe_a=failsafe_a, timeout_s=offsets.get(regs.Station.COMM_TIMEOUT))
        if limit_offsets & offsets.keys():
            self._control.write_limit(0, limit)

    def _write_limit(self, evse_id: int, offsets: dict[int, int], current: int, power: int) -> None:
        self._control.write_limit(evse_id, self._limit(evse_id, offsets, current, power))

    def _limit(self, evse_id: int, offsets: dict[int, int], current: int, power: int) -> regs.Limit:
        """The limit after this write: the written registers replace their part, the rest is kept."""
        old = self._control.written(evse_id)
        amps = regs.current_limit(offsets[current]) if current in offsets else old.amps
        watts = regs.power_limit(offsets[power], offsets[power + 1]) if power in offsets else old.watts
        return regs.Limit(amps=amps, watts=watts)

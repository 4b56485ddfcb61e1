"""A local energy manager as the tests play it: pymodbus' TCP client on loopback, with the register map's
addresses (docs/ems-modbus.md), so a test reads like what an EMS does."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.pdu import ModbusPDU

from evse.smartcharging import ems_registers as regs

UNIT_ID = 1


def free_port() -> int:
    """A TCP port nobody listens on now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ems_section(port: int, *, timeout_s: int = 60, failsafe_current_a: float = 6) -> dict[str, object]:
    return {
        "modbus": {"host": "127.0.0.1", "port": port, "unit_id": UNIT_ID},
        "failsafe_current_a": failsafe_current_a,
        "timeout_s": timeout_s,
    }


class Ems:
    """Writes and reads the station's registers; each call checks Modbus answered without an exception."""

    def __init__(self, client: AsyncModbusTcpClient) -> None:
        self.client = client

    async def write(self, address: int, *values: int) -> ModbusPDU:
        if len(values) == 1:
            return await self.client.write_register(address, values[0], device_id=UNIT_ID)
        return await self.client.write_registers(address, list(values), device_id=UNIT_ID)

    async def read(self, address: int, count: int = 1, *, input_registers: bool = False) -> list[int]:
        read = self.client.read_input_registers if input_registers else self.client.read_holding_registers
        answer = await read(address, count=count, device_id=UNIT_ID)
        assert not answer.isError(), answer
        return list(answer.registers)

    async def set_current(self, evse_id: int, amps: float | None) -> None:
        offset = regs.Evse.CURRENT_LIMIT if evse_id else regs.Station.CURRENT_LIMIT
        answer = await self.write(evse_id * regs.EVSE_BLOCK + offset, regs.deciamps(amps))
        assert not answer.isError(), answer

    async def set_power(self, evse_id: int, watts: float | None) -> None:
        offset = regs.Evse.POWER_LIMIT if evse_id else regs.Station.POWER_LIMIT
        answer = await self.write(evse_id * regs.EVSE_BLOCK + offset, *regs.watts32(watts))
        assert not answer.isError(), answer


@asynccontextmanager
async def connected_ems(port: int) -> AsyncIterator[Ems]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=5, retries=0)
    try:
        for _ in range(100):  # the daemon binds its server once its TaskGroup runs
            if await client.connect():
                break
            await asyncio.sleep(0.05)
        assert client.connected, f"EMS server on port {port} never accepted a connection"
        yield Ems(client)
    finally:
        client.close()

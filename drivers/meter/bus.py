"""One RS-485 port speaking Modbus RTU through pymodbus, failing in words a technician can act on.

pymodbus reports a CRC error, garbage and silence alike, as "no response received": its RTU framer
drops a bad frame and keeps waiting. A technician needs to know which (a silent meter is unpowered or
mis-addressed; garbage is a baud-rate, parity or termination problem), so the bus watches the raw
bytes through pymodbus' packet trace hook and tells them apart.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Final

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from drivers.meter.plan import ReadBlock

log = logging.getLogger(__name__)

#: Modbus exception codes (Modbus application protocol, section 7).
EXCEPTION_NAMES: Final = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}


class BusFailure(Exception):
    """A request got no usable answer; ``str()`` is the one-line detail for the fault."""


def port_problem(port: str) -> str:
    """Why ``port`` could not be opened, as far as the file system tells (blocking: use a thread)."""
    try:
        os.stat(port)
    except FileNotFoundError:
        return "no such port"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if not os.access(port, os.R_OK | os.W_OK):
        return "permission denied"
    return "cannot open (in use by another program, or not a serial port)"


def _reraise_swallowed_cancellation() -> None:
    """Raise CancelledError if this task was cancelled while pymodbus awaited the answer.

    pymodbus waits with ``asyncio.wait_for``, which on Python 3.11 returns the result and drops the
    cancellation when the answer arrives in the same loop iteration as ``cancel()`` (fixed in 3.12).
    Polling back to back makes that likely; without this the daemon could never stop the poller.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class RtuBus:
    """A lazily opened serial port; reads register blocks from one meter address.

    pymodbus' own retries and reconnect loop are off: the driver counts failed polls itself, and
    reopens the port at the next poll after it failed.
    """

    def __init__(
        self, *, port: str, baudrate: int, parity: str, stopbits: int, bytesize: int, timeout_s: float
    ) -> None:
        self.port = port
        self._baudrate = baudrate
        self._parity = parity
        self._stopbits = stopbits
        self._bytesize = bytesize
        self._timeout_s = timeout_s
        self._client: AsyncModbusSerialClient | None = None
        self._bytes_since_request = 0

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        # Receiving: ``data`` is pymodbus' whole receive buffer, so keep the largest size seen.
        if sending:
            self._bytes_since_request = 0
        else:
            self._bytes_since_request = max(self._bytes_since_request, len(data))
        return data

    async def _connected_client(self) -> AsyncModbusSerialClient:
        if self._client is None:
            self._client = AsyncModbusSerialClient(
                self.port,
                framer=FramerType.RTU,
                baudrate=self._baudrate,
                parity=self._parity,
                stopbits=self._stopbits,
                bytesize=self._bytesize,
                timeout=self._timeout_s,
                retries=0,
                reconnect_delay=0,
                trace_packet=self._trace_packet,
            )
        if not self._client.connected and not await self._client.connect():
            problem = await asyncio.to_thread(port_problem, self.port)
            self.close()
            raise BusFailure(f"cannot open {self.port}: {problem}")
        return self._client

    async def read_block(self, block: ReadBlock, address: int) -> tuple[int, ...]:
        """The ``block.count`` registers of ``block`` from meter ``address``; BusFailure otherwise."""
        client = await self._connected_client()
        what = f"FC{block.function} {block.start:#06x}+{block.count}"
        read = client.read_holding_registers if block.function == 3 else client.read_input_registers
        try:
            response: ModbusPDU = await read(block.start, count=block.count, device_id=address)
        except ModbusIOException:
            if self._bytes_since_request:
                raise BusFailure(
                    f"garbled answer to {what} ({self._bytes_since_request} bytes, bad CRC or garbage)"
                ) from None
            raise BusFailure(f"no answer to {what} within {self._timeout_s:g} s") from None
        except ConnectionException:
            self.close()
            raise BusFailure(f"{self.port} closed while reading {what}") from None
        except (ModbusException, OSError) as exc:
            self.close()
            raise BusFailure(f"{what} failed: {type(exc).__name__}: {exc}") from None
        finally:
            _reraise_swallowed_cancellation()
        if response.isError():
            code = response.exception_code
            raise BusFailure(f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')}) to {what}")
        registers = tuple(response.registers)
        if response.function_code != block.function or len(registers) != block.count:
            raise BusFailure(
                f"answer to {what} does not match: FC{response.function_code} with {len(registers)} registers"
            )
        return registers

    def close(self) -> None:
        """Close the port (reopened by the next read)."""
        if self._client is not None:
            self._client.close()
            self._client = None

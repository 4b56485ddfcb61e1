"""A Modbus-RTU energy meter on the far end of a pty: any register map, with fault hooks.

Tests and the HIL rig talk to it exactly as to a meter on RS-485: the driver opens the pty's slave
path through pyserial (as it opens ``/dev/ttyAMA0``) and the emulator answers on the master side.
pymodbus' own serial server opens its port by path and a pty master has none, so the emulator drives
pymodbus' RTU framer and PDU classes over the master file descriptor itself (its datastore classes
are deprecated ahead of pymodbus 4 anyway); that also gives the fault hooks their place, between
decoding a request and sending the answer.

Values are physical (volts, amps, watts, watt-hours) and are encoded through the map on every
request, so the same test runs against every meter model. Hooks (callable from any thread, effective
from the next request): :meth:`MeterEmulator.set_values`, :meth:`MeterEmulator.set_fault` (silent,
exception response, corrupted CRC, garbage; for a number of requests or until cleared) and
:attr:`MeterEmulator.requests`, every request addressed to it.

Standalone, for a HIL script or a daemon config naming a port::

    python -m hil.emulators.meter --map eastron_sdm630 --link /tmp/meter0

(SIGUSR1 toggles "silent"; SIGINT/SIGTERM stop it and remove the link.)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from drivers.meter.plan import REQUEST_BYTES, char_time_s, silent_interval_s
from drivers.meter.register_map import MeterField, RegisterMap, load_register_map, map_path
from drivers.meter.registers import encode, is_integer
from hil.emulators.pty_link import PtyLink

log = logging.getLogger(__name__)

ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3
SERVER_DEVICE_FAILURE = 4


@dataclass(frozen=True)
class MeterValues:
    """What the emulated meter measures, in the reading's units."""

    voltage_v: tuple[float, float, float] = (230.0, 230.0, 230.0)
    current_a: tuple[float, float, float] = (16.0, 16.0, 16.0)
    power_w: float = 11_040.0
    energy_import_wh: float = 1_234_500.0
    energy_export_wh: float = 0.0
    frequency_hz: float = 50.0

    def of(self, feeds: MeterField, phase: int | None) -> float:
        """The value a register feeding ``feeds`` (and ``phase``: 1..3) holds."""
        if feeds is MeterField.VOLTAGE_V:
            return self.voltage_v[(phase or 1) - 1]
        if feeds is MeterField.CURRENT_A:
            return self.current_a[(phase or 1) - 1]
        scalars = {
            MeterField.POWER_W: self.power_w,
            MeterField.ENERGY_IMPORT_WH: self.energy_import_wh,
            MeterField.ENERGY_EXPORT_WH: self.energy_export_wh,
            MeterField.FREQUENCY_HZ: self.frequency_hz,
        }
        return scalars[feeds]


def register_image(register_map: RegisterMap, values: MeterValues) -> dict[tuple[int, int], int]:
    """Every register of the map, keyed (function, address), holding ``values`` as the meter would.

    Raises ValueError when a value does not fit its register (a negative value in an unsigned one).
    """
    image: dict[tuple[int, int], int] = {}
    for reg in register_map.registers:
        raw: float = values.of(reg.feeds, reg.phase) / reg.factor
        words = encode(reg.type, reg.word_order, round(raw) if is_integer(reg.type) else raw)
        for offset, word in enumerate(words):
            image[(reg.function, reg.address + offset)] = word
    return image


class FaultMode(StrEnum):
    """How the emulated meter misbehaves."""

    NONE = "none"
    SILENT = "silent"  # no answer at all (unpowered, wrong address, broken wire)
    EXCEPTION = "exception"  # a Modbus exception response
    CORRUPT_CRC = "corrupt_crc"  # the right answer with its CRC inverted
    GARBAGE = "garbage"  # bytes that are no frame (wrong baud rate, missing termination)


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A request addressed to the emulator, and what it did about it."""

    function: int
    address: int
    count: int
    answer: str  # "registers", "exception <code>", or a FaultMode value


class MeterEmulator:
    """The register side of one meter; :meth:`feed` is pure, :meth:`serve` adds the pty I/O."""

    def __init__(
        self,
        register_map: RegisterMap,
        *,
        address: int = 1,
        values: MeterValues | None = None,
        grow_energy: bool = False,
        line_baudrate: int | None = None,
        line_parity: str = "N",
        turnaround_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``grow_energy`` integrates power into energy between requests; ``line_baudrate`` delays
        each answer by the time request and answer would take on a real line (for benchmarks)."""
        self.register_map = register_map
        self.address = address
        self.grow_energy = grow_energy
        self.turnaround_s = turnaround_s
        self._line = (line_baudrate, line_parity)
        self._clock = clock
        self._last_growth = clock()
        self._values = values or MeterValues()
        register_image(register_map, self._values)  # fail now, not at the first request
        self._fault_lock = threading.Lock()  # hooks may be called from another thread than serve()'s
        self._fault = FaultMode.NONE
        self._fault_remaining: int | None = None
        self._exception_code = SERVER_DEVICE_FAILURE
        self._garbage = random.Random(0x5EED)  # deterministic: a test never meets a lucky valid frame twice
        self._framer = FramerRTU(DecodePDU(True))
        self._rx = bytearray()
        self._served: dict[int, tuple[int, int]] = {}
        for reg in register_map.registers:
            low, high = self._served.get(reg.function, (reg.address, reg.end))
            self._served[reg.function] = (min(low, reg.address), max(high, reg.end))
        #: Every request addressed to this meter, oldest first.
        self.requests: list[ServedRequest] = []

    # --- hooks -----------------------------------------------------------------------------------

    @property
    def fault(self) -> FaultMode:
        """The misbehaviour in force."""
        return self._fault

    @property
    def values(self) -> MeterValues:
        """The values served now."""
        return self._values

    def set_values(self, **changes: Any) -> None:
        """Change measured values, e.g. ``set_values(power_w=0.0, energy_import_wh=2e6)``."""
        values = dataclasses.replace(self._values, **changes)
        register_image(self.register_map, values)
        self._values = values

    def set_fault(self, mode: FaultMode, *, count: int | None = None, exception_code: int = 4) -> None:
        """Misbehave for the next ``count`` requests (None: until :meth:`clear_fault`)."""
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        with self._fault_lock:
            self._exception_code = exception_code
            self._fault_remaining = count
            self._fault = mode

    def clear_fault(self) -> None:
        """Answer normally again."""
        self.set_fault(FaultMode.NONE)

    # --- protocol (no I/O) -----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        """Take bytes from the line; return the frames to send back, one per complete request."""
        self._rx += data
        out: list[bytes] = []
        while self._rx:
            try:
                used, pdu = self._framer.handleFrame(bytes(self._rx), 0, 0)
            except ModbusException:
                used, pdu = len(self._rx), None
            if not used:
                break  # an incomplete frame: wait for more (discard_partial() drops it after silence)
            del self._rx[:used]
            if pdu is not None and pdu.dev_id == self.address:
                answer = self._answer(pdu)
                if answer is not None:
                    out.append(answer)
        return out

    def discard_partial(self) -> None:
        """The line went silent: bytes not yet a frame are noise (RTU's t3.5 rule)."""
        self._rx.clear()

    def _answer(self, request: ModbusPDU) -> bytes | None:
        fc, start, count = request.function_code, request.address, request.count
        with self._fault_lock:
            mode, exception_code = self._fault, self._exception_code
            if self._fault_remaining is not None:
                self._fault_remaining -= 1
                if self._fault_remaining <= 0:
                    self._fault, self._fault_remaining = FaultMode.NONE, None
        response = self._response(fc, start, count)
        answer = "registers" if not response.isError() else f"exception {response.exception_code}"
        if mode is not FaultMode.NONE:
            answer = str(mode)
        self.requests.append(ServedRequest(fc, start, count, answer))
        if mode is FaultMode.SILENT:
            return None
        if mode is FaultMode.EXCEPTION:
            response = ExceptionResponse(fc, exception_code)
        response.dev_id = self.address
        frame = self._framer.buildFrame(response)
        if mode is FaultMode.CORRUPT_CRC:
            return frame[:-2] + bytes(b ^ 0xFF for b in frame[-2:])
        if mode is FaultMode.GARBAGE:
            return self._garbage.randbytes(len(frame))
        return frame

    def _response(self, fc: int, start: int, count: int) -> ModbusPDU:
        if fc not in (3, 4):
            return ExceptionResponse(fc, ILLEGAL_FUNCTION)
        if not 1 <= count <= self.register_map.max_registers_per_request:
            return ExceptionResponse(fc, ILLEGAL_DATA_VALUE)
        low, high = self._served.get(fc, (0, 0))
        if start < low or start + count > high:
            return ExceptionResponse(fc, ILLEGAL_DATA_ADDRESS)
        if self.grow_energy:
            self._grow()
        image = register_image(self.register_map, self._values)
        registers = [image.get((fc, a), 0) for a in range(start, start + count)]  # reserved registers read 0
        cls = ReadHoldingRegistersResponse if fc == 3 else ReadInputRegistersResponse
        return cls(registers=registers)

    def _grow(self) -> None:
        now = self._clock()
        hours = (now - self._last_growth) / 3600
        self._last_growth = now
        power = self._values.power_w
        self._values = dataclasses.replace(
            self._values,
            energy_import_wh=self._values.energy_import_wh + max(power, 0.0) * hours,
            energy_export_wh=self._values.energy_export_wh + max(-power, 0.0) * hours,
        )

    def answer_delay_s(self, answer: bytes) -> float:
        """How long the answer would take to arrive on the emulated line (0 without ``line_baudrate``)."""
        baudrate, parity = self._line
        if baudrate is None:
            return self.turnaround_s
        char = char_time_s(baudrate, parity=parity)
        return (REQUEST_BYTES + len(answer)) * char + 2 * silent_interval_s(baudrate, parity=parity) + self.turnaround_s

    # --- I/O ----------------------------------------------------------------------------------------

    async def serve(self, fd: int, *, frame_gap_s: float = 0.02) -> None:
        """Answer requests arriving on ``fd`` (a pty master) until cancelled."""
        loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        gap: asyncio.TimerHandle | None = None

        def send(frame: bytes) -> None:
            try:
                os.write(fd, frame)
            except OSError as exc:  # nobody reading the slave side: the answer is lost, as on a bus
                log.debug("emulator=%s dropped=%d bytes error=%s", self.address, len(frame), exc)

        def readable() -> None:
            nonlocal gap
            try:
                data = os.read(fd, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("emulator=%s read error=%s", self.address, exc)
                return
            for frame in self.feed(data):
                delay = self.answer_delay_s(frame)
                if delay > 0:
                    loop.call_later(delay, send, frame)
                else:
                    send(frame)
            if gap is not None:
                gap.cancel()
            gap = loop.call_later(frame_gap_s, self.discard_partial) if self._rx else None

        loop.add_reader(fd, readable)
        try:
            await loop.create_future()  # runs until cancelled
        finally:
            loop.remove_reader(fd)
            if gap is not None:
                gap.cancel()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m hil.emulators.meter", description="Emulated Modbus-RTU energy meter on a pty."
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--map", help="a shipped map, e.g. eastron_sdm630")
    which.add_argument("--map-file", type=Path, help="a register map file")
    parser.add_argument("--link", type=Path, required=True, help="symlink to create to the pty (e.g. /tmp/meter0)")
    parser.add_argument("--address", type=int, default=1)
    parser.add_argument("--voltage", type=float, default=230.0, help="V on each phase")
    parser.add_argument("--current", type=float, default=16.0, help="A on each phase")
    parser.add_argument("--power", type=float, default=11_040.0, help="W (energy grows with it)")
    parser.add_argument("--energy-wh", type=float, default=1_234_500.0, help="import register at start")
    parser.add_argument("--no-grow", action="store_true", help="keep the energy registers still")
    parser.add_argument("--line-baudrate", type=int, help="delay answers as a real line at this baud rate would")
    parser.add_argument("--turnaround-ms", type=float, default=0.0, help="the meter's own answer delay")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve an emulated meter on a new pty until SIGINT/SIGTERM; print the pty and link."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    register_map = load_register_map(args.map_file or map_path(args.map))
    emulator = MeterEmulator(
        register_map,
        address=args.address,
        values=MeterValues(
            voltage_v=(args.voltage,) * 3,
            current_a=(args.current,) * 3,
            power_w=args.power,
            energy_import_wh=args.energy_wh,
        ),
        grow_energy=not args.no_grow,
        line_baudrate=args.line_baudrate,
        turnaround_s=args.turnaround_ms / 1000,
    )
    link: Path = args.link
    with PtyLink.open() as pty:
        if link.is_symlink():
            link.unlink()
        link.symlink_to(pty.slave_path)
        print(
            f"meter emulator {args.map or args.map_file} address {args.address} on {pty.slave_path} (link {link})",
            flush=True,
        )
        try:
            asyncio.run(_serve_until_signalled(emulator, pty.master_fd))
        finally:
            link.unlink(missing_ok=True)
    return 0


async def _serve_until_signalled(emulator: MeterEmulator, fd: int) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)

    def toggle_silence() -> None:
        emulator.set_fault(FaultMode.NONE if emulator.fault is FaultMode.SILENT else FaultMode.SILENT)
        log.info("emulator=%d fault=%s", emulator.address, emulator.fault)

    loop.add_signal_handler(signal.SIGUSR1, toggle_silence)
    try:
        await emulator.serve(fd)
    except asyncio.CancelledError:
        pass


if __name__ == "__main__":
    raise SystemExit(main())

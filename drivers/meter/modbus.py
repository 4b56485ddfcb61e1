"""Energy meter on Modbus RTU (RS-485): any meter whose register map is in ``config/meters``.

Why pymodbus rather than hand-written RTU: the hard part of Modbus RTU is not the 8-byte request but
the receiving side. An RTU frame has no length field and no start marker, so a receiver must know each
function's frame size, hunt for a frame after line noise or a half frame, check the CRC-16, ignore
answers from other addresses and recognise exception responses. pymodbus does this, is maintained and
runs against thousands of installed meters; a hand-written framer would have to rediscover each of
those corner cases on a live charger. This driver keeps only what is specific to a meter: which
registers to read (data in ``config/meters/<model>.yaml``), how to read them in few requests
(:mod:`drivers.meter.plan`), and what a plausible reading is (:mod:`drivers.meter.reading`).

Behaviour: :meth:`ModbusMeter.run` polls every ``poll_interval_s`` (0: back to back, as fast as the
line allows). ``retries`` consecutive failed polls (no answer, garbled answer, exception response,
implausible values such as energy going backwards) raise the ``meter_lost`` fault; the first good
poll clears it. An energy register that decreased is a bad read, so a replaced or reset meter stays
``meter_lost`` until the daemon restarts: that is a change of meter a technician must see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from drivers.errors import DriverError
from drivers.interfaces import DriverEvent, DriverParams, EventSink, FaultCleared, FaultName, FaultRaised, MeterReading
from drivers.meter.bus import BusFailure, RtuBus
from drivers.meter.plan import ReadBlock, plan_reads, request_bytes_on_wire
from drivers.meter.reading import BadReading, decode_reading
from drivers.meter.register_map import RegisterMap, load_register_map, map_path

__all__ = ["ModbusMeter", "request_bytes_on_wire"]

log = logging.getLogger(__name__)


def _map_file_of(model: str | None, map_file: Path | None) -> Path:
    if map_file is not None:
        return map_file
    assert model is not None  # Params guarantees one of the two
    return map_path(model)


class ModbusMeter:
    """:class:`~drivers.interfaces.EnergyMeter` reading a Modbus-RTU meter through its register map."""

    class Params(DriverParams):
        """The meter's keys in the board YAML; ``model`` or ``map_file`` names the register map."""

        model: str | None = Field(default=None, description="a map in config/meters, e.g. eastron_sdm630")
        map_file: Path | None = Field(default=None, description="a manufacturer's own map file instead")
        port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyAMA0")
        baudrate: int = Field(default=9600, ge=300, le=921_600)
        parity: Literal["N", "E", "O"] = "N"
        stopbits: Literal[1, 2] = 1
        bytesize: Literal[7, 8] = 8
        address: int = Field(default=1, ge=1, le=247, description="the meter's Modbus address")
        timeout_s: float = Field(default=0.5, gt=0, le=10, description="wait for each answer")
        retries: int = Field(default=3, ge=1, le=100, description="failed polls in a row before meter_lost")
        poll_interval_s: float = Field(default=1.0, ge=0, le=3600, description="0 polls back to back")

        @field_validator("model")
        @classmethod
        def _model_has_a_map(cls, model: str | None) -> str | None:
            if model is not None:
                try:
                    load_register_map(map_path(model))
                except DriverError as exc:
                    raise ValueError(exc.problem if exc.device == "meter map" else str(exc)) from None
            return model

        @field_validator("map_file")
        @classmethod
        def _map_file_loads(cls, map_file: Path | None) -> Path | None:
            if map_file is not None:
                try:
                    load_register_map(map_file)
                except DriverError as exc:
                    raise ValueError(str(exc)) from None
            return map_file

        @model_validator(mode="after")
        def _one_map(self) -> ModbusMeter.Params:
            if (self.model is None) == (self.map_file is None):
                raise ValueError("give exactly one of 'model' (a shipped map) or 'map_file'")
            return self

    def __init__(
        self,
        *,
        evse_id: int,
        port: str,
        model: str | None = None,
        map_file: Path | str | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        address: int = 1,
        timeout_s: float = 0.5,
        retries: int = 3,
        poll_interval_s: float = 1.0,
    ) -> None:
        """Validate the parameters and read the register map (a config file); opens no device."""
        try:
            params = self.Params.model_validate(
                {
                    "model": model,
                    "map_file": map_file,
                    "port": port,
                    "baudrate": baudrate,
                    "parity": parity,
                    "stopbits": stopbits,
                    "bytesize": bytesize,
                    "address": address,
                    "timeout_s": timeout_s,
                    "retries": retries,
                    "poll_interval_s": poll_interval_s,
                }
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "(parameters)"
            raise DriverError("meter.modbus", f"{key}: {str(first['msg']).removeprefix('Value error, ')}") from None
        path = _map_file_of(params.model, params.map_file)
        self.evse_id = evse_id
        self.model = params.model or path.stem
        self.name = f"meter {self.model} evse={evse_id} {params.port} address={params.address}"
        self.register_map: RegisterMap = load_register_map(path)
        #: The read requests of one poll (see :func:`request_bytes_on_wire` for their line cost).
        self.plan: tuple[ReadBlock, ...] = plan_reads(
            self.register_map.registers,
            max_registers=self.register_map.max_registers_per_request,
            max_gap=self.register_map.max_gap_registers,
        )
        self._address = params.address
        self._retries = params.retries
        self._poll_interval_s = params.poll_interval_s
        self._bus = RtuBus(
            port=params.port,
            baudrate=params.baudrate,
            parity=params.parity,
            stopbits=params.stopbits,
            bytesize=params.bytesize,
            timeout_s=params.timeout_s,
        )
        self._lock = asyncio.Lock()  # one poll at a time on the line: run() and an on-demand read()
        self._latest: MeterReading | None = None
        self._failures = 0
        self._lost_detail: str | None = None  # set while meter_lost is raised
        self._sink: EventSink | None = None
        self._polling = False
        #: Successful polls since construction (the bench divides it by time).
        self.poll_count = 0

    @property
    def is_lost(self) -> bool:
        """True while the ``meter_lost`` fault is raised."""
        return self._lost_detail is not None

    async def read(self) -> MeterReading:
        """The latest reading of the poller; without a poller running, a reading taken now.

        Raises DriverError while the meter is lost (with the poller), or when the reading taken now
        fails (without it).
        """
        if self._polling:
            if self._lost_detail is not None:
                raise DriverError(self.name, f"meter lost: {self._lost_detail}")
            if self._latest is not None:
                return self._latest
        return await self._poll()

    async def run(self, sink: EventSink) -> None:
        """Poll until cancelled; report ``meter_lost`` / its clearing through ``sink``."""
        loop = asyncio.get_running_loop()
        self._sink = sink
        self._polling = True
        try:
            if self._lost_detail is not None:  # lost on an on-demand read before the poller started
                sink(FaultRaised(self.evse_id, FaultName.METER_LOST, self._lost_detail))
            due = loop.time()
            while True:
                with contextlib.suppress(DriverError):
                    await self._poll()
                due += self._poll_interval_s
                now = loop.time()
                if due < now:  # a slow poll: keep the interval from now on rather than burst to catch up
                    due = now
                await asyncio.sleep(due - now)
        finally:
            self._polling = False
            self._sink = None
            self._bus.close()

    async def _poll(self) -> MeterReading:
        async with self._lock:
            try:
                answers = [await self._bus.read_block(block, self._address) for block in self.plan]
                reading = decode_reading(
                    self.register_map, self.plan, answers, timestamp=time.monotonic(), previous=self._latest
                )
            except (BusFailure, BadReading) as exc:
                self._record_failure(str(exc))
                raise DriverError(self.name, str(exc)) from None
            self._record_success(reading)
            return reading

    def _record_failure(self, detail: str) -> None:
        self._failures += 1
        log.debug("evse=%d meter=%s failures=%d detail=%s", self.evse_id, self.model, self._failures, detail)
        if self._lost_detail is not None:
            self._lost_detail = detail
        elif self._failures >= self._retries:
            self._lost_detail = detail
            log.warning(
                "evse=%d meter=%s port=%s fault=%s detail=%s",
                self.evse_id,
                self.model,
                self._bus.port,
                FaultName.METER_LOST,
                detail,
            )
            self._emit(FaultRaised(self.evse_id, FaultName.METER_LOST, detail))

    def _record_success(self, reading: MeterReading) -> None:
        self._failures = 0
        self._latest = reading
        self.poll_count += 1
        if self._lost_detail is not None:
            self._lost_detail = None
            log.info("evse=%d meter=%s fault=%s cleared", self.evse_id, self.model, FaultName.METER_LOST)
            self._emit(FaultCleared(self.evse_id, FaultName.METER_LOST))

    def _emit(self, event: DriverEvent) -> None:
        if self._sink is not None:
            self._sink(event)
